"""What the pages' topic overviews read (``feeds.serve.overview``), on a real SQLite ledger:
each topic as of its own sources' versions, its newest entries only, its count the same as
choosing among every entry; a topic being read is answered with its overview before."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.config import Config, parse_config
from feeds.identity import item_key
from feeds.ledger.items import ItemFields
from feeds.ledger.store import EntryBatch, Retention
from feeds.model import UTC, Entry, LeftOut, StoredEntry
from feeds.serve.overview import Overview
from feeds.serve.publish import FeedPublisher
from feeds.serve.topics import count_entries, select_entries
from tests.refresh_kit import ObservedLedger

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
PER_SOURCE = 300

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
    newest may be held until the test lets it go."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.asked: list[tuple[str, ...] | None] = []
        self.hold: threading.Event | None = None
        self.held = threading.Event()
        self.on_first_batch: Callable[[], object] = lambda: None

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
    assert after["other"].entry_count == before["other"].entry_count + PER_SOURCE
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
    assert overview.topic("other").entry_count == old.entry_count + PER_SOURCE


def test_a_slow_topic_is_read_again_only_after_resting_a_few_times_its_reads_length(
    config: Config, ledger: SourceReadsLedger
) -> None:
    now = [0.0]
    overview = Overview(
        FeedPublisher(config, ledger, version_ttl=0), clock=lambda: NOW, monotonic=lambda: now[0]
    )

    def two_seconds() -> None:
        now[0] += 2.0

    ledger.on_first_batch = two_seconds  # each read of a topic takes 2 s
    first = overview.topic("other")
    store(ledger, "other", listing("other", start=PER_SOURCE), 60)
    now[0] += 7.0
    assert overview.topic("other") is first  # resting: 4 x 2 s after its read
    assert overview.topic("pair") is not None  # another topic is read all the same
    now[0] += 1.0
    assert overview.topic("other").entry_count == first.entry_count + PER_SOURCE
    ledger.on_first_batch = lambda: None  # quick reads never rest
    store(ledger, "other", listing("other", start=2 * PER_SOURCE), 70)
    now[0] += 8.5  # past the rest of the slow read before
    read = overview.topic("other")
    assert read.entry_count == first.entry_count + 2 * PER_SOURCE
    store(ledger, "other", listing("other", start=3 * PER_SOURCE), 80)
    assert overview.topic("other").entry_count == first.entry_count + 3 * PER_SOURCE


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
