"""Source adapters: pure functions from a fetched document to feed entries.

Each module or package here knows one family of listing pages; none does I/O.
"""
