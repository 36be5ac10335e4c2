"""The README's nginx cache (``deploy/nginx-proxy-cache.conf``, its operator's values filled in)
run by a real nginx in front of the real app: repeated requests never reach feedpub, an expired
feed is revalidated with its ETag (feedpub answers 304), a change is served within the feed's
max-age, gzipped and plain answers are kept apart, errors are not kept."""

from __future__ import annotations

import datetime as dt
import gzip
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import feedparser
import pytest
from werkzeug.serving import make_server

from bench.proxy_cache import PUBLIC_HOST, nginx_command, running_nginx, write_proxy_conf
from feeds.config import Config, parse_config
from feeds.ledger.store import Ledger, Retention
from feeds.model import UTC, Entry
from feeds.serve import publish
from feeds.serve.publish import FeedPublisher
from server import create_app
from tests.serving import Reply, Served, free_port

pytestmark = pytest.mark.skipif(
    not Path(nginx_command()).exists(),
    reason="nginx is not installed (apt-get install nginx-light; .ci/run installs it)",
)

CONFIG = f"""
[publisher]
name = "Test feeds"
allowed_hosts = ["{PUBLIC_HOST}"]

[[sources]]
id = "office"
title = "Office"
url = "https://www.example.org/news/lang--en/index.htm"
refresh_seconds = 5

[[topics]]
id = "office"
title = "Office news"
"""
#: The feeds' max-age here: half the source's 5 seconds, with the floor lowered from a minute.
MAX_AGE = 2
#: How long after a feed's max-age nginx may take to see that it expired (it counts in whole
#: seconds) and to revalidate it.
MARGIN = 2.0
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
FEED = "/feeds/office.rss"


def store(ledger: Ledger, number: int, title: str) -> None:
    entry = Entry(
        id=f"urn:uuid:{number:08d}-0000-5000-8000-000000000000",
        source_id="office",
        title=title,
        link=f"https://www.example.org/news/{number}",
        date=dt.date(2026, 11, 1 + number),
        published=dt.datetime(2026, 11, 1 + number, tzinfo=UTC),
        summary="Summary.",
        labels=(),
    )
    with ledger.transaction() as transaction:
        transaction.merge("office", [entry], now=NOW, retention=Retention())


