"""Choosing new entries' published instants: each entry gets a second of its own, across all
sources, so that feeds mixing sources never show two entries at one instant and a sort by
date keeps every page's order. Runs inside a ledger transaction (``feeds.ledger.store``).

Sources listing the same days make long runs of held seconds from each day's start; where a
run was found to end is remembered per database once its transaction commits, and the next
look starts there (held seconds are never given back: entries are never deleted, only
marked removed), so that a first refresh of many sources does not scan each day's run once
per source."""

from __future__ import annotations

import datetime as dt
import threading
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, Integer, bindparam, event, func, select

from feeds.ledger.tables import entries_table
from feeds.model import UTC

#: PostgreSQL advisory lock held by a transaction choosing entries' instants, until it ends:
#: b"instant" as a number. (On SQLite one writer at a time is the database's own rule.)
INSTANTS_LOCK_KEY = int.from_bytes(b"instant")


# The statements, built once (building them is most of what a first refresh of many entries
# would otherwise spend choosing instants); SQLAlchemy caches their compiled forms.
_INSTANT = entries_table.c.instant
_HELD_AMONG = select(_INSTANT).where(_INSTANT.in_(bindparam("seconds", expanding=True)))
_SECOND = bindparam("second", type_=Integer)
_HELD = select(_INSTANT).where(_INSTANT == _SECOND)
_NUMBERED = (
    select(_INSTANT, func.row_number().over(order_by=_INSTANT).label("position"))
    .where(_INSTANT >= _SECOND)
    .order_by(_INSTANT)
    .subquery()
)
_EXPECTED = _SECOND + _NUMBERED.c.position - 1
#: The first gap in the run of held seconds from ``second``: the database's one ordered scan
#: of the unique index from there (the n-th instant from it is ``second + n - 1`` until then).
_FIRST_GAP = select(_EXPECTED, _NUMBERED.c.instant).where(_NUMBERED.c.instant != _EXPECTED).limit(1)
_LATEST = select(func.max(_INSTANT))


#: Where runs of held seconds were last found to end, per database: the second a look began
#: at -> a second before which every second from there was held (committed).
_RUN_ENDS: WeakKeyDictionary[Engine, dict[int, int]] = WeakKeyDictionary()
_RUN_ENDS_LOCK = threading.Lock()
#: At most this many runs are remembered per database (a run a day of listings).
MAX_RUN_ENDS = 100_000
#: Where the runs found in a transaction are kept until it commits (``Connection.info``).
_FOUND = "feedpub.instants.run_ends"


def _remember_found(connection: Connection) -> None:
    found = connection.info.pop(_FOUND, None)
    if not found:
        return
    with _RUN_ENDS_LOCK:
        ends = _RUN_ENDS.setdefault(connection.engine, {})
        if len(ends) + len(found) > MAX_RUN_ENDS:
            ends.clear()
        for start, end in found.items():
            ends[start] = max(end, ends.get(start, end))


def _forget_found(connection: Connection) -> None:
    connection.info.pop(_FOUND, None)


def _known_end(connection: Connection, second: int) -> int:
    """Where a look at the run from ``second`` may start: the committed end found before, or
    ``second`` itself."""
    engine = connection.engine
    if not event.contains(engine, "commit", _remember_found):
        event.listen(engine, "commit", _remember_found)
        event.listen(engine, "rollback", _forget_found)
    with _RUN_ENDS_LOCK:
        return max(second, _RUN_ENDS.get(engine, {}).get(second, second))


def lock_instants(connection: Connection) -> None:
    """Hold the right to choose instants until the transaction ends: two transactions
    choosing at once could both take the same free second."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(INSTANTS_LOCK_KEY)))


def free_instants(connection: Connection, candidates: list[dt.datetime]) -> list[dt.datetime]:
    """Move each candidate instant later until no entry of any source holds it (each
    entry has its own second, so that feeds mixing sources never show two entries at one
    instant); candidates are given bottom of the page first, so page order holds.

    Costs one query for the whole batch, and one more per run of held seconds met (a
    candidate inside, or just before, a run already met jumps to its end)."""
    seconds = [int(candidate.timestamp()) for candidate in candidates]
    held: set[int] = set()
    distinct = sorted(set(seconds))
    for start in range(0, len(distinct), 500):
        chunk = distinct[start : start + 500]
        held.update(connection.execute(_HELD_AMONG, {"seconds": chunk}).scalars())
    known = {second: second in held for second in distinct}  # second -> held in the db

    def held_in_database(second: int) -> bool:
        if second not in known:
            found = connection.execute(_HELD, {"second": second}).first()
            known[second] = found is not None
        return known[second]

    # held runs met: (a held second, the first free one after, the next held one after
    # that or None if none is): the seconds from the first to the last are held, those
    # from the free one up to the next held one are free
    runs: list[tuple[int, int, int | None]] = []

    def run_of(second: int) -> tuple[int, int, int | None] | None:
        return next((run for run in runs if run[0] <= second < run[1]), None)

    def known_free(second: int) -> bool:
        return any(end <= second and (after is None or second < after) for _, end, after in runs)

    claimed: set[int] = set()
    chosen = []
    for candidate in seconds:
        second = candidate
        while True:
            if second in claimed:
                second += 1
            elif (run := run_of(second)) is not None:
                second = run[1]
            elif known_free(second) or not held_in_database(second):
                break
            else:
                # held, and the next second is in a run met: this one's run ends there too
                following = run_of(second + 1)
                end, after = following[1:] if following else _held_run(connection, second)
                runs.append((second, end, after))
                second = end
        claimed.add(second)
        chosen.append(dt.datetime.fromtimestamp(second, UTC))
    return chosen


def _held_run(connection: Connection, second: int) -> tuple[int, int | None]:
    """The run of held seconds that starts at ``second``: the first free second after it,
    and the next held second after that (``None``: none is held later). Found by the
    database in one ordered scan of the unique index from where the run was last found to
    end (``second`` at first): the n-th instant from there is its start + n - 1 until the
    first gap."""
    start = _known_end(connection, second)
    gap = connection.execute(_FIRST_GAP, {"second": start}).first()
    if gap is not None:
        end, after = int(gap[0]), int(gap[1])
    else:  # no gap: the run goes on to the latest instant held (none from ``start``: it)
        latest: int = connection.execute(_LATEST).scalar_one()
        end, after = max(latest + 1, start), None
    connection.info.setdefault(_FOUND, {})[second] = end
    return end, after
