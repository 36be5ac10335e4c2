"""What the pages' topic overviews read (``feeds.serve.overview``), on a real SQLite ledger:
each topic as of its own sources' versions, its newest entries only, its count the same as
choosing among every entry; a topic being read is answered with its overview before."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.config import Config, parse_config
from feeds.identity import item_key
from feeds.ledger.items import ItemFields
from feeds.ledger.store import EntryBatch, Retention
from feeds.model import UTC, Entry, LeftOut, StoredEntry
from feeds.serve.overview import Overview
from feeds.serve.pages import Site, index_page, topic_page
from feeds.serve.publish import FeedPublisher
from feeds.serve.topics import count_entries, select_entries
from tests.refresh_kit import ObservedLedger

T = TypeVar("T")
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
PER_SOURCE = 300
BASE = "https://feeds.example.org"

CONFIG = (
    """
[publisher]
name = "Test feeds"
base_url = "https://feeds.example.org"
"""
    + "".join(
        f'[[sources]]\nid = "{s}"\ntitle = "{s.title()}"\n'
        f'url = "https://www.example.org/{s}/lang--en/index.htm"\n'
        for s in ("office", "press", "other")
    )
    + """
[[topics]]
id = "all"
title = "Everything"
limit = 10

[[topics]]
id = "pair"
title = "Office and press"
sources = ["office", "press"]

[[topics]]
id = "grants"
title = "Grants"
keywords = ["grant"]

[[topics]]
id = "other"
title = "Other"
sources = ["other"]
"""
)


class SourceReadsLedger(ObservedLedger):
    """The real ledger, noting which sources each read of entries asks for; a read of the
    newest, or a count, may be held until the test lets it go (``hold``, ``count_hold``),
    and a count may be made to take time (``on_count``)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.asked: list[tuple[str, ...] | None] = []
        self.hold: threading.Event | None = None
        self.held = threading.Event()
        self.on_first_batch: Callable[[], object] = lambda: None
        self.count_hold: threading.Event | None = None
        self.count_held = threading.Event()
        self.on_count: Callable[[], object] = lambda: None
        self.counted_by: list[str] = []  # the name of each counting thread

    def _counting(self) -> None:
        self.counted_by.append(threading.current_thread().name)
        self.on_count()
        if self.count_hold is not None:
            self.count_held.set()
            assert self.count_hold.wait(10)

    def item_count(self, source_ids: Sequence[str] | None) -> int:
        self._counting()
        return super().item_count(source_ids)

    def each_item_fields(
        self, source_ids: Sequence[str] | None, use: Callable[[Iterator[ItemFields]], T]
    ) -> T:
        self._counting()
        return super().each_item_fields(source_ids, use)

    def newest_entries(
        self,
        source_ids: Sequence[str] | None,
        *,
        limit: int,
        before: int | None = None,
        left_out: Callable[[LeftOut], object] = lambda _left_out: None,
    ) -> EntryBatch:
        if before is None:
            self.asked.append(None if source_ids is None else tuple(source_ids))
            self.on_first_batch()
        if self.hold is not None:
            self.held.set()
            assert self.hold.wait(10)
        return super().newest_entries(source_ids, limit=limit, before=before, left_out=left_out)


