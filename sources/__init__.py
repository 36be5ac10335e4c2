"""Source adapters: pure functions from a fetched document to feed entries.

Each module or package here knows one family of listing pages; none does I/O.
"""

from collections.abc import Mapping

from feeds.model import Adapter
from sources import ilo

#: The adapter for each ``kind`` a source may declare.
ADAPTERS: Mapping[str, Adapter] = {"ilo": ilo.parse}
