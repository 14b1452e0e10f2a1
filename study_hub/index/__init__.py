"""Indexes derived from the store, in atomically published generations (see ``generations``)."""
