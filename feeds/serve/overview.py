"""What the pages for people show: each topic's entries and last update, each source's health.

Read from the ledger. A topic's overview is read once per version of its own sources (the
publisher's rate-limited version check), as its feeds read it: its newest entries only, so
that what a page costs follows what changed and what it shows, not what is stored; between
changes the index costs a dictionary lookup a topic. Its count, which must read every entry
of its sources, is kept apart (``TopicCounts``): counted by a thread of its own, the count
before shown meanwhile; what is slow to read rests. Knows no HTML.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass, field, replace
from functools import partial

from feeds.config import SourceConfig, TopicConfig
from feeds.ledger import hub
from feeds.ledger.articles import ArticleCounts
from feeds.ledger.store import SourceState
from feeds.model import UTC, StoredEntry
from feeds.serve.left_out import LeftOutReport
from feeds.serve.publish import FeedPublisher, TopicVersion
from feeds.serve.render import feed_updated
from feeds.serve.topics import count_entries, newest_entries

logger = logging.getLogger(__name__)

#: The most entries an embedded widget shows.
MAX_EMBED_COUNT = 20
#: The least lateness that makes a source's refresh overdue (see ``SourceHealth.overdue``).
OVERDUE_FLOOR = dt.timedelta(minutes=5)


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicOverview:
    """A topic as its pages show it.

    Attributes:
        topic: The topic.
        entry_count: How many live entries the topic holds (its feeds carry the latest
            ``topic.limit`` of them), as last counted; ``None`` while it has never been
            counted (a very large ledger's first count, under way).
        latest: Its newest entries, newest first: as many as its feeds carry by default, and
            at least as many as a widget may show.
        updated: When its feeds last changed (their ``updated`` time), or ``None`` while the
            topic has no entries.
    """

    topic: TopicConfig
    entry_count: int | None
    latest: tuple[StoredEntry, ...]
    updated: dt.datetime | None

    @property
    def feed_entries(self) -> tuple[StoredEntry, ...]:
        """The entries its feeds carry by default."""
        return self.latest[: self.topic.limit]


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceHealth:
    """How refreshing one source goes.

    Attributes:
        source: The configured source.
        state: What the ledger remembers about refreshing it (empty if never refreshed).
        entry_count: How many of its entries are published.
        left_out: What was left out of its entries in feeds and pages (since the server
            started), or ``None`` for nothing.
        checked_at: When the health was read (aware UTC).
        articles: Its entries' articles (``full_text`` sources): how many have a body, how
            many are failing, the last error; empty counts for none.
    """

    source: SourceConfig
    state: SourceState
    entry_count: int
    checked_at: dt.datetime
    left_out: LeftOutReport | None = None
    articles: ArticleCounts = field(default_factory=ArticleCounts)

    @property
    def articles_error(self) -> str | None:
        """The last error fetching one of its articles, without credentials."""
        error = self.articles.last_error
        return None if error is None else self.source.redact(error)

    @property
    def suspect(self) -> bool:
        """True while the layout-change guard holds the source's page back."""
        return self.state.suspect_reason is not None

    @property
    def last_error(self) -> str | None:
        """The last error, without credentials of the source's URL (also in rows recorded
        before errors were stored so)."""
        error = self.state.last_error
        return None if error is None else self.source.redact(error)

    @property
    def suspect_reason(self) -> str | None:
        """Why the layout-change guard holds the page back, without credentials."""
        reason = self.state.suspect_reason
        return None if reason is None else self.source.redact(reason)

    @property
    def overdue(self) -> bool:
        """True when its next refresh is late by more than a whole refresh interval (and at
        least ``OVERDUE_FLOOR``): no scheduler is refreshing it. Failures push the due time
        out by their backoff, so only a stalled or absent scheduler makes a source overdue; a
        source never scheduled yet is not."""
        due = self.state.next_attempt_at
        grace = max(self.source.refresh_interval, OVERDUE_FLOOR)
        return due is not None and self.checked_at - due > grace

    @property
    def healthy(self) -> bool:
        """True when its last refresh (if any) worked, nothing is held back, none of its
        entries is left out of feeds and its next refresh is not overdue."""
        return (
            self.state.consecutive_failures == 0
            and not self.suspect
            and self.left_out is None
            and not self.overdue
        )

    def record(self) -> dict[str, object]:
        """The source's health as JSON-ready data (UTC instants in RFC 3339, ``null`` for
        never)."""
        state = self.state
        return {
            "id": self.source.id,
            "title": self.source.title,
            "url": self.source.page_url,
            "healthy": self.healthy,
            "entries": self.entry_count,
            "last_status": state.last_status,
            "last_fetch_at": rfc3339(state.last_fetch_at),
            "last_success_at": rfc3339(state.last_success_at),
            "last_error": self.last_error,
            "last_error_at": rfc3339(state.last_error_at),
            "consecutive_failures": state.consecutive_failures,
            "suspect": self.suspect,
            "suspect_reason": self.suspect_reason,
            "next_refresh_at": rfc3339(state.next_attempt_at),
            "left_out_of_feeds": self.left_out.entries if self.left_out else 0,
            "left_out_last_entry": self.left_out.last_entry_id if self.left_out else None,
            "left_out_last_reason": self.left_out.last_reason if self.left_out else None,
            "overdue": self.overdue,
            "full_text": self.source.full_text,
            "articles_with_content": self.articles.with_content,
            "articles_failing": self.articles.failing,
            "articles_last_error": self.articles_error,
            "articles_last_error_at": rfc3339(self.articles.last_error_at),
        }


#: The most failing subscriptions the status page lists.
MAX_FAILING_SHOWN = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class HubStatus:
    """The hub's subscriptions as the status page shows them: counted per topic, and the
    failing ones (by callback host; a callback's path may be a capability)."""

    topics: tuple[hub.TopicSubscriptions, ...] = ()
    failing: tuple[hub.Subscriber, ...] = ()

    @property
    def record(self) -> dict[str, object]:
        """For ``/status.json``."""
        return {
            "topics": [
                {"topic": t.topic, "active": t.active, "dropped": t.dropped,
                 "failing": t.failing, "deliveries": t.deliveries}
                for t in self.topics
            ],
            "failing": [
                {"topic": s.topic, "callback_host": s.callback_host, "state": s.state,
                 "failures_in_a_row": s.consecutive_failures, "last_error": s.last_error,
                 "last_error_at": rfc3339(_instant(s.last_error_at))}
                for s in self.failing
            ],
        }  # fmt: skip


def _instant(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, UTC)


def rfc3339(value: dt.datetime | None) -> str | None:
    """A UTC instant as ``2026-11-22T09:00:00Z``; ``None`` stays ``None``."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def utc_now() -> dt.datetime:
    """The wall clock, in UTC."""
    return dt.datetime.now(UTC)


#: A topic read or counted in at least this many seconds (a very large ledger; a count reads
#: every entry's matching fields) is read or counted again no sooner than ``RESTING_READS``
#: times as long after it, whatever changes meanwhile, so that pages spend at most a fraction
#: of a thread however often the ledger changes. Feeds are never held back so.
SLOW_READ_SECONDS = 1.0
RESTING_READS = 4
#: How long a page waits for its topics' first counts (all of them together) before it is
#: shown without them.
COUNT_WAIT_SECONDS = 2.0


def _resting(now: float, read_at: float, seconds: float) -> bool:
    """True while what a slow read (or count) read is kept, whatever changed since."""
    return seconds >= SLOW_READ_SECONDS and now - read_at < RESTING_READS * seconds


@dataclass(frozen=True, slots=True)
class _KeptCount:
    version: TopicVersion
    count: int
    read_at: float  # when the count ended (``TopicCounts.monotonic``)
    seconds: float  # how long it took


class TopicCounts:
    """Each topic's count of live entries, kept per version of its sources, made by a thread
    of its own, one topic at a time, never by a request (``count_topic``: how a topic is
    counted; ``close``: the thread's last count waited for, no other made).

    A request that finds a count out of date hands it on and is given the count before
    meanwhile; a slow count (``SLOW_READ_SECONDS`` or more) is made again no sooner than
    ``RESTING_READS`` times its length after the one before. Only a topic's first count is
    waited for, as long as the request says, and only until one request has waited for it in
    vain."""

    def __init__(
        self,
        count_topic: Callable[[TopicConfig], int],
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.count_topic = count_topic
        self.monotonic = monotonic
        self._kept: dict[str, _KeptCount] = {}
        #: The topics handed to the counting thread, by id: what each will count, and its
        #: count to come.
        self._pending: dict[str, tuple[TopicConfig, TopicVersion, Future[int]]] = {}
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        #: The topics whose first count a request has waited for in vain.
        self._waited_for: set[str] = set()

    def known(self, topic_id: str) -> int | None:
        """The topic's count as last counted, of whatever version; ``None`` if never."""
        kept = self._kept.get(topic_id)
        return None if kept is None else kept.count

    def count(self, topic: TopicConfig, version: TopicVersion, *, wait: float | None) -> int | None:
        """The topic's count as of ``version`` if it is made; else the count before, while
        this one is made (or rests: see the class); for a topic never counted yet, its first
        count if it is made within ``wait`` seconds (unless a request waited for it in vain
        before; ``None``: not waiting), else ``None``."""
        kept = self._kept.get(topic.id)
        if kept is not None and kept.version == version:
            return kept.count
        if kept is not None and _resting(self.monotonic(), kept.read_at, kept.seconds):
            return kept.count
        first = self._hand_on(topic, version)
        if first is None or kept is not None or wait is None or topic.id in self._waited_for:
            return None if kept is None else kept.count
        try:
            return first.result(timeout=wait)
        except CancelledError:
            return None  # closed meanwhile
        except FutureTimeoutError:
            self._waited_for.add(topic.id)  # one page has waited for it: no other will
            return None

    def close(self, timeout: float = 30.0) -> None:
        """Make no more counts: those handed on are dropped (their waiters given none), the
        one being made is waited for (``timeout`` seconds at most)."""
        with self._lock:
            self._closed = True
            dropped = [self._pending.pop(topic_id)[2] for topic_id in self._queue]
            self._queue.clear()
            thread = self._thread
        for future in dropped:
            future.cancel()
        if thread is not None:
            thread.join(timeout)

    def _counted(self, topic: TopicConfig, version: TopicVersion) -> int:
        """The topic counted and kept (by the counting thread: one count at a time)."""
        started = self.monotonic()
        count = self.count_topic(topic)
        ended = self.monotonic()
        self._kept[topic.id] = _KeptCount(version, count, ended, ended - started)
        return count

    def _hand_on(self, topic: TopicConfig, version: TopicVersion) -> Future[int] | None:
        """The topic's count to come from the counting thread (started if it is not
        running), asked for now unless it is asked for already; ``None`` once closed."""
        with self._lock:
            if self._closed:
                return None
            pending = self._pending.get(topic.id)
            if pending is not None:
                return pending[2]
            future: Future[int] = Future()
            self._pending[topic.id] = (topic, version, future)
            self._queue.append(topic.id)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._count_in_turn, name="feedpub-topic-counts", daemon=True
                )
                self._thread.start()
        return future

    def _count_in_turn(self) -> None:
        """The counting thread: the topics handed on, in turn, until there are none."""
        while True:
            with self._lock:
                if not self._queue:
                    self._thread = None
                    return
                topic, version, future = self._pending[self._queue.popleft()]
            try:
                count = self._counted(topic, version)
            except Exception as error:  # any: the count is asked for again next time
                logger.warning("topic %s: counting its entries failed: %s", topic.id, error)
                future.set_exception(error)
            else:
                future.set_result(count)
            finally:
                with self._lock:
                    del self._pending[topic.id]


@dataclass(frozen=True, slots=True)
class _KeptOverview:
    version: TopicVersion
    overview: TopicOverview
    read_at: float  # when the read of its latest entries ended (``Overview.monotonic``)
    seconds: float  # how long it took


class Overview:
    """Topic overviews (each kept until one of its topic's sources changes, its count kept
    by ``counts``) and source health (read each time, at the time ``clock`` tells).

    A page waits for its topics' first counts at most ``count_wait`` seconds in all;
    ``monotonic`` tells how long a read or a count took, and how long it rests."""

    def __init__(
        self,
        publisher: FeedPublisher,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        count_wait: float = COUNT_WAIT_SECONDS,
    ) -> None:
        self.publisher = publisher
        self.clock = clock
        self.count_wait = count_wait
        self.monotonic = monotonic
        self.config = publisher.config
        self.counts = TopicCounts(self._count, monotonic=monotonic)
        publisher.ledger.before_close(self.counts.close)
        #: Each topic's overview and the version of its sources it was read at.
        self._kept: dict[str, _KeptOverview] = {}
        #: Held while a topic's overview is read; a request finding it held is given the
        #: one before, if there is one.
        self._reading = {topic.id: threading.Lock() for topic in self.config.topics}
        #: The version of each source whose entries were last read through for the status
        #: page (rows that cannot be entries are found so), and the lock of that read.
        self._scanned: dict[str, int] = {}
        self._scanning = threading.Lock()
        self._lock = threading.Lock()

    def topics(self, *, counted: bool = True) -> tuple[TopicOverview, ...]:
        """Every topic, in the configuration's order; with their counts unless not
        ``counted`` (then each as last counted, none waited for)."""
        topics = self.config.topics
        if not counted:
            return tuple(self._overview(topic, counted=False) for topic in topics)
        deadline = time.monotonic() + self.count_wait
        for topic in topics:  # every count asked for before any is waited for
            self._overview(topic, counted=True, wait=None)
        return tuple(
            self._overview(topic, counted=True, wait=max(0.0, deadline - time.monotonic()))
            for topic in topics
        )

    def topic(self, topic_id: str, *, counted: bool = True) -> TopicOverview:
        """One topic, with its count unless not ``counted`` (as ``topics``); ``LookupError``
        for an unknown one."""
        topic = self.publisher.topics.get(topic_id)
        if topic is None:
            raise LookupError(f"no topic {topic_id!r}")
        return self._overview(topic, counted=counted, wait=self.count_wait)

    def sources(self) -> tuple[SourceHealth, ...]:
        """Every configured source's health, in the configuration's order (three queries, and
        the entries of each source that changed since the last look: rows that cannot be
        entries are found there)."""
        self._scan_changed_sources()
        ledger = self.publisher.ledger
        left_out = self.publisher.left_out
        states = ledger.states()
        counts = ledger.source_live_counts()
        articles = ledger.article_counts()
        now = self.clock()
        return tuple(
            SourceHealth(
                source=source,
                state=states.get(source.id) or SourceState(source_id=source.id),
                entry_count=counts.get(source.id, 0),
                checked_at=now,
                left_out=left_out.report(source.id),
                articles=articles.get(source.id) or ArticleCounts(),
            )
            for source in self.config.sources
        )

    def hub(self) -> HubStatus | None:
        """The hub's subscriptions (two queries); ``None`` when the hub is off."""
        if not self.config.websub.enabled:
            return None
        with self.publisher.ledger.reading() as connection:
            return HubStatus(
                topics=tuple(hub.topic_subscriptions(connection)),
                failing=tuple(hub.failing_subscribers(connection, MAX_FAILING_SHOWN)),
            )

    def _overview(
        self, topic: TopicConfig, *, counted: bool, wait: float | None = None
    ) -> TopicOverview:
        """The topic's overview as of its sources' versions: the one kept (or one before,
        while a slow read rests), or read now (by one request at a time; the others are
        given the one before meanwhile, if any); its count as ``counts`` has it (waiting at
        most ``wait`` seconds for a first one, ``None``: not waiting), or, not ``counted``,
        as last counted, not asked for."""
        version = self.publisher.topic_version(topic)
        kept = self._kept.get(topic.id)
        if kept is None or (
            kept.version != version and not _resting(self.monotonic(), kept.read_at, kept.seconds)
        ):
            kept = self._read_latest(topic, version, kept)
            if kept.version != version:
                return kept.overview  # read by another request meanwhile: the one before
        if counted:
            count = self.counts.count(topic, version, wait=wait)
        else:
            count = self.counts.known(topic.id)
        if count != kept.overview.entry_count:
            kept = replace(kept, overview=replace(kept.overview, entry_count=count))
            with self._lock:
                if self._kept.get(topic.id, kept).version == kept.version:
                    self._kept[topic.id] = kept
        return kept.overview

    def _read_latest(
        self, topic: TopicConfig, version: TopicVersion, kept: _KeptOverview | None
    ) -> _KeptOverview:
        """The topic's overview read now, or, while another request reads it, ``kept``."""
        reading = self._reading[topic.id]
        if not reading.acquire(blocking=kept is None):
            assert kept is not None  # noqa: S101  (only a request with one to give waits not)
            return kept
        try:
            kept = self._kept.get(topic.id)
            if kept is None or kept.version != version:
                started = self.monotonic()
                overview = self._read(topic, self.counts.known(topic.id))
                ended = self.monotonic()
                kept = _KeptOverview(version, overview, ended, ended - started)
                with self._lock:
                    self._kept[topic.id] = kept
            return kept
        finally:
            reading.release()

    def _read(self, topic: TopicConfig, entry_count: int | None) -> TopicOverview:
        """The topic's newest entries, read as its feeds read them (with the count given)."""
        publisher = self.publisher
        latest = newest_entries(
            topic,
            publisher.ledger,
            max(topic.limit, MAX_EMBED_COUNT),
            left_out=publisher.left_out.record,
        )
        feed_entries = latest[: topic.limit]
        return TopicOverview(
            topic=topic,
            entry_count=entry_count,
            latest=tuple(latest),
            updated=feed_updated(feed_entries) if feed_entries else None,
        )

    def _count(self, topic: TopicConfig) -> int:
        """How many live entries the topic holds: counted by the database for a topic that
        keeps every entry of its sources, else from the matching fields of every entry of its
        sources (labels and keywords are matched in Python), read a batch at a time."""
        ledger = self.publisher.ledger
        if topic.labels or topic.exclude_labels or topic.keywords:
            return ledger.each_item_fields(topic.sources or None, partial(count_entries, topic))
        return ledger.item_count(topic.sources or None)

    def _scan_changed_sources(self) -> None:
        """Read through the entries of each source changed since the last look, so that its
        rows that cannot be entries are counted as left out (``LeftOutEntries``)."""
        versions = self.publisher.source_versions()
        with self._scanning:
            changed = [s for s, v in versions.items() if self._scanned.get(s) != v]
            for source_id in changed:
                self.publisher.ledger.entries([source_id], left_out=self.publisher.left_out.record)
                self._scanned[source_id] = versions[source_id]
