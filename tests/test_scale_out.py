"""Scale-out with real processes on one PostgreSQL database: three ``feedpub worker`` and two
``feedpub serve --no-scheduler`` share 50 sources of a local HTTP server, refreshed every few
seconds, whose pages gain an item every few seconds. Each source is fetched once per interval
(counted at the source server), no entry is stored twice, both servers serve the same bytes,
and a worker killed in the middle of a refresh loses nothing: its sources are taken over once
its leases run out. The servers and workers are also the feeds' WebSub hub: two subscribers,
subscribed through either server, get each change of their feeds once (never once per
process), and the feeds' last state at the end."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest

from feeds.config import MAX_FEED_ENTRIES
from feeds.ledger.store import Ledger
from tests.http_server import serving
from tests.listing_writer import WrittenItem, write_html
from tests.postgres import PostgresServer
from tests.serving import Served, free_port
from tests.test_cli_preview import feedpub_command
from tests.websub_kit import Subscriber, subscriber

SOURCES = 50
INTERVAL = 6.0  # seconds between two refreshes of a source
LEASE = 3  # seconds a worker's claim lasts unless renewed
SLOW = 5  # the first sources answer this late...
SLOW_DELAY = 1.0  # ...by this many seconds: long enough to kill a worker in the middle
EDITION_SECONDS = 4.0  # every page gains an item this often, until frozen
WORKERS = 3
SPACING = 0.05  # seconds between two requests to the source site's host, from any worker
SERVERS = 2
FORMATS = ("rss", "atom", "json")


@dataclass(frozen=True, slots=True)
class Fetch:
    """One request the source site answered."""

    source: int
    at: float  # time.monotonic() when it arrived
    pid: int | None  # the process that asked (None: none of the workers)


@dataclass
class SourceSite:
    """The listing pages of ``SOURCES`` sources on one local HTTP server; records every fetch
    and which worker process made it (from the client's socket, in ``/proc``)."""

    base_url: str = ""
    started: float = field(default_factory=time.monotonic)
    frozen_at: float | None = None
    worker_pids: list[int] = field(default_factory=list)
    fetches: list[Fetch] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def edition(self) -> int:
        """How many items each page has gained since the start."""
        return int(((self.frozen_at or time.monotonic()) - self.started) / EDITION_SECONDS)

    def freeze(self) -> None:
        self.frozen_at = time.monotonic()

    def fetches_of(self, source: int) -> list[Fetch]:
        with self.lock:
            return [fetch for fetch in self.fetches if fetch.source == source]


def story_titles(source: int, edition: int) -> list[str]:
    return [f"Source {source} story {k}" for k in range(edition + 4)]


def listing(source: int, edition: int) -> bytes:
    """Source's page at an edition: four stories, one more per edition, newest first."""
    items = [
        WrittenItem(
            title=title,
            date=dt.date(2026, 10, 1) + dt.timedelta(days=k),
            summary=f"Story {k} of source {source}.",
            link=f"/source-{source}/story-{k}",
        )
        for k, title in enumerate(story_titles(source, edition))
    ]
    return write_html(items[::-1], heading=f"Source {source}").encode()


def client_process(client_port: int, server_port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` holds the TCP connection from ``client_port`` to ``server_port`` on
    127.0.0.1: its socket's inode in ``/proc/net/tcp``, then the process with that socket."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == client_port and int(remote.split(":")[1], 16) == (
            server_port
        ):
            inode = fields[9]
            break
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in pids:
        folder = Path(f"/proc/{pid}/fd")
        try:
            if any(os.readlink(fd) == wanted for fd in folder.iterdir()):
                return pid
        except OSError:
            continue  # the process ended, or a descriptor closed meanwhile
    return None


@contextmanager
def source_site() -> Iterator[SourceSite]:
    site = SourceSite()
    owners: dict[int, int | None] = {}  # client port -> process (kept-alive connections)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            arrived = time.monotonic()
            match = re.fullmatch(r"/source-(\d+)", self.path)
            if match is None:
                self.send_error(404)
                return
            source = int(match[1])
            port = self.client_address[1]
            if owners.get(port) is None:
                server_port = urlsplit(site.base_url).port or 0
                owners[port] = client_process(port, server_port, site.worker_pids)
            with site.lock:
                site.fetches.append(Fetch(source, arrived, owners[port]))
            body = listing(source, site.edition())
            if source < SLOW:
                time.sleep(SLOW_DELAY)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)  # fails when the worker was killed meanwhile: the point

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

    with serving(Handler) as base_url:
        site.base_url = base_url
        yield site


def write_config(folder: Path, site: SourceSite) -> Path:
    sources = "".join(
        f'[[sources]]\nid = "source-{n:02d}"\ntitle = "Source {n}"\n'
        f'url = "{site.base_url}/source-{n}"\n'
        f'public_url = "https://www.example.org/source-{n}/lang--en/index.htm"\n\n'
        for n in range(SOURCES)
    )
    path = folder / "feedpub.toml"
    path.write_text(
        '[publisher]\nname = "Scale-out"\nbase_url = "https://feeds.example.org"\n\n'
        f"[fetch]\ntimeout_seconds = 5\nhost_spacing_seconds = {SPACING}\n\n"
        f"[scheduler]\nthreads = 4\nlease_seconds = {LEASE}\n\n"
        f'[defaults]\ntimezone = "UTC"\nrefresh_seconds = {INTERVAL:.0f}\n\n'
        "[websub]\nallow_private_callbacks = true\npoll_seconds = 0.2\n\n"
        + sources
        + f'[[topics]]\nid = "all"\ntitle = "Everything"\nlimit = {MAX_FEED_ENTRIES}\n\n'
        f'[[topics]]\nid = "slow"\ntitle = "The slow sources"\nlimit = {MAX_FEED_ENTRIES}\n'
        f"sources = {json.dumps([f'source-{n:02d}' for n in range(SLOW)])}\n",
        encoding="utf-8",
    )
    return path


@dataclass
class Fleet:
    """The worker and server processes, by name, each writing to its own log."""

    folder: Path
    config: Path
    database_url: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    served: list[Served] = field(default_factory=list)

    def start(self, name: str, *arguments: str) -> None:
        env = {**os.environ, "FEEDPUB_DATABASE_URL": self.database_url}
        env.pop("FEEDPUB_CONFIG", None)
        with (self.folder / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                [feedpub_command(), *arguments, "--config", str(self.config)],
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=log,
            )

    def named(self, kind: str) -> dict[str, subprocess.Popen[bytes]]:
        return {name: p for name, p in self.processes.items() if name.startswith(kind)}

    def stop(self, name: str, signal_number: int, within: float = 30) -> None:
        """Stop a process with a signal; it must end well, within ``within`` seconds, and say
        nothing unexpected."""
        process = self.processes[name]
        process.send_signal(signal_number)
        try:
            returned = process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGUSR1)  # a worker prints every thread's stack
            time.sleep(1)
            process.kill()
            process.wait()
            pytest.fail(f"{name} still running {within} s after {signal_number}:\n{self.logs()}")
        assert returned == 0, self.logs()
        assert "Traceback" not in self.log(name), self.logs()

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def logs(self) -> str:
        return "\n".join(f"--- {name}:\n{self.log(name)}" for name in self.processes)


@contextmanager
def fleet(folder: Path, config: Path, database_url: str) -> Iterator[Fleet]:
    """Two servers and three workers started at once on an empty database (each checks or
    creates the schema under its lock); all stopped afterwards."""
    running = Fleet(folder, config, database_url)
    try:
        for n in range(SERVERS):
            port = free_port()
            running.start(
                f"server-{n}", "serve", "--no-scheduler", "--workers", "1", "--port", str(port)
            )
            running.served.append(Served(f"http://127.0.0.1:{port}"))
        wait_for(lambda: all(map(answers, running.served)), 30, "the servers answering", running)
        for n in range(WORKERS):
            running.start(f"worker-{n}", "--verbose", "worker")
        yield running
    finally:
        for process in running.processes.values():
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


def answers(served: Served) -> bool:
    try:
        return served.get("/healthz").status == 200
    except OSError:
        return False


def wait_for(condition: object, seconds: float, what: str, running: Fleet) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds}s: {what}\n{running.logs()}")


def kill_a_worker_mid_refresh(site: SourceSite, running: Fleet) -> tuple[int, int, float]:
    """Kill (SIGKILL) the worker that has just asked for a slow page, while the page is still
    on its way: (its process id, the slow source, when)."""
    deadline = time.monotonic() + 4 * INTERVAL
    while time.monotonic() < deadline:
        now = time.monotonic()
        with site.lock:
            asking = [
                fetch
                for fetch in site.fetches
                if fetch.source < SLOW and fetch.pid is not None and now - fetch.at < 0.3
            ]
        if asking:
            fetch = asking[-1]
            os.kill(fetch.pid, signal.SIGKILL)  # type: ignore[arg-type]  # not None, above
            return fetch.pid, fetch.source, time.monotonic()  # type: ignore[return-value]
        time.sleep(0.01)
    raise AssertionError(f"no worker asked for a slow page\n{running.logs()}")


def check_fetch_spacing(site: SourceSite, killed_at: float, until: float) -> None:
    """Between two fetches of a source: never less than half an interval (one process per
    due source), never more than three (none forgotten: two, and a turn skipped by a busy
    process), four and a lease where the kill fell between them (its sources wait for the
    lease to run out)."""
    for source in range(SOURCES):
        fetches = [fetch for fetch in site.fetches_of(source) if fetch.at <= until]
        times = [fetch.at for fetch in fetches]
        seen = [(round(fetch.at - site.started, 2), fetch.pid) for fetch in fetches]
        for a, b in itertools.pairwise(times):
            longest = 3 * INTERVAL  # a turn skipped when a busy process ran its job late
            if a <= killed_at <= b:
                longest += INTERVAL + LEASE + 1
            assert INTERVAL / 2 < b - a < longest, (source, round(b - a, 2), seen)
        # once per interval on average (the jitter, a tenth, and a rare skipped turn add to it)
        assert (times[-1] - times[0]) / (len(times) - 1) < 1.5 * INTERVAL, (source, seen)


def check_host_spacing(site: SourceSite) -> None:
    """The workers take turns at the source site's host (through the database), so requests
    from all of them arrive about ``SPACING`` apart. Turns are kept to the millisecond, but a
    request may leave its process a little late (a busy thread), so a few arrive closer: not
    more than one in twenty (without shared turns, three workers starting together send
    most of their first requests at the same moments)."""
    with site.lock:
        arrivals = sorted(fetch.at for fetch in site.fetches)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    close = [round(gap * 1000, 1) for gap in gaps if gap < SPACING / 2]
    assert len(close) <= len(gaps) / 20, f"{len(close)} of {len(gaps)} gaps (ms): {close}"


def stored_since(ledger: Ledger, since: dt.datetime) -> bool:
    """True when every source was refreshed from a request sent after ``since``."""
    states = ledger.states()
    return len(states) == SOURCES and all(
        state.last_success_at is not None and state.last_success_at >= since
        for state in states.values()
    )


def check_ledger(database_url: str, edition: int) -> None:
    """Every story of every source's last page stored once, each at its own instant, and no
    lease left behind."""
    ledger = Ledger.open(database_url)
    try:
        stored = ledger.entries()
        states = ledger.states()
    finally:
        ledger.close()
    by_source: dict[str, list[str]] = defaultdict(list)
    for entry in stored:
        by_source[entry.entry.source_id].append(entry.entry.title)
    for n in range(SOURCES):
        assert sorted(by_source[f"source-{n:02d}"]) == sorted(story_titles(n, edition)), n
    assert len({entry.entry.id for entry in stored}) == len(stored)
    assert len({entry.entry.published for entry in stored}) == len(stored)
    assert all(state.lease_owner is None for state in states.values())
    assert all(state.last_error is None for state in states.values())


def check_served_feeds(running: Fleet, edition: int) -> None:
    """Both servers serve the same bytes for every feed, holding the newest entries."""
    newest = min(SOURCES * (edition + 4), MAX_FEED_ENTRIES)
    for topic, count in (("all", newest), ("slow", SLOW * (edition + 4))):
        for feed_format in FORMATS:
            path = f"/feeds/{topic}.{feed_format}"
            try:
                replies = [served.get(path) for served in running.served]
            except OSError as error:
                raise AssertionError(f"{path}: {error}\n{running.logs()}") from error
            assert [reply.status for reply in replies] == [200] * SERVERS
            assert replies[0].body == replies[1].body, path
            if feed_format == "json":
                assert len(json.loads(replies[0].body)["items"]) == count, path
                continue
            parsed = feedparser.parse(replies[0].body)
            assert not parsed.bozo, (path, parsed.get("bozo_exception"))
            assert len(parsed.entries) == count, path


#: What the subscribers subscribe to, and through which server.
SUBSCRIPTIONS = (("https://feeds.example.org/feeds/all.atom", 0),
                 ("https://feeds.example.org/feeds/slow.json", 1))  # fmt: skip


def subscribe(running: Fleet, callback: Subscriber) -> None:
    for topic, server in SUBSCRIPTIONS:
        form = {"hub.mode": "subscribe", "hub.topic": topic,
                "hub.callback": callback.url(f"/{topic.rsplit('/', 1)[1]}")}  # fmt: skip
        reply = running.served[server].post("/websub", form)
        assert reply.status == 202, reply.body
    callback.wait_for("GET", len(SUBSCRIPTIONS), mode="subscribe", timeout=30)


def wait_for_deliveries(running: Fleet, callback: Subscriber) -> None:
    """Each subscriber gets the feed's last state (the workers still running), having got
    each change once (no two deliveries the same)."""
    for topic, _server in SUBSCRIPTIONS:
        name = topic.rsplit("/", 1)[1]

        def bodies(name: str = name) -> list[bytes]:
            return [d.body for d in callback.of("POST") if d.path == f"/{name}"]

        def caught_up(name: str = name) -> bool:
            got = bodies()
            return bool(got) and got[-1] == running.served[0].get(f"/feeds/{name}").body

        wait_for(caught_up, 60, f"the last change of {name} delivered", running)
        got = bodies()
        assert len(got) >= 2, name  # the pages changed all along
        assert len(set(got)) == len(got), f"{name}: a change delivered twice"


def test_three_workers_and_two_servers_share_one_postgresql_database(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    database_url = postgres.create_database()
    with source_site() as site, subscriber() as callback:
        config = write_config(tmp_path, site)
        with fleet(tmp_path, config, database_url) as running:
            workers = running.named("worker")
            site.worker_pids = [process.pid for process in workers.values()]
            subscribe(running, callback)
            wait_for(
                lambda: len({fetch.source for fetch in site.fetches}) == SOURCES,
                30,
                "every source fetched once",
                running,
            )
            time.sleep(3 * INTERVAL)  # watch them share the work
            assert {fetch.pid for fetch in site.fetches} <= set(site.worker_pids)

            victim, slow_source, killed_at = kill_a_worker_mid_refresh(site, running)
            killed = next(name for name, process in workers.items() if process.pid == victim)
            workers[killed].wait(timeout=10)
            wait_for(
                lambda: any(
                    fetch.at > killed_at and fetch.pid != victim
                    for fetch in site.fetches_of(slow_source)
                ),
                LEASE + 2 * INTERVAL + 4,
                f"source {slow_source}, held by the killed worker, taken over",
                running,
            )
            time.sleep(2 * INTERVAL)  # the others carry on with the killed one's share
            site.freeze()
            frozen = dt.datetime.now(dt.UTC)
            # stored, not just asked for: a refresh under way when its worker is stopped is
            # abandoned
            watcher = Ledger.open(database_url)
            try:
                wait_for(
                    lambda: stored_since(watcher, frozen),
                    3 * INTERVAL + SLOW_DELAY + 2,
                    "every source's page stored once more after the pages stopped changing",
                    running,
                )
            finally:
                watcher.close()
            wait_for_deliveries(running, callback)
            for name in workers:
                if name != killed:  # SIGTERM: it abandons its refreshes, gives its leases back
                    running.stop(name, signal.SIGTERM, within=20)
            stopped_at = time.monotonic()

            assert all(fetch.pid != victim for fetch in site.fetches if fetch.at > killed_at)
            check_fetch_spacing(site, killed_at, until=stopped_at)
            check_host_spacing(site)

            check_ledger(database_url, site.edition())
            time.sleep(1.2)  # past the servers' version check
            check_served_feeds(running, site.edition())
            for name in running.named("server"):
                running.stop(name, signal.SIGINT)
