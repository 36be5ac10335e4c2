"""feedpub's core. The ground floor (entries, identity, dates, text, configuration, errors) is
used by everyone, adapters included; above it three wings: ``ledger`` (what is stored),
``refresh`` (reading sources into the ledger) and ``serve`` (feeds and pages from the ledger).

Contains no site knowledge: adapters in ``sources`` turn pages into the entries defined here.
"""

__version__ = "0.1.0"
