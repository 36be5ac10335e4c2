"""Connecting to the ledger's database: engines with a pool sized for the caller's threads,
connections checked before use (so that a database that went away and came back is used again
without a restart), SQLite in WAL mode, and one error for a database that cannot be reached.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from feeds.errors import LedgerUnavailableError

#: Connections kept open per process: one per serving thread (``feedpub serve --threads``).
DEFAULT_POOL_SIZE = 10
#: The execution option of a connection whose transactions write (see ``_sqlite_begin``).
WRITES = "feedpub_writes"
#: Connections opened beyond the pool when every pooled one is busy, closed when returned.
POOL_OVERFLOW = 2
#: How long connecting to a database server may take before the database counts as
#: unavailable (a server that is down refuses at once; one that is unreachable does not).
CONNECT_TIMEOUT_SECONDS = 3


def shown_url(url: str | URL) -> str:
    """A database URL as messages show it: with the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return str(url)  # not a URL, so no password to find in it


def open_engine(url: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> Engine:
    """An engine for the ledger's database: pooled connections, each checked before use (so
    that a database that went away and came back is connected to afresh), SQLite in WAL mode,
    ``postgresql://`` read with psycopg (version 3)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    options: dict[str, Any] = {"pool_pre_ping": True}
    backend = parsed.get_backend_name()
    if backend != "sqlite" or parsed.database not in (None, "", ":memory:"):
        # (an SQLite database in memory keeps one connection per thread instead)
        options.update(pool_size=pool_size, max_overflow=POOL_OVERFLOW)
    if backend == "postgresql" and "connect_timeout" not in parsed.query:
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    engine = create_engine(parsed, **options)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


@contextmanager
def reachable(engine: Engine) -> Iterator[None]:
    """Turn a database that cannot be reached, or a connection lost in the middle, into
    ``LedgerUnavailableError`` (the pool connects afresh on the next use)."""
    try:
        yield
    except DBAPIError as error:
        if not (isinstance(error, OperationalError) or error.connection_invalidated):
            raise
        reason = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]
        raise LedgerUnavailableError(
            f"database {shown_url(engine.url)} is unavailable: {reason}"
        ) from error


#: How long an SQLite connection waits for another's lock.
SQLITE_BUSY_MS = 30_000
#: How long to wait before asking again for WAL mode on a database another connection locks.
WAL_RETRY_SECONDS = 0.05


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    # first, so that the pragmas after it wait too: switching to WAL needs the database's
    # lock, which another process creating the schema may hold for a while
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")  # others (a worker) may write
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # the driver would begin a transaction only before the first write, leaving the reads
    # before it outside: transactions are begun by ``_sqlite_begin`` instead
    connection.isolation_level = None


def _switch_to_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``, tried again while the database is locked: SQLite answers
    "database is locked" at once, without waiting out the busy timeout, when connections
    opening a new database at the same moment would otherwise wait for each other."""
    deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(WAL_RETRY_SECONDS)
        else:
            return


def _sqlite_begin(connection: Connection) -> None:
    """Begin an SQLite transaction: one that will write (``WRITES``) takes the database's
    write lock at once (``BEGIN IMMEDIATE``), so that what it reads first is still so when it
    writes, and it never fails to upgrade a read lock; others only read, from a snapshot."""
    writes = connection.get_execution_options().get(WRITES, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
