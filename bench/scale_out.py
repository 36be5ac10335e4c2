"""Benchmark: several processes on one database. Refresh throughput of ``feedpub worker``
processes (1 on SQLite, 1 and 3 on PostgreSQL), and serving throughput of ``feedpub serve``
instances (1 on SQLite, 1 and 2 on PostgreSQL).

Run: ``.venv/bin/python -m bench.scale_out`` (needs Debian's ``postgresql``, and ``wrk`` for
the serving part: ``apt-get install postgresql wrk``; ``--part refresh`` or ``--part serve``
runs one part). A throwaway PostgreSQL server is started in a temporary folder (as the tests
do, but durable: see ``DURABLE_SETTINGS``) and SQLite files are made there too; everything
listens on 127.0.0.1 only.

1. Refresh: 1,000 sources, each a different listing page of 20 items on a local HTTP server
   (``bench.refresh_throughput``'s, in this process), refreshed by real ``feedpub worker``
   processes (4 threads each, host spacing 0) sharing the database through leases. First
   pass: every page stored, timed from the first request the page server sees to the moment
   the database shows every source refreshed. Then the workers are stopped, every source is
   made due again and they are started again: the second pass gets the same bytes
   ("unchanged": no parsing). Prints sources/s for each pass, how the sources were shared
   out, and checks that each source was fetched exactly once per pass.
2. Serve: the ``all-news`` RSS feed of the bundled sample configuration (refreshed once by
   ``feedpub refresh``) served by 1 or 2 ``feedpub serve --no-scheduler`` instances (each 2
   workers x 2 threads), loaded by one ``wrk`` per instance at once (64 connections in all),
   for 200s, gzipped 200s and 304s. Prints the summed requests/s and the worst p99.

Everything runs on the same machine: processes added here share its cores with the load
generator, the page server and PostgreSQL, so the figures show the cost of the coordination,
not the capacity another machine would add.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, func, select, update

from bench.refresh_throughput import (
    ITEMS_PER_PAGE,
    Page,
    PageServer,
    generate,
    page_server,
    public_url,
)
from bench.serve_throughput import free_port, head_etag, wait_for, wrk
from feeds.ledger.tables import sources_table
from tests.listing_writer import write_html
from tests.postgres import PostgresServer, find_postgres_binaries, postgres_server

#: PostgreSQL as durable as feedpub's SQLite (WAL, synchronous=NORMAL): every write reaches
#: the disk in order (fsync, full-page writes), the last commits may be lost in a power cut
#: (asynchronous commit), nothing is ever corrupted.
DURABLE_SETTINGS = (
    "-c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c synchronous_commit=off "
    "-c max_connections=300"
)
SOURCES = 1_000
THREADS = 4
REFRESH_SETUPS = (("sqlite", 1), ("postgresql", 1), ("postgresql", 3))
SERVE_SETUPS = (("sqlite", 1), ("postgresql", 1), ("postgresql", 2))
CONNECTIONS = 64
TOPIC = "all-news"


def feedpub() -> str:
    return str(Path(sys.executable).parent / "feedpub")


def environment(database_url: str) -> dict[str, str]:
    env = {**os.environ, "FEEDPUB_DATABASE_URL": database_url}
    env.pop("FEEDPUB_CONFIG", None)
    return env


@contextmanager
def databases() -> Iterator[tuple[Path, PostgresServer]]:
    """A temporary folder (for SQLite files and configurations) and a PostgreSQL server."""
    binaries = find_postgres_binaries()
    if binaries is None:
        raise SystemExit("PostgreSQL's server is not installed: apt-get install postgresql")
    folder = Path(tempfile.mkdtemp(prefix="feedpub-scale-"))
    try:
        with postgres_server(binaries, DURABLE_SETTINGS) as postgres:
            yield folder, postgres
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def new_database(kind: str, folder: Path, postgres: PostgresServer, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / f'{name}.db'}"
    return postgres.create_database()


# --- refresh -----------------------------------------------------------------------------------


def write_refresh_config(folder: Path, server: PageServer) -> Path:
    """``SOURCES`` sources on the page server, refreshed hourly (each pass is started by hand)."""
    sources = "".join(
        f'[[sources]]\nid = "s{n}"\ntitle = "Source {n}"\nurl = "{server.url(f"/s/{n}")}"\n'
        f'public_url = "{public_url(n)}"\n\n'
        for n in range(SOURCES)
    )
    path = folder / "refresh.toml"
    path.write_text(
        '[publisher]\nname = "Scale-out benchmark"\n\n'
        "[fetch]\nhost_spacing_seconds = 0\n\n"
        f"[scheduler]\nthreads = {THREADS}\n\n"
        '[defaults]\ntimezone = "Europe/Zurich"\nrefresh_minutes = 60\n\n' + sources,
        encoding="utf-8",
    )
    return path


def refreshed_count(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            query = select(func.count()).where(sources_table.c.last_fetch_at.is_not(None))
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def make_all_due(database_url: str) -> None:
    """Every source due now, as if never fetched (its stored pages and validators stay)."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                update(sources_table).values(next_attempt_at=None, last_fetch_at=None)
            )
    finally:
        engine.dispose()


