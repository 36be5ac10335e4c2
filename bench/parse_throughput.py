"""Benchmark: ILO listing parse throughput (items per second) by rendition and page size.

Run: ``.venv/bin/python -m bench.parse_throughput``. Prints one row per rendition and size; the
items-per-second columns should stay flat as pages grow (the parser is linear in page size):
``items/s`` with Python's default garbage collector, ``worker GC`` with the collector as
``feedpub worker`` sets it (``feeds.processes.settle_collector``), timed in turn. The
``growth`` column (seconds per item with the default collector, relative to the 1,000-item
page: the smallest page is too quick to time steadily) should stay near 1. ``calls/item``
(Python function calls per item, from one profiled parse) does not depend on the machine's
load: flat means linear.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import gc
import pstats
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

from feeds.dates import month_number, read_listing_date
from feeds.links import forget_resolved
from feeds.processes import settle_collector
from sources import ilo
from sources.ilo.days import listing_date
from tests.conftest import make_context
from tests.listing_writer import (
    WrittenItem,
    write_html,
    write_html_blocks,
    write_text,
    write_text_bulleted,
    write_text_date_led,
    write_text_flat,
)

SIZES = (100, 1_000, 5_000, 20_000)
GROWTH_BASE = 1_000
WORDS = (
    "workers", "social", "protection", "employment", "youth", "green", "jobs", "report",
    "decent", "work", "office", "minimum", "wage", "women", "platform", "economy", "training",
    "skills", "safety", "health", "launch", "review",
)  # fmt: skip


def generate(count: int, seed: int = 7) -> list[WrittenItem]:
    """``count`` distinct items, newest first, with the usual mix of optional fields."""
    rng = random.Random(seed)
    day = dt.date(2026, 11, 1)
    items = []
    for number in range(count):
        if rng.random() < 0.5:
            day -= dt.timedelta(days=1)
        items.append(
            WrittenItem(
                title=f"{' '.join(rng.choices(WORDS, k=8)).capitalize()} {number}",
                date=day if rng.random() < 0.95 else None,
                label=rng.choice([None, "Press release", "News", "Event"]),
                summary=" ".join(rng.choices(WORDS, k=30)).capitalize() + "."
                if rng.random() < 0.8
                else "",
                credit=rng.choice([None, None, "© A. Photographer / NLO 2026"]),
            )
        )
    return items


def generate_title_less(count: int, seed: int = 7) -> list[WrittenItem]:
    """``count`` dated items with a summary and sometimes a label, for title-less pages."""
    return [
        WrittenItem(
            title="",
            date=item.date or dt.date(2020, 1, 1),
            label=item.label,
            summary=f"{item.title}. {item.summary or 'More to follow.'}",
        )
        for item in generate(count, seed)
    ]


def generate_features(count: int, seed: int = 7) -> list[WrittenItem]:
    """``count`` undated features (title and summary), as a country office's home page."""
    return [
        WrittenItem(title=item.title, date=None, summary=item.summary or "Read all about it.")
        for item in generate(count, seed)
    ]


#: rendition -> (items for a page of that size, the page's writer)
RENDITIONS: dict[str, tuple[Callable[[int], list[WrittenItem]], Callable[..., str]]] = {
    "numbered": (generate, write_text),
    "dash-separated": (generate, write_text_flat),
    "date-led": (generate_title_less, write_text_date_led),
    "bulleted": (generate_features, write_text_bulleted),
    "html item-list": (generate, write_html),
    "html blocks": (generate, write_html_blocks),
}


@contextmanager
def worker_collector() -> Iterator[None]:
    """The garbage collector as ``feedpub worker`` sets it once started, then as it was."""
    thresholds = gc.get_threshold()
    settle_collector()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def measure(document: str, repeats: int) -> tuple[float, float]:
    """Median seconds for one parse of ``document``, with cold caches: with the default
    collector, and with the worker's (the two timed in turn)."""
    context = make_context()
    default: list[float] = []
    worker: list[float] = []
    for _ in range(repeats):
        for timings in (default, worker):
            read_listing_date.cache_clear()  # every run starts cold, as a new page's does
            month_number.cache_clear()
            listing_date.cache_clear()
            forget_resolved()
            with worker_collector() if timings is worker else nullcontext():
                start = time.perf_counter()
                ilo.parse(document, context)
                timings.append(time.perf_counter() - start)
    return statistics.median(default), statistics.median(worker)


def calls_per_item(document: str, size: int) -> float:
    """Python function calls per item of one parse of ``document`` (caches cold)."""
    read_listing_date.cache_clear()
    month_number.cache_clear()
    listing_date.cache_clear()
    forget_resolved()
    context = make_context()
    profile = cProfile.Profile()
    profile.enable()
    ilo.parse(document, context)
    profile.disable()
    calls: int = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]  # set by Stats, absent from its stubs
    return calls / size


def main() -> None:
    print(
        f"{'rendition':<15} {'items':>7} {'bytes':>11} {'seconds':>9} {'items/s':>10} "
        f"{'worker GC':>10} {'growth':>7} {'calls/item':>10}"
    )
    for rendition, (items_for, write) in RENDITIONS.items():
        rows = []
        for size in SIZES:
            document = write(items_for(size))
            seconds, worker = measure(document, 5 if size <= 5_000 else 3)
            rows.append(
                (size, len(document.encode()), seconds, worker, calls_per_item(document, size))
            )
        base = next(row[2] / row[0] for row in rows if row[0] >= GROWTH_BASE)
        for size, length, seconds, worker, calls in rows:
            print(
                f"{rendition:<15} {size:>7} {length:>11,} {seconds:>9.4f} {size / seconds:>10,.0f} "
                f"{size / worker:>10,.0f} {seconds / size / base:>7.2f} {calls:>10.1f}"
            )


if __name__ == "__main__":
    main()
