"""Benchmark: refreshing many sources end to end over HTTP, and the ledger's upserts.

Run: ``.venv/bin/python -m bench.refresh_throughput`` (about two minutes on two cores; add
``--trace-first`` to trace table 1's first pass too, which adds minutes). Prints:

1. A refresh of 1,000 sources, each a different listing page of 20 items served by a local
   HTTP server (a ``ThreadingHTTPServer`` thread on 127.0.0.1, in this process), by a
   ``Refresher`` on a SQLite file in a temporary folder with a pool of 4 threads, as
   ``feedpub refresh`` does. All sources share one host, so the fetcher's host spacing is 0
   (its one-request-at-a-time-per-host gate still applies). Passes: the first stores every
   page; the next get the same bytes ("unchanged"); the last get 304 answers ("not-modified":
   every page has an ETag from the traced unchanged pass on, which records it). For each:
   wall time, requests/s, sources/s, SQL statements per source, the process's max RSS so far
   and, for the passes run again under tracemalloc (which slows them), the tracemalloc peak:
   the most memory the pass held at once beyond what was held before it.
2. Ledger upserts (``LedgerTransaction.merge``, no HTTP, one transaction per source) for
   1 source x 10 entries, 10 x 100 and 100 x 100 (10, 1,000 and 10,000 entries): first
   insert, re-merge unchanged, re-merge with 10% of the summaries edited. Each run is on a new
   ledger, warmed up first (connection, compiled statements). Entries per second should stay
   flat as the ledger grows.
3. Growth: the same HTTP refresh (untraced, a new ledger each) for 10, 100 and 1,000 sources:
   the first and the unchanged pass. Sources per second should stay flat.

Listing pages are dated over the days before the (fixed) refresh time, as pages refreshed
together are, so sources share listing days. Every table counts the entries that share their
published instant with another entry ("shared"): the ledger promises there are none.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import resource
import statistics
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import event, func, select

from feeds.config import SourceConfig
from feeds.identity import listing_key
from feeds.ledger.store import Ledger, Retention
from feeds.ledger.tables import entries_table
from feeds.model import Entry, PageContext
from feeds.refresh.fetch import Fetcher
from feeds.refresh.gate import HostGate
from feeds.refresh.outcomes import Status
from feeds.refresh.refresher import Refresher
from sources import ADAPTERS, ilo
from tests.listing_writer import WrittenItem, write_html
from tests.refresh_kit import Clock

SOURCES = 1_000
ITEMS_PER_PAGE = 20
WORKERS = 4  # as ``feedpub refresh``
GROWTH = (10, 100, 1_000)
LEDGER_SHAPES = ((1, 10), (10, 100), (100, 100))  # (sources, entries per source)
EDITED_EVERY = 10  # every 10th entry's summary is edited
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
ZONE = ZoneInfo("Europe/Zurich")
MIB = 1024 * 1024
WORDS = (
    "workers", "social", "protection", "employment", "youth", "green", "jobs", "report",
    "decent", "work", "office", "minimum", "wage", "women", "platform", "economy", "training",
    "skills", "safety", "health", "launch", "review",
)  # fmt: skip


# --- pages and the server --------------------------------------------------------------------


def generate(source: int, count: int) -> list[WrittenItem]:
    """``count`` distinct items of one source, newest first, about two a day back from
    ``NOW`` (so every source lists items of the same few days)."""
    rng = random.Random(source)
    day = NOW.date()
    items = []
    for number in range(count):
        if rng.random() < 0.5:
            day -= dt.timedelta(days=1)
        items.append(
            WrittenItem(
                title=f"{' '.join(rng.choices(WORDS, k=8)).capitalize()} {source}-{number}",
                date=day if rng.random() < 0.95 else None,
                label=rng.choice([None, "Press release", "News", "Event"]),
                summary=" ".join(rng.choices(WORDS, k=30)).capitalize() + ".",
                link=f"/s/{source}/news/{number}",
            )
        )
    return items


def public_url(source: int) -> str:
    return f"https://www.example.org/s/{source}/lang--en/index.htm"


@dataclass
class Page:
    """What the server answers on one path: the body, and the ETag it answers 304 to."""

    body: bytes
    etag: str | None = None


@dataclass
class PageServer:
    """A running page server: set ``pages[path]``; it counts requests and 304 answers."""

    base_url: str
    pages: dict[str, Page] = field(default_factory=dict)
    requests: int = 0
    not_modified: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base_url + path

    def take(self) -> tuple[int, int]:
        """Requests and 304 answers since the last call."""
        with self.lock:
            counts = self.requests, self.not_modified
            self.requests = self.not_modified = 0
        return counts


@contextmanager
def page_server() -> Iterator[PageServer]:
    """A ``ThreadingHTTPServer`` on a free port of 127.0.0.1, in a thread, for the block.

    Like ``tests.http_server``, but counting requests and 304 answers as it goes, without
    keeping a record of each (a run makes thousands). ``TCP_NODELAY`` matters: without it
    the headers and the body leave as two small writes, and Nagle's algorithm with the
    client's delayed ACK stalls every keep-alive request by ~40 ms.
    """
    state = PageServer(base_url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            page = state.pages.get(self.path)
            etag = page.etag if page else None
            fresh = etag is not None and self.headers.get("If-None-Match") == etag
            with state.lock:
                state.requests += 1
                state.not_modified += fresh
            if page is None:
                self.send_error(404)
                return
            body = b"" if fresh else page.body
            self.send_response(304 if fresh else 200)
            if etag:
                self.send_header("ETag", etag)
            if not fresh:
                self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Keep the benchmark's output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve_pages(server: PageServer, count: int) -> list[SourceConfig]:
    """Serve ``count`` listing pages at ``/s/0`` ... and return their sources."""
    server.pages.clear()
    sources = []
    for number in range(count):
        path = f"/s/{number}"
        server.pages[path] = Page(write_html(generate(number, ITEMS_PER_PAGE)).encode())
        sources.append(
            SourceConfig(
                id=f"s{number}",
                title=f"Source {number}",
                url=server.url(path),
                public_url=public_url(number),
                timezone=ZONE,
            )
        )
    return sources


# --- measuring ---------------------------------------------------------------------------------


def max_rss_mib() -> float:
    """The process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class StatementCounter:
    """Counts the SQL statements a ledger's engine sends (an executemany batch counts once)."""

    def __init__(self, ledger: Ledger) -> None:
        self.count = 0
        self._lock = threading.Lock()
        event.listen(ledger.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        with self._lock:
            self.count += 1

    def take(self) -> int:
        """The count since the last call."""
        with self._lock:
            count, self.count = self.count, 0
        return count


class LogTally(logging.Handler):
    """Counts what ``feeds`` logs at WARNING and above, instead of printing tracebacks."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.levels: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.levels[record.levelname.lower()] += 1

    def take(self) -> str:
        """``3 error, 1 warning`` since the last call, or ``none``."""
        text = ", ".join(f"{n} {level}" for level, n in self.levels.items()) or "none"
        self.levels.clear()
        return text


@contextmanager
def temporary_ledger() -> Iterator[Ledger]:
    with tempfile.TemporaryDirectory(prefix="feedpub-bench-") as folder:
        ledger = Ledger.open(f"sqlite:///{Path(folder) / 'ledger.db'}")
        try:
            yield ledger
        finally:
            ledger.close()


def shared_instants(ledger: Ledger) -> int:
    """How many entries share their published instant with another entry."""
    published = entries_table.c.published
    query = (
        select(func.count()).select_from(entries_table).group_by(published).having(func.count() > 1)
    )
    with ledger.engine.connect() as connection:
        return sum(connection.execute(query).scalars())


# --- 1 and 3: refreshing over HTTP -------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Pass:
    """What one refresh pass over every source took."""

    sources: int
    requests: int
    not_modified: int
    seconds: float
    statuses: Counter[str]
    errors: Counter[str]
    statements: int
    traced_peak_mib: float | None  # None: not traced
    max_rss_mib: float

    def statuses_text(self) -> str:
        return ", ".join(f"{count} {status}" for status, count in self.statuses.most_common())


PASS_HEADER = (
    f"{'pass':<10} {'traced':<6} {'reqs':>5} {'304s':>5} {'seconds':>8} {'reqs/s':>7} "
    f"{'sources/s':>9} {'ms/src':>7} {'SQL/src':>7} {'peak MiB':>8} {'RSS MiB':>8}  statuses"
)


def pass_row(name: str, run: Pass) -> str:
    traced = "no" if run.traced_peak_mib is None else "yes"
    peak = f"{run.traced_peak_mib:>8.1f}" if run.traced_peak_mib is not None else f"{'-':>8}"
    return (
        f"{name:<10} {traced:<6} {run.requests:>5} {run.not_modified:>5} {run.seconds:>8.2f} "
        f"{run.requests / run.seconds:>7,.0f} {run.sources / run.seconds:>9,.0f} "
        f"{run.seconds / run.sources * 1e3:>7.1f} {run.statements / run.sources:>7.1f} "
        f"{peak} {run.max_rss_mib:>8.1f}  {run.statuses_text()}"
    )


def make_refresher(ledger: Ledger) -> Refresher:
    return Refresher(
        ledger=ledger,
        fetcher=Fetcher(
            timeout=httpx.Timeout(30.0, connect=10.0),
            gate=HostGate(spacing=0.0),  # every source is on 127.0.0.1
        ),
        adapters=ADAPTERS,
        clock=Clock(NOW),
        rng=random.Random(7),
    )


@dataclass
class Run:
    """A refresher on a new ledger, over the sources ``server`` serves."""

    server: PageServer
    sources: list[SourceConfig]
    ledger: Ledger
    refresher: Refresher
    counter: StatementCounter

    def refresh_all(self, *, traced: bool = False) -> Pass:
        """Refresh every source once on a pool of ``WORKERS`` threads (under tracemalloc when
        ``traced``: several times slower)."""
        self.server.take()
        self.counter.take()
        if traced:
            tracemalloc.start()
        try:
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                outcomes = list(pool.map(self.refresher.refresh, self.sources))
            seconds = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1] / MIB if traced else None
        finally:
            if traced:
                tracemalloc.stop()
        requests, not_modified = self.server.take()
        return Pass(
            sources=len(self.sources),
            requests=requests,
            not_modified=not_modified,
            seconds=seconds,
            statuses=Counter(str(outcome.status) for outcome in outcomes),
            errors=Counter((o.error or "")[:90] for o in outcomes if o.status == Status.FAILED),
            statements=self.counter.take(),
            traced_peak_mib=peak,
            max_rss_mib=max_rss_mib(),
        )

    def give_etags(self) -> None:
        """From now on every page has an ETag (the next 200 answer records it)."""
        for number, page in enumerate(self.server.pages.values()):
            page.etag = f'"bench-{number}"'


@contextmanager
def new_run(server: PageServer, count: int) -> Iterator[Run]:
    """Serve ``count`` pages; a refresher for them on a new ledger."""
    sources = serve_pages(server, count)
    with temporary_ledger() as ledger:
        refresher = make_refresher(ledger)
        try:
            yield Run(server, sources, ledger, refresher, StatementCounter(ledger))
        finally:
            refresher.fetcher.close()


def print_errors(passes: Sequence[Pass]) -> None:
    errors = sum((run.errors for run in passes), Counter[str]())
    for error, count in errors.most_common(3):
        print(f"  {count} x failed: {error}")


def section_http(server: PageServer, tally: LogTally, *, trace_first: bool) -> None:
    print(
        f"1. HTTP refresh of {SOURCES:,} sources x {ITEMS_PER_PAGE} items: {WORKERS} threads, "
        "SQLite file, all on one host 127.0.0.1 (so host spacing 0)"
    )
    with new_run(server, SOURCES) as run:
        print(f"(max RSS before the first pass: {max_rss_mib():.1f} MiB)")
        print(PASS_HEADER)
        rows = [("first", run.refresh_all(traced=trace_first))]
        rows.append(("unchanged", run.refresh_all()))
        run.give_etags()
        rows.append(("unchanged", run.refresh_all(traced=True)))  # records the ETags
        rows.append(("304", run.refresh_all()))
        rows.append(("304", run.refresh_all(traced=True)))
        shared = shared_instants(run.ledger)
    for name, result in rows:
        print(pass_row(name, result))
    print_errors([result for _, result in rows])
    if not trace_first:
        print(
            "The first pass runs untraced: under tracemalloc it is several times slower "
            "(minutes); --trace-first traces it too."
        )
    print(
        "RSS is the process's high-water mark. Entries sharing a published instant: "
        f"{shared:,} of {SOURCES * ITEMS_PER_PAGE:,}. Logged at WARNING+: {tally.take()}."
    )


def section_growth(server: PageServer, tally: LogTally) -> None:
    print(
        f"3. Growth of the HTTP refresh with the number of sources ({ITEMS_PER_PAGE} items each, "
        f"{WORKERS} threads, host spacing 0, a new ledger each, untraced)"
    )
    print(
        f"{'sources':>7} {'first s':>8} {'sources/s':>9} {'ms/src':>7} {'SQL/src':>7} "
        f"{'unchanged s':>11} {'sources/s':>9} {'ms/src':>7} {'shared':>7}  first pass"
    )
    runs: list[Pass] = []
    for count in GROWTH:
        with new_run(server, count) as run:
            first, again = run.refresh_all(), run.refresh_all()
            shared = shared_instants(run.ledger)
        runs += (first, again)
        print(
            f"{count:>7} {first.seconds:>8.2f} {count / first.seconds:>9,.0f} "
            f"{first.seconds / count * 1e3:>7.1f} {first.statements / count:>7.1f} "
            f"{again.seconds:>11.2f} {count / again.seconds:>9,.0f} "
            f"{again.seconds / count * 1e3:>7.1f} {shared:>7,}  "
            f"{first.statuses_text()}"
        )
    print_errors(runs)
    print(f"Logged at WARNING+: {tally.take()}.")


# --- 2: ledger upserts -------------------------------------------------------------------------


def parsed_entries(source: int, count: int) -> list[Entry]:
    """The entries the ILO adapter reads from a page of ``count`` items of ``source``."""
    url = public_url(source)
    context = PageContext(
        source_id=f"s{source}", page_url=url, timezone=ZONE, seen_at=NOW,
        identity_key=listing_key(url),
    )  # fmt: skip
    return list(ilo.parse(write_html(generate(source, count)), context).entries)


def edited(entries: list[Entry]) -> list[Entry]:
    return [
        replace(e, summary=e.summary + " Edited.") if n % EDITED_EVERY == 0 else e
        for n, e in enumerate(entries)
    ]


def merge_all(ledger: Ledger, pages: dict[str, list[Entry]]) -> float:
    """Seconds to merge every source's entries, one transaction per source."""
    start = time.perf_counter()
    for source_id, entries in pages.items():
        with ledger.transaction() as transaction:
            transaction.merge(source_id, entries, now=NOW, retention=Retention())
    return time.perf_counter() - start


def warm_up(ledger: Ledger) -> None:
    """Connect, and compile the statements a merge sends (SQLAlchemy caches them per engine),
    with a source dated years away from the measured ones."""
    entries = [replace(e, source_id="warm-up") for e in parsed_entries(-1, 10)]
    entries = [replace(e, published=e.published.replace(year=2000)) for e in entries]
    for content in (entries, entries, edited(entries)):
        merge_all(ledger, {"warm-up": content})


def section_ledger() -> None:
    print(
        "2. Ledger upserts: LedgerTransaction.merge on a SQLite file, one transaction per "
        "source, no HTTP (median of the runs, each in a new ledger)"
    )
    print(
        f"{'shape':>9} {'total':>6} {'case':<12} {'runs':>4} {'seconds':>8} {'entries/s':>10} "
        f"{'us/entry':>8} {'SQL/src':>7} {'shared':>6}"
    )
    for source_count, per_source in LEDGER_SHAPES:
        pages = {f"s{n}": parsed_entries(n, per_source) for n in range(source_count)}
        total = sum(len(entries) for entries in pages.values())
        cases = {
            "first": pages,
            "unchanged": pages,
            "10% edited": {source_id: edited(entries) for source_id, entries in pages.items()},
        }
        runs = min(100, max(1, 3_000 // total))
        timings: dict[str, list[float]] = {case: [] for case in cases}
        statements: dict[str, int] = {}
        shared = 0
        for _ in range(runs):
            with temporary_ledger() as ledger:
                warm_up(ledger)
                counter = StatementCounter(ledger)
                for case, content in cases.items():
                    timings[case].append(merge_all(ledger, content))
                    statements[case] = counter.take()
                shared = shared_instants(ledger)
        shape = f"{source_count}x{per_source}"
        for case, seconds_taken in timings.items():
            seconds = statistics.median(seconds_taken)
            print(
                f"{shape:>9} {total:>6} {case:<12} {runs:>4} {seconds:>8.4f} "
                f"{total / seconds:>10,.0f} {seconds / total * 1e6:>8.0f} "
                f"{statements[case] / source_count:>7.1f} {shared:>6}"
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--trace-first",
        action="store_true",
        help="run table 1's first pass under tracemalloc too (adds about four minutes)",
    )
    arguments = parser.parse_args(argv)
    tally = LogTally()
    feeds_logger = logging.getLogger("feeds")
    feeds_logger.setLevel(logging.WARNING)
    feeds_logger.addHandler(tally)
    feeds_logger.propagate = False
    started = time.perf_counter()
    with page_server() as server:
        section_http(server, tally, trace_first=arguments.trace_first)
        print()
        section_ledger()
        print()
        section_growth(server, tally)
    print(f"\nWhole run: {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
