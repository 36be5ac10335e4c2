"""Benchmark: the CPU time of one feed request through the app's WSGI stack in one process,
no server and no network: a 200, a gzipped 200, a 304 and a browser's 200, from a kept feed;
beside it, the same call to the floor of ``bench.serve_throughput`` (``bench.constant_app``,
answering the feed's own bytes and headers), whose difference is what feedpub's Python adds.

Run: ``.venv/bin/python -m bench.feed_calls`` (``BENCH_CALLS`` sets the calls a case, default
200,000). Prints the best of five rounds, in microseconds a call, the two apps timed in turn
in each round. The database is a temporary SQLite file, removed afterwards.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.constant_app import constant_app
from bench.host_flood import CONFIG, fill
from feeds.config import parse_config
from feeds.ledger.store import Ledger
from feeds.serve.publish import FeedPublisher
from feeds.serve.representation import FeedFormat
from server import create_app

CALLS = int(os.environ.get("BENCH_CALLS", "200000"))
ROUNDS = 5
ENTRIES = 50
#: What granian hands the app for ``wrk``'s request, less the headers each case adds.
REQUEST = {
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/feeds/all-news.rss",
    "QUERY_STRING": "",
    "SCRIPT_NAME": "",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "8000",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": "127.0.0.1:8000",
    "wsgi.url_scheme": "http",
}


class LastStatus:
    """A WSGI ``start_response`` that keeps the last status it was given."""

    status = ""

    def __call__(self, status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        self.status = status


def microseconds(apps: tuple[Any, ...], environ: dict[str, Any], expected: str) -> list[float]:
    """Each app's best round's CPU time of one call, in microseconds, the apps timed in turn
    in each round (the environ is copied for each call, as a server makes one each: the copy
    is counted)."""
    start_response = LastStatus()
    for app in apps:
        app(dict(environ), start_response)
        if start_response.status != expected:
            raise SystemExit(f"{environ}: {start_response.status}, not {expected}")
    best = [float("inf")] * len(apps)
    for _ in range(ROUNDS):
        for index, app in enumerate(apps):
            started = time.process_time()
            for _ in range(CALLS):
                app(dict(environ), start_response)
            best[index] = min(best[index], time.process_time() - started)
    return [seconds / CALLS * 1e6 for seconds in best]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="feedpub-bench-") as folder:
        measure(Path(folder))


def measure(folder: Path) -> None:
    config = parse_config(CONFIG, folder / "feedpub.toml", adapter_kinds={"ilo"}, environ={})
    ledger = Ledger.open(f"sqlite:///{folder / 'feeds.db'}")
    fill(ledger, ENTRIES)
    publisher = FeedPublisher(config, ledger)
    app = create_app(config, ledger=ledger, publisher=publisher).wsgi_app
    plain = {**REQUEST}
    zipped = {**REQUEST, "HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}
    feed = publisher.feed("all-news", FeedFormat.RSS, base_url="http://127.0.0.1:8000")
    cases = (
        ("200", plain, "200 OK"),
        ("gzip", zipped, "200 OK"),
        ("304", {**REQUEST, "HTTP_IF_NONE_MATCH": feed.plain.etag}, "304 Not Modified"),
        ("browser", {**REQUEST, "HTTP_ACCEPT": "text/html,application/xml;q=0.9"}, "200 OK"),
    )
    floor = constant_app(
        plain=(list(feed.plain.ok_headers), feed.plain.body),
        gzipped=(list(feed.gzipped.ok_headers), feed.gzipped.body),
        not_modified={feed.plain.etag: list(feed.plain.not_modified_headers)},
    )
    print(f"{CALLS:,} calls a case, best of {ROUNDS} rounds, CPU time")
    print(f"{'case':<8} {'feedpub':>10} {'floor':>10} {'feedpub-floor':>14}")
    for case, environ, expected in cases:
        ours, floors = microseconds((app, floor), environ, expected)
        print(f"{case:<8} {ours:7.2f} µs {floors:7.2f} µs {ours - floors:11.2f} µs")
    ledger.close()


if __name__ == "__main__":
    main()
