"""Study features over the store: notes anchored to passages (reading lists and sessions come next)."""
