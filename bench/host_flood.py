"""Benchmark: one topic of 10,000 entries asked for under many distinct Host headers, through
the app's WSGI stack in one process: how many renders that costs, how long, and how much
memory the process holds afterwards.

Run: ``.venv/bin/python -m bench.host_flood`` (``BENCH_HOSTS`` sets how many Host values,
default 300; ``BENCH_LIMIT`` asks for that many entries, default the topic's 50). Nothing
listens on the network; the database is a temporary SQLite file.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from werkzeug.test import Client

from feeds.config import parse_config
from feeds.ledger.store import Ledger, Retention
from feeds.model import UTC, Entry
from server import create_app
from tests.refresh_kit import CountingLedger

HOSTS = int(os.environ.get("BENCH_HOSTS", "300"))
LIMIT = os.environ.get("BENCH_LIMIT", "")
PATH = f"/feeds/all-news.rss?limit={LIMIT}" if LIMIT else "/feeds/all-news.rss"
ENTRIES = 10_000
CONFIG = """
[publisher]
name = "Bench feeds"

[[sources]]
id = "office"
title = "Office"
url = "https://www.example.org/news/lang--en/index.htm"

[[topics]]
id = "all-news"
title = "All news"
"""


def resident_megabytes() -> float:
    """The process's resident memory now (VmRSS), in megabytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmRSS in /proc/self/status")


def fill(ledger: Ledger, count: int = ENTRIES) -> None:
    """``count`` entries of the source ``office``, an hour apart, newest first."""
    now = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    entries = [
        Entry(
            id=f"urn:uuid:{n:08d}-0000-5000-8000-000000000000",
            source_id="office",
            title=f"News number {n}",
            link=f"https://www.example.org/news/{n}",
            date=(now - dt.timedelta(hours=n)).date(),
            published=now - dt.timedelta(hours=n),
            summary=f"What happened on the {n}th occasion, in a sentence or two of summary.",
        )
        for n in range(count)
    ]
    with ledger.transaction() as transaction:
        transaction.merge("office", entries, now=now, retention=Retention(keep_at_least=count))


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="feedpub-bench-"))
    config = parse_config(CONFIG, folder / "feedpub.toml", adapter_kinds={"ilo"}, environ={})
    ledger = CountingLedger(Ledger.open(f"sqlite:///{folder / 'feeds.db'}").engine)
    fill(ledger)
    client = Client(create_app(config, ledger=ledger))
    environ = {"SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000"}
    for host in ("127.0.0.1:8000", "localhost:8000"):
        client.get(PATH, headers={"Host": host}, environ_overrides=environ)
    before = resident_megabytes()
    reads = ledger.entry_reads
    started = time.perf_counter()
    for n in range(HOSTS):
        response = client.get(
            PATH,
            headers={"Host": f"host-{n}.example"},
            environ_overrides=environ,
        )
        if response.status_code != 200:
            raise SystemExit(f"host-{n}.example: {response.status}")
    seconds = time.perf_counter() - started
    print(f"{HOSTS} requests for {PATH}, each with a Host of its own ({ENTRIES:,} entries)")
    print(f"feed: {len(response.data):,} bytes")
    print(f"renders: {ledger.entry_reads - reads}")
    print(f"time: {seconds:.2f} s ({HOSTS / seconds:,.1f} requests/s)")
    print(f"resident memory: {before:.0f} MB before, {resident_megabytes():.0f} MB after")
    ledger.close()


if __name__ == "__main__":
    main()
