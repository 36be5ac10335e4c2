"""Reading a few of many entries: the newest live entries of some sources (or all), a batch
at a time, each batch continuing where the last stopped, and the other listings of items
(by their stored ``item_key``); indexed reads whose cost follows what is read, not what is
stored."""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select, Text, func, select, type_coerce

from feeds.ledger.database import reachable
from feeds.ledger.rows import readable_entries
from feeds.ledger.tables import articles_table, entries_table
from feeds.model import LeftOut, StoredEntry

T = TypeVar("T")

#: Up to this many sources are read one by one (each by its own index, merged newest first);
#: more are read through the index of every source's live entries.
MAX_SEPARATE_SOURCES = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryBatch:
    """Live entries, newest first, and where the next batch starts.

    Attributes:
        entries: The entries read (rows that cannot be entries left out).
        after: The instant (seconds since the epoch) of the last row read, for the next
            batch's ``before``; ``None`` when no entry is left.
    """

    entries: tuple[StoredEntry, ...]
    after: int | None


def _live() -> Select[Any]:
    """Live entries, with their articles' content."""
    table, articles = entries_table, articles_table
    return (
        select(table, articles.c.content_html)
        .outerjoin(
            articles,
            (articles.c.source_id == table.c.source_id) & (articles.c.entry_id == table.c.id),
        )
        .where(table.c.removed_at.is_(None))
    )


def _newest_rows(
    connection: Connection, source_ids: Sequence[str] | None, limit: int, before: int | None
) -> list[Any]:
    table = entries_table
    query = _live()
    if before is not None:
        query = query.where(table.c.instant < before)
    query = query.order_by(table.c.instant.desc()).limit(limit)
    if source_ids is None or len(source_ids) > MAX_SEPARATE_SOURCES:
        if source_ids is not None:
            query = query.where(table.c.source_id.in_(list(source_ids)))
        return list(connection.execute(query))
    each = [
        list(connection.execute(query.where(table.c.source_id == source_id)))
        for source_id in dict.fromkeys(source_ids)
    ]
    merged = heapq.merge(*each, key=lambda row: row.instant, reverse=True)
    return [row for row, _ in zip(merged, range(limit), strict=False)]


def newest_entries(
    connection: Connection,
    source_ids: Sequence[str] | None,
    *,
    limit: int,
    before: int | None = None,
    left_out: Callable[[LeftOut], object],
) -> EntryBatch:
    """At most ``limit`` live entries of the sources (``None``: all), newest first, published
    before the instant ``before`` (``None``: the newest)."""
    rows = _newest_rows(connection, source_ids, limit, before)
    entries = tuple(readable_entries(rows, left_out))
    return EntryBatch(entries=entries, after=rows[-1].instant if len(rows) == limit else None)


def listings(
    connection: Connection,
    keys: Collection[str],
    source_ids: Sequence[str] | None,
    *,
    left_out: Callable[[LeftOut], object],
) -> list[StoredEntry]:
    """The live entries of the sources (``None``: all) with one of these item keys."""
    if not keys:
        return []
    table = entries_table
    query = _live().where(table.c.item_key.in_(list(keys)))
    if source_ids is not None:
        query = query.where(table.c.source_id.in_(list(source_ids)))
    return list(readable_entries(connection.execute(query), left_out))


def item_count(connection: Connection, source_ids: Sequence[str] | None) -> int:
    """How many live entries of the sources (``None``: all) a topic drawing on them holds:
    each item listed by several of them counted as listed by the one that showed it first
    (the earliest first seen, then the least source id), as ``feeds.serve.topics`` shows it;
    one query, counted by the database."""
    table = entries_table

    def live(query: Select[Any]) -> Select[Any]:
        query = query.where(table.c.removed_at.is_(None))
        if source_ids is not None:
            query = query.where(table.c.source_id.in_(list(source_ids)))
        return query

    earliest = live(
        select(table.c.item_key, func.min(table.c.first_seen).label("first_seen")).group_by(
            table.c.item_key
        )
    ).subquery()
    first = live(
        select(table.c.item_key, func.min(table.c.source_id).label("source_id"))
        .join(
            earliest,
            (earliest.c.item_key == table.c.item_key)
            & (earliest.c.first_seen == table.c.first_seen),
        )
        .group_by(table.c.item_key)
    ).subquery()
    kept = live(
        select(func.count()).select_from(
            table.join(
                first,
                (first.c.item_key == table.c.item_key) & (first.c.source_id == table.c.source_id),
            )
        )
    )
    unkeyed = live(select(func.count()).where(table.c.item_key.is_(None)))
    return int(connection.execute(kept).scalar_one()) + int(
        connection.execute(unkeyed).scalar_one()
    )


