"""Topics: which published entries a feed holds, in which order.

A topic draws on some sources (or all), keeps entries with one of its labels (if it names
any) and none of its excluded labels, and entries whose title or summary holds one of its
keywords as a whole word, ignoring case and accents. The same item listed by two of its
sources appears once. Entries are ordered newest first; instants are distinct, so the order
is total and page order holds within a day. ``newest_entries`` reads only the newest few
of the ledger that ``select_entries`` would choose among everything.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from functools import lru_cache
from typing import Any, Protocol

from feeds.config import TopicConfig
from feeds.identity import PLAIN_CHARACTERS, item_key, normalise_text
from feeds.ledger.items import ItemFields
from feeds.ledger.store import EntryBatch
from feeds.model import LeftOut, StoredEntry

#: The fewest entries ``newest_entries`` reads at once, and the most (batches double).
FIRST_BATCH = 64
MAX_BATCH = 4096


def fold(text: str) -> str:
    """Case-, accent- and typography-insensitive form of a text: ``L\u2019Économie`` ->
    ``l'economie`` (quotes and dashes made plain, whitespace collapsed)."""
    if text.isascii():  # the same, sooner: nothing to decompose or make plain
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text.casefold()).translate(PLAIN_CHARACTERS)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@lru_cache(maxsize=256)
def _keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    if not keywords:
        return None
    words = sorted({fold(k) for k in keywords}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)")


def matches(topic: TopicConfig, stored: StoredEntry) -> bool:
    """True when the entry belongs to the topic (its source is checked by the caller)."""
    entry = stored.entry
    return _matches_fields(topic, entry.labels, entry.title, entry.summary)


def _matches_fields(
    topic: TopicConfig, entry_labels: Iterable[str], title: str, summary: str
) -> bool:
    labels = {fold(label) for label in entry_labels}
    if topic.labels and not labels & {fold(label) for label in topic.labels}:
        return False
    if labels & {fold(label) for label in topic.exclude_labels}:
        return False
    pattern = _keyword_pattern(topic.keywords)
    return pattern is None or any(pattern.search(fold(text)) for text in (title, summary))


def count_entries(topic: TopicConfig, rows: Iterable[ItemFields]) -> int:
    """How many entries ``select_entries`` would choose among these stored rows of the
    topic's sources (with no limit), from their matching fields alone: each item counted as
    listed by the source that showed it first, of the listings the topic keeps."""
    first: dict[str, tuple[Any, str]] = {}  # an item's key: its first listing's (seen, source)
    listed: dict[tuple[str, str], int] = {}  # (item key, source): the source's listings of it
    for row in rows:
        if topic.sources and row.source_id not in topic.sources:
            continue
        if not _matches_fields(topic, row.labels, row.title, row.summary):
            continue
        shown = (row.first_seen, row.source_id)
        known = first.get(row.item_key)
        if known is None or shown < known:
            first[row.item_key] = shown
        listed[row.item_key, row.source_id] = listed.get((row.item_key, row.source_id), 0) + 1
    return sum(listed[key, source] for key, (_seen, source) in first.items())


def select_entries(
    topic: TopicConfig, candidates: Iterable[StoredEntry], limit: int
) -> list[StoredEntry]:
    """The topic's entries among ``candidates`` (newest first), at most ``limit``.

    An item listed by several sources (the same normalised title and date) appears once: as
    listed by the source that showed it first. Items of one source are never merged: the
    adapter has told them apart.
    """
    groups: dict[tuple[str, str], list[StoredEntry]] = {}
    for stored in candidates:
        if topic.sources and stored.entry.source_id not in topic.sources:
            continue
        if not matches(topic, stored):
            continue
        entry = stored.entry
        key = (normalise_text(entry.title), entry.date.isoformat() if entry.date else "")
        groups.setdefault(key, []).append(stored)
    chosen: list[StoredEntry] = []
    for group in groups.values():
        first = min(group, key=lambda s: (s.first_seen, s.entry.source_id))
        chosen.extend(s for s in group if s.entry.source_id == first.entry.source_id)
    chosen.sort(key=lambda s: (s.entry.published, s.entry.source_id, s.entry.id), reverse=True)
    return chosen[:limit]


class EntryReader(Protocol):
    """What ``newest_entries`` reads the ledger with (``feeds.ledger.store.Ledger``)."""

    def newest_entries(
        self,
        source_ids: Sequence[str] | None,
        *,
        limit: int,
        before: int | None = None,
        left_out: Callable[[LeftOut], object] = ...,
    ) -> EntryBatch: ...

    def listings(
        self,
        keys: Collection[str],
        source_ids: Sequence[str] | None,
        *,
        left_out: Callable[[LeftOut], object] = ...,
    ) -> list[StoredEntry]: ...


def _key(stored: StoredEntry) -> str:
    return item_key(stored.entry.title, stored.entry.date)


def newest_entries(
    topic: TopicConfig,
    reader: EntryReader,
    limit: int,
    *,
    keep: Callable[[StoredEntry], bool] | None = None,
    left_out: Callable[[LeftOut], object] = lambda _left_out: None,
) -> list[StoredEntry]:
    """The topic's newest ``limit`` entries that ``keep`` keeps (all: ``None``): what
    ``select_entries`` chooses among all of its sources' entries, read a batch at a time,
    newest first, until enough are chosen. An item's other listings are read by its key, so
    that the one its first source showed is chosen as over everything."""
    sources = topic.sources or None
    chosen: list[StoredEntry] = []
    first_source: dict[str, str] = {}  # an item's key: the source that showed it first
    before: int | None = None
    size = max(2 * limit, FIRST_BATCH)
    while len(chosen) < limit:
        batch = reader.newest_entries(sources, limit=size, before=before, left_out=left_out)
        candidates = [stored for stored in batch.entries if matches(topic, stored)]
        unknown = {_key(stored) for stored in candidates} - first_source.keys()
        earliest: dict[str, tuple[dt.datetime, str]] = {}
        for listed in reader.listings(unknown, sources, left_out=left_out):
            key = _key(listed)
            if key in unknown and matches(topic, listed):
                shown = (listed.first_seen, listed.entry.source_id)
                earliest[key] = min(earliest.get(key, shown), shown)
        first_source.update((key, shown[1]) for key, shown in earliest.items())
        for stored in candidates:
            first = first_source.setdefault(_key(stored), stored.entry.source_id)
            if stored.entry.source_id == first and (keep is None or keep(stored)):
                chosen.append(stored)
                if len(chosen) == limit:
                    break
        if batch.after is None:
            break
        before, size = batch.after, min(2 * size, MAX_BATCH)
    return chosen
