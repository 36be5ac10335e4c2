"""Scheduled refresh: one job per source, placed from stored fetch times, never bursting, and
each due source refreshed by one of the processes sharing a database."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_network

import httpx

from feeds.ledger.store import Ledger, SourceState
from feeds.refresh.fetch import Fetcher
from feeds.refresh.gate import HostGate
from feeds.refresh.outcomes import Status
from feeds.refresh.refresher import Refresher
from feeds.refresh.scheduler import (
    LEASES_EXECUTOR,
    RENEW_LEASES_JOB,
    build_scheduler,
    first_run_time,
    jitter_seconds,
    run_scheduled_refresh,
    stop_scheduler,
)
from sources import ADAPTERS
from tests.http_server import LocalServer, Route, local_server
from tests.refresh_kit import Clock, item, make_refresher, make_source, open_ledger, page

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


def test_a_source_fetched_recently_waits_for_its_interval_after_a_restart(
    server: LocalServer,
) -> None:
    source = make_source(server, refresh_minutes=60)
    state = SourceState(source_id=source.id, last_fetch_at=NOW - dt.timedelta(minutes=20))
    assert first_run_time(source, state, NOW, random.Random(1)) == NOW + dt.timedelta(minutes=40)


def test_a_backing_off_source_waits_for_its_next_attempt(server: LocalServer) -> None:
    source = make_source(server, refresh_minutes=60)
    state = SourceState(
        source_id=source.id,
        last_fetch_at=NOW - dt.timedelta(minutes=20),
        next_attempt_at=NOW + dt.timedelta(hours=5),
    )
    assert first_run_time(source, state, NOW, random.Random(1)) == NOW + dt.timedelta(hours=5)


def test_overdue_sources_start_soon_but_spread_out(server: LocalServer) -> None:
    source = make_source(server, refresh_minutes=60)
    rng = random.Random(3)
    overdue = SourceState(source_id="s", last_fetch_at=NOW - dt.timedelta(days=2))
    late = [first_run_time(source, overdue, NOW, rng) for _ in range(20)]
    assert all(NOW <= t <= NOW + dt.timedelta(seconds=30) for t in late)
    assert len(set(late)) > 10


def test_a_source_never_fetched_starts_at_once(server: LocalServer) -> None:
    source = make_source(server, refresh_minutes=60)
    assert first_run_time(source, SourceState(source_id="s"), NOW, random.Random(3)) == NOW


def test_the_scheduler_has_one_non_overlapping_coalescing_job_per_source(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    one = make_source(server, "/one", id="one", refresh_minutes=30)
    two = make_source(server, "/two", id="two", refresh_minutes=1440)
    with ledger.transaction() as transaction:
        transaction.save_state(
            SourceState(source_id="two", last_fetch_at=NOW - dt.timedelta(hours=1))
        )
    scheduler = build_scheduler((one, two), refresher, now=lambda: NOW, rng=random.Random(1))
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"one", "two", RENEW_LEASES_JOB}
        leases = jobs.pop(RENEW_LEASES_JOB)
        assert leases.executor == LEASES_EXECUTOR  # its own thread: never behind refreshes
        assert leases.trigger.interval == refresher.lease / 3
        for job in jobs.values():
            assert job.max_instances == 1
            assert job.coalesce is True
        assert jobs["one"].trigger.interval == dt.timedelta(minutes=30)
        assert jobs["one"].trigger.jitter == jitter_seconds(one) == 180
        assert jobs["two"].trigger.jitter == 300
        assert jobs["one"].next_run_time == NOW
        assert jobs["two"].next_run_time == NOW + dt.timedelta(hours=23)
    finally:
        scheduler.shutdown(wait=False)


def test_a_scheduled_run_refreshes_a_due_source_and_skips_one_backing_off(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    source = make_source(server)
    server.routes["/news"] = page(item("Scheduled item", 20, "Fetched by the job."))
    run_scheduled_refresh(refresher, source)
    assert ledger.live_count(source.id) == 1
    server.routes["/news"] = Route(b"down", status=500)
    clock = refresher.clock
    assert isinstance(clock, Clock)
    clock.advance(hours=1)
    run_scheduled_refresh(refresher, source)
    assert ledger.state(source.id).last_status == Status.FAILED
    requests = len(server.requests)
    clock.advance(minutes=10)  # well before the backed-off next attempt
    run_scheduled_refresh(refresher, source)
    assert len(server.requests) == requests


def test_two_processes_running_the_same_sources_job_at_once_fetch_its_page_once(
    server: LocalServer, database_url: str
) -> None:
    source = make_source(server)
    server.routes["/news"] = page(item("Fetched once", 20, "By one of the two processes."))
    clock = Clock()
    refreshers = [make_refresher(open_ledger(database_url), clock) for _ in range(2)]
    assert refreshers[0].owner != refreshers[1].owner
    together = threading.Barrier(len(refreshers))

    def run(refresher: Refresher) -> None:
        together.wait()
        run_scheduled_refresh(refresher, source)

    try:
        with ThreadPoolExecutor(len(refreshers)) as pool:
            list(pool.map(run, refreshers))
        assert [path for _, path, _ in server.requests] == ["/news"]
        state = refreshers[0].ledger.state(source.id)
        assert (state.last_status, state.lease_owner) == (Status.UPDATED, None)
        assert refreshers[1].ledger.live_count(source.id) == 1
    finally:
        for refresher in refreshers:
            refresher.fetcher.close()
            refresher.ledger.close()


def test_a_scheduled_refresh_skips_a_source_another_process_holds(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    source = make_source(server)
    server.routes["/news"] = page(item("Not fetched", 20, "Held elsewhere."))
    assert ledger.claim(source.id, "another-process", refresher.clock(), dt.timedelta(minutes=10))
    assert refresher.refresh_if_due(source) is None
    assert server.requests == []
    clock = refresher.clock
    assert isinstance(clock, Clock)
    clock.advance(minutes=10)  # the other process crashed: its lease has run out
    outcome = refresher.refresh_if_due(source)
    assert outcome is not None
    assert outcome.status == Status.UPDATED
    assert ledger.state(source.id).lease_owner is None


def test_a_refresh_longer_than_its_lease_keeps_its_source_while_its_process_lives(
    server: LocalServer, ledger: Ledger, database_url: str
) -> None:
    """A real scheduler with one refresh thread, busy on a page slower than the lease: the
    lease job (on its own thread) renews the lease, so no other process takes the source."""
    source = make_source(server, refresh_seconds=3600)
    server.routes["/news"] = Route(page(item("Slow", 20, "A slow page.")).body, delay=2.0)
    refresher = Refresher(
        ledger=ledger,
        fetcher=Fetcher(timeout=httpx.Timeout(5.0), deadline_seconds=5.0),
        adapters=ADAPTERS,
        lease=dt.timedelta(seconds=0.6),
    )
    other = open_ledger(database_url)
    scheduler = build_scheduler((source,), refresher, threads=1)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while ledger.state(source.id).lease_owner is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ledger.state(source.id).lease_owner == refresher.owner
        taken = []
        while ledger.state(source.id).last_status is None and time.monotonic() < deadline:
            now = dt.datetime.now(dt.UTC)
            taken.append(other.claim(source.id, "other", now, refresher.lease))
            time.sleep(0.1)
        assert len(taken) > 10  # well past the lease's first expiry
        assert not any(taken)
        assert ledger.state(source.id).last_status == Status.UPDATED
        # the state is stored first, then the run ends and gives its lease back
        while ledger.state(source.id).lease_owner is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ledger.state(source.id).lease_owner is None  # given back at the end
    finally:
        scheduler.shutdown(wait=True)
        refresher.fetcher.close()
        other.close()


def test_a_run_that_finds_its_source_not_yet_due_looks_again_when_it_is_due(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    """Another process refreshed the source a moment ago (or a request waited for its host):
    the job's next run moves to when the source is due, not an interval on."""
    source = make_source(server, refresh_minutes=60)
    now = refresher.clock()
    due = now + dt.timedelta(minutes=59)
    scheduler = build_scheduler((source,), refresher, now=lambda: now, rng=random.Random(3))
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job(source.id)
        assert job.next_run_time == now  # never refreshed, as far as this process knew
        with ledger.transaction() as transaction:  # ... but another has just done it
            transaction.save_state(SourceState(source_id=source.id, next_attempt_at=due))
        job.func(*job.args)  # the job's run
        moved = scheduler.get_job(source.id).next_run_time
        assert due <= moved <= due + dt.timedelta(seconds=5)
        assert server.requests == []
    finally:
        scheduler.shutdown(wait=False)