@dataclass(frozen=True, slots=True)
class ItemFields:
    """What telling whether a stored entry belongs to a topic, and which of an item's
    listings a topic shows, needs of it: no more is read (``item_fields``)."""

    source_id: str
    item_key: str
    first_seen: Any  # as stored: compared only with others read alike
    title: str
    summary: str
    labels: Sequence[str]


def _labels(stored: object) -> list[Any]:
    """A row's labels as stored (JSON text; already decoded by PostgreSQL's driver), or none
    if they cannot be read."""
    if stored == "[]":  # most rows: sooner
        return []
    labels = stored
    if isinstance(stored, str | bytes):
        try:
            labels = json.loads(stored)
        except ValueError:
            return []
    return labels if isinstance(labels, list) else []


#: How many rows ``item_fields`` asks the database for at a time.
FIELDS_BATCH = 2000


def item_fields(connection: Connection, source_ids: Sequence[str] | None) -> Iterator[ItemFields]:
    """The matching fields of every live entry of the sources (``None``: all), a batch at a
    time (never all in memory), in no order: what counting a topic's entries with labels or
    keywords reads, instead of whole entries. Rows are as stored, not cleaned."""
    table = entries_table
    query = select(
        # the instant first seen as stored (text on SQLite, in an order-keeping form): only
        # compared with others read alike, never converted
        table.c.source_id, table.c.item_key, type_coerce(table.c.first_seen, Text), table.c.title,
        table.c.summary, type_coerce(table.c.labels, Text).label("labels"),
    ).where(table.c.removed_at.is_(None))  # fmt: skip
    if source_ids is not None:
        query = query.where(table.c.source_id.in_(list(source_ids)))
    result = connection.execution_options(yield_per=FIELDS_BATCH).execute(query)
    for row in result:
        labels = _labels(row.labels)
        yield ItemFields(
            source_id=row.source_id, item_key=row.item_key or "", first_seen=row[2],
            title=row.title or "", summary=row.summary or "",
            labels=[label for label in labels if isinstance(label, str)],
        )  # fmt: skip


def _nothing(_left_out: LeftOut) -> None:
    """Told of nothing left out."""


class EntryReads:
    """The ledger's reads of entries (``feeds.ledger.store.Ledger`` has them)."""

    engine: Engine

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A connection for reading."""
        with reachable(self.engine), self.engine.connect() as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection to read with (no write lock taken, nothing written), for the
        functions of ``feeds.ledger.hub``."""
        with self._connection() as connection:
            yield connection

    def entries(
        self,
        source_ids: Sequence[str] | None = None,
        *,
        limit: int | None = None,
        left_out: Callable[[LeftOut], object] = _nothing,
    ) -> list[StoredEntry]:
        """Live entries (of the given sources, or all), newest first. A row that cannot be an
        entry is left out (logged, and told to ``left_out``): one bad row never stops the rest."""
        table = entries_table
        query = _live()
        if source_ids is not None:
            query = query.where(table.c.source_id.in_(list(source_ids)))
        query = query.order_by(table.c.published.desc(), table.c.source_id, table.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self._connection() as connection:
            return list(readable_entries(connection.execute(query), left_out))

    def newest_entries(
        self,
        source_ids: Sequence[str] | None,
        *,
        limit: int,
        before: int | None = None,
        left_out: Callable[[LeftOut], object] = _nothing,
    ) -> EntryBatch:
        """At most ``limit`` live entries of the sources (``None``: all), newest first, before
        the instant ``before``: a batch, and where the next starts."""
        with self._connection() as connection:
            return newest_entries(
                connection, source_ids, limit=limit, before=before, left_out=left_out
            )

    def listings(
        self,
        keys: Collection[str],
        source_ids: Sequence[str] | None,
        *,
        left_out: Callable[[LeftOut], object] = _nothing,
    ) -> list[StoredEntry]:
        """The live entries of the sources (``None``: all) with one of these item keys
        (``feeds.identity.item_key``): every listing of those items."""
        with self._connection() as connection:
            return listings(connection, keys, source_ids, left_out=left_out)

    def item_count(self, source_ids: Sequence[str] | None) -> int:
        """How many entries a topic drawing on these sources (``None``: all) holds, an item
        listed by several counted once (``item_count``)."""
        with self._connection() as connection:
            return item_count(connection, source_ids)

    def each_item_fields(
        self, source_ids: Sequence[str] | None, use: Callable[[Iterator[ItemFields]], T]
    ) -> T:
        """``use`` applied to the matching fields of every live entry of the sources
        (``item_fields``), read while ``use`` runs."""
        with self._connection() as connection:
            return use(item_fields(connection, source_ids))