def listing(source_id: str, start: int = 0) -> list[Entry]:
    """A page of ``PER_SOURCE`` items, newest first; office and press both list every
    third (the same title and day)."""
    entries = []
    for n in range(start, start + PER_SOURCE):
        shared = n % 3 == 0 and source_id != "other"
        title = f"Shared story {n}" if shared else f"{source_id.title()} notice {n}"
        day = dt.date(2026, 11, 20) - dt.timedelta(days=n // 10)
        entries.append(
            Entry(
                id=f"urn:{source_id}:{n}",
                source_id=source_id,
                title=title,
                link=f"https://www.example.org/{source_id}/{n}",
                date=day,
                published=dt.datetime.combine(day, dt.time(12), UTC),
                summary=f"On the {'grant' if n % 4 == 0 else 'report'} of item {n}.",
            )
        )
    return entries


def store(ledger: SourceReadsLedger, source_id: str, entries: list[Entry], minutes: int) -> None:
    with ledger.transaction() as transaction:
        transaction.merge(
            source_id, entries, now=NOW + dt.timedelta(minutes=minutes), retention=Retention()
        )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return parse_config(CONFIG, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SourceReadsLedger]:
    opened = SourceReadsLedger(ObservedLedger.open(f"sqlite:///{tmp_path / 'ledger.db'}").engine)
    for step, source_id in enumerate(("office", "press", "other")):
        store(opened, source_id, listing(source_id), 10 * step)
    yield opened
    opened.close()


@pytest.fixture
def overview(config: Config, ledger: SourceReadsLedger) -> Overview:
    return Overview(FeedPublisher(config, ledger, version_ttl=0), clock=lambda: NOW)


def chosen_among_all(config: Config, ledger: SourceReadsLedger, topic_id: str) -> list[StoredEntry]:
    topic = next(t for t in config.topics if t.id == topic_id)
    candidates = ledger.entries(topic.sources or None)
    return select_entries(topic, candidates, len(candidates))


@pytest.mark.parametrize("topic_id", ["all", "pair", "grants", "other"])
def test_a_topics_count_and_latest_are_those_of_choosing_among_every_entry(
    config: Config, ledger: SourceReadsLedger, overview: Overview, topic_id: str
) -> None:
    everything = chosen_among_all(config, ledger, topic_id)
    shown = overview.topic(topic_id)
    assert shown.entry_count == len(everything)
    assert [s.entry.id for s in shown.latest] == [
        s.entry.id for s in everything[: len(shown.latest)]
    ]
    assert len(shown.latest) == max(shown.topic.limit, 20)


def test_a_change_to_one_source_reads_again_only_the_topics_that_hold_it(
    ledger: SourceReadsLedger, overview: Overview
) -> None:
    before = {o.topic.id: o for o in overview.topics()}
    ledger.asked.clear()
    store(ledger, "other", listing("other", start=PER_SOURCE), 60)
    after = {o.topic.id: o for o in overview.topics()}
    assert after["pair"] is before["pair"]
    assert after["grants"] is not before["grants"]  # a topic of every source
    assert settled_count(overview, "other", 2 * PER_SOURCE) == 2 * PER_SOURCE
    assert ("office", "press") not in ledger.asked
    assert sorted(map(str, ledger.asked)) == sorted(map(str, [None, None, ("other",)]))


def test_a_topic_being_read_again_is_answered_with_its_overview_before(
    ledger: SourceReadsLedger, overview: Overview
) -> None:
    old = overview.topic("other")
    store(ledger, "other", listing("other", start=PER_SOURCE), 60)
    ledger.hold = threading.Event()
    reader = threading.Thread(target=overview.topic, args=("other",))
    reader.start()
    try:
        assert ledger.held.wait(10)
        assert overview.topic("other") is old  # not waiting for the read under way
    finally:
        ledger.hold.set()
        reader.join(10)
    ledger.hold = None
    assert old.entry_count == PER_SOURCE
    assert settled_count(overview, "other", 2 * PER_SOURCE) == 2 * PER_SOURCE


def settled_count(overview: Overview, topic_id: str, expected: int) -> int | None:
    """The topic's count once it is ``expected``, or as it is after 10 s of asking (a count
    handed to the counting thread ends when that thread gets to it)."""
    deadline = time.monotonic() + 10
    count = overview.topic(topic_id).entry_count
    while count != expected and time.monotonic() < deadline:
        time.sleep(0.01)
        count = overview.topic(topic_id).entry_count
    return count


def overview_on_a_clock(
    config: Config, ledger: SourceReadsLedger
) -> tuple[Overview, list[float], Callable[[], None]]:
    """An overview whose clock (``now[0]``) moves only when told; and a step moving it 2 s."""
    now = [0.0]
    overview = Overview(
        FeedPublisher(config, ledger, version_ttl=0), clock=lambda: NOW, monotonic=lambda: now[0]
    )

    def two_seconds() -> None:
        now[0] += 2.0

    return overview, now, two_seconds


def test_a_slow_count_is_made_after_resting_while_pages_show_the_one_before(
    config: Config, ledger: SourceReadsLedger
) -> None:
    overview, now, two_seconds = overview_on_a_clock(config, ledger)
    ledger.on_count = two_seconds  # each count of a topic takes 2 s
    first = overview.topic("other")
    assert first.entry_count == PER_SOURCE
    assert ledger.counted_by == ["feedpub-topic-counts"]  # a first count: by its thread
    store(ledger, "other", listing("other", start=PER_SOURCE), 60)
    now[0] += 7.0
    ledger.asked.clear()
    resting = overview.topic("other")
    assert ledger.asked == [("other",)]  # its newest entries read anew
    assert resting.entry_count == PER_SOURCE  # the count rests: 4 x 2 s after it
    assert len(ledger.counted_by) == 1
    assert overview.topic("pair").entry_count == 2 * PER_SOURCE - PER_SOURCE // 3  # another
    now[0] += 1.0
    ledger.count_hold = threading.Event()
    try:
        assert overview.topic("other").entry_count == PER_SOURCE  # not waiting for the count
        assert ledger.count_held.wait(10)
        assert overview.topic("other").entry_count == PER_SOURCE  # nor counting it twice
    finally:
        ledger.count_hold.set()
    assert settled_count(overview, "other", 2 * PER_SOURCE) == 2 * PER_SOURCE
    assert ledger.counted_by[-1] == "feedpub-topic-counts"
    ledger.count_hold = None
    ledger.on_count = lambda: None  # quick counts never rest
    store(ledger, "other", listing("other", start=2 * PER_SOURCE), 70)
    now[0] += 8.5
    assert settled_count(overview, "other", 3 * PER_SOURCE) == 3 * PER_SOURCE
    store(ledger, "other", listing("other", start=3 * PER_SOURCE), 80)
    assert settled_count(overview, "other", 4 * PER_SOURCE) == 4 * PER_SOURCE
    assert set(ledger.counted_by) == {"feedpub-topic-counts"}  # never by a request


def test_closing_the_ledger_waits_for_the_count_being_made_and_ends_the_counting(
    config: Config, ledger: SourceReadsLedger
) -> None:
    overview = Overview(FeedPublisher(config, ledger, version_ttl=0), clock=lambda: NOW)
    assert overview.topic("other").entry_count == PER_SOURCE
    store(ledger, "other", listing("other", start=PER_SOURCE), 60)
    ledger.count_hold = threading.Event()
    assert overview.topic("other").entry_count == PER_SOURCE  # the count before, meanwhile
    assert ledger.count_held.wait(10)
    closing = threading.Thread(target=ledger.close)
    closing.start()
    closing.join(0.5)
    assert closing.is_alive()  # waiting for the count under way
    ledger.count_hold.set()
    closing.join(10)
    assert not closing.is_alive()
    counted = len(ledger.counted_by)
    store(ledger, "other", listing("other", start=2 * PER_SOURCE), 70)
    assert overview.topic("other").entry_count == 2 * PER_SOURCE  # the last count made
    assert len(ledger.counted_by) == counted  # and no other after the ledger closed


def test_a_slow_read_rests_a_few_times_its_length_before_the_topic_is_read_again(
    config: Config, ledger: SourceReadsLedger
) -> None:
    overview, now, two_seconds = overview_on_a_clock(config, ledger)
    ledger.on_first_batch = two_seconds  # each read of a topic's newest takes 2 s
    first = overview.topic("other")
    store(ledger, "other", listing("other", start=PER_SOURCE), 60)
    now[0] += 7.0
    ledger.asked.clear()
    assert overview.topic("other").latest == first.latest  # resting: 4 x 2 s after its read
    assert ledger.asked == []
    assert overview.topic("pair") is not None  # another topic is read all the same
    assert ledger.asked == [("office", "press")]
    now[0] += 1.0
    assert overview.topic("other") is not first
    assert ledger.asked == [("office", "press"), ("other",)]  # read anew: its rest is over
    ledger.on_first_batch = lambda: None  # quick reads never rest
    store(ledger, "other", listing("other", start=2 * PER_SOURCE), 70)
    now[0] += 8.5  # past the rest of the slow read before
    ledger.asked.clear()
    read = overview.topic("other")
    store(ledger, "other", listing("other", start=3 * PER_SOURCE), 80)
    assert overview.topic("other") is not read
    assert ledger.asked == [("other",), ("other",)]
    assert settled_count(overview, "other", 4 * PER_SOURCE) == 4 * PER_SOURCE


def test_a_first_count_slower_than_a_page_waits_is_shown_as_under_way(
    config: Config, ledger: SourceReadsLedger
) -> None:
    """A page waits for its topics' first counts at most ``count_wait`` in all, then shows
    them as none (``None``), and no other page waits for them; the widget and the OPML
    never wait for one; the count is shown once made."""
    overview = Overview(
        FeedPublisher(config, ledger, version_ttl=0), clock=lambda: NOW, count_wait=0.05
    )
    ledger.count_hold = threading.Event()
    try:
        shown = overview.topics()
        assert [o.entry_count for o in shown] == [None, None, None, None]
        overview.count_wait = 3600  # one page has waited for these: no other does
        assert [o.entry_count for o in overview.topics()] == [None, None, None, None]
        assert [o.latest[0].entry.id for o in shown][-1] == "urn:other:0"  # entries shown
        site = Site(name="Test feeds", language="en", base=BASE, source_languages={})
        index: lxml.html.HtmlElement = lxml.html.fromstring(index_page(site, shown))
        metas = [p.text_content() for p in index.findall(".//ul[@class='topics']/li/p")]
        assert metas[-1].startswith("Entries being counted, last updated")
        page: lxml.html.HtmlElement = lxml.html.fromstring(topic_page(site, shown[-1]))
        topic = " ".join(page.text_content().split())
        assert f"The {config.topics[-1].limit} newest; last updated" in topic
        patient = Overview(
            FeedPublisher(config, ledger, version_ttl=0), clock=lambda: NOW, count_wait=3600
        )
        asked = threading.Thread(target=patient.topic, args=("other",), kwargs={"counted": False})
        asked.start()
        asked.join(10)
        assert not asked.is_alive()  # not waiting an hour for its count
        assert patient.topic("other", counted=False).entry_count is None
    finally:
        ledger.count_hold.set()
    assert settled_count(overview, "other", PER_SOURCE) == PER_SOURCE


LABELS = ("Press release", "press  RELEASE", "Événement", "evenement", "Story")
TITLES = ("Grant awarded", "A grant", "Report out", "Réport out", "Meeting")


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(("office", "press", "other")),
            st.sampled_from(TITLES),
            st.integers(0, 2),  # the listing day
            st.integers(0, 5),  # the minute first seen
            st.lists(st.sampled_from(LABELS), max_size=2),
        ),
        max_size=30,
    ),
    topic_text=st.sampled_from([
        'labels = ["press release"]', 'exclude_labels = ["evenement"]', 'keywords = ["grant"]',
        'keywords = ["report"]\nsources = ["office", "press"]',
    ]),
)  # fmt: skip
def test_counting_from_the_matching_fields_agrees_with_choosing_among_the_entries(
    rows: list[tuple[str, str, int, int, list[str]]], topic_text: str
) -> None:
    text = CONFIG.split("[[topics]]")[0] + f'[[topics]]\nid = "t"\ntitle = "T"\n{topic_text}\n'
    config = parse_config(text, Path("/nonexistent/feedpub.toml"), adapter_kinds={"ilo"},
                          environ={})  # fmt: skip
    topic = config.topics[0]
    stored = []
    for n, (source_id, title, day, minute, labels) in enumerate(rows):
        date = dt.date(2026, 11, 20 + day)
        seen = NOW + dt.timedelta(minutes=minute)
        entry = Entry(
            id=f"urn:{n}", source_id=source_id, title=title, link=f"https://example.org/{n}",
            date=date, published=seen - dt.timedelta(seconds=n), summary="", labels=tuple(labels),
        )  # fmt: skip
        stored.append(StoredEntry(entry=entry, first_seen=seen, updated=seen))
    fields = [
        ItemFields(
            source_id=s.entry.source_id,
            item_key=item_key(s.entry.title, s.entry.date),
            first_seen=s.first_seen,
            title=s.entry.title,
            summary=s.entry.summary,
            labels=list(s.entry.labels),
        )
        for s in stored
    ]
    assert count_entries(topic, fields) == len(select_entries(topic, stored, len(stored)))
