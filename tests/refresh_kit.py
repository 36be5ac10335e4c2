"""What refresh tests share: a settable clock, a source on the local server, a refresher on a
real database (a SQLite file or a PostgreSQL database), and listing pages written from items."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from feeds.config import SourceConfig
from feeds.ledger.store import EntryBatch, Ledger
from feeds.ledger.tables import entries_table, sources_table
from feeds.model import UTC, Adapter, LeftOut, PageContext, ParseResult, StoredEntry
from feeds.refresh.fetch import Fetcher
from feeds.refresh.refresher import Refresher
from sources import ADAPTERS
from tests.http_server import LocalServer, Route
from tests.listing_writer import WrittenItem, write_html

PUBLIC_URL = "https://www.example.org/newsroom/lang--en/index.htm"


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: dt.datetime = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class CountingAdapter:
    """The real ILO adapter, counting how often it is called."""

    calls: int = 0
    inner: Adapter = field(default=ADAPTERS["ilo"]({}))

    def __call__(self, document: str, context: PageContext) -> ParseResult:
        self.calls += 1
        return self.inner(document, context)


def make_source(server: LocalServer, path: str = "/news", **overrides: object) -> SourceConfig:
    values: dict[str, object] = {
        "id": "office",
        "title": "Office news",
        "url": server.url(path),
        "public_url": PUBLIC_URL,
        "timezone": ZoneInfo("Europe/Zurich"),
        "refresh_minutes": 60,
    }
    values.update(overrides)
    return SourceConfig(**values)  # type: ignore[arg-type]  # test values, checked by the class


def open_ledger(database_url: str) -> Ledger:
    """The ledger on a database (the ``database_url`` fixture's)."""
    return Ledger.open(database_url)


class ObservedLedger(Ledger):
    """The real ledger, showing each read of entries to ``observe`` (which subclasses
    define): all of them, or a batch of the newest (``first``: a read's first batch)."""

    def observe(self, found: Sequence[StoredEntry], *, first: bool) -> None:
        """See (or change) what one read hands out."""

    def entries(
        self,
        source_ids: Sequence[str] | None = None,
        *,
        limit: int | None = None,
        left_out: Callable[[LeftOut], object] = lambda _left_out: None,
    ) -> list[StoredEntry]:
        found = super().entries(source_ids, limit=limit, left_out=left_out)
        self.observe(found, first=True)
        return found

    def newest_entries(
        self,
        source_ids: Sequence[str] | None,
        *,
        limit: int,
        before: int | None = None,
        left_out: Callable[[LeftOut], object] = lambda _left_out: None,
    ) -> EntryBatch:
        batch = super().newest_entries(source_ids, limit=limit, before=before, left_out=left_out)
        self.observe(batch.entries, first=before is None)
        return batch


class CountingLedger(ObservedLedger):
    """The real ledger, counting how often entries are read (renders: all of them, or the
    first batch of the newest) and versions checked (by the serving tests)."""

    entry_reads = 0
    version_reads = 0

    def observe(self, found: Sequence[StoredEntry], *, first: bool) -> None:
        if first:  # a read starts; later batches continue it
            self.entry_reads += 1

    def version(self) -> int:
        self.version_reads += 1
        return super().version()

    def source_versions(self) -> dict[str, int]:
        self.version_reads += 1
        return super().source_versions()


def make_refresher(ledger: Ledger, clock: Clock, adapter: Adapter | None = None) -> Refresher:
    return Refresher(
        ledger=ledger,
        fetcher=Fetcher(timeout=httpx.Timeout(1.0), deadline_seconds=2.0),
        adapters={**ADAPTERS, "ilo": (lambda _options: adapter) if adapter else ADAPTERS["ilo"]},
        clock=clock,
        rng=random.Random(7),
    )


def page(*items: WrittenItem) -> Route:
    return Route(write_html(list(items)).encode(), headers={"Content-Type": "text/html"})


def item(title: str, day: int | None, summary: str = "", label: str | None = None) -> WrittenItem:
    date = dt.date(2026, 11, day) if day else None
    link = "/news/" + "-".join(title.lower().split())
    return WrittenItem(title=title, date=date, summary=summary, label=label, link=link)


def dump(ledger: Ledger) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every row of the ledger's entries, and the sources' entry versions."""
    with ledger.engine.connect() as connection:
        entries = [tuple(r) for r in connection.execute(select(entries_table).order_by("id"))]
        versions = [
            tuple(r)
            for r in connection.execute(
                select(sources_table.c.id, sources_table.c.version).order_by("id")
            )
        ]
    return entries, versions


def titles(ledger: Ledger) -> list[str]:
    """The titles of the ledger's published entries, newest first."""
    return [stored.entry.title for stored in ledger.entries()]
