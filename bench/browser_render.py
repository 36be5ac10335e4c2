"""Benchmark: listings rendered in the system's headless Chromium (``render = "browser"``).

Run: ``.venv/bin/python -m bench.browser_render`` (about a minute on two cores). A local HTTP
server on 127.0.0.1 serves listing pages that are empty shells: each page's script fetches
its 20 items from a JSON endpoint and writes them in. Prints:

1. One page at a time: the time to render a page (fetch, load, wait for the network to settle,
   serialize), median and slowest of ``--pages``, and the browser's peak memory (the sum of
   the proportional set sizes of its processes, sampled every 50 ms).
2. ``--sources`` browser-rendered sources refreshed by one ``Refresher`` (one worker: a SQLite
   file, ``--threads`` refreshes at a time, ``[browser] max_pages`` pages at a time in the one
   browser): the wall time, the time per source, the peak memory and how many browsers were
   started. No host spacing (every source is on one local host): what is measured is the
   browser's own cost.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

from feeds.config import BrowserConfig, SourceConfig
from feeds.ledger.store import Ledger
from feeds.refresh.browser import Renderer, RenderRequest
from feeds.refresh.fetch import Fetcher
from feeds.refresh.outcomes import Status
from feeds.refresh.refresher import Refresher
from sources import ADAPTERS

ITEMS_PER_PAGE = 20
SHELL = (
    "<html><head><title>Newsroom</title></head><body><h1>Newsroom</h1><div id='app'>Loading"
    "</div><script>fetch(location.pathname + '.json').then(r => r.json()).then(d => {"
    "app.innerHTML = d.html; });</script></body></html>"
)


def listing(number: int) -> str:
    items = "".join(
        f"<li><h5 class='item-title'><a href='/s/{number}/{n}'>Story {n} of source {number}"
        f"</a></h5><p class='item-date'>{28 - n % 28} November 2026</p>"
        f"<p>Summary of story {n}, a sentence or two long.</p></li>"
        for n in range(1, ITEMS_PER_PAGE + 1)
    )
    return f"<ol class='item-list'>{items}</ol>"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path
        if path.endswith(".json"):
            number = int(path.removesuffix(".json").rsplit("/", 1)[1])
            body = json.dumps({"html": listing(number)}).encode()
            kind = "application/json"
        else:
            body, kind = SHELL.encode(), "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextmanager
def serving() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class PeakMemory:
    """Samples the renderer's browser memory every 50 ms while running."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer, self.peak, self.done = renderer, 0, threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, self.renderer.memory_bytes())

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.done.set()
        self.thread.join()


def one_at_a_time(base: str, pages: int, config: BrowserConfig) -> None:
    renderer = Renderer(config)
    times = []
    try:
        with Fetcher() as fetcher, PeakMemory(renderer) as memory:
            renderer.render(RenderRequest(url=f"{base}/s/0"), fetcher=fetcher, source="warm-up")
            for number in range(1, pages + 1):
                started = time.perf_counter()
                renderer.render(
                    RenderRequest(url=f"{base}/s/{number}"), fetcher=fetcher, source=str(number)
                )
                times.append(time.perf_counter() - started)
    finally:
        renderer.close()
    print(f"1. one page at a time, {pages} pages (after a warm-up page starting the browser):")
    print(f"   render time median {statistics.median(times):.2f} s, slowest {max(times):.2f} s")
    print(f"   browser peak memory {memory.peak / 2**20:.0f} MB (PSS of its processes)")


def many_sources(base: str, count: int, threads: int, config: BrowserConfig) -> None:
    renderer = Renderer(config)
    with tempfile.TemporaryDirectory() as folder:
        ledger = Ledger.open(f"sqlite:///{Path(folder) / 'feedpub.db'}")
        refresher = Refresher(
            ledger=ledger, fetcher=Fetcher(), adapters=ADAPTERS, renderer=renderer
        )
        chosen = [
            SourceConfig(
                id=f"s{number}",
                title=f"Source {number}",
                url=f"{base}/s/{number}",
                timezone=ZoneInfo("UTC"),
                render="browser",
            )
            for number in range(1, count + 1)
        ]
        try:
            with PeakMemory(renderer) as memory:
                started = time.perf_counter()
                outcomes = refresher.refresh_all(chosen, threads=threads)
                wall = time.perf_counter() - started
        finally:
            refresher.close()
    updated = sum(1 for outcome in outcomes if outcome.status is Status.UPDATED)
    peak = memory.peak / 2**20
    print(f"2. {count} browser-rendered sources in one worker ({threads} threads, "
          f"max_pages {config.max_pages}):")  # fmt: skip
    print(f"   {updated} updated, wall {wall:.1f} s ({wall / count:.2f} s a source), "
          f"browser peak memory {peak:.0f} MB, {renderer.launches} browser(s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--max-pages", type=int, default=4)
    parser.add_argument("--executable", default="/usr/bin/chromium")
    arguments = parser.parse_args()
    config = BrowserConfig(executable=arguments.executable, max_pages=arguments.max_pages)
    with serving() as base:
        one_at_a_time(base, arguments.pages, config)
        many_sources(base, arguments.sources, arguments.threads, config)


if __name__ == "__main__":
    main()
