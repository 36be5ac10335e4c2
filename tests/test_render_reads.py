"""What rendering a feed reads: on a real SQLite ledger of 2,000 entries of two sources
(items both list among them), a feed of 20 entries reads a bounded few of them, and its
bytes are those of selecting among every entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Sequence

import pytest
from sqlalchemy import event

from feeds.config import Config, TopicConfig, parse_config
from feeds.identity import item_key
from feeds.ledger.store import Ledger, Retention
from feeds.model import UTC, Entry, LeftOut, StoredEntry
from feeds.serve import publish
from feeds.serve.publish import FeedPublisher
from feeds.serve.representation import FeedFormat
from feeds.serve.topics import EntryReader, select_entries
from tests.refresh_kit import ObservedLedger, open_ledger

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
BASE = "https://feeds.example.org"
SOURCES = ("office", "press")
PER_SOURCE = 1000
#: The most entries a 20-entry feed may read (a batch or two, and their items' other
#: listings): far fewer than the ledger holds.
MOST_READ = 300


class ReadCountingLedger(ObservedLedger):
    """The real ledger, counting the entries each of its reads of entries hands out."""

    entries_read = 0

    def observe(self, found: Sequence[StoredEntry], *, first: bool) -> None:
        self.entries_read += len(found)

    def listings(
        self,
        keys: Collection[str],
        source_ids: Sequence[str] | None,
        *,
        left_out: Callable[[LeftOut], object] = lambda _left_out: None,
    ) -> list[StoredEntry]:
        found = super().listings(keys, source_ids, left_out=left_out)
        self.entries_read += len(found)
        return found


def listing(source_id: str) -> list[Entry]:
    """A source's page of ``PER_SOURCE`` items, newest first; every third is listed by both
    sources (the same title and day; the second source's a minute later)."""
    offset = SOURCES.index(source_id)
    entries = []
    for n in range(PER_SOURCE):
        shared = n % 3 == 0
        title = f"Shared story {n}" if shared else f"{source_id.title()} notice {n}"
        day = dt.date(2026, 11, 20) - dt.timedelta(days=n // 10)
        entries.append(
            Entry(
                id=f"urn:uuid:{n:08d}-0000-5000-8000-{offset:012d}",
                source_id=source_id,
                title=title,
                link=f"https://www.example.org/{source_id}/{n}",
                date=day,
                published=dt.datetime.combine(day, dt.time(12), UTC)
                - dt.timedelta(minutes=n % 10 * 30 - offset),
                summary=f"On the {'grant' if n % 4 == 0 else 'report'} of item {n}.",
            )
        )
    return entries


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadCountingLedger]:
    """The two sources merged ten minutes apart: a shared item was first seen by the first
    source's listing, which is the older of its two."""
    path = tmp_path_factory.mktemp("reads") / "ledger.db"
    opened = ReadCountingLedger(open_ledger(f"sqlite:///{path}").engine)
    for step, source_id in enumerate(SOURCES):
        with opened.transaction() as transaction:
            transaction.merge(
                source_id,
                listing(source_id),
                now=NOW + dt.timedelta(minutes=10 * step),
                retention=Retention(),
            )
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    text = '[publisher]\nname = "Test feeds"\nallowed_hosts = ["feeds.example.org"]\n'
    text += "".join(
        f'[[sources]]\nid = "{source_id}"\ntitle = "{source_id.title()}"\n'
        f'url = "https://www.example.org/{source_id}/lang--en/index.htm"\n'
        for source_id in SOURCES
    )
    text += '[[topics]]\nid = "all"\ntitle = "All"\nlimit = 20\n'
    text += '[[topics]]\nid = "grants"\ntitle = "Grants"\nlimit = 20\nkeywords = ["grant"]\n'
    text += '[[topics]]\nid = "press"\ntitle = "Press"\nlimit = 20\nsources = ["press"]\n'
    path = tmp_path_factory.mktemp("reads-config") / "feedpub.toml"
    return parse_config(text, path, adapter_kinds={"ilo"}, environ={})


def every_entry(
    topic: TopicConfig,
    reader: EntryReader,
    limit: int,
    *,
    keep: Callable[[StoredEntry], bool] | None = None,
    left_out: Callable[[LeftOut], object] = lambda _left_out: None,
) -> list[StoredEntry]:
    """Selecting among every entry of the topic's sources, as feeds once did."""
    assert isinstance(reader, Ledger)
    assert keep is None
    candidates = reader.entries(topic.sources or None, left_out=left_out)
    return select_entries(topic, candidates, limit)


TOPICS = ("all", "grants", "press")


@pytest.mark.parametrize("topic_id", TOPICS)
def test_a_feed_of_twenty_reads_a_few_of_two_thousand_entries(
    config: Config, ledger: ReadCountingLedger, topic_id: str
) -> None:
    assert len(ledger.entries()) == 2 * PER_SOURCE
    publisher = FeedPublisher(config, ledger, version_ttl=0, now=lambda: NOW)
    ledger.entries_read = 0
    feed = publisher.feed(topic_id, FeedFormat.ATOM, base_url=BASE)
    assert feed.plain.body.count(b"<entry>") == 20
    assert 0 < ledger.entries_read <= MOST_READ


@pytest.mark.parametrize("feed_format", list(FeedFormat))
@pytest.mark.parametrize("topic_id", TOPICS)
def test_a_feed_read_a_few_entries_at_a_time_has_the_bytes_of_one_selected_among_all(
    config: Config,
    ledger: ReadCountingLedger,
    monkeypatch: pytest.MonkeyPatch,
    topic_id: str,
    feed_format: FeedFormat,
) -> None:
    newest = FeedPublisher(config, ledger, version_ttl=0, now=lambda: NOW)
    body = newest.feed(topic_id, feed_format, base_url=BASE).plain.body
    monkeypatch.setattr(publish, "newest_entries", every_entry)
    everything = FeedPublisher(config, ledger, version_ttl=0, now=lambda: NOW)
    ledger.entries_read = 0
    assert everything.feed(topic_id, feed_format, base_url=BASE).plain.body == body
    assert ledger.entries_read > MOST_READ  # it did read everything


@pytest.mark.parametrize("source_ids", [None, ["office"]])
def test_an_items_listings_are_read_by_an_index_search_on_its_key(
    ledger: ReadCountingLedger, source_ids: list[str] | None
) -> None:
    """SQLite, with no statistics, once read every live entry to find a few items' listings
    (it chose the index of every live entry over the item key's)."""
    statements: list[tuple[str, object]] = []

    def keep(_connection: object, _cursor: object, statement: str, parameters: object,
             _context: object, _many: bool) -> None:  # fmt: skip
        statements.append((statement, parameters))

    keys = {item_key(f"Shared story {n}", dt.date(2026, 11, 20)) for n in (0, 3, 6, 9)}
    event.listen(ledger.engine, "before_cursor_execute", keep)
    try:
        found = ledger.listings(keys, source_ids)
    finally:
        event.remove(ledger.engine, "before_cursor_execute", keep)
    assert {stored.entry.source_id for stored in found} == set(source_ids or SOURCES)
    (statement, parameters), *_others = [s for s in statements if "item_key IN" in s[0]]
    with ledger.engine.connect() as connection:
        cursor = connection.connection.driver_connection
        assert cursor is not None
        plan = [str(row) for row in cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    searches = [step for step in plan if "entries" in step and "articles" not in step]
    assert searches, plan
    assert all("SEARCH entries USING INDEX ix_entries_item_key" in step for step in searches), plan
