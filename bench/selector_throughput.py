"""Benchmark: selector adapter (``kind = "html"``) parse throughput by page shape and size.

Run: ``.venv/bin/python -m bench.selector_throughput``. The pages are those of
``bench.parse_throughput`` in HTML, read with the selectors a source would declare for them
(one page with a date selector, one whose dates are found in elements made for one). The
columns are those of ``bench.parse_throughput``: items per second (with the default garbage
collector, and with the worker's) should stay flat as pages grow, ``growth`` near 1, and
``calls/item`` (independent of the machine's load) flat.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from bench.parse_throughput import GROWTH_BASE, SIZES, generate, worker_collector
from feeds.links import forget_resolved
from feeds.model import Adapter
from sources import ADAPTERS
from tests.conftest import make_context
from tests.listing_writer import WrittenItem, write_html, write_html_blocks

#: page shape -> (the page's writer, the source's selectors)
SHAPES: dict[str, tuple[Callable[[list[WrittenItem]], str], dict[str, Any]]] = {
    "item list": (
        write_html,
        {
            "item": "ol.item-list > li",
            "title": ".item-title",
            "date": ".item-date",
            "summary": ".item-summary",
            "label": ".item-prehead",
        },
    ),
    "blocks": (
        write_html_blocks,
        {"item": ".views-row", "title": "h4", "summary": ".field-summary"},
    ),
}


def measure(parse: Adapter, document: str, repeats: int) -> tuple[float, float]:
    """Median seconds for one parse of ``document``, with links resolved afresh: with the
    default collector, and with the worker's (the two timed in turn)."""
    context = make_context()
    default: list[float] = []
    worker: list[float] = []
    for _ in range(repeats):
        for timings in (default, worker):
            forget_resolved()
            with worker_collector() if timings is worker else nullcontext():
                start = time.perf_counter()
                parse(document, context)
                timings.append(time.perf_counter() - start)
    return statistics.median(default), statistics.median(worker)


def calls_per_item(parse: Adapter, document: str, size: int) -> float:
    """Python function calls per item of one parse of ``document``."""
    forget_resolved()
    context = make_context()
    profile = cProfile.Profile()
    profile.enable()
    parse(document, context)
    profile.disable()
    calls: int = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]  # set by Stats, absent from its stubs
    return calls / size


def main() -> None:
    print(
        f"{'page':<15} {'items':>7} {'bytes':>11} {'seconds':>9} {'items/s':>10} "
        f"{'worker GC':>10} {'growth':>7} {'calls/item':>10}"
    )
    for shape, (write, selectors) in SHAPES.items():
        parse = ADAPTERS["html"](selectors)
        rows = []
        for size in SIZES:
            document = write(generate(size))
            seconds, worker = measure(parse, document, 5 if size <= 5_000 else 3)
            calls = calls_per_item(parse, document, size)
            rows.append((size, len(document.encode()), seconds, worker, calls))
        base = next(row[2] / row[0] for row in rows if row[0] >= GROWTH_BASE)
        for size, length, seconds, worker, calls in rows:
            print(
                f"{shape:<15} {size:>7} {length:>11,} {seconds:>9.4f} {size / seconds:>10,.0f} "
                f"{size / worker:>10,.0f} {seconds / size / base:>7.2f} {calls:>10.1f}"
            )


if __name__ == "__main__":
    main()
