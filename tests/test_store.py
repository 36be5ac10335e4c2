"""The ledger (``feeds.ledger.store``) on SQLite and on PostgreSQL: the same merges leave the same
rows on both, values come back as the model's types (aware UTC datetimes, label tuples, an
``int`` version), merges running at once never give two entries one instant, and of
processes claiming a source's lease at once exactly one gets it."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from feeds.identity import item_key
from feeds.ledger.store import Ledger, MergeResult, Retention, SourceState
from feeds.ledger.tables import entries_table
from feeds.model import UTC, Entry
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
        versions = ledger.source_versions()
        assert versions == {s.source_id: s.version for s in ledger.states().values()}
        assert sum(versions.values()) == ledger.version()
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


LEASE = dt.timedelta(minutes=10)


def test_of_two_processes_claiming_a_due_source_exactly_one_wins(database_url: str) -> None:
    first, second = open_ledger(database_url), open_ledger(database_url)
    try:
        assert first.claim("office", "first", NOW, LEASE) is True
        assert second.claim("office", "second", NOW, LEASE) is False
        state = second.state("office")
        assert (state.lease_owner, state.lease_expires_at) == ("first", NOW + LEASE)
    finally:
        first.close()
        second.close()


def test_a_source_not_yet_due_is_not_claimed(database_url: str) -> None:
    ledger = open_ledger(database_url)
    due = NOW + dt.timedelta(hours=1)
    with ledger.transaction() as transaction:
        transaction.save_state(SourceState(source_id="office", next_attempt_at=due))
    tolerance = dt.timedelta(seconds=30)
    assert ledger.claim("office", "worker", NOW, LEASE, tolerance=tolerance) is False
    assert ledger.claim("office", "worker", due - tolerance, LEASE, tolerance=tolerance) is True
    ledger.close()


def test_an_expired_lease_is_taken_over(database_url: str) -> None:
    crashed, survivor = open_ledger(database_url), open_ledger(database_url)
    try:
        assert crashed.claim("office", "crashed", NOW, LEASE) is True
        assert survivor.claim("office", "survivor", NOW + LEASE / 2, LEASE) is False
        assert survivor.claim("office", "survivor", NOW + LEASE, LEASE) is True
        assert crashed.release("office", "crashed") is False  # no longer its lease
        assert survivor.state("office").lease_owner == "survivor"
    finally:
        crashed.close()
        survivor.close()


def test_only_the_owner_releases_a_lease(database_url: str) -> None:
    ledger = open_ledger(database_url)
    assert ledger.claim("office", "owner", NOW, LEASE) is True
    assert ledger.release("office", "another") is False
    assert ledger.claim("office", "another", NOW, LEASE) is False
    assert ledger.release("office", "owner") is True
    state = ledger.state("office")
    assert (state.lease_owner, state.lease_expires_at) == (None, None)
    assert ledger.claim("office", "another", NOW, LEASE) is True
    ledger.close()


def test_renewing_extends_only_the_owners_leases(database_url: str) -> None:
    ledger = open_ledger(database_url)
    for source_id in ("office", "region"):
        assert ledger.claim(source_id, "owner", NOW, LEASE) is True
    assert ledger.claim("other", "someone-else", NOW, LEASE) is True
    later = NOW + LEASE * 0.9
    assert ledger.renew("owner", later, LEASE) == 2
    assert ledger.claim("office", "thief", NOW + LEASE, LEASE) is False  # renewed: still held
    assert ledger.claim("other", "thief", NOW + LEASE, LEASE) is True  # not renewed: expired
    assert ledger.state("region").lease_expires_at == later + LEASE
    assert ledger.renew("nobody", later, LEASE) == 0
    ledger.close()


def test_saving_a_sources_state_leaves_its_lease_alone(database_url: str) -> None:
    ledger = open_ledger(database_url)
    read_before_the_claim = ledger.state("office")
    assert ledger.claim("office", "owner", NOW, LEASE) is True
    with ledger.transaction() as transaction:
        transaction.save_state(replace(read_before_the_claim, etag='"v2"'))
    state = ledger.state("office")
    assert (state.etag, state.lease_owner, state.lease_expires_at) == ('"v2"', "owner", NOW + LEASE)
    ledger.close()


def test_processes_racing_to_claim_many_sources_claim_each_exactly_once(
    database_url: str,
) -> None:
    sources = [f"office-{n}" for n in range(20)]
    owners = [f"process-{n}" for n in range(5)]
    ledgers = [open_ledger(database_url) for _ in owners]
    together = threading.Barrier(len(owners))

    def claim_all(owner: str, ledger: Ledger) -> list[str]:
        order = sources[:]
        random.Random(owner).shuffle(order)
        together.wait()
        return [source for source in order if ledger.claim(source, owner, NOW, LEASE)]

    try:
        with ThreadPoolExecutor(len(owners)) as pool:
            claimed = list(pool.map(claim_all, owners, ledgers))
    finally:
        for ledger in ledgers:
            ledger.close()
    assert sorted(source for won in claimed for source in won) == sorted(sources)


def test_colliding_instants_move_to_the_first_free_second_in_page_order(
    database_url: str,
) -> None:
    """Many merges whose entries fall on a few crowded seconds (runs of held seconds with
    gaps, candidates inside, before and after runs) give exactly what the plain rule gives:
    bottom of the page first, each entry takes the first second at or after its own that no
    entry holds."""
    rng = random.Random(20261122)
    base = int(NOW.timestamp()) - 10_000
    held: set[int] = set()
    expected: dict[str, int] = {}
    ledger = open_ledger(database_url)
    for merge_number in range(60):
        source_id = f"s{merge_number:05d}"  # ids tell sources apart by six characters
        # in any order: pages mix dated and undated items, and days out of order
        seconds = [base + rng.choice([0, 1, 5, 40, 41, 300]) + rng.randrange(6) for _ in range(12)]
        entries = [
            replace(
                entry(source_id, n, None),
                published=dt.datetime.fromtimestamp(second, UTC),
            )
            for n, second in enumerate(seconds)
        ]
        for item in reversed(entries):  # the rule, plainly
            second = int(item.published.timestamp())
            while second in held:
                second += 1
            held.add(second)
            expected[item.id] = second
        with ledger.transaction() as transaction:
            transaction.merge(source_id, entries, now=NOW, retention=Retention())
    stored = {s.entry.id: int(s.entry.published.timestamp()) for s in ledger.entries()}
    ledger.close()
    assert stored == expected


def test_two_processes_saving_a_new_sources_state_at_once_both_succeed(
    database_url: str,
) -> None:
    """The first transaction makes the source's row; the second, which could not see it yet,
    waits for it and updates it rather than failing on the duplicate key."""
    first, second = open_ledger(database_url), open_ledger(database_url)
    inserted, commit = threading.Event(), threading.Event()

    def save_first() -> None:
        with first.transaction() as transaction:
            transaction.save_state(SourceState(source_id="office", etag='"first"'))
            inserted.set()
            commit.wait(10)

    def save_second() -> None:
        inserted.wait(10)
        with second.transaction() as transaction:
            transaction.save_state(SourceState(source_id="office", etag='"second"'))

    try:
        with ThreadPoolExecutor(2) as pool:
            saved = [pool.submit(save_first), pool.submit(save_second)]
            time.sleep(0.3)  # the second is waiting for the first by now
            commit.set()
            for future in saved:
                future.result()
        assert first.state("office").etag == '"second"'
    finally:
        first.close()
        second.close()


def test_an_sqlite_transaction_holds_the_write_lock_from_its_first_read(tmp_path: Path) -> None:
    """What a transaction reads before it writes is still so when it writes: another process
    (another ledger) writing meanwhile waits for it to end."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    first, second = open_ledger(url), open_ledger(url)
    with first.transaction() as transaction:
        transaction.save_state(SourceState(source_id="office", etag='"v1"'))
    read = threading.Event()
    said: list[object] = []

    def read_then_write() -> None:
        with first.transaction() as transaction:
            before = transaction.state("office").etag
            read.set()
            time.sleep(0.3)  # the other is trying to write by now
            said.append(("read twice", before, transaction.state("office").etag))
            transaction.save_state(replace(transaction.state("office"), etag='"first"'))
        said.append("first committed")

    def write() -> None:
        read.wait(10)
        with second.transaction() as transaction:
            transaction.save_state(SourceState(source_id="office", etag='"second"'))
        said.append("second committed")

    try:
        with ThreadPoolExecutor(2) as pool:
            for future in [pool.submit(read_then_write), pool.submit(write)]:
                future.result()
        assert said == [("read twice", '"v1"', '"v1"'), "first committed", "second committed"]
        assert first.state("office").etag == '"second"'
    finally:
        first.close()
        second.close()


