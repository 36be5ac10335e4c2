"""Publishing feeds: rendering each topic's feed once per change of its sources, and keeping it
ready.

``FeedPublisher.feed`` returns a ready representation (bytes, gzipped bytes, validators,
caching headers). It renders only when the version of one of the topic's own sources has
moved since the last render (every source's version is read in one cheap query, at most once
per ``version_ttl`` seconds); otherwise it answers from memory without touching the database,
and, once a feed has been found current since the last check, without taking any lock.
Renders run outside the publisher's lock, one at a time per kept feed: while a feed is
rendered again, requests for it get the one rendered before; a feed never rendered is waited
for, by its own requests only. A feed without a filter is rendered from the topic's entries
read newest first, a batch at a time, only until it has its entries
(``feeds.serve.topics.newest_entries``), however many the ledger holds. What it keeps is
bounded in count and in bytes; the least recently used feeds go first. A filtered feed
(``feeds.serve.filters``) is kept as any other, once per canonical filter; every filter of a
topic selects from its entries read once per version of its sources, so that a new filter
costs a render, not a database read. Entries left out of feeds (a row that cannot be an entry,
an entry a feed cannot be rendered with) are counted per source, for the status page.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import format_datetime
from urllib.parse import urlencode

from feeds import metrics
from feeds.config import MAX_FEED_ENTRIES, Config, TopicConfig
from feeds.config.hub import HUB_PATH
from feeds.ledger.store import Ledger
from feeds.model import UTC, StoredEntry
from feeds.serve.filters import NO_FILTER, FeedFilter
from feeds.serve.left_out import LeftOutEntries
from feeds.serve.pending import Pending
from feeds.serve.render import (
    FeedInfo,
    feed_updated,
    render_atom,
    render_feed,
    render_json,
    render_rss,
)
from feeds.serve.representation import FeedFormat, RenderedFeed, ready_feed
from feeds.serve.topics import newest_entries, select_entries

MIN_MAX_AGE_SECONDS = 60
#: Where the XSL stylesheet that shows RSS and Atom feeds as a page in browsers is served.
STYLESHEET_PATH = "/feeds/feed.xsl"


_RENDERERS = {
    FeedFormat.RSS: render_rss,
    FeedFormat.ATOM: render_atom,
    FeedFormat.JSON: render_json,
}


#: What a kept feed is found by: topic, format, base URL, canonical filter (its query's
#: pairs), and the filter's time cut-off (``None`` for none).
CacheKey = tuple[str, "FeedFormat", str, tuple[tuple[str, str], ...], dt.datetime | None]
#: What a topic's feeds are drawn from, as of a version check: the version of each of its
#: sources (of every source the ledger holds, for a topic of all sources), by source id.
TopicVersion = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class _Kept:
    """A kept feed and the version of its topic's sources it was rendered at."""

    feed: RenderedFeed
    version: TopicVersion


