"""Benchmark: what a topic's feed and the pages cost as the ledger grows, on a SQLite file.

Run: ``.venv/bin/python -m bench.render_scale`` (``--sizes 10000,100000,1000000``, the
default; about 10 minutes at 1M). One ledger of 100 sources grows to each size in turn
(rows written straight into the entries table, every seventh item also listed by a second
source a minute later, so that de-duplication has work to do); at each size, with a cold
render cache each time, it prints the median of three renders of:

- the catch-all topic's Atom feed (50 entries of every source), and its RSS and JSON Feed;
- a topic of one label (``Press release``, every fifth entry) and one of one source;
- the overview the index page and topic pages show (every topic's latest entries, and its
  count if counted within the page's wait: ``overview``), and how long until every topic's
  count is made (``counted``: the counting thread's work, which no page waits for beyond
  ``COUNT_WAIT_SECONDS``);

with what a cold catch-all render adds at its peak to the process's resident memory (its
high-water mark, reset before) and to Python's allocations (``tracemalloc``, in a separate
render: tracing slows Python down).

Then, under churn (``--churn-seconds``, default 20): one source changes every second (a new
entry stored, its version moved on, as a merge commits) while four threads ask the app's
WSGI stack (``server.create_app``: the feed layer, the render cache) for the catch-all feed
and the index page one request after another, each timed until it is answered: p50, p99 and
the slowest, per kind, and how many feed requests were answered in all.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import itertools
import statistics
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import update
from werkzeug.test import Client

from feeds.config import Config, parse_config
from feeds.identity import item_key
from feeds.ledger.merge import content_hash
from feeds.ledger.store import Ledger
from feeds.ledger.tables import entries_table, sources_table
from feeds.model import UTC, Entry
from feeds.serve.overview import COUNT_WAIT_SECONDS, Overview
from feeds.serve.publish import FeedPublisher
from feeds.serve.representation import FeedFormat
from server import create_app
from tests.refresh_kit import open_ledger

SOURCES = 100
BASE = "https://feeds.example.org"
NEWEST = dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CHUNK = 20_000
#: The numbers of the items stored under churn (each newer than the last).
FRESH = itertools.count(1)


def config_text() -> str:
    text = '[publisher]\nname = "Bench feeds"\nallowed_hosts = ["feeds.example.org"]\n'
    text += "".join(
        f'[[sources]]\nid = "s{n:03d}"\ntitle = "Source {n}"\n'
        f'url = "https://www{n}.example.org/news/lang--en/index.htm"\n'
        for n in range(SOURCES)
    )
    text += '[[topics]]\nid = "all"\ntitle = "All"\nlimit = 50\n'
    text += '[[topics]]\nid = "press"\ntitle = "Press"\nlimit = 50\nlabels = ["Press release"]\n'
    text += '[[topics]]\nid = "one"\ntitle = "One source"\nlimit = 50\nsources = ["s000"]\n'
    return text


def row(n: int, source: int, *, shared_from: int | None = None) -> dict[str, Any]:
    """The entries row of item ``n`` (newer for smaller ``n``) as ``source`` lists it."""
    published = NEWEST - dt.timedelta(minutes=7 * n) + dt.timedelta(minutes=shared_from or 0)
    day = published.date()
    labels = ["Press release"] if n % 5 == 0 else []
    entry = Entry(
        id=f"urn:bench:{source}:{n}",
        source_id=f"s{source:03d}",
        title=f"Notice {n} on the work of office {n % 97}",
        link=f"https://www{source}.example.org/news/{n}",
        date=day,
        published=published,
        summary=f"A summary of notice {n}, of about the length listings give, in one line.",
        labels=tuple(labels),
    )
    return {
        "source_id": entry.source_id, "id": entry.id, "title": entry.title, "link": entry.link,
        "listing_date": day, "published": published, "updated": published,
        "first_seen": published, "summary": entry.summary, "labels": labels, "credit": None,
        "group_heading": None, "image": None, "content_hash": content_hash(entry),
        "on_page": False, "instant": int(published.timestamp()),
        "item_key": item_key(entry.title, day),
    }  # fmt: skip


def grow(ledger: Ledger, start: int, stop: int) -> None:
    """Items ``start`` to ``stop`` (every seventh listed by two sources), and each source's
    version moved on, as a merge would."""
    for first in range(start, stop, CHUNK):
        rows = []
        for n in range(first, min(first + CHUNK, stop)):
            rows.append(row(n, n % SOURCES))
            if n % 7 == 0:
                rows.append(row(n, (n + 1) % SOURCES, shared_from=1))
        with ledger.transaction() as transaction:
            transaction.connection.execute(entries_table.insert(), rows)
    with ledger.transaction() as transaction:
        connection = transaction.connection
        if start == 0:
            connection.execute(
                sources_table.insert(), [{"id": f"s{n:03d}", "version": 1} for n in range(SOURCES)]
            )
        connection.execute(update(sources_table).values(version=sources_table.c.version + 1))


def median_seconds(work: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def status_megabytes(field: str) -> float:
    """A figure of this process's ``/proc/self/status`` (``VmRSS``, ``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no {field} in /proc/self/status")


