"""What the pages for people show: each topic's entries and last update, each source's health.

Read from the ledger. Topics are selected once per ledger version (the publisher's rate-limited
version check), so between changes the index costs a dictionary lookup. Knows no HTML.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from feeds.config import SourceConfig, TopicConfig
from feeds.ledger import hub
from feeds.ledger.articles import ArticleCounts
from feeds.ledger.store import SourceState
from feeds.model import UTC, StoredEntry
from feeds.serve.left_out import LeftOutReport
from feeds.serve.publish import FeedPublisher
from feeds.serve.render import feed_updated
from feeds.serve.topics import select_entries

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


class Overview:
    """Topic overviews (kept until the ledger changes) and source health (read each time,
    at the time ``clock`` tells)."""

    def __init__(
        self, publisher: FeedPublisher, *, clock: Callable[[], dt.datetime] = utc_now
    ) -> None:
        self.publisher = publisher
        self.clock = clock
        self.config = publisher.config
        self._topics: tuple[int, dict[str, TopicOverview]] | None = None
        self._lock = threading.Lock()

    def topics(self) -> tuple[TopicOverview, ...]:
        """Every topic, in the configuration's order."""
        return tuple(self._current().values())

    def topic(self, topic_id: str) -> TopicOverview:
        """One topic; ``LookupError`` for an unknown one."""
        found = self._current().get(topic_id)
        if found is None:
            raise LookupError(f"no topic {topic_id!r}")
        return found

    def sources(self) -> tuple[SourceHealth, ...]:
        """Every configured source's health, in the configuration's order (three queries, and the
        entries once per ledger version: rows that cannot be entries are found there)."""
        self._current()
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

    def _current(self) -> dict[str, TopicOverview]:
        version = self.publisher.ledger_version()
        cached = self._topics
        if cached is not None and cached[0] == version:
            return cached[1]
        with self._lock:
            if self._topics is None or self._topics[0] != version:
                self._topics = (version, self._select())
            return self._topics[1]

    def _select(self) -> dict[str, TopicOverview]:
        candidates = self.publisher.ledger.entries(left_out=self.publisher.left_out.record)
        overviews = {}
        for topic in self.config.topics:
            chosen = select_entries(topic, candidates, len(candidates))
            feed_entries = chosen[: topic.limit]
            overviews[topic.id] = TopicOverview(
                topic=topic,
                entry_count=len(chosen),
                latest=tuple(chosen[: max(topic.limit, MAX_EMBED_COUNT)]),
                updated=feed_updated(feed_entries) if feed_entries else None,
            )
        return overviews
