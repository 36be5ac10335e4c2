"""The ledger (``feeds.store``) on SQLite and on PostgreSQL: the same merges leave the same
rows on both, values come back as the model's types (aware UTC datetimes, label tuples, an
``int`` version), and merges running at once never give two entries one instant."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from feeds.model import UTC, Entry
from feeds.store import Ledger, MergeResult, Retention
from tests.postgres import PostgresServer
from tests.refresh_kit import dump, open_ledger

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def entry(source_id: str, n: int, day: int | None, summary: str = "", *labels: str) -> Entry:
    return Entry(
        id=f"urn:uuid:{n:08d}-0000-5000-8000-{source_id.encode().hex()[:12]:0>12}",
        source_id=source_id,
        title=f"{source_id} story {n}",
        link=f"https://www.example.org/{source_id}/{n}",
        date=dt.date(2026, 11, day) if day else None,
        published=dt.datetime(2026, 11, day, tzinfo=UTC) if day else NOW,
        summary=summary or f"Story {n}.",
        labels=labels,
    )


def play(ledger: Ledger) -> list[MergeResult]:
    """Merges that use every part of the ledger: new, dated and undated entries, two sources
    on one day (so that instants run into each other), an edit, entries leaving the page,
    and retention."""
    steps = [
        ("office", [entry("office", 1, 20, "", "Press release"), entry("office", 2, 20),
                    entry("office", 3, 19), entry("office", 4, None, "Undated.", "Event")],
         NOW, Retention()),
        ("bureau", [entry("bureau", 1, 20, "", "Actualité"), entry("bureau", 2, 20)],
         NOW, Retention()),
        ("office", [entry("office", 5, 21), entry("office", 1, 20, "Edited.", "Press release"),
                    entry("office", 2, 20)],
         NOW + dt.timedelta(hours=1), Retention()),
        ("office", [entry("office", 5, 21)],
         NOW + dt.timedelta(days=400), Retention(keep_at_least=2, max_age_days=30)),
    ]  # fmt: skip
    results = []
    for source_id, entries, now, retention in steps:
        with ledger.transaction() as transaction:
            results.append(transaction.merge(source_id, entries, now=now, retention=retention))
    return results


def test_the_same_merges_leave_the_same_ledger_on_sqlite_and_postgresql(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    seen = []
    for url in (f"sqlite:///{tmp_path / 'ledger.db'}", postgres.create_database()):
        ledger = open_ledger(url)
        results = play(ledger)
        stored = ledger.entries()
        seen.append((results, dump(ledger), stored, ledger.states(), ledger.version()))
        assert type(ledger.version()) is int
        assert all(s.entry.published.tzinfo is UTC for s in stored)
        assert all(type(s.entry.labels) is tuple for s in stored)
        ledger.close()
    on_sqlite, on_postgresql = seen
    assert on_postgresql == on_sqlite
    results, _, stored, states, version = on_postgresql
    assert [(r.new, r.updated, r.removed, r.total) for r in results] == [
        (4, 0, 0, 4), (2, 0, 0, 2), (1, 1, 0, 5), (0, 0, 3, 2),
    ]  # fmt: skip
    assert (version, states["office"].version) == (4, 3)
    by_title = {s.entry.title: s.entry.published for s in stored}
    assert list(by_title) == [
        "office story 4",
        "office story 5",
        "bureau story 1",
        "bureau story 2",
    ]
    # the bureau's day was taken by the office's first two seconds: its entries come after
    assert by_title["bureau story 2"] == dt.datetime(2026, 11, 20, 0, 0, 2, tzinfo=UTC)
    assert by_title["bureau story 1"] == dt.datetime(2026, 11, 20, 0, 0, 3, tzinfo=UTC)


def test_merges_running_at_once_never_give_two_entries_one_instant(database_url: str) -> None:
    ledger = open_ledger(database_url)
    sources = [f"office-{n}" for n in range(6)]
    together = threading.Barrier(len(sources))

    def merge(source_id: str) -> MergeResult:
        entries = [entry(source_id, k, 20) for k in range(8)]  # all on one day
        together.wait()
        with ledger.transaction() as transaction:
            return transaction.merge(source_id, entries, now=NOW, retention=Retention())

    with ThreadPoolExecutor(len(sources)) as pool:
        results = list(pool.map(merge, sources))
    assert [result.new for result in results] == [8] * len(sources)
    stored = ledger.entries()
    instants = [s.entry.published for s in stored]
    assert len(set(instants)) == len(instants) == 48
    for source_id in sources:
        own = [s.entry.title for s in stored if s.entry.source_id == source_id]
        assert own == [f"{source_id} story {k}" for k in range(8)]  # page order kept
    ledger.close()
