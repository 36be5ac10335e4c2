"""Scheduled refresh: one APScheduler job per source, started by ``feedpub serve`` and
``feedpub worker`` (never by the app factory).

Each job runs on its source's interval with jitter, never overlapping itself
(``max_instances=1``) and never catching up on missed runs in a burst (``coalesce=True``).
Its first run is placed from the stored time of the source's last fetch, so a restart causes
no burst of fetches; a job whose source is backing off after failures skips its turn, and so
does one whose source another process sharing the database is refreshing (a lease held in the
database: each due source is refreshed by one process). A due source whose host is busy with
this process's other sources is moved to its booked turn at that host, so that a thread never
sleeps out one host's spacing while other hosts' sources wait for a thread. One more job
renews this process's leases every third of their length, on a thread of its own so that
busy refreshes never delay it: a refresh however long keeps its source, and a crashed
process's sources are taken over once its leases run out. To stop, ``Refresher.stop`` first
(refreshes under way are abandoned, queued runs do nothing), then the scheduler's
``shutdown``: ``stop_scheduler`` does both.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
from collections.abc import Callable
from functools import partial

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from feeds.config import SourceConfig
from feeds.errors import LedgerUnavailableError
from feeds.ledger.store import SourceState
from feeds.model import UTC
from feeds.refresh.network import StoppedError
from feeds.refresh.refresher import Refresher

logger = logging.getLogger(__name__)

#: The job that renews this process's leases, and the executor (one thread) it runs on.
RENEW_LEASES_JOB = "renew-leases"
LEASES_EXECUTOR = "leases"
#: A source looked at again when it is due is looked at up to this much later (processes
#: sharing the database would otherwise all ask at the same instant).
LOOK_AGAIN_SPREAD = dt.timedelta(seconds=5)
#: Sources overdue at start run within this window, spread out rather than at once.
FIRST_RUN_SPREAD = dt.timedelta(seconds=30)


def first_run_time(
    source: SourceConfig, state: SourceState, now: dt.datetime, rng: random.Random
) -> dt.datetime:
    """When a source's job first runs after a start: at once if it was never fetched (the
    per-host spacing keeps that polite); when its next attempt was due (its last fetch plus
    its interval, or later after failures); soon, spread out, if that has passed."""
    if state.last_fetch_at is None and state.next_attempt_at is None:
        return now
    interval = source.refresh_interval
    due = state.next_attempt_at
    if due is None and state.last_fetch_at is not None:
        due = state.last_fetch_at + interval
    if due is None or due <= now:
        return now + min(FIRST_RUN_SPREAD, interval / 2) * rng.random()
    return due


def jitter_seconds(source: SourceConfig) -> int:
    """How far each run may move from the interval: a tenth of it, at most five minutes."""
    return max(1, min(300, int(source.refresh_interval.total_seconds()) // 10))


#: How long stopping waits for the runs under way (abandoned, they end within about a second).
STOP_WAIT_SECONDS = 30


def build_scheduler(
    sources: tuple[SourceConfig, ...],
    refresher: Refresher,
    *,
    threads: int = 4,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(UTC),
    rng: random.Random | None = None,
) -> BackgroundScheduler:
    """A scheduler (not started) with one refresh job per source."""
    rng = rng or random.Random()
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(threads), LEASES_EXECUTOR: ThreadPoolExecutor(1)},
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 300},
        timezone=dt.UTC,
    )
    states = refresher.ledger.states()
    start = now()
    for source in sources:
        state = states.get(source.id, SourceState(source_id=source.id))
        scheduler.add_job(
            run_scheduled_refresh,
            trigger=IntervalTrigger(
                seconds=source.refresh_interval.total_seconds(),
                jitter=jitter_seconds(source),
                timezone=dt.UTC,
            ),
            args=(refresher, source, partial(_run_job_at, scheduler, source.id)),
            id=source.id,
            name=f"refresh {source.id}",
            next_run_time=first_run_time(source, state, start, rng),
        )
    scheduler.add_job(
        renew_leases,
        trigger=IntervalTrigger(seconds=refresher.lease.total_seconds() / 3, timezone=dt.UTC),
        args=(refresher,),
        id=RENEW_LEASES_JOB,
        name="renew leases",
        executor=LEASES_EXECUTOR,
    )
    return scheduler


def renew_leases(refresher: Refresher) -> None:
    """The lease job's run: extend the leases on the sources this process is refreshing (if
    the database is unavailable, the next run tries again)."""
    try:
        renewed = refresher.renew_leases()
    except LedgerUnavailableError as error:
        logger.warning("leases not renewed: %s", error)
        return
    if renewed:
        logger.debug("renewed %d leases", renewed)


def run_scheduled_refresh(
    refresher: Refresher,
    source: SourceConfig,
    look_again: Callable[[dt.datetime], None] | None = None,
) -> None:
    """A job's run: refresh the source unless it is backing off, another process sharing the
    database is refreshing it (``Refresher.refresh_if_due``), or the database is unavailable
    (then the next run tries again). A source not due yet (it backs off, or another process
    refreshed it lately, or this run came early) is looked at again when it is due, with
    ``look_again``, rather than an interval later: a refresh whose request waited for its
    host's turn makes the next one due that much later than the job's interval. Once the
    refresher is stopping, a run does nothing (the scheduler's shutdown runs every queued
    job), and the refresh under way is abandoned, its lease given back."""
    with refresher.running():
        _run(refresher, source, look_again)


def _run(
    refresher: Refresher, source: SourceConfig, look_again: Callable[[dt.datetime], None] | None
) -> None:
    if refresher.stopping:
        return
    if look_again is not None and _wait_for_turn(refresher, source, look_again):
        return
    try:
        outcome = refresher.refresh_if_due(source)
    except LedgerUnavailableError as error:
        logger.warning("source %s: turn skipped: %s", source.id, error)
        return
    except StoppedError:
        return
    if outcome is not None:
        logger.info("source %s: %s in %.2fs", source.id, outcome.status, outcome.seconds)
        return
    logger.debug("source %s: not due or refreshed by another process, turn skipped", source.id)
    if look_again is None:
        return
    try:
        due = refresher.ledger.state(source.id).next_attempt_at
    except LedgerUnavailableError:
        return
    if due is not None and due > refresher.clock():
        spread = min(LOOK_AGAIN_SPREAD, source.refresh_interval / 20)
        look_again(due + spread * refresher.rng.random())


def _wait_for_turn(
    refresher: Refresher, source: SourceConfig, look_again: Callable[[dt.datetime], None]
) -> bool:
    """True when the source is due but its host's turn is later (other sources of that host
    ask it first): its job is moved to that turn, and the thread is free for other hosts'
    sources meanwhile, rather than sleeping out the spacing."""
    wait = refresher.turn_wait(source)
    if wait <= 0:
        return False
    try:
        due = refresher.is_due(source)
    except LedgerUnavailableError:
        due = False
    if not due:  # the run finds that out and looks again when it is: no turn needed now
        refresher.cancel_turn(source)
        return False
    look_again(refresher.clock() + dt.timedelta(seconds=wait))
    return True


def _run_job_at(scheduler: BackgroundScheduler, job_id: str, when: dt.datetime) -> None:
    """Move a job's next run (those after follow its interval from there)."""
    with contextlib.suppress(JobLookupError):  # removed meanwhile: the scheduler is stopping
        scheduler.modify_job(job_id, next_run_time=when)


def stop_scheduler(scheduler: BackgroundScheduler, refresher: Refresher) -> None:
    """Stop at once: abandon the refreshes under way (their leases given back, nothing half
    done stored), let queued runs do nothing, and wait for the scheduler's threads."""
    logger.info("stopping: abandoning the refreshes under way")
    refresher.stop()
    if scheduler.running:
        # not shutdown(wait=True): it holds the scheduler's job-store lock while it waits
        # for the runs under way, and a run moving its job's next time waits for that lock
        scheduler.shutdown(wait=False)
    if refresher.wait_idle(STOP_WAIT_SECONDS):
        logger.info("stopped: no refresh under way")
    else:
        logger.warning("stopped with a run still under way after %d s", STOP_WAIT_SECONDS)
