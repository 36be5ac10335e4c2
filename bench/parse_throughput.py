"""Benchmark: ILO listing parse throughput (items per second) by rendition and page size.

Run: ``.venv/bin/python -m bench.parse_throughput``. Prints one row per rendition and size; the
items-per-second column should stay flat as pages grow (the parser is linear in page size), and
the ``growth`` column (seconds per item, relative to the 1,000-item page: the smallest page
is too quick to time steadily) should stay near 1. ``calls/item`` (Python function calls per
item, from one profiled parse) does not depend on the machine's load: flat means linear.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import pstats
import random
import statistics
import time
from collections.abc import Callable

from feeds.dates import month_number, read_listing_date
from feeds.links import forget_resolved
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


def measure(document: str, repeats: int) -> float:
    """Median seconds for one parse of ``document``, with cold caches."""
    context = make_context()
    timings = []
    for _ in range(repeats):
        read_listing_date.cache_clear()  # every run starts cold, as a refresh of a new page does
        month_number.cache_clear()
        listing_date.cache_clear()
        forget_resolved()
        start = time.perf_counter()
        ilo.parse(document, context)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


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
        f"{'growth':>7} {'calls/item':>10}"
    )
    for rendition, (items_for, write) in RENDITIONS.items():
        rows = []
        for size in SIZES:
            document = write(items_for(size))
            seconds = measure(document, 5 if size <= 5_000 else 3)
            rows.append((size, len(document.encode()), seconds, calls_per_item(document, size)))
        base = next(seconds / size for size, _, seconds, _ in rows if size >= GROWTH_BASE)
        for size, length, seconds, calls in rows:
            print(
                f"{rendition:<15} {size:>7} {length:>11,} {seconds:>9.4f} "
                f"{size / seconds:>10,.0f} {seconds / size / base:>7.2f} {calls:>10.1f}"
            )


if __name__ == "__main__":
    main()
