"""What the hub's tests share: a WebSub subscriber written for the tests (a real HTTP server
on a loopback address that answers verifications and takes deliveries as told), and a hub
assembled as the server and worker assemble it, on a real ledger, whose worker and watcher
the test runs a pass at a time."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from flask.testing import FlaskClient

from feeds.config import Config, parse_config
from feeds.ledger.store import Ledger, Retention
from feeds.model import UTC, Entry
from feeds.refresh.hub import HubWorker
from feeds.serve.hub import ChangeWatcher
from feeds.serve.publish import FeedPublisher
from server import create_app

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
#: The base URL the app's test client is served under.
BASE = "http://localhost"
HUB = f"{BASE}/websub"


def entry(n: int, source_id: str = "office", title: str = "") -> Entry:
    return Entry(
        id=f"urn:uuid:{n:08d}-0000-5000-8000-{zlib.crc32(source_id.encode()):012d}",
        source_id=source_id,
        title=title or f"News {n}",
        link=f"https://www.example.org/{source_id}/{n}",
        date=dt.date(2026, 11, 1 + n % 20),
        published=dt.datetime(2026, 11, 1 + n % 20, tzinfo=UTC) + dt.timedelta(seconds=n),
        summary=f"Summary {n}.",
    )


def store(ledger: Ledger, source_id: str, *entries: Entry) -> None:
    """A refresh's result: the source's page now lists ``entries``."""
    with ledger.transaction() as transaction:
        transaction.merge(source_id, entries, now=NOW, retention=Retention())


@dataclass
class Received:
    """One request the subscriber got."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Subscriber:
    """A running subscriber: ``url(path)`` is a callback. Verifications are answered with
    the challenge (or as ``verify`` says: ``"echo"``, ``"wrong"``, ``"refuse"``, ``"huge"``:
    megabytes of it); deliveries
    with the next of ``statuses`` (200 once they run out), ``delay`` seconds after they came
    (recorded at once)."""

    base_url: str = ""
    verify: str = "echo"
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def url(self, path: str = "/callback") -> str:
        return self.base_url + path

    def record(self, got: Received) -> None:
        with self._changed:
            self.received.append(got)
            self._changed.notify_all()

    def of(self, method: str, mode: str | None = None) -> list[Received]:
        with self._changed:
            return [
                r
                for r in self.received
                if r.method == method and (mode is None or r.query.get("hub.mode") == mode)
            ]

    def wait_for(
        self, method: str, count: int = 1, *, mode: str | None = None, timeout: float = 10.0
    ) -> list[Received]:
        """The requests of a method (verifications of a mode) once ``count`` have come."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.of(method, mode)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{count} {method} never came: {self.received}")
                self._changed.wait(left)
            return self.of(method, mode)


@contextmanager
def subscriber() -> Iterator[Subscriber]:
    """A subscriber on a free port of 127.0.0.1, for the block."""
    state = Subscriber()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            pass

        def got(self) -> Received:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            return Received(
                self.command, parts.path, dict(parse_qsl(parts.query)),
                {name: ", ".join(self.headers.get_all(name) or []) for name in self.headers},
                body,
            )  # fmt: skip

        def answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            got = self.got()
            state.record(got)
            challenge = got.query.get("hub.challenge", "")
            if state.verify == "refuse":
                self.answer(404, b"no")
            elif state.verify == "wrong":
                self.answer(200, challenge.encode() + b"x")
            elif state.verify == "huge":
                self.answer(200, challenge.encode() * (1 + 4_000_000 // max(1, len(challenge))))
            else:
                self.answer(200, challenge.encode())

        def do_POST(self) -> None:
            state.record(self.got())
            if state.delay:
                time.sleep(state.delay)
            self.answer(state.statuses.pop(0) if state.statuses else 200, b"thanks")

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client closing a kept-alive connection is no news

    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def signed(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


HUB_SETTINGS = """
[websub]
allow_private_callbacks = true
poll_seconds = 0.05
retry_seconds = 1
max_retry_seconds = 4
give_up_seconds = 10
drop_after_give_ups = 2
timeout_seconds = 2
min_lease_seconds = 60
"""


def hub_config(folder: Path, websub: str = HUB_SETTINGS) -> Config:
    text = (
        '[publisher]\nname = "Test feeds"\n'
        '[[sources]]\nid = "office"\ntitle = "Office"\n'
        'url = "https://www.example.org/news/lang--en/index.htm"\n'
        '[[sources]]\nid = "region"\ntitle = "Region"\n'
        'url = "https://www.example.org/region/lang--en/index.htm"\n'
        '[[topics]]\nid = "all"\ntitle = "All news"\n'
        '[[topics]]\nid = "office"\ntitle = "Office news"\nsources = ["office"]\n'
        '[[topics]]\nid = "region"\ntitle = "Region news"\nsources = ["region"]\n'
        f"{websub}"
    )
    return parse_config(text, folder / "feedpub.toml", adapter_kinds={"ilo"}, environ={})


@dataclass
class Hub:
    """The app (its test client), and the worker's watcher and hub worker, on one ledger;
    ``wall`` is the hub's clock (seconds since the epoch), which a test may move."""

    config: Config
    ledger: Ledger
    client: FlaskClient
    watcher: ChangeWatcher
    worker: HubWorker
    clock: list[float]

    def wall(self) -> float:
        return self.clock[0]

    def advance(self, seconds: float) -> None:
        self.clock[0] += seconds

    def request(self, mode: str, topic: str, callback: str, **more: str) -> tuple[int, str]:
        form = {"hub.mode": mode, "hub.topic": topic, "hub.callback": callback}
        form.update({f"hub.{name}": value for name, value in more.items()})
        answer = self.client.post("/websub", data=form)
        return answer.status_code, answer.get_data(as_text=True)

    def settle(self, passes: int = 50) -> None:
        """Run the watcher and the worker until there is nothing left to do now."""
        for _ in range(passes):
            self.watcher.watch_once()
            if not self.worker.work_once():
                return
        raise AssertionError("the hub kept finding work")


@contextmanager
def running_hub(
    folder: Path, ledger: Ledger, websub: str = HUB_SETTINGS, *, remote: str = "127.0.0.1"
) -> Iterator[Hub]:
    """A hub on ``ledger``: ``remote`` is the address the test client's requests come from."""
    config = hub_config(folder, websub)
    clock = [time.time()]

    def wall() -> float:
        return clock[0]

    app = create_app(config, ledger=ledger, publisher=FeedPublisher(config, ledger, version_ttl=0))
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = remote
    intake = app.extensions.get("feedpub.hub")
    if intake is not None:
        intake.wall = wall
    worker = HubWorker(ledger, config.websub, wall=wall)
    watcher = ChangeWatcher(FeedPublisher(config, ledger, version_ttl=0), config.websub, wall=wall)
    made = Hub(config, ledger, client, watcher, worker, clock)
    try:
        yield made
    finally:
        made.worker.close()  # the one it has at the end (a test may start another)