@dataclass
class Upstream:
    """What feedpub was asked and answered: (path, If-None-Match, Accept-Encoding, status)."""

    seen: list[tuple[str, str | None, str | None, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for seen in self.seen if seen[0] == path)

    def answers(self, path: str) -> list[tuple[str | None, int]]:
        with self.lock:
            return [(seen[1], seen[3]) for seen in self.seen if seen[0] == path]


def counted(app: Callable[..., Iterable[bytes]], upstream: Upstream) -> Callable[..., Any]:
    """The WSGI app, noting each request it answers in ``upstream``."""

    def counting(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def noting(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            with upstream.lock:
                upstream.seen.append(
                    (
                        environ.get("PATH_INFO", ""),
                        environ.get("HTTP_IF_NONE_MATCH"),
                        environ.get("HTTP_ACCEPT_ENCODING"),
                        int(status[:3]),
                    )
                )
            return start_response(status, headers, *args)

        return app(environ, noting)

    return counting


@dataclass
class Proxied:
    """nginx on the committed configuration in front of the app; ``ledger`` is the app's."""

    proxy: Served
    upstream: Upstream
    ledger: Ledger

    def get(self, path: str, **headers: str) -> Reply:
        return self.proxy.get(path, Host=PUBLIC_HOST, **headers)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return parse_config(CONFIG, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})


@pytest.fixture
def proxied(config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proxied]:
    monkeypatch.setattr(publish, "MIN_MAX_AGE_SECONDS", 1)  # a max-age of seconds, not a minute
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'feeds.db'}")
    store(ledger, 1, "First news")
    upstream = Upstream()
    publisher = FeedPublisher(config, ledger, version_ttl=0)
    app = counted(create_app(config, ledger=ledger, publisher=publisher), upstream)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    root = tmp_path / "nginx"
    root.mkdir()
    port = free_port()
    conf = write_proxy_conf(root, listen=f"127.0.0.1:{port}", upstream=f"127.0.0.1:{server.port}")
    try:
        with running_nginx(conf, port):
            yield Proxied(Served(f"http://127.0.0.1:{port}"), upstream, ledger)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        ledger.close()
    said = (root / "error.log").read_text()
    assert "[emerg]" not in said
    assert "[alert]" not in said
    assert "[crit]" not in said


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll ``condition`` until it holds; the seconds that took (failing after ``seconds``)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            pytest.fail(f"{what}: not within {seconds} seconds")
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_feed_asked_again_is_answered_from_the_cache_without_feedpub(proxied: Proxied) -> None:
    first = proxied.get(FEED)
    second = proxied.get(FEED)
    assert first.status == second.status == 200
    assert (first.headers["X-Cache-Status"], second.headers["X-Cache-Status"]) == ("MISS", "HIT")
    assert second.body == first.body
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Cache-Control"] == f"public, max-age={MAX_AGE}"
    assert second.headers["Vary"] == "Accept, Accept-Encoding"  # kept for clients' caches
    assert second.headers["Access-Control-Allow-Origin"] == "*"
    assert [entry.title for entry in feedparser.parse(second.body).entries] == ["First news"]
    assert proxied.upstream.count(FEED) == 1


def test_a_client_revalidating_is_answered_304_by_the_cache(proxied: Proxied) -> None:
    etag = proxied.get(FEED).headers["ETag"]
    again = proxied.get(FEED, **{"If-None-Match": etag})
    assert again.status == 304
    assert again.headers["X-Cache-Status"] == "HIT"
    last_modified = proxied.get(FEED).headers["Last-Modified"]
    since = proxied.get(FEED, **{"If-Modified-Since": last_modified})
    assert since.status == 304
    assert proxied.upstream.count(FEED) == 1


def test_an_expired_feed_is_revalidated_with_its_etag_and_kept(proxied: Proxied) -> None:
    first = proxied.get(FEED)
    etag = first.headers["ETag"]
    wait_until(
        lambda: proxied.get(FEED).headers["X-Cache-Status"] != "HIT",
        MAX_AGE + MARGIN,
        "the cached feed expiring",
    )
    wait_until(lambda: proxied.upstream.count(FEED) == 2, MARGIN, "feedpub being asked again")
    assert proxied.upstream.answers(FEED) == [(None, 200), (etag, 304)]
    after = proxied.get(FEED)
    assert after.status == 200
    assert after.headers["X-Cache-Status"] == "HIT"
    assert after.body == first.body
    assert proxied.upstream.count(FEED) == 2


def test_a_change_is_served_within_the_feeds_max_age(proxied: Proxied) -> None:
    before = proxied.get(FEED)
    store(proxied.ledger, 2, "Second news")
    took = wait_until(
        lambda: b"Second news" in proxied.get(FEED).body,
        MAX_AGE + MARGIN,
        "the new entry through the cache",
    )
    assert took <= MAX_AGE + MARGIN
    after = proxied.get(FEED)
    assert after.headers["X-Cache-Status"] == "HIT"
    assert after.headers["ETag"] != before.headers["ETag"]
    titles = [entry.title for entry in feedparser.parse(after.body).entries]
    assert titles == ["Second news", "First news"]
    # revalidated with the old tag, answered in full with the new feed
    assert proxied.upstream.answers(FEED)[:2] == [(None, 200), (before.headers["ETag"], 200)]


def test_gzipped_and_plain_answers_are_kept_apart(proxied: Proxied) -> None:
    zipped = proxied.get(FEED, **{"Accept-Encoding": "gzip"})
    plain = proxied.get(FEED)
    assert (zipped.headers["X-Cache-Status"], plain.headers["X-Cache-Status"]) == ("MISS", "MISS")
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert plain.headers["Content-Encoding"] is None
    assert gzip.decompress(zipped.body) == plain.body
    # other ways of asking share the same two copies
    for accept_encoding, encoding in [
        ("br, gzip, deflate", "gzip"),
        ("gzip;q=0.5, identity", "gzip"),
        ("gzip;q=0", None),
        ("identity", None),
        ("br", None),
    ]:
        reply = proxied.get(FEED, **{"Accept-Encoding": accept_encoding})
        assert reply.headers["X-Cache-Status"] == "HIT", accept_encoding
        assert reply.headers["Content-Encoding"] == encoding, accept_encoding
        assert reply.body == (zipped.body if encoding else plain.body), accept_encoding
    assert proxied.upstream.count(FEED) == 2
    assert {seen[2] for seen in proxied.upstream.seen} == {"gzip", None}


def test_a_browser_gets_the_feed_as_xml_and_a_reader_as_rss(proxied: Proxied) -> None:
    page = proxied.get(FEED, Accept="text/html,application/xhtml+xml,*/*;q=0.8")
    reader = proxied.get(FEED, Accept="application/rss+xml, text/html;q=0.1")
    assert page.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert reader.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert proxied.get(FEED).headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert proxied.upstream.count(FEED) == 2


def test_an_error_is_not_kept(proxied: Proxied) -> None:
    for _ in range(2):
        reply = proxied.get("/feeds/unknown.rss")
        assert reply.status == 404
        assert reply.headers["Cache-Control"] == "no-store"
        assert reply.headers["X-Cache-Status"] == "MISS"
    assert proxied.upstream.count("/feeds/unknown.rss") == 2
