"""Benchmark: full text through feedpub's own pipeline (fetch over HTTP, extract, sanitise).

Run: ``.venv/bin/python -m bench.full_text`` (about five minutes on two cores). Its data is the
ScrapingHub article-extraction benchmark (github.com/scrapinghub/article-extraction-benchmark:
181 pages of news sites and the text of each article body, by hand): copied once from a Git
repository of it (``--repository``: its GitHub URL, cloned shallow, or a local Git directory)
into a cache outside the checkout (``--cache``, ``~/.cache/feedpub-articles``). Prints:

1. Quality: every page served by a local HTTP server on 127.0.0.1, fetched by feedpub's
   ``Fetcher``, decoded, extracted and sanitised (``sources.article.read_article``), its text
   compared with the ground truth as the benchmark's own ``evaluate.py`` does (shingles of 4
   words; precision and recall per page, averaged; F1 of the averages; accuracy: the share of
   pages whose words are exactly right). Beside it, trafilatura's own plain-text output of
   the same pages, for reference: what our HTML output, sanitising and re-reading cost.
   Times per article: fetch + extract + sanitise, and extract + sanitise alone.
2. Scale: a refresh of 100 sources x 20 new entries with full text on, each source on a host
   of its own (127.0.0.2, 127.0.0.3...: each has its own politeness gate), its articles the
   benchmark's pages, by a ``Refresher`` on a SQLite file with a pool of threads, at two host
   spacings (``[fetch] host_spacing_seconds``'s default, 2 s, and half of it). Politeness
   bounds it from below: a source's listing and its 20 articles are 21 requests to its host,
   20 spacings apart, and the pool runs ``threads`` sources at a time.
   The table gives the wall time beside that bound and the CPU time the process used: where
   politeness bounds the refresh, its wall time is the bound and the CPU stays below it; where
   the CPU does (extraction runs on one core at a time, under the GIL), the CPU time is the
   wall time. Measured on two shared cores: at 2 s, wall 166 s for a bound of 160 s, CPU 119 s;
   at 1 s, wall 127 s for 80 s, CPU 127 s (about 60 ms of CPU per real-world article page).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import json
import logging
import math
import random
import re
import statistics
import subprocess
import tarfile
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import trafilatura

from feeds.config import SourceConfig
from feeds.errors import FeedpubError
from feeds.ledger.store import Ledger
from feeds.refresh.fetch import Document, Fetcher
from feeds.refresh.gate import HostGate
from feeds.refresh.refresher import Refresher
from feeds.text import read_document
from sources import ADAPTERS
from sources.article import extract_article, read_article
from tests.listing_writer import WrittenItem, write_html

REPOSITORY = "https://github.com/scrapinghub/article-extraction-benchmark"
CACHE = Path.home() / ".cache" / "feedpub-articles"
_TOKEN = re.compile(r"\w+", re.UNICODE)


# --- the data ---------------------------------------------------------------------------------


def ensure_cache(cache: Path, repository: str) -> None:
    """Copy the benchmark's ground truth and pages into ``cache``, once."""
    if (cache / "ground-truth.json").exists():
        return
    with tempfile.TemporaryDirectory() as folder:
        git_dir = repository
        if "://" in repository:
            git_dir = str(Path(folder) / "benchmark.git")
            print(f"cloning {repository} (shallow) ...")
            subprocess.run(
                ["git", "clone", "--quiet", "--bare", "--depth", "1", repository, git_dir],
                check=True,
            )
        archive = subprocess.run(
            ["git", "--git-dir", git_dir, "archive", "--format=tar", "HEAD",
             "ground-truth.json", "html"],
            check=True, capture_output=True,
        ).stdout  # fmt: skip
    cache.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(cache, filter="data")
    print(f"benchmark data cached in {cache}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """A benchmark page: its id, its bytes, and the text of its article body."""

    key: str
    content: bytes
    truth: str


def load_pages(cache: Path) -> list[Page]:
    truth = json.loads((cache / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        Page(
            key=key,
            content=gzip.decompress((cache / "html" / f"{key}.html.gz").read_bytes()),
            truth=record.get("articleBody", ""),
        )
        for key, record in sorted(truth.items())
    ]


# --- the benchmark's measure (its evaluate.py, restated) --------------------------------------


def _shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(
        tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n]
    )


def tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    """True positives, false positives and false negatives over 4-word shingles, normalised
    so that every page weighs the same."""
    wanted, found = _shingles(true), _shingles(pred)
    tp = fp = fn = 0.0
    for key in wanted.keys() | found.keys():
        tp += min(wanted[key], found[key])
        fp += max(0, found[key] - wanted[key])
        fn += max(0, wanted[key] - found[key])
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


@dataclass(frozen=True, slots=True, kw_only=True)
class Quality:
    precision: float
    recall: float
    f1: float
    accuracy: float


def quality(truths: Sequence[str], predictions: Sequence[str]) -> Quality:
    counts = [tp_fp_fn(t, p) for t, p in zip(truths, predictions, strict=True)]
    precision = statistics.mean(_precision(*c) for c in counts if c[0] + c[1] > 0)
    recall = statistics.mean(_recall(*c) for c in counts if c[0] + c[2] > 0)
    exact = [
        _TOKEN.findall(t) == _TOKEN.findall(p) for t, p in zip(truths, predictions, strict=True)
    ]
    return Quality(
        precision=precision,
        recall=recall,
        f1=2 * precision * recall / (precision + recall),
        accuracy=sum(exact) / len(exact),
    )


# --- serving ------------------------------------------------------------------------------------


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client closing a kept-alive connection is no error to print."""


@contextmanager
def serving(routes: dict[str, bytes], host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``routes`` (path -> HTML) on a free port of ``host``; its base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = routes.get(self.path)
            self.send_response(200 if body is not None else 404)
            body = body if body is not None else b"not found"
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = _QuietServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- 1. quality ---------------------------------------------------------------------------------


def run_quality(pages: list[Page]) -> None:
    ours: list[str] = []
    reference: list[str] = []
    whole: list[float] = []
    extraction: list[float] = []
    failures = 0
    routes = {f"/a/{page.key}": page.content for page in pages}
    with serving(routes) as base, Fetcher(gate=HostGate(spacing=0.0)) as fetcher:
        for page in pages:
            started = time.perf_counter()
            document = fetcher.fetch(f"{base}/a/{page.key}")
            if not isinstance(document, Document):  # no validators were sent
                raise SystemExit(f"{page.key}: answered 304 to an unconditional request")
            text = read_document(document.content, source=document.url, charset=document.charset)
            extracting = time.perf_counter()
            try:
                ours.append(read_article(text.text, url=document.url).text)
            except FeedpubError:
                ours.append("")
                failures += 1
            done = time.perf_counter()
            whole.append(done - started)
            extraction.append(done - extracting)
            reference.append(trafilatura.extract(text.text) or "")
    truths = [page.truth for page in pages]
    rows = [
        ("feedpub (fetch, extract, sanitise)", quality(truths, ours)),
        ("trafilatura alone, plain text", quality(truths, reference)),
    ]
    print(f"\n1. Extraction quality on {len(pages)} pages of the article-extraction benchmark")
    print(f"{'pipeline':<36} {'F1':>6} {'precision':>10} {'recall':>7} {'accuracy':>9}")
    for name, measured in rows:
        print(
            f"{name:<36} {measured.f1:>6.3f} {measured.precision:>10.3f} "
            f"{measured.recall:>7.3f} {measured.accuracy:>9.3f}"
        )
    print(f"pages refused as giving no article: {failures}")
    print(
        "time per article, fetch + extract + sanitise: "
        f"median {statistics.median(whole) * 1000:.1f} ms, "
        f"mean {statistics.mean(whole) * 1000:.1f} ms, "
        f"p95 {sorted(whole)[int(0.95 * len(whole))] * 1000:.1f} ms; "
        f"extract + sanitise alone: median {statistics.median(extraction) * 1000:.1f} ms, "
        f"mean {statistics.mean(extraction) * 1000:.1f} ms"
    )


# --- 2. scale -----------------------------------------------------------------------------------


def run_scale(
    pages: list[Page], *, sources: int, entries: int, threads: int, spacing: float
) -> tuple[float, float, float, int]:
    """One refresh of ``sources`` new sources of ``entries`` entries each, full text on;
    (wall seconds, CPU seconds, the politeness bound, articles stored)."""
    rng = random.Random(7)
    with ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        configs = []
        for n in range(sources):
            routes: dict[str, bytes] = {}
            items = []
            for k in range(entries):
                page = pages[rng.randrange(len(pages))]
                routes[f"/a/{k}"] = page.content
                day = dt.date(2026, 11, 22) - dt.timedelta(days=k % 10)
                items.append(WrittenItem(title=f"Story {k} of source {n}", date=day,
                                         link=f"/a/{k}"))  # fmt: skip
            routes["/news"] = write_html(items).encode()
            base = stack.enter_context(serving(routes, host=f"127.0.0.{n + 2}"))
            configs.append(
                SourceConfig(
                    id=f"s{n}", title=f"Source {n}", url=f"{base}/news", kind="ilo",
                    full_text=True, full_text_budget=entries,
                )
            )  # fmt: skip
        ledger = Ledger.open(f"sqlite:///{folder}/ledger.db", pool_size=threads + 2)
        refresher = Refresher(
            ledger=ledger,
            fetcher=Fetcher(
                gate=HostGate(spacing=spacing), timeout=httpx.Timeout(30.0),
            ),
            adapters=ADAPTERS,
            extract_article=extract_article,
        )  # fmt: skip
        wall, cpu = time.perf_counter(), time.process_time()
        outcomes = refresher.refresh_all(configs, threads=threads)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stored = sum(o.articles.fetched for o in outcomes)
        refresher.close()
    bound = math.ceil(sources / threads) * entries * spacing
    return wall, cpu, bound, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository", default=REPOSITORY, help="the benchmark's Git repository")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--threads", type=int, default=25)
    parser.add_argument(
        "--spacing", type=float, default=2.0, help="host spacing (seconds; run again at half)"
    )
    parser.add_argument("--skip-quality", action="store_true")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    ensure_cache(arguments.cache, arguments.repository)
    pages = load_pages(arguments.cache)
    if not arguments.skip_quality:
        run_quality(pages)
    print(
        f"\n2. A refresh of {arguments.sources} sources x {arguments.entries} new entries, "
        f"full text on, {arguments.threads} threads, each source on its own host"
    )
    print(
        f"{'spacing':>8} {'wall':>8} {'bound':>8} {'wall/bound':>11} {'CPU':>8} {'CPU/wall':>9} "
        f"{'articles':>9}"
    )
    for spacing in (arguments.spacing, arguments.spacing / 2):
        wall, cpu, bound, stored = run_scale(
            pages, sources=arguments.sources, entries=arguments.entries,
            threads=arguments.threads, spacing=spacing,
        )  # fmt: skip
        print(
            f"{spacing:>7.2f}s {wall:>7.1f}s {bound:>7.1f}s {wall / bound:>11.2f} {cpu:>7.1f}s "
            f"{cpu / wall:>9.2f} {stored:>9}"
        )


if __name__ == "__main__":
    main()
