"""Which entries were left out of feeds and pages (a row that cannot be an entry, an entry a feed
cannot be rendered with), counted per source in each process, for the status page."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from feeds.model import LeftOut


@dataclass(frozen=True, slots=True, kw_only=True)
class LeftOutReport:
    """The entries of one source left out of feeds since the process started.

    Attributes:
        entries: How many distinct entries were left out.
        last_entry_id: The last one left out.
        last_reason: Why.
    """

    entries: int
    last_entry_id: str
    last_reason: str


@dataclass
class LeftOutEntries:
    """Which entries were left out of feeds, per source (kept in memory, by each process)."""

    _ids: dict[str, set[str]] = field(default_factory=dict)
    _last: dict[str, LeftOut] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, left_out: LeftOut) -> None:
        """Count an entry left out (once, however often it is)."""
        with self._lock:
            self._ids.setdefault(left_out.source_id, set()).add(left_out.entry_id)
            self._last[left_out.source_id] = left_out

    def report(self, source_id: str) -> LeftOutReport | None:
        """What was left out of the source's entries, or ``None`` for nothing."""
        with self._lock:
            last = self._last.get(source_id)
            if last is None:
                return None
            return LeftOutReport(
                entries=len(self._ids[source_id]),
                last_entry_id=last.entry_id,
                last_reason=last.reason,
            )
