"""feedpub's core: entries, identity, dates, configuration, fetching, the ledger, refresh and
scheduling, topics, rendering, and serving feeds and pages over HTTP.

Contains no site knowledge: adapters in ``sources`` turn pages into the entries defined here.
"""

__version__ = "0.1.0"
