"""What the pages for people show: each topic's entries and last update, each source's health.

Read from the ledger. A topic's overview is read once per version of its own sources (the
publisher's rate-limited version check), as its feeds read it: its newest entries only, and
its count from the database, so that what a page costs follows what changed and what it
shows, not what is stored; between changes the index costs a dictionary lookup a topic.
Knows no HTML.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
            ``topic.limit`` of them).
        latest: Its newest entries, newest first: as many as its feeds carry by default, and
            at least as many as a widget may show.
        updated: When its feeds last changed (their ``updated`` time), or ``None`` while the
            topic has no entries.
    """

    topic: TopicConfig
    entry_count: int
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


#: An overview read in at least this many seconds (a topic with labels or keywords over a
#: very large ledger: its count reads every entry's matching fields) is read again no sooner
#: than ``RESTING_READS`` times as long after it, so that pages spend at most a fraction of a
#: thread on such reads however often the ledger changes. Feeds are never held back so.
SLOW_READ_SECONDS = 1.0
RESTING_READS = 4


@dataclass(frozen=True, slots=True)
class _KeptOverview:
    version: TopicVersion
    overview: TopicOverview
    read_at: float  # when the read ended (``Overview.monotonic``)
    seconds: float  # how long it took


class Overview:
    """Topic overviews (each kept until one of its topic's sources changes) and source health
    (read each time, at the time ``clock`` tells)."""

    def __init__(
        self,
        publisher: FeedPublisher,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.publisher = publisher
        self.clock = clock
        self.monotonic = monotonic
        self.config = publisher.config
        #: Each topic's overview, the version of its sources it was read at, when the read
        #: ended (``monotonic``) and how long it took.
        self._kept: dict[str, _KeptOverview] = {}
        #: Held while a topic's overview is read; a request finding it held is given the
        #: one before, if there is one.
        self._reading = {topic.id: threading.Lock() for topic in self.config.topics}
        #: The version of each source whose entries were last read through for the status
        #: page (rows that cannot be entries are found so), and the lock of that read.
        self._scanned: dict[str, int] = {}
        self._scanning = threading.Lock()

    def topics(self) -> tuple[TopicOverview, ...]:
        """Every topic, in the configuration's order."""
        return tuple(self._overview(topic) for topic in self.config.topics)

    def topic(self, topic_id: str) -> TopicOverview:
        """One topic; ``LookupError`` for an unknown one."""
        topic = self.publisher.topics.get(topic_id)
        if topic is None:
            raise LookupError(f"no topic {topic_id!r}")
        return self._overview(topic)

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

    def _overview(self, topic: TopicConfig) -> TopicOverview:
        """The topic's overview as of its sources' versions: the one kept, or read now (by
        one request at a time; the others are given the one before meanwhile, if any). A
        topic whose read is slow (``SLOW_READ_SECONDS``) is read again no sooner than
        ``RESTING_READS`` times that read's length after it, whatever changes meanwhile."""
        version = self.publisher.topic_version(topic)
        kept = self._kept.get(topic.id)
        if kept is not None and (kept.version == version or self._resting(kept)):
            return kept.overview
        reading = self._reading[topic.id]
        if not reading.acquire(blocking=kept is None):
            assert kept is not None  # noqa: S101  (only a request with one to give waits not)
            return kept.overview
        try:
            kept = self._kept.get(topic.id)
            if kept is None or kept.version != version:
                started = self.monotonic()
                overview = self._read(topic)
                ended = self.monotonic()
                kept = _KeptOverview(version, overview, ended, ended - started)
                self._kept[topic.id] = kept
            return kept.overview
        finally:
            reading.release()

    def _resting(self, kept: _KeptOverview) -> bool:
        """True while a slow read's overview is kept whatever changed since."""
        if kept.seconds < SLOW_READ_SECONDS:
            return False
        return self.monotonic() - kept.read_at < RESTING_READS * kept.seconds

    def _read(self, topic: TopicConfig) -> TopicOverview:
        """The topic's newest entries, read as its feeds read them; its count, counted by the
        database for a topic that keeps every entry of its sources, else from the matching
        fields of every entry of its sources (labels and keywords are matched in Python), read
        a batch at a time."""
        publisher = self.publisher
        record = publisher.left_out.record
        latest = newest_entries(
            topic, publisher.ledger, max(topic.limit, MAX_EMBED_COUNT), left_out=record
        )
        if topic.labels or topic.exclude_labels or topic.keywords:
            entry_count = publisher.ledger.each_item_fields(
                topic.sources or None, partial(count_entries, topic)
            )
        else:
            entry_count = publisher.ledger.item_count(topic.sources or None)
        feed_entries = latest[: topic.limit]
        return TopicOverview(
            topic=topic,
            entry_count=entry_count,
            latest=tuple(latest),
            updated=feed_updated(feed_entries) if feed_entries else None,
        )

    def _scan_changed_sources(self) -> None:
        """Read through the entries of each source changed since the last look, so that its
        rows that cannot be entries are counted as left out (``LeftOutEntries``)."""
        versions = self.publisher.source_versions()
        with self._scanning:
            changed = [s for s, v in versions.items() if self._scanned.get(s) != v]
            for source_id in changed:
                self.publisher.ledger.entries([source_id], left_out=self.publisher.left_out.record)
                self._scanned[source_id] = versions[source_id]
