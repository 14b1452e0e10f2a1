"""Index work as jobs: recorded in the store (``ledger``), carried by a task queue (``queue``), run by the job
worker through the one index orchestrator (``indexing``)."""
