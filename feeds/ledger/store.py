"""The ledger: every entry feedpub has published, and the refresh state of each source.

SQLAlchemy Core over SQLite by default (a file in WAL mode) or PostgreSQL, with portable SQL
and the same results on both; the schema comes from the migrations (``feeds.ledger.schema``). An
entry is inserted once with its first-seen time; its published instant never moves; its
``updated`` time moves only when its title, summary or labels change; an entry removed by
retention is kept as a tombstone so that it never comes back as new. A source's lease
(``Ledger.claim``) lets processes sharing the database refresh each due source once.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Table,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from feeds.ledger import schema
from feeds.ledger.articles import (
    ArticleCounts,
    ArticleFetch,
    ArticleTask,
    article_counts,
    due_articles,
    save_article,
)
from feeds.ledger.database import DEFAULT_POOL_SIZE, WRITES, open_engine, reachable
from feeds.ledger.items import EntryBatch, EntryReads
from feeds.ledger.merge import MergeResult, Retention, merge_listing
from feeds.ledger.tables import (
    entries_table,
    entry_aliases_table,
    hosts_table,
    sources_table,
)
from feeds.model import Entry, require_utc

#: What callers of the ledger use (``MergeResult`` and ``Retention`` live in the merge module).
__all__ = [
    "UNSAVED_STATE_FIELDS",
    "EntryBatch",
    "Ledger",
    "LedgerTransaction",
    "MergeResult",
    "Retention",
    "SourceState",
]

#: The fields of ``SourceState`` that ``save_state`` leaves alone: each has its own operation.
UNSAVED_STATE_FIELDS = frozenset({"source_id", "version", "lease_owner", "lease_expires_at"})


def _lease_end(now: dt.datetime, lease: dt.timedelta) -> dt.datetime:
    """When a lease taken or renewed ``now`` ends, rounded up to the stored whole second: a
    lease may last a little longer than asked, never shorter."""
    end = now + lease
    return end.replace(microsecond=0) + dt.timedelta(seconds=1) if end.microsecond else end


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceState:
    """What the ledger remembers about refreshing one source."""

    source_id: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    last_fetch_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    consecutive_failures: int = 0
    next_attempt_at: dt.datetime | None = None
    suspect_reason: str | None = None
    last_status: str | None = None
    version: int = 0
    lease_owner: str | None = None
    lease_expires_at: dt.datetime | None = None


def insert_if_missing(connection: Connection, table: Table, **values: object) -> Insert:
    """An INSERT of a row that does nothing when a row with its key exists, even when another
    transaction is inserting it at the same moment (``ON CONFLICT DO NOTHING``, in the
    dialect's own construct)."""
    key = list(table.primary_key.columns)
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table).values(values).on_conflict_do_nothing(index_elements=key)
    return sqlite.insert(table).values(values).on_conflict_do_nothing(index_elements=key)


def _empty_source(connection: Connection, source_id: str) -> Insert:
    """An INSERT of a source's empty row, if it has none (``insert_if_missing``)."""
    return insert_if_missing(
        connection, sources_table, id=source_id, consecutive_failures=0, version=0
    )


def _state(row: Any) -> SourceState:
    return SourceState(
        source_id=row.id,
        **{k: v for k, v in row._mapping.items() if k not in ("id", "page_order")},
    )


