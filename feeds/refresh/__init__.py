"""Reading sources: polite fetching, refreshing a source into the ledger, and the scheduler
that does it periodically. Writes to the ledger; knows nothing of serving, feeds or pages."""
