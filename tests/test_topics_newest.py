"""Reading only what a topic shows (``feeds.serve.topics.newest_entries`` over
``feeds.ledger.items``): on a real ledger of many sources sharing items, with twins, labels
and keywords, it chooses exactly what ``select_entries`` chooses among every entry, in the
same order, and the ledger counts what a topic holds as selecting everything would."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import replace

import pytest

from feeds.config import TopicConfig
from feeds.ledger.store import Ledger, Retention
from feeds.model import UTC, Entry, StoredEntry
from feeds.serve.topics import newest_entries, select_entries
from tests.refresh_kit import open_ledger

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SOURCES = tuple(f"s{n:02d}" for n in range(20))
WORDS = ("grant", "report", "budget", "notice", "fund")


def listing(rng: random.Random, source_id: str, shared: list[tuple[str, dt.date]]) -> list[Entry]:
    """A source's page: its own items, some of the items every source may list (the same
    title, written differently, and day), and a pair of twins (one title and day)."""
    entries = []
    for n in range(rng.randint(20, 60)):
        if rng.random() < 0.3:
            title, day = rng.choice(shared)
            title = title.upper() if rng.random() < 0.5 else title + "."
        else:
            day = dt.date(2026, 10, 1) + dt.timedelta(days=rng.randrange(50))
            title = f"{rng.choice(WORDS).title()} {source_id} item {n}"
        entries.append(
            Entry(
                id=f"urn:uuid:{n:08d}-0000-5000-8000-{int(source_id[1:]):012d}",
                source_id=source_id,
                title=title,
                link=f"https://www.example.org/{source_id}/{n}",
                date=day if rng.random() < 0.9 else None,
                published=dt.datetime.combine(day, dt.time(), UTC),
                summary=f"On the {rng.choice(WORDS)}.",
                labels=(rng.choice(("Event", "Press release", "News")),),
            )
        )
    twin = entries[0]
    twin_id = twin.id.replace("-5000-", "-5001-")
    return [*entries, replace(twin, id=twin_id, summary="The other one.")]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """A SQLite ledger of 20 sources (about 900 entries), merged in a random order over
    three hours, so that items several sources list were first seen at different times."""
    rng = random.Random(20)
    shared = [
        (f"{rng.choice(WORDS).title()} shared story {n}", dt.date(2026, 10, 1 + n % 30))
        for n in range(40)
    ]
    opened = open_ledger(f"sqlite:///{tmp_path_factory.mktemp('newest') / 'ledger.db'}")
    order = [*SOURCES, *rng.sample(SOURCES, 10)]
    for step, source_id in enumerate(order):
        with opened.transaction() as transaction:
            transaction.merge(
                source_id,
                listing(random.Random(source_id), source_id, shared),
                now=NOW + dt.timedelta(minutes=10 * (step % 7)),
                retention=Retention(),
            )
    yield opened
    opened.close()


TOPICS = [
    TopicConfig(id="all", title="All"),
    TopicConfig(id="two", title="Two", sources=("s03", "s11")),
    TopicConfig(id="many", title="Many", sources=SOURCES[:17]),
    TopicConfig(id="words", title="Words", keywords=("grant", "fund")),
    TopicConfig(id="labels", title="Labels", labels=("event",), sources=SOURCES[5:9]),
    TopicConfig(id="not", title="Not", exclude_labels=("news",)),
]


@pytest.mark.parametrize("topic", TOPICS, ids=lambda topic: topic.id)
@pytest.mark.parametrize("limit", [1, 50, 500])
def test_the_newest_entries_are_those_selecting_among_everything_chooses(
    ledger: Ledger, topic: TopicConfig, limit: int
) -> None:
    everything = select_entries(topic, ledger.entries(topic.sources or None), 10_000)
    assert len(everything) > 40  # the topic holds entries enough to need several batches
    if not topic.sources:  # and some items listed by several of its sources
        assert len(everything) < len(ledger.entries())
    assert newest_entries(topic, ledger, limit) == everything[:limit]


@pytest.mark.parametrize("topic", TOPICS, ids=lambda topic: topic.id)
def test_entries_kept_by_a_filter_are_the_newest_it_keeps_of_everything(
    ledger: Ledger, topic: TopicConfig
) -> None:
    def keep(stored: StoredEntry) -> bool:
        return "budget" in stored.entry.title.lower()

    everything = select_entries(topic, ledger.entries(topic.sources or None), 10_000)
    kept = [stored for stored in everything if keep(stored)]
    assert kept
    assert newest_entries(topic, ledger, 20, keep=keep) == kept[:20]
    assert newest_entries(topic, ledger, 10_000, keep=keep) == kept


@pytest.mark.parametrize(
    "topic", [t for t in TOPICS if not (t.keywords or t.labels or t.exclude_labels)]
)
def test_the_ledger_counts_a_topics_entries_each_item_once(
    ledger: Ledger, topic: TopicConfig
) -> None:
    everything = select_entries(topic, ledger.entries(topic.sources or None), 10_000)
    assert ledger.item_count(topic.sources or None) == len(everything)
