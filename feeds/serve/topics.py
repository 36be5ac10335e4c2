"""Topics: which published entries a feed holds, in which order.

A topic draws on some sources (or all), keeps entries with one of its labels (if it names
any) and none of its excluded labels, and entries whose title or summary holds one of its
keywords as a whole word, ignoring case and accents. The same item listed by two of its
sources appears once. Entries are ordered newest first; instants are distinct, so the order
is total and page order holds within a day.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from feeds.config import TopicConfig
from feeds.identity import PLAIN_CHARACTERS, normalise_text
from feeds.model import StoredEntry


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
    labels = {fold(label) for label in entry.labels}
    if topic.labels and not labels & {fold(label) for label in topic.labels}:
        return False
    if labels & {fold(label) for label in topic.exclude_labels}:
        return False
    pattern = _keyword_pattern(topic.keywords)
    return pattern is None or any(
        pattern.search(fold(text)) for text in (entry.title, entry.summary)
    )


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
