"""The hub against real WebSub subscriber implementations from the package registries:
``flask-websub`` (PyPI) and npm's ``pubsubhubbub`` (run with node). Each discovers the hub
from a feed's ``Link`` headers, subscribes, is verified, gets the feed on a change within
seconds, and unsubscribes; feedpub runs as ``feedpub worker`` and the app run it (the app
on a real HTTP server, the hub's threads started as the worker starts them).

Both are used without a secret: flask-websub sends one only to an https hub, and
pubsubhubbub 1.0.2 sends an HMAC of its secret as ``hub.secret`` while checking signatures
with the secret itself (signatures are tested with the test's own subscriber,
``tests/test_hub.py``)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask_websub.subscriber import (  # type: ignore[import-untyped]
    SQLite3SubscriberStorage,
    SQLite3TempSubscriberStorage,
    Subscriber,
    discover,
)
from werkzeug.serving import BaseWSGIServer, make_server

from feeds.config import Config
from feeds.ledger.store import Ledger
from feeds.serve.publish import FeedPublisher
from server import create_app, start_hub
from tests.refresh_kit import open_ledger
from tests.websub_kit import entry, hub_config, store

NODE_FOLDER = Path(__file__).parent / "node"
NODE = shutil.which("node")
#: How long a change may take to reach a subscriber here (it takes a fraction of a second).
WITHIN_SECONDS = 10.0


@contextmanager
def serving(app: Any) -> Iterator[BaseWSGIServer]:
    """A WSGI app on a free port of 127.0.0.1, on a real HTTP server, for the block."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


@dataclass
class Feedpub:
    """feedpub's app on a real port, with the hub's threads running on its ledger."""

    base: str
    config: Config
    ledger: Ledger

    def change(self, n: int) -> None:
        store(self.ledger, "office", entry(1), entry(2), entry(n, title=f"Change {n}"))


@pytest.fixture
def feedpub(tmp_path: Path) -> Iterator[Feedpub]:
    config = hub_config(tmp_path)
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    store(ledger, "office", entry(1), entry(2))
    app = create_app(config, ledger=ledger, publisher=FeedPublisher(config, ledger, version_ttl=0))
    hub = start_hub(config, ledger)
    try:
        with serving(app) as httpd:
            yield Feedpub(f"http://127.0.0.1:{httpd.server_port}", config, ledger)
    finally:
        hub.stop()
        ledger.close()


@dataclass
class Events:
    """What a subscriber reported, as it came."""

    items: queue.Queue[tuple[str, Any]] = field(default_factory=queue.Queue)

    def put(self, kind: str, data: Any) -> None:
        self.items.put((kind, data))

    def next(self, kind: str, timeout: float = WITHIN_SECONDS) -> Any:
        """The next event of a kind (others before it are passed over)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind} in {timeout} seconds")
            try:
                got, data = self.items.get(timeout=left)
            except queue.Empty:
                continue
            if got == "error":
                raise AssertionError(f"the subscriber reported an error: {data}")
            if got == kind:
                return data

    def none_of(self, kind: str, wait: float) -> None:
        time.sleep(wait)
        while not self.items.empty():
            got, data = self.items.get()
            assert got != kind, data


def test_flask_websub_subscribes_gets_changes_and_unsubscribes(
    tmp_path: Path, feedpub: Feedpub
) -> None:
    events = Events()
    app = Flask("subscriber")
    subscriber = Subscriber(
        SQLite3SubscriberStorage(str(tmp_path / "subscriptions.db")),
        SQLite3TempSubscriberStorage(str(tmp_path / "requests.db")),
    )
    app.register_blueprint(subscriber.build_blueprint(url_prefix="/callbacks"))
    subscriber.add_success_handler(lambda topic, _id, mode: events.put(mode, topic))
    subscriber.add_error_handler(lambda topic, _id, reason: events.put("error", (topic, reason)))
    subscriber.add_listener(lambda topic, _id, body: events.put("feed", (topic, body)))
    with serving(app) as httpd:
        app.config["SERVER_NAME"] = f"127.0.0.1:{httpd.server_port}"
        found = discover(f"{feedpub.base}/feeds/office.atom")
        assert found == {
            "topic_url": f"{feedpub.base}/feeds/office.atom",
            "hub_url": f"{feedpub.base}/websub",
        }
        with app.app_context():
            callback_id = subscriber.subscribe(**found, lease_seconds=3600)
        assert events.next("subscribe") == found["topic_url"]

        feedpub.change(3)
        topic, body = events.next("feed")
        assert topic == found["topic_url"]
        assert feedparser.parse(body).entries[0].title == "Change 3"

        with app.app_context():
            subscriber.unsubscribe(callback_id)
        assert events.next("unsubscribe") == found["topic_url"]
        feedpub.change(4)
        events.none_of("feed", 1.0)


def node_subscriber_ready() -> str | None:
    """Why the node subscriber cannot run here, or ``None``: node and the package installed
    (``npm ci --prefix tests/node``, which ``.ci/run`` does)."""
    if NODE is None:
        return "node is not installed"
    if not (NODE_FOLDER / "node_modules" / "pubsubhubbub").is_dir():
        return "npm's pubsubhubbub is not installed: npm ci --prefix tests/node"
    return None


def test_npm_pubsubhubbub_subscribes_gets_changes_and_unsubscribes(feedpub: Feedpub) -> None:
    problem = node_subscriber_ready()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    topic = f"{feedpub.base}/feeds/office.rss"
    with serving(lambda _environ, _start: []) as probe:
        port = probe.server_port  # a free port, given back for the subscriber to take
    process = subprocess.Popen(
        [str(NODE), str(NODE_FOLDER / "subscriber.js"), str(port), topic, f"{feedpub.base}/websub"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    events = Events()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            try:
                said = json.loads(line)
            except ValueError:
                events.put("error", line)
                continue
            events.put(said.pop("event"), said)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert events.next("subscribe")["topic"] == topic
        feedpub.change(5)
        delivery = events.next("feed")
        assert delivery["topic"] == topic
        assert delivery["contentType"] == "application/rss+xml; charset=utf-8"
        assert f'<{feedpub.base}/websub>; rel="hub"' in delivery["link"]
        assert feedparser.parse(delivery["body"]).entries[0].title == "Change 5"
        assert process.stdin is not None
        process.stdin.write("unsubscribe\n")
        process.stdin.flush()
        assert events.next("unsubscribe")["topic"] == topic
        feedpub.change(6)
        events.none_of("feed", 1.0)
    finally:
        process.kill()
        process.wait(timeout=10)
        reader.join(timeout=10)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