def max_age_seconds(interval: dt.timedelta) -> int:
    """How long caches may keep a feed: half its sources' refresh interval, at least a minute."""
    return max(MIN_MAX_AGE_SECONDS, int(interval.total_seconds()) // 2)


def ttl_minutes(interval: dt.timedelta) -> int:
    """The RSS ``ttl`` for a refresh interval: whole minutes, rounded up, one at least."""
    return max(1, math.ceil(interval.total_seconds() / 60))


class FeedPublisher:
    """Renders topics' feeds on demand and keeps them until one of their sources changes.

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
        #: Each source's version as of the last check, and each topic's, drawn from them.
        self._versions: dict[str, int] | None = None
        self._topic_versions: dict[str, TopicVersion] = {}
        self._checked_at = float("-inf")
        self._cache: OrderedDict[CacheKey, _Kept] = OrderedDict()
        #: The kept feeds found current since the last version check, by key: what a request
        #: is answered from without the lock until the next check (which starts it anew).
        #: Only ever filled under the lock, with a feed of its topic's version as checked.
        self._current: dict[CacheKey, RenderedFeed] = {}
        self._cached_bytes = 0
        #: The renders in flight, by the key their feed is kept under.
        self._rendering: dict[CacheKey, Pending[RenderedFeed]] = {}
        #: Each topic's entries, all of them, for the version of its sources they were read at:
        #: what every filter of the topic selects from, read once per version.
        self._selected: dict[str, tuple[TopicVersion, list[StoredEntry]]] = {}
        self._reading: dict[tuple[str, TopicVersion], Pending[list[StoredEntry]]] = {}
        #: Held for the dictionaries above only, never while rendering or reading the ledger.
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

    def topic_version(self, topic: TopicConfig, now: float | None = None) -> TopicVersion:
        """The versions of the topic's sources (of all sources, for a topic of all), read at
        most once per ``version_ttl`` seconds: what the topic's kept feeds are valid for
        (``now``: the clock's time, if it was just read)."""
        self.source_versions(now)
        with self._lock:
            return self._topic_versions[topic.id]

    def source_versions(self, now: float | None = None) -> dict[str, int]:
        """Each source's version, read again once ``version_ttl`` seconds have passed
        (``now``: the clock's time, if it was just read)."""
        if now is None:
            now = self.clock()
        with self._lock:
            versions, checked_at = self._versions, self._checked_at
        if versions is None or now - checked_at >= self.version_ttl:
            versions = self.ledger.source_versions()
            every = tuple(sorted(versions.items()))
            topic_versions = {
                topic.id: tuple((s, versions.get(s, 0)) for s in topic.sources)
                if topic.sources
                else every
                for topic in self.topics.values()
            }
            with self._lock:
                if now >= self._checked_at:  # not a check that a later one overtook
                    self._current = {}  # before the check's time: see ``feed``
                    self._versions, self._checked_at = versions, now
                    self._topic_versions = topic_versions
        return versions

    @staticmethod
    def key(
        topic_id: str, feed_format: FeedFormat, base_url: str, filters: FeedFilter
    ) -> CacheKey | None:
        """What ``feed``'s answer for these is kept under, for ``current``; ``None`` for a
        filter with a time cut-off, whose key moves with the clock."""
        if filters.seconds:
            return None
        return (topic_id, feed_format, base_url, filters.pairs, None)

    def current(self, key: CacheKey) -> RenderedFeed | None:
        """The feed kept under ``key`` (``key``) if it has been found current since the last
        version check and that check is not yet due again: what ``feed`` would answer, read
        without any lock; ``None`` otherwise (``feed`` is then the way)."""
        # ``_current`` is read before the check's time, which a check sets after starting it
        # anew: a feed from before a check is answered with only as a request that came
        # before the check.
        current = self._current.get(key)
        if current is not None and self.clock() - self._checked_at < self.version_ttl:
            return current
        return None

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
        ``LookupError`` for an unknown topic.

        A feed found current since the last version check is answered with at once, without
        the lock (its place among the least recently used is counted at its first request
        after each check); any other request takes the lock."""
        now = None
        if not filters.seconds:
            key: CacheKey = (topic_id, feed_format, base_url, filters.pairs, None)
            # as ``current``, with the clock's time kept for the check below
            current = self._current.get(key)
            if current is not None:
                now = self.clock()
                if now - self._checked_at < self.version_ttl:
                    return current
        topic = self.topics.get(topic_id)
        if topic is None:
            raise LookupError(f"no topic {topic_id!r}")
        cutoff = filters.cutoff(self.now()) if filters.seconds else None
        key = (topic_id, feed_format, base_url, filters.pairs, cutoff)
        version = self.topic_version(topic, now)
        with self._lock:
            kept = self._cache.get(key)
            if kept is not None:
                self._cache.move_to_end(key)
                if kept.version == version:
                    if cutoff is None and version == self._topic_versions.get(topic_id):
                        self._current[key] = kept.feed
                    return kept.feed
                if key in self._rendering:
                    return kept.feed  # the last one while the next is rendered
            pending = self._rendering.get(key)
            rendering = pending is None
            if pending is None:
                pending = self._rendering[key] = Pending()
        if not rendering:
            return pending.result()  # none kept to answer with: wait for the one under way
        try:
            started = time.perf_counter()
            feed = self._render(
                topic, feed_format, base_url, filters, cutoff=cutoff, version=version
            )
            seconds = time.perf_counter() - started
        except BaseException as error:
            with self._lock:
                del self._rendering[key]  # the next request renders it again
            pending.fail(error)
            raise
        metrics.instruments().rendered(str(feed_format), filters.selects, seconds)
        with self._lock:
            self.renders += 1
            self._keep(key, _Kept(feed=feed, version=version))
            del self._rendering[key]
        pending.finish(feed)
        return feed

    def _keep(self, key: CacheKey, kept: _Kept) -> None:
        """Keep a feed just rendered in place of the one it follows, dropping the least
        recently used beyond the bounds (under the lock)."""
        replaced = self._cache.pop(key, None)
        self._current.pop(key, None)
        if replaced is not None:
            self._cached_bytes -= replaced.feed.size
        if kept.feed.size <= self.max_cached_bytes:
            self._cache[key] = kept
            self._cached_bytes += kept.feed.size
        while len(self._cache) > self.max_cached or self._cached_bytes > self.max_cached_bytes:
            dropped_key, dropped = self._cache.popitem(last=False)
            self._current.pop(dropped_key, None)
            self._cached_bytes -= dropped.feed.size
        metrics.instruments().cached(len(self._cache), self._cached_bytes)

    def _all_entries(self, topic: TopicConfig, version: TopicVersion) -> list[StoredEntry]:
        """All of the topic's entries, newest first, read once per version of its sources (a
        filter of a topic being read waits for that read)."""
        with self._lock:
            kept = self._selected.get(topic.id)
            if kept is not None and kept[0] == version:
                return kept[1]
            pending = self._reading.get((topic.id, version))
            reading = pending is None
            if pending is None:
                pending = self._reading[topic.id, version] = Pending()
        if not reading:
            return pending.result()
        try:
            candidates = self.ledger.entries(topic.sources or None, left_out=self.left_out.record)
            chosen = select_entries(topic, candidates, len(candidates))
        except BaseException as error:
            with self._lock:
                del self._reading[topic.id, version]
            pending.fail(error)
            raise
        with self._lock:
            self._selected[topic.id] = (version, chosen)
            del self._reading[topic.id, version]
        pending.finish(chosen)
        return chosen

    def _render(
        self,
        topic: TopicConfig,
        feed_format: FeedFormat,
        base: str,
        filters: FeedFilter,
        *,
        cutoff: dt.datetime | None,
        version: TopicVersion,
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
        return ready_feed(body, common, feed_format, last_modified=updated.timestamp())
