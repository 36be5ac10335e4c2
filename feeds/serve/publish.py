"""Publishing feeds: rendering each topic's feed once per content change, and keeping it ready.

``FeedPublisher.feed`` returns a ready representation (bytes, gzipped bytes, validators,
caching headers). It renders only when the ledger's version has moved since the last render
(a cheap check, made at most once per ``version_ttl`` seconds); otherwise it answers from
memory without touching the database. A feed without a filter is rendered from the topic's
entries read newest first, a batch at a time, only until it has its entries
(``feeds.serve.topics.newest_entries``), however many the ledger holds. What it keeps is
bounded in count and in bytes; the least recently used feeds go first. A filtered feed
(``feeds.serve.filters``) is kept as any other, once per canonical filter; every filter of a
topic selects from its entries read once per ledger version, so that a new filter costs a
render, not a database read. Entries left out of feeds (a row that cannot be an entry, an
entry a feed cannot be rendered with) are counted per source, for the status page.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from email.utils import format_datetime
from enum import StrEnum
from urllib.parse import urlencode

from feeds import metrics
from feeds.config import MAX_FEED_ENTRIES, Config, TopicConfig
from feeds.config.hub import HUB_PATH
from feeds.ledger.store import Ledger
from feeds.model import UTC, LeftOut, StoredEntry
from feeds.serve.filters import NO_FILTER, FeedFilter
from feeds.serve.render import (
    FeedInfo,
    feed_updated,
    render_atom,
    render_feed,
    render_json,
    render_rss,
)
from feeds.serve.topics import newest_entries, select_entries

MIN_MAX_AGE_SECONDS = 60
#: What a kept feed is counted as beyond its bodies: its key, headers and objects, roughly.
ENTRY_OVERHEAD_BYTES = 2048
#: Where the XSL stylesheet that shows RSS and Atom feeds as a page in browsers is served.
STYLESHEET_PATH = "/feeds/feed.xsl"


class FeedFormat(StrEnum):
    """The formats every topic is served in, by file extension."""

    RSS = "rss"
    ATOM = "atom"
    JSON = "json"

    @property
    def content_type(self) -> str:
        return {
            FeedFormat.RSS: "application/rss+xml; charset=utf-8",
            FeedFormat.ATOM: "application/atom+xml; charset=utf-8",
            FeedFormat.JSON: "application/feed+json; charset=utf-8",
        }[self]


_RENDERERS = {
    FeedFormat.RSS: render_rss,
    FeedFormat.ATOM: render_atom,
    FeedFormat.JSON: render_json,
}


@dataclass(frozen=True, slots=True)
class Representation:
    """One encoding of a rendered feed, with the headers to send it with."""

    body: bytes
    etag: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    """A rendered feed: plain and gzipped, with its validators."""

    plain: Representation
    gzipped: Representation
    last_modified: float  # seconds since the epoch, whole
    etags: frozenset[str]  # both representations' tags, for If-None-Match

    @property
    def size(self) -> int:
        """The bytes it takes in the render cache, roughly: both bodies and an overhead."""
        return len(self.plain.body) + len(self.gzipped.body) + ENTRY_OVERHEAD_BYTES


#: What a kept feed is found by: topic, format, base URL, canonical filter (its query's
#: pairs), and the filter's time cut-off (``None`` for none).
CacheKey = tuple[str, "FeedFormat", str, tuple[tuple[str, str], ...], dt.datetime | None]


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


def max_age_seconds(interval: dt.timedelta) -> int:
    """How long caches may keep a feed: half its sources' refresh interval, at least a minute."""
    return max(MIN_MAX_AGE_SECONDS, int(interval.total_seconds()) // 2)


def ttl_minutes(interval: dt.timedelta) -> int:
    """The RSS ``ttl`` for a refresh interval: whole minutes, rounded up, one at least."""
    return max(1, math.ceil(interval.total_seconds() / 60))


def _representation(
    body: bytes, etag: str, common: list[tuple[str, str]], encoding: str | None
) -> Representation:
    headers = [*common, ("ETag", etag), ("Content-Length", str(len(body)))]
    if encoding:
        headers.append(("Content-Encoding", encoding))
    return Representation(body=body, etag=etag, headers=tuple(headers))


class FeedPublisher:
    """Renders topics' feeds on demand and keeps them until the ledger changes.

    At most ``config.limits.render_cache_entries`` feeds and
    ``config.limits.render_cache_bytes`` bytes are kept (the least recently used are dropped;
    a feed larger than the whole bound is served, never kept). ``renders`` counts the renders.
    ``now`` is the wall clock, which a filter's ``filter_time`` counts back from.
    """

    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        *,
        version_ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(UTC),
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.topics = {topic.id: topic for topic in config.topics}
        self.version_ttl = version_ttl
        self.clock = clock
        self.now = now
        self.max_cached = config.limits.render_cache_entries
        self.max_cached_bytes = config.limits.render_cache_bytes
        self.renders = 0
        self._version: int | None = None
        self._checked_at = float("-inf")
        self._cache: OrderedDict[CacheKey, RenderedFeed] = OrderedDict()
        self._cached_bytes = 0
        #: Each topic's entries, all of them, for the ledger version they were read at: what
        #: every filter of the topic selects from, read once per version.
        self._selected: dict[str, tuple[int, list[StoredEntry]]] = {}
        self._lock = threading.Lock()
        #: The entries left out of feeds (and of the pages), per source.
        self.left_out = LeftOutEntries()

    @property
    def cached(self) -> tuple[int, int]:
        """How many feeds are kept, and how many bytes they take."""
        with self._lock:
            return len(self._cache), self._cached_bytes

    def refresh_interval(self, topic: TopicConfig) -> dt.timedelta:
        """The shortest refresh interval of the topic's sources."""
        intervals = [
            source.refresh_interval
            for source in self.config.sources
            if not topic.sources or source.id in topic.sources
        ]
        return min(intervals, default=dt.timedelta(hours=1))

    def ledger_version(self) -> int:
        """The ledger's version, read at most once per ``version_ttl`` seconds: what caches of
        anything drawn from the entries (feeds, pages) are keyed on."""
        return self._current_version()

    def _current_version(self) -> int:
        now = self.clock()
        if self._version is None or now - self._checked_at >= self.version_ttl:
            version = self.ledger.version()
            with self._lock:
                if version != self._version:
                    self._cache.clear()
                    self._cached_bytes = 0
                    metrics.instruments().cached(0, 0)
                self._version, self._checked_at = version, now
        return self._version

    def feed(
        self,
        topic_id: str,
        feed_format: FeedFormat,
        *,
        base_url: str,
        filters: FeedFilter = NO_FILTER,
    ) -> RenderedFeed:
        """The topic's feed in a format, as served under ``base_url`` (``https://host``: one
        of the few a request may be given, see ``feeds.serve.hosts``), with the entries
        ``filters`` keeps (canonical, so that equal filters share one kept feed);
        ``LookupError`` for an unknown topic."""
        topic = self.topics.get(topic_id)
        if topic is None:
            raise LookupError(f"no topic {topic_id!r}")
        cutoff = filters.cutoff(self.now()) if filters.seconds else None
        key: CacheKey = (topic_id, feed_format, base_url, filters.pairs, cutoff)
        version = self._current_version()
        cached = self._cache.get(key)
        if cached is not None:
            with suppress(KeyError):  # dropped by another thread meanwhile
                self._cache.move_to_end(key)
            return cached
        with self._lock:
            cached = self._cache.get(key)
            if cached is None:
                started = time.perf_counter()
                cached = self._render(
                    topic, feed_format, base_url, filters, cutoff=cutoff, version=version
                )
                self.renders += 1
                metrics.instruments().rendered(
                    str(feed_format), filters.selects, time.perf_counter() - started
                )
                self._keep(key, cached)
            return cached

    def _keep(self, key: CacheKey, feed: RenderedFeed) -> None:
        """Keep a feed just rendered, dropping the least recently used beyond the bounds
        (under the lock)."""
        if feed.size > self.max_cached_bytes:
            return
        self._cache[key] = feed
        self._cached_bytes += feed.size
        while len(self._cache) > self.max_cached or self._cached_bytes > self.max_cached_bytes:
            _key, dropped = self._cache.popitem(last=False)
            self._cached_bytes -= dropped.size
        metrics.instruments().cached(len(self._cache), self._cached_bytes)

    def _all_entries(self, topic: TopicConfig, version: int) -> list[StoredEntry]:
        """All of the topic's entries, newest first, read once per ledger version (under the
        lock)."""
        kept = self._selected.get(topic.id)
        if kept is not None and kept[0] == version:
            return kept[1]
        candidates = self.ledger.entries(topic.sources or None, left_out=self.left_out.record)
        chosen = select_entries(topic, candidates, len(candidates))
        self._selected[topic.id] = (version, chosen)
        return chosen

    def _render(
        self,
        topic: TopicConfig,
        feed_format: FeedFormat,
        base: str,
        filters: FeedFilter,
        *,
        cutoff: dt.datetime | None,
        version: int,
    ) -> RenderedFeed:
        count = min(filters.limit or topic.limit, MAX_FEED_ENTRIES)
        if filters.selects:
            entries = filters.apply(self._all_entries(topic, version), count, cutoff)
        else:
            entries = newest_entries(topic, self.ledger, count, left_out=self.left_out.record)
        interval = self.refresh_interval(topic)
        query = f"?{urlencode(filters.pairs)}" if filters.pairs else ""
        self_url = f"{base}/feeds/{topic.id}.{feed_format}{query}"
        hub_url = f"{base}{HUB_PATH}" if self.config.websub.enabled else ""
        language = self.config.topic_language(topic)
        sources = self.config.topic_sources(topic)
        info = FeedInfo(
            topic_id=topic.id,
            title=topic.title,
            description=topic.description,
            self_url=self_url,
            home_url=f"{base}/topics/{topic.id}",
            language=language,
            publisher=self.config.publisher.name,
            ttl_minutes=ttl_minutes(interval),
            image=topic.image,
            stylesheet_url=f"{base}{STYLESHEET_PATH}",
            # entries in another language than the feed's say theirs
            entry_languages={s.id: s.language for s in sources if s.language != language},
            source_zones={s.id: s.timezone for s in sources},
            hub_url=hub_url,
        )
        rendered = render_feed(_RENDERERS[feed_format], info, entries)
        for left_out in rendered.left_out:
            self.left_out.record(left_out)
        body = rendered.body
        updated = feed_updated(entries)
        digest = hashlib.sha256(body).hexdigest()[:32]
        common = [
            ("Content-Type", feed_format.content_type),
            ("Last-Modified", format_datetime(updated, usegmt=True)),
            ("Cache-Control", f"public, max-age={max_age_seconds(interval)}"),
            # a browser (Accept: text/html) gets RSS and Atom as XML, so that it shows them
            # as a page through the stylesheet (see feeds.serve.http)
            (
                "Vary",
                "Accept-Encoding" if feed_format is FeedFormat.JSON else "Accept, Accept-Encoding",
            ),
        ]
        if hub_url:  # WebSub discovery (its section 4)
            common.append(("Link", f'<{hub_url}>; rel="hub", <{self_url}>; rel="self"'))
        plain = _representation(body, f'"{digest}"', common, None)
        gzipped = _representation(
            gzip.compress(body, compresslevel=6, mtime=0), f'"{digest}-gzip"', common, "gzip"
        )
        return RenderedFeed(
            plain=plain,
            gzipped=gzipped,
            last_modified=updated.timestamp(),
            etags=frozenset((plain.etag, gzipped.etag)),
        )
