"""Benchmark: ILO listing parse throughput (items per second) in both forms, by page size.

Run: ``.venv/bin/python -m bench.parse_throughput``. Prints one row per form and size; the
items-per-second column should stay flat as pages grow (the parser is linear in page size).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time

from feeds.dates import month_number, read_listing_date
from sources import ilo
from tests.conftest import make_context
from tests.listing_writer import WrittenItem, write_html, write_text

SIZES = (100, 1_000, 5_000, 20_000)
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


def measure(document: str, repeats: int) -> float:
    """Median seconds for one parse of ``document``, with cold caches."""
    context = make_context()
    timings = []
    for _ in range(repeats):
        read_listing_date.cache_clear()  # every run starts cold, as a refresh of a new page does
        month_number.cache_clear()
        start = time.perf_counter()
        ilo.parse(document, context)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    print(f"{'form':<5} {'items':>7} {'bytes':>11} {'seconds':>9} {'items/s':>10}")
    for size in SIZES:
        items = generate(size)
        for form, document in (("text", write_text(items)), ("html", write_html(items))):
            seconds = measure(document, repeats=5 if size <= 5_000 else 3)
            print(
                f"{form:<5} {size:>7} {len(document.encode()):>11,} {seconds:>9.4f} "
                f"{size / seconds:>10,.0f}"
            )


if __name__ == "__main__":
    main()
