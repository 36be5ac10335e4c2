"""Source adapters: pure functions from a fetched document to feed entries.

Each module or package here knows one family of listing pages; none does I/O.
"""

from collections.abc import Mapping

from feeds.model import AdapterFactory
from sources import feed, ilo, selectors

#: The adapter factory for each ``kind`` a source may declare.
ADAPTERS: Mapping[str, AdapterFactory] = {
    "ilo": ilo.adapter,
    "html": selectors.adapter,
    "feed": feed.adapter,
}
