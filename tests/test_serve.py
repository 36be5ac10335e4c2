"""End to end: ``feedpub serve`` on the bundled default configuration, as a process on a free
port, read over real HTTP in every format by a real feed parser; on SQLite and on PostgreSQL,
which serve the same bytes for the same entries."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import feedparser
import jsonschema
import pytest
from werkzeug.test import Client

from feeds import processes
from feeds.config import CONFIG_ENV, DATABASE_ENV, bundled_config_path, load_config, parse_config
from feeds.ledger.store import Ledger
from feeds.refresh.outcomes import Status
from feeds.serve.http import FeedMiddleware
from feeds.serve.publish import FeedPublisher
from server import THREADS_ENV, make_app, make_wsgi_app
from sources import ADAPTERS
from tests.conftest import DATA, FIXED_NOW
from tests.postgres import PostgresServer
from tests.refresh_kit import Clock, make_refresher
from tests.serving import Served, feedpub_serving

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
        if feed_format == "atom":  # text in every Atom entry; RSS gives none it has not
            assert all(entry.get("summary") for entry in parsed.entries)
            updated = [entry.updated for entry in parsed.entries]
            assert len(set(updated)) == len(updated)
    reply = served.get(f"/feeds/{topic}.json")
    feed = json.loads(reply.body)
    jsonschema.validate(feed, SCHEMA)
    ids["json"] = [item["id"] for item in feed["items"]]
    assert ids["rss"] == ids["atom"] == ids["json"]


def test_the_bundled_config_links_to_the_loopback_name_asked_for_and_else_to_127_0_0_1(
    served: Served,
) -> None:
    port = served.base.rsplit(":", 1)[1]
    for host, base in (
        (f"127.0.0.1:{port}", served.base),
        (f"localhost:{port}", f"http://localhost:{port}"),
        ("feeds.example.org", served.base),
        (f"localhost:{int(port) + 1}", served.base),
    ):
        feed = json.loads(served.get("/feeds/newsroom.json", Host=host).body)
        assert feed["feed_url"] == f"{base}/feeds/newsroom.json", host
        page = served.get("/topics//newsroom", Host=host)  # a redirect, which urllib follows
        assert page.status == 200
        assert f'href="{base}/feeds/newsroom.rss"'.encode() in page.body


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


def test_pages_and_the_feed_stylesheet_are_served_beside_the_feeds(served: Served) -> None:
    rss = served.get("/feeds/newsroom.rss").body
    assert rss.splitlines()[1] == (
        f'<?xml-stylesheet type="text/xsl" href="{served.base}/feeds/feed.xsl"?>'.encode()
    )
    stylesheet = served.get("/feeds/feed.xsl")
    assert stylesheet.status == 200
    assert stylesheet.headers["Content-Type"] == "text/xsl; charset=utf-8"
    for path in ("/", "/topics/newsroom", "/embed/newsroom", "/status", "/feeds.opml"):
        reply = served.get(path)
        assert reply.status == 200, path
        assert b"NLO Newsroom" in reply.body, path
    status = json.loads(served.get("/status.json").body)
    assert [source["id"] for source in status["sources"]] == ["newsroom", "dakar", "lima"]
    assert all(source["last_success_at"] for source in status["sources"])


def test_postgresql_serves_the_same_bytes_as_sqlite(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    config = load_config(bundled_config_path(), adapter_kinds=ADAPTERS)
    paths = [
        *(f"/feeds/{topic}.{form}" for topic in TOPICS for form in ("rss", "atom", "json")),
        *(f"/topics/{topic}" for topic in TOPICS),
        "/", "/feeds.opml", "/embed/newsroom", "/status.json",
    ]  # fmt: skip
    served_bytes = []
    for kind, url in (
        ("sqlite", f"sqlite:///{tmp_path / 'feeds.db'}"),
        ("postgresql", postgres.create_database()),
    ):
        ledger = Ledger.open(url)
        refresher = make_refresher(ledger, Clock(FIXED_NOW))  # one clock: the same first-seen times
        outcomes = [refresher.refresh(source) for source in config.sources]
        assert [outcome.status for outcome in outcomes] == [Status.UPDATED] * 3
        refresher.fetcher.close()
        ledger.close()
        (tmp_path / kind).mkdir()
        with feedpub_serving(tmp_path / kind, url, scheduler=False) as served:
            replies = {path: served.get(path) for path in paths}
        assert {reply.status for reply in replies.values()} == {200}
        # each server links to itself, on a port of its own
        served_bytes.append(
            {
                path: reply.body.replace(served.base.encode(), b"BASE")
                for path, reply in replies.items()
            }
        )
    on_sqlite, on_postgresql = served_bytes
    assert len(json.loads(on_sqlite["/feeds/all-news.json"])["items"]) >= 40
    assert on_postgresql == on_sqlite


def test_each_server_process_keeps_one_database_connection_per_thread(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv(DATABASE_ENV, database_url)
    monkeypatch.setenv(THREADS_ENV, "3")  # as ``feedpub serve --threads 3`` tells its workers
    monkeypatch.setattr(processes, "settle_collector", lambda: None)  # this process's own
    publisher = make_app().extensions["feedpub"]
    assert isinstance(publisher, FeedPublisher)
    pool = publisher.ledger.engine.pool
    assert pool.size() == 3  # type: ignore[attr-defined]  # a QueuePool: SQLite files too
    publisher.ledger.close()


def test_each_server_process_serves_the_apps_wsgi_stack_itself(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv(DATABASE_ENV, database_url)
    monkeypatch.setattr(processes, "settle_collector", lambda: None)  # this process's own
    served = make_wsgi_app()
    assert isinstance(served, FeedMiddleware)  # not the Flask object, which only hands on
    client = Client(served)
    feed = client.get("/feeds/all-news.rss", headers={"Host": "127.0.0.1:8000"})
    assert feed.status_code == 200
    assert feedparser.parse(feed.data).feed.title
    assert client.get("/healthz").status_code in (200, 503)  # the app behind it answers too
    served.publisher.ledger.close()


def test_each_server_process_runs_with_its_start_up_frozen_and_the_workers_thresholds(
    tmp_path: Path,
) -> None:
    shown = "import gc, server; server.make_app(); print(gc.get_threshold(), gc.isenabled())"
    environ = {k: v for k, v in os.environ.items() if k != CONFIG_ENV}
    result = subprocess.run(
        [sys.executable, "-c", f"{shown}; print(gc.get_freeze_count() > 1000)"],
        env={**environ, DATABASE_ENV: f"sqlite:///{tmp_path / 'feeds.db'}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{processes.WORKER_GC_THRESHOLDS} True", "True"]