def test_processes_taking_turns_at_a_host_at_once_each_get_their_own(database_url: str) -> None:
    ledgers = [open_ledger(database_url) for _ in range(5)]
    together = threading.Barrier(len(ledgers))
    now = NOW.timestamp()

    def take(ledger: Ledger) -> float:
        together.wait()
        return ledger.take_turn("www.example.org", now, 2.5)

    try:
        with ThreadPoolExecutor(len(ledgers)) as pool:
            turns = sorted(pool.map(take, ledgers))
        assert turns == [now + 2.5 * n for n in range(5)]
        assert ledgers[0].take_turn("other.example.org", now, 2.5) == now  # hosts apart
        assert ledgers[0].take_turn("www.example.org", now + 60, 2.5) == now + 60  # long after
    finally:
        for ledger in ledgers:
            ledger.close()


def test_merges_store_each_entrys_item_key_and_keep_it_with_its_title(
    database_url: str,
) -> None:
    ledger = open_ledger(database_url)
    first = entry("office", 1, 20)
    retitled = replace(first, title="Office story one, retitled")
    for listed in (first, retitled):
        with ledger.transaction() as transaction:
            transaction.merge("office", [listed], now=NOW, retention=Retention())
        with ledger.engine.connect() as connection:
            stored = connection.execute(select(entries_table.c.item_key)).scalar_one()
        assert stored == item_key(listed.title, listed.date)
    ledger.close()