def timed_pass(
    server: PageServer, config: Path, database_url: str, workers: int, log: Path
) -> tuple[float, int]:
    """Start ``workers`` workers, wait until every source has been refreshed, stop them: the
    seconds from the first request to the last source done, and the requests made."""
    server.take()
    with log.open("ab") as output:
        processes = [
            subprocess.Popen(
                [feedpub(), "worker", "--config", str(config)],
                env=environment(database_url),
                stdout=output,
                stderr=output,
            )
            for _ in range(workers)
        ]
    try:
        while server.requests == 0:
            time.sleep(0.005)
        first = time.perf_counter()
        while refreshed_count(database_url) < SOURCES:
            time.sleep(0.1)
        seconds = time.perf_counter() - first
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
    requests, _ = server.take()
    return seconds, requests


def refresh_part(folder: Path, postgres: PostgresServer) -> None:
    print(f"refresh: {SOURCES:,} sources x {ITEMS_PER_PAGE} items, workers of {THREADS} threads")
    print(f"{'database':<11} {'workers':>7} {'first s':>8} {'sources/s':>10} "
          f"{'unchanged s':>12} {'sources/s':>10} {'requests':>9}")  # fmt: skip
    with page_server() as server:
        for number in range(SOURCES):
            server.pages[f"/s/{number}"] = Page(
                write_html(generate(number, ITEMS_PER_PAGE)).encode()
            )
        config = write_refresh_config(folder, server)
        for kind, workers in REFRESH_SETUPS:
            database_url = new_database(kind, folder, postgres, f"refresh-{kind}-{workers}")
            log = folder / f"refresh-{kind}-{workers}.log"
            first, first_requests = timed_pass(server, config, database_url, workers, log)
            make_all_due(database_url)
            again, again_requests = timed_pass(server, config, database_url, workers, log)
            print(
                f"{kind:<11} {workers:>7} {first:>8.1f} {SOURCES / first:>10.0f} "
                f"{again:>12.1f} {SOURCES / again:>10.0f} {first_requests:>5}+{again_requests}"
            )
            if (first_requests, again_requests) != (SOURCES, SOURCES):
                print(f"  !! sources fetched more than once per pass; see {log}")


# --- serve -------------------------------------------------------------------------------------


def start_servers(
    count: int, database_url: str, folder: Path
) -> list[tuple[subprocess.Popen[bytes], int]]:
    """``count`` servers, each on a port of its own."""
    servers = []
    for _ in range(count):
        port = free_port()
        process = subprocess.Popen(
                [feedpub(), "serve", "--no-scheduler", "--port", str(port),
                 "--workers", "2", "--threads", "2"],
                cwd=folder,
                env=environment(database_url),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
        )  # fmt: skip
        servers.append((process, port))
    return servers


def load(urls: list[str], gzipped: bool, conditional: bool) -> tuple[float, str]:
    """One ``wrk`` per URL at once, sharing ``CONNECTIONS``: summed requests/s, worst p99."""
    threads = 2 if len(urls) == 1 else 1

    def one(url: str) -> tuple[float, str]:
        headers = {"Accept-Encoding": "gzip"} if gzipped else {}
        if conditional:
            headers["If-None-Match"] = head_etag(url, gzipped)
        return wrk(url, headers, threads=threads, connections=CONNECTIONS // len(urls))

    with ThreadPoolExecutor(len(urls)) as pool:
        results = list(pool.map(one, urls))
    worst = max((p99 for _, p99 in results), key=_milliseconds)
    return sum(rate for rate, _ in results), worst


def _milliseconds(latency: str) -> float:
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    for unit in ("us", "ms", "s"):
        if latency.endswith(unit):
            return float(latency[: -len(unit)]) * units[unit]
    return float(latency)


def serve_part(folder: Path, postgres: PostgresServer) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    print(f"serve: /feeds/{TOPIC}.rss; instances of 2 workers x 2 threads; "
          f"one wrk per instance, {CONNECTIONS} connections in all")  # fmt: skip
    print(f"{'database':<11} {'instances':>9} {'200 req/s':>10} {'p99':>8} "
          f"{'gzip req/s':>11} {'p99':>8} {'304 req/s':>10} {'p99':>8}")  # fmt: skip
    for kind, instances in SERVE_SETUPS:
        database_url = new_database(kind, folder, postgres, f"serve-{kind}-{instances}")
        subprocess.run(
            [feedpub(), "refresh"], cwd=folder, env=environment(database_url),
            check=True, capture_output=True,
        )  # fmt: skip
        servers = start_servers(instances, database_url, folder)
        try:
            urls = [f"http://127.0.0.1:{port}/feeds/{TOPIC}.rss" for _, port in servers]
            for url in urls:
                wait_for(url)
            time.sleep(1.5)
            cells = []
            for gzipped, conditional in ((False, False), (True, False), (False, True)):
                rate, p99 = load(urls, gzipped, conditional)
                cells.append(f"{rate:>10,.0f} {p99:>8}")
            print(f"{kind:<11} {instances:>9} " + " ".join(cells))
        finally:
            for process, _ in servers:
                process.send_signal(signal.SIGINT)
            for process, _ in servers:
                process.wait(timeout=30)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("refresh", "serve", "both"), default="both")
    arguments = parser.parse_args(argv)
    with databases() as (folder, postgres):
        if arguments.part in ("refresh", "both"):
            refresh_part(folder, postgres)
        if arguments.part in ("serve", "both"):
            serve_part(folder, postgres)


if __name__ == "__main__":
    main()
