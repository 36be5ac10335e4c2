"""What readers and partners get: topics, feed rendering, the render cache, the HTTP layer for
feeds and the pages for people. Reads the ledger; knows nothing of fetching or scheduling."""