def test_a_run_that_finds_its_source_leased_by_another_process_keeps_its_interval(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    source = make_source(server)
    assert ledger.claim(source.id, "another-process", refresher.clock(), dt.timedelta(minutes=2))
    looked_again: list[dt.datetime] = []
    run_scheduled_refresh(refresher, source, looked_again.append)
    assert looked_again == []  # it is due: the other process is on it, the next run will see
    assert server.requests == []


def test_one_hosts_spacing_never_keeps_another_hosts_sources_from_the_threads(
    ledger: Ledger,
) -> None:
    """Eight sources of a busy host are due before four of another, on four threads: the
    busy host's sources wait for their turns without holding the threads, so the other
    host's are fetched at their own pace, not after the busy host's queue."""
    with local_server("127.0.0.1") as busy, local_server("127.0.0.2") as other:
        sources = []
        for server, name, count in ((busy, "busy", 8), (other, "other", 4)):
            for n in range(count):
                server.routes[f"/news{n}"] = page(item(f"{name} story {n}", 20))
                sources.append(make_source(server, f"/news{n}", id=f"{name}-{n}"))
        refresher = Refresher(
            ledger=ledger,
            fetcher=Fetcher(timeout=httpx.Timeout(5.0), gate=HostGate(spacing=0.4),
                            allow_networks=(ip_network("127.0.0.0/8"),)),
            adapters=ADAPTERS,
        )  # fmt: skip
        scheduler = build_scheduler(tuple(sources), refresher, threads=4)
        scheduler.start()
        try:
            deadline = time.monotonic() + 30
            while len(other.requests) < 4 and time.monotonic() < deadline:
                time.sleep(0.01)
            busy_when_other_was_done = len(busy.requests)
            while len(busy.requests) < 8 and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            stop_scheduler(scheduler, refresher)
            refresher.fetcher.close()
    assert len(other.requests) == 4
    assert len(busy.requests) == 8  # each in its turn, none lost
    # the other host's four took about 3 spacings, as did the busy host's first four or so
    assert busy_when_other_was_done <= 6


def test_stopping_abandons_the_refresh_under_way_and_queued_runs_do_nothing(
    server: LocalServer, ledger: Ledger
) -> None:
    # three sources due at once on one thread whose headers trickle in: one refreshing, two
    # queued; stopping must not run the queued ones, nor wait for the one under way
    sources = tuple(make_source(server, f"/crawl{n}", id=f"source-{n}") for n in range(3))
    for n in range(3):
        server.routes[f"/crawl{n}"] = Route(b"late", header_trickle=0.02, header_bytes=3000)
    refresher = Refresher(
        ledger=ledger,
        fetcher=Fetcher(timeout=httpx.Timeout(5.0), deadline_seconds=600),
        adapters=ADAPTERS,
    )
    scheduler = build_scheduler(sources, refresher, threads=1)
    scheduler.start()
    assert server.arrived.wait(timeout=30)
    stop_scheduler(scheduler, refresher)
    refresher.fetcher.close()
    assert len(server.requests) == 1
    for source in sources:
        state = ledger.state(source.id)
        assert (state.lease_owner, state.last_fetch_at, state.last_error) == (None, None, None)


def test_stopping_while_a_run_moves_its_job_does_not_deadlock(
    server: LocalServer, ledger: Ledger
) -> None:
    """A run that finds its source not yet due moves its job's next time, which takes the
    scheduler's job-store lock: stopping must not hold that lock while it waits for the run
    (APScheduler's shutdown(wait=True) does: a worker once hung so on SIGTERM)."""
    from apscheduler.schedulers.base import STATE_STOPPED

    source = make_source(server, refresh_minutes=60)
    with ledger.transaction() as transaction:  # another process refreshed it a moment ago
        due = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=59)
        transaction.save_state(SourceState(source_id=source.id, next_attempt_at=due))
    started = threading.Event()

    class StopsMidRun(Refresher):
        def refresh_if_due(self, source):  # type: ignore[no-untyped-def]  # (a test double)
            started.set()
            while scheduler.state != STATE_STOPPED:  # until shutdown began
                time.sleep(0.005)
            # not due: the run then moves its job

    refresher = StopsMidRun(
        ledger=ledger, fetcher=Fetcher(timeout=httpx.Timeout(5.0)), adapters=ADAPTERS
    )
    scheduler = build_scheduler((source,), refresher, threads=1)
    scheduler.start(paused=True)
    scheduler.modify_job(source.id, next_run_time=dt.datetime.now(dt.UTC))
    scheduler.resume()
    assert started.wait(timeout=30)
    stopper = threading.Thread(target=stop_scheduler, args=(scheduler, refresher), daemon=True)
    stopper.start()
    stopper.join(timeout=20)
    refresher.fetcher.close()
    assert not stopper.is_alive()
