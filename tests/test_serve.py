"""End to end: ``feedpub serve`` on the bundled default configuration, as a process on a free
port, read over real HTTP in every format by a real feed parser."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

import feedparser
import jsonschema
import pytest

from feeds.config import bundled_config_path, parse_config
from sources import ADAPTERS
from tests.conftest import DATA
from tests.test_cli_preview import feedpub_command

TOPICS = [
    t.id
    for t in parse_config(
        bundled_config_path().read_text(),
        bundled_config_path(),
        adapter_kinds=ADAPTERS.keys(),
        environ={},
    ).topics
]
SCHEMA = json.loads((DATA / "jsonfeed-1.1.schema.json").read_text())


@dataclass
class Reply:
    status: int
    headers: Message  # case-insensitive, as HTTP header names are
    body: bytes


@dataclass
class Served:
    base: str

    def get(self, path: str, method: str = "GET", **headers: str) -> Reply:
        request = urllib.request.Request(  # noqa: S310  (http, loopback)
            self.base + path, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (http, loopback)
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers, error.read())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {**os.environ, "FEEDPUB_DATABASE_URL": f"sqlite:///{folder / 'feeds.db'}"}
    env.pop("FEEDPUB_CONFIG", None)
    process = subprocess.Popen(
        [feedpub_command(), "serve", "--port", str(port), "--workers", "2"],
        cwd=folder,  # no ./feedpub.toml there: the bundled configuration is used
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    server = Served(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                feed = json.loads(server.get("/feeds/all-news.json").body)
                if len(feed["items"]) >= 40:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.3)
        else:
            pytest.fail("feedpub serve did not publish the sample feeds within 60 seconds")
        time.sleep(1.1)  # past the servers' version check interval
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr
        assert b"feedpub: stopped" in stderr


@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_in_every_format_with_the_same_ids(served: Served, topic: str) -> None:
    ids = {}
    for feed_format in ("rss", "atom"):
        reply = served.get(f"/feeds/{topic}.{feed_format}")
        assert reply.status == 200
        parsed = feedparser.parse(reply.body)
        assert parsed.bozo is False, parsed.get("bozo_exception")
        assert parsed.entries, f"{topic}.{feed_format} is empty"
        assert [link.href for link in parsed.feed.links if link.rel == "self"] == [
            f"{served.base}/feeds/{topic}.{feed_format}"
        ]
        ids[feed_format] = [entry.id for entry in parsed.entries]
        assert all(entry.get("summary") for entry in parsed.entries)
        if feed_format == "atom":
            updated = [entry.updated for entry in parsed.entries]
            assert len(set(updated)) == len(updated)
    reply = served.get(f"/feeds/{topic}.json")
    feed = json.loads(reply.body)
    jsonschema.validate(feed, SCHEMA)
    ids["json"] = [item["id"] for item in feed["items"]]
    assert ids["rss"] == ids["atom"] == ids["json"]


def test_304_on_both_validators_gzip_cors_and_head(served: Served) -> None:
    first = served.get("/feeds/newsroom.atom")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert served.get("/feeds/newsroom.atom", **{"If-None-Match": etag}).status == 304
    assert served.get("/feeds/newsroom.atom", **{"If-Modified-Since": modified}).status == 304
    zipped = served.get("/feeds/newsroom.atom", **{"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == first.body
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    head = served.get("/feeds/newsroom.atom", method="HEAD")
    assert (head.status, head.body, head.headers["Content-Length"]) == (
        200,
        b"",
        first.headers["Content-Length"],
    )
    missing = served.get("/feeds/no-such-topic.rss")
    assert missing.status == 404
    assert missing.headers["Cache-Control"] == "no-store"
    assert missing.headers["Access-Control-Allow-Origin"] == "*"


def test_both_server_workers_serve_identical_bytes(served: Served) -> None:
    bodies = {served.get("/feeds/all-news.rss").body for _ in range(12)}
    assert len(bodies) == 1