def peak_megabytes(work: Callable[[], object]) -> tuple[float, float]:
    """What ``work`` adds at its peak: to the process's resident memory (the high-water mark,
    reset first: every allocation, lxml's too), and to Python's allocations (``tracemalloc``)."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts again from here
    before = status_megabytes("VmRSS")
    work()
    resident = status_megabytes("VmHWM") - before
    gc.collect()
    tracemalloc.start()
    try:
        work()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return resident, peak / 1e6


def measure(config: Config, ledger: Ledger, size: int) -> None:
    def render(topic: str, feed_format: FeedFormat) -> Callable[[], object]:
        def cold() -> object:
            publisher = FeedPublisher(config, ledger, version_ttl=0, now=lambda: NEWEST)
            return publisher.feed(topic, feed_format, base_url=BASE)

        return cold

    def overview(count_wait: float = COUNT_WAIT_SECONDS) -> Callable[[], object]:
        def cold() -> object:
            publisher = FeedPublisher(config, ledger, version_ttl=0, now=lambda: NEWEST)
            overview = Overview(publisher, clock=lambda: NEWEST, count_wait=count_wait)
            return overview.topics()

        return cold

    figures = [
        median_seconds(render("all", FeedFormat.ATOM)),
        median_seconds(render("all", FeedFormat.RSS)),
        median_seconds(render("all", FeedFormat.JSON)),
        median_seconds(render("press", FeedFormat.ATOM)),
        median_seconds(render("one", FeedFormat.ATOM)),
        median_seconds(overview(), runs=1 if size > 200_000 else 3),
        median_seconds(overview(count_wait=3600), runs=1 if size > 200_000 else 3),
    ]
    resident, traced = peak_megabytes(render("all", FeedFormat.ATOM))
    cells = " ".join(f"{seconds * 1000:>9.0f}" for seconds in figures)
    print(f"{size:>9,} {cells} {resident:>9.1f} {traced:>9.1f}", flush=True)


def churn(config: Config, ledger: Ledger, size: int, seconds: float) -> list[str]:
    """Feed and index latency while a source changes every second: a line per kind."""
    publisher = FeedPublisher(config, ledger)
    app = create_app(config, ledger=ledger, publisher=publisher)
    stop = threading.Event()
    timings: dict[str, list[float]] = {"feed": [], "index": []}
    failures: list[str] = []

    def change() -> None:
        while not stop.wait(1.0):
            # an item newer than any (``row`` of a negative number), of an id of its own
            n = next(FRESH)
            fresh = row(-n, n % SOURCES) | {"id": f"urn:bench:fresh:{n}", "title": f"Fresh {n}"}
            with ledger.transaction() as transaction:
                transaction.connection.execute(entries_table.insert(), [fresh])
                transaction.connection.execute(
                    update(sources_table)
                    .where(sources_table.c.id == fresh["source_id"])
                    .values(version=sources_table.c.version + 1)
                )

    def probe(kind: str, path: str) -> None:
        client = Client(app)
        while not stop.is_set():
            started = time.perf_counter()
            response = client.get(path, headers={"Host": "feeds.example.org"})
            timings[kind].append(time.perf_counter() - started)
            if response.status_code != 200:
                failures.append(f"{path}: {response.status}")

    paths = (("feed", "/feeds/all.atom"),) * 3 + (("index", "/"),)
    Client(app).get("/", headers={"Host": "feeds.example.org"})  # the pages' first read
    workers = [threading.Thread(target=change)]
    workers += [threading.Thread(target=probe, args=pair) for pair in paths]
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    if failures:
        raise SystemExit(f"failed requests: {failures[:3]}")
    lines = []
    for kind, found in timings.items():
        ordered = sorted(found)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        lines.append(
            f"{size:>9,} {kind:>6} {len(ordered):>9,} {ordered[len(ordered) // 2] * 1000:>9.1f} "
            f"{p99 * 1000:>9.1f} {ordered[-1] * 1000:>9.1f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--churn-seconds", type=float, default=20.0)
    arguments = parser.parse_args()
    sizes = sorted(int(size) for size in arguments.sizes.split(","))
    with tempfile.TemporaryDirectory(prefix="feedpub-render-scale-") as directory:
        path = Path(directory) / "feedpub.toml"
        config = parse_config(config_text(), path, adapter_kinds={"ilo"}, environ={})
        ledger = open_ledger(f"sqlite:///{Path(directory) / 'ledger.db'}")
        print(f"{SOURCES} sources; every seventh item listed twice; medians of 3, in ms")
        print(
            f"{'items':>9} {'all atom':>9} {'all rss':>9} {'all json':>9} {'label':>9} "
            f"{'1 source':>9} {'overview':>9} {'counted':>9} {'+RSS MB':>9} {'+py MB':>9}"
        )
        grown = 0
        churned: list[str] = []
        for size in sizes:
            # rows, counting the second listings: the items' count is size * 7 / 8
            items = size * 7 // 8
            grow(ledger, grown, items)
            grown = items
            measure(config, ledger, size)
            if arguments.churn_seconds > 0:
                churned.extend(churn(config, ledger, size, arguments.churn_seconds))
        ledger.close()
    if churned:
        print(f"\nunder churn: a source changed every second, {arguments.churn_seconds:.0f} s")
        print(f"{'items':>9} {'kind':>6} {'requests':>9} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
        print("\n".join(churned))


if __name__ == "__main__":
    main()