class LedgerTransaction:
    """The ledger's operations inside one transaction (see ``Ledger.transaction``)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def state(self, source_id: str) -> SourceState:
        row = self.connection.execute(
            select(sources_table).where(sources_table.c.id == source_id)
        ).first()
        return _state(row) if row else SourceState(source_id=source_id)

    def save_state(self, state: SourceState) -> None:
        # the version is the ledger's own count of content changes (see ``merge``), and the
        # lease belongs to ``Ledger.claim`` and ``Ledger.release``: never written back from a
        # state read before them
        values = {
            k: getattr(state, k)
            for k in SourceState.__dataclass_fields__
            if k not in UNSAVED_STATE_FIELDS
        }
        saving = update(sources_table).where(sources_table.c.id == state.source_id).values(**values)
        if self.connection.execute(saving).rowcount == 0:
            # a new source: its row first (another process may be making it at this moment)
            self.connection.execute(_empty_source(self.connection, state.source_id))
            self.connection.execute(saving)

    def on_page_ids(self, source_id: str) -> set[str]:
        """The ids of the source's entries listed on its page at the last successful fetch,
        and the ids corrections of them arrived with (their aliases)."""
        table, aliases = entries_table, entry_aliases_table
        listed = (table.c.source_id == source_id, table.c.on_page, table.c.removed_at.is_(None))
        rows = self.connection.execute(select(table.c.id).where(*listed))
        aliased = self.connection.execute(
            select(aliases.c.alias)
            .join(
                table,
                (table.c.source_id == aliases.c.source_id) & (table.c.id == aliases.c.entry_id),
            )
            .where(*listed)
        )
        return {row.id for row in rows} | {row.alias for row in aliased}

    def live_counts(self, source_id: str) -> tuple[int, int]:
        """How many live entries the source has, and how many of them are dated."""
        table = entries_table
        row = self.connection.execute(
            select(func.count(), func.count(table.c.listing_date)).where(
                table.c.source_id == source_id, table.c.removed_at.is_(None)
            )
        ).one()
        return int(row[0]), int(row[1])

    def merge(
        self,
        source_id: str,
        entries: Sequence[Entry],
        *,
        now: dt.datetime,
        retention: Retention,
        listing_urls: Collection[str] = (),
    ) -> MergeResult:
        """Store what a successful fetch listed (in page order); return what changed (see
        ``feeds.ledger.merge``)."""
        require_utc(now, "now")
        if (
            self.connection.execute(
                select(sources_table.c.id).where(sources_table.c.id == source_id)
            ).first()
            is None
        ):
            self.save_state(SourceState(source_id=source_id))
        return merge_listing(
            self.connection,
            source_id,
            entries,
            now=now,
            retention=retention,
            listing_urls=listing_urls,
            live_total=lambda: self.live_counts(source_id)[0],
        )


class Ledger(EntryReads):
    """The entry ledger on one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer at a time: threads of one process queue here, in order,
        # rather than time out on the database's lock
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None
        #: What is called when the ledger is closed, before its connections are released.
        self._before_close: list[Callable[[], object]] = []

    @classmethod
    def open(cls, url: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> Ledger:
        """Open the ledger at a SQLAlchemy database URL, keeping up to ``pool_size``
        connections. A database with no tables gets the schema; one whose schema is behind is
        refused (``SchemaVersionError``: run ``feedpub db upgrade``)."""
        engine = open_engine(url, pool_size=pool_size)
        try:
            with reachable(engine):
                schema.ensure_current(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def before_close(self, callback: Callable[[], object]) -> None:
        """Have ``callback`` called when the ledger is closed, before its connections are
        released: a user's background work on it ends first."""
        self._before_close.append(callback)

    def close(self) -> None:
        """End its users' background work (``before_close``), then release the database
        connections."""
        for callback in self._before_close:
            callback()
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[LedgerTransaction]:
        """One transaction: everything in it is stored, or (on an exception) nothing. On SQLite
        it holds the database's write lock from the start, so what it reads is still so when
        it writes; on PostgreSQL (read committed) one source is refreshed by one process at a
        time (leases), and merges choosing instants take an advisory lock."""
        with reachable(self.engine):
            if self._write_lock is None:
                with self.engine.connect() as connection, connection.begin():
                    yield LedgerTransaction(connection)
                return
            with self._write_lock, self.engine.connect() as connection:
                connection.execution_options(**{WRITES: True})
                with connection.begin():
                    yield LedgerTransaction(connection)

    def state(self, source_id: str) -> SourceState:
        """The refresh state of a source (an empty one for a source never refreshed)."""
        with self._connection() as connection:
            return LedgerTransaction(connection).state(source_id)

    def states(self) -> dict[str, SourceState]:
        """The refresh state of every source ever refreshed."""
        with self._connection() as connection:
            return {row.id: _state(row) for row in connection.execute(select(sources_table))}

    def due_articles(
        self, source_id: str, now: dt.datetime, *, not_links: Collection[str] = ()
    ) -> list[ArticleTask]:
        """The source's entries whose article is due (``feeds.ledger.articles``)."""
        with self._connection() as connection:
            return due_articles(connection, source_id, now, not_links=not_links)

    def save_article(self, fetch: ArticleFetch) -> bool:
        """Store what fetching an entry's article found; True when its content changed."""
        with self.transaction() as transaction:
            return save_article(transaction.connection, fetch)

    def article_counts(self) -> dict[str, ArticleCounts]:
        """Each source's articles: with a body, failing, the last error."""
        with self._connection() as connection:
            return article_counts(connection)

    def live_count(self, source_id: str) -> int:
        """How many entries of the source are published."""
        table = entries_table
        query = select(func.count()).where(
            table.c.source_id == source_id, table.c.removed_at.is_(None)
        )
        with self._connection() as connection:
            return int(connection.execute(query).scalar_one())

    def source_live_counts(self) -> dict[str, int]:
        """How many entries each source has published (sources with none are left out), in
        one query."""
        table = entries_table
        query = (
            select(table.c.source_id, func.count())
            .where(table.c.removed_at.is_(None))
            .group_by(table.c.source_id)
        )
        with self._connection() as connection:
            return {row[0]: int(row[1]) for row in connection.execute(query)}

    def claim(
        self,
        source_id: str,
        owner: str,
        now: dt.datetime,
        lease: dt.timedelta,
        *,
        tolerance: dt.timedelta = dt.timedelta(0),
    ) -> bool:
        """Take the lease on refreshing a source, for ``owner`` until ``now + lease``, if the
        source is due (its next attempt is at the latest ``now + tolerance``) and no one holds
        an unexpired lease on it. True when taken: then no other claim succeeds until the
        lease is released or expires (a crashed owner's sources are taken over then).

        One conditional UPDATE decides, so that of several processes claiming at once exactly
        one wins (PostgreSQL re-checks the condition on the row the winner committed; SQLite
        has one writer at a time). A source never refreshed gets its row first."""
        table = sources_table
        with self.transaction() as transaction:
            connection = transaction.connection
            connection.execute(_empty_source(connection, source_id))
            claimed = connection.execute(
                update(table)
                .where(
                    table.c.id == source_id,
                    or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at <= now),
                    or_(
                        table.c.next_attempt_at.is_(None),
                        table.c.next_attempt_at <= now + tolerance,
                    ),
                )
                .values(lease_owner=owner, lease_expires_at=_lease_end(now, lease))
            )
            return claimed.rowcount == 1

    def release(self, source_id: str, owner: str) -> bool:
        """Give up the lease on a source, if ``owner`` still holds it (one that expired and
        was taken over is the new owner's). True when released."""
        table = sources_table
        with self.transaction() as transaction:
            released = transaction.connection.execute(
                update(table)
                .where(table.c.id == source_id, table.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
            )
            return released.rowcount == 1

    def renew(self, owner: str, now: dt.datetime, lease: dt.timedelta) -> int:
        """Extend every lease ``owner`` holds to ``now + lease`` (a lease that expired and was
        taken over is no longer its own); how many were renewed."""
        table = sources_table
        with self.transaction() as transaction:
            renewed = transaction.connection.execute(
                update(table)
                .where(table.c.lease_owner == owner)
                .values(lease_expires_at=_lease_end(now, lease))
            )
            return int(renewed.rowcount)

    def take_turn(self, host: str, now: float, spacing: float) -> float:
        """Take the next turn at ``host`` for a request, for every process sharing the
        database: the turns are ``spacing`` seconds apart, the first at ``now`` (seconds since
        the epoch). Returns when this turn comes (``now`` or later). One conditional UPDATE
        decides, so processes taking turns at once each get their own."""
        table = hosts_table
        with self.transaction() as transaction:
            connection = transaction.connection
            connection.execute(insert_if_missing(connection, table, host=host, next_turn=now))
            start = case((table.c.next_turn > now, table.c.next_turn), else_=now)
            taken: float = connection.execute(
                update(table)
                .where(table.c.host == host)
                .values(next_turn=start + spacing)
                .returning(table.c.next_turn)
            ).scalar_one()
            return taken - spacing

    def version(self) -> int:
        """A number that changes whenever any source's entries change (cheap to poll)."""
        with self._connection() as connection:
            total = connection.execute(select(func.coalesce(func.sum(sources_table.c.version), 0)))
            return int(total.scalar_one())

    def source_versions(self) -> dict[str, int]:
        """Each source's version: its own count of content changes (cheap to poll), so that
        what is drawn from some sources is made again only when one of those changes."""
        with self._connection() as connection:
            rows = connection.execute(select(sources_table.c.id, sources_table.c.version))
            return {str(source_id): int(version) for source_id, version in rows}