def test_counting_live_entries_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    """A count is a plain read: on SQLite it answers, with what is committed, while another
    process (another ledger) holds the write lock."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    writer, reader = open_ledger(url), open_ledger(url)
    try:
        with writer.transaction() as transaction:
            transaction.merge(
                "office", [entry("office", 1, 20), entry("office", 2, 19)], now=NOW,
                retention=Retention(),
            )  # fmt: skip
        with writer.transaction() as transaction:
            transaction.state("office")  # the write lock is held from here
            transaction.merge("office", [entry("office", 3, 21)], now=NOW, retention=Retention())
            assert reader.live_count("office") == 2
        assert reader.live_count("office") == 3  # entries that left the page are kept
        assert reader.live_count("bureau") == 0
    finally:
        writer.close()
        reader.close()


def day_start_entries(source_id: str, count: int) -> list[Entry]:
    """``count`` items all dated 20 November: each wants that day's first second."""
    return [entry(source_id, n, 20) for n in range(count)]


def seconds_of(ledger: Ledger, source_id: str) -> list[int]:
    start = int(dt.datetime(2026, 11, 20, tzinfo=UTC).timestamp())
    return sorted(int(s.entry.published.timestamp()) - start for s in ledger.entries([source_id]))


def two_merges_then_a_failure(ledger: Ledger) -> None:
    with ledger.transaction() as transaction:
        transaction.merge("bbb", day_start_entries("bbb", 4), now=NOW, retention=Retention())
        transaction.merge("ccc", day_start_entries("ccc", 4), now=NOW, retention=Retention())
        raise RuntimeError("the refresh failed")


def test_where_a_run_of_held_seconds_ends_is_remembered_only_once_committed(
    database_url: str,
) -> None:
    """A transaction that met a run its own entries made longer, then failed, leaves nothing
    remembered: the next merge takes the first free seconds as if it had never been."""
    ledger = open_ledger(database_url)
    try:
        with ledger.transaction() as transaction:
            transaction.merge("aaa", day_start_entries("aaa", 3), now=NOW, retention=Retention())
        with pytest.raises(RuntimeError, match="the refresh failed"):
            two_merges_then_a_failure(ledger)
        with ledger.transaction() as transaction:
            transaction.merge("ddd", day_start_entries("ddd", 2), now=NOW, retention=Retention())
        assert seconds_of(ledger, "aaa") == [0, 1, 2]
        assert seconds_of(ledger, "ddd") == [3, 4]
    finally:
        ledger.close()


def test_a_run_another_process_made_longer_is_looked_at_from_where_it_was_seen_to_end(
    database_url: str,
) -> None:
    one, other = open_ledger(database_url), open_ledger(database_url)
    try:
        for ledger, source_id, count in ((one, "aaa", 3), (one, "bbb", 2), (other, "ccc", 4),
                                         (one, "ddd", 2)):  # fmt: skip
            with ledger.transaction() as transaction:
                transaction.merge(
                    source_id, day_start_entries(source_id, count), now=NOW, retention=Retention()
                )
        assert [seconds_of(one, s) for s in ("aaa", "bbb", "ccc", "ddd")] == [
            [0, 1, 2], [3, 4], [5, 6, 7, 8], [9, 10],
        ]  # fmt: skip
    finally:
        one.close()
        other.close()
