"""feedpub's core: entries, identity, dates, and (later) the ledger, fetching and rendering.

Contains no site knowledge: adapters in ``sources`` turn pages into the entries defined here.
"""

__version__ = "0.1.0"
