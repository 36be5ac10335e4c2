"""The grammar of an ILO listing, shared by its text and HTML front ends.

A front end reduces a page to ``RawItem`` values (the item's fields as text, in order, with
the group heading it stood under); ``interpret`` decides which field is the credit, label,
title, date and summary, gives each item its identity and dates, and reports what it decided.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from feeds.dates import page_order_instants
from feeds.identity import entry_id
from feeds.model import Diagnostic, Entry, PageContext, ParseResult, Severity
from sources.ilo.fields import (
    CONTENT_LABELS,
    RawField,
    RawItem,
    Reading,
    classify,
    is_contact,
    item_diagnostic,
    page_evidence,
    reads_as_sentence,
)

__all__ = ["CONTENT_LABELS", "RawField", "RawItem", "interpret"]

#: An undated page is a listing of features when at least this many items (and most) are.
_MIN_FEATURES = 2


def interpret(items: Iterable[RawItem], context: PageContext) -> ParseResult:
    """Turn a page's raw items into entries (in page order) and diagnostics."""
    raw_items = list(items)
    diagnostics: list[Diagnostic] = []
    evidence = page_evidence(raw_items)
    readings: list[Reading] = []
    seen: dict[tuple[str, str, str], Reading] = {}
    for raw in raw_items:
        reading = classify(raw, evidence, diagnostics)
        if reading is None:
            continue
        key = (
            reading.normalised_title,
            reading.date.isoformat() if reading.date else "",
            reading.summary,
        )
        if (first := seen.get(key)) is not None:
            first.labels.extend(lb for lb in reading.labels if lb not in first.labels)
            diagnostics.append(
                item_diagnostic(
                    "duplicate-item",
                    Severity.INFO,
                    f"{reading.title!r} is listed again (as item {first.raw.position}): "
                    "published once",
                    raw,
                )
            )
            continue
        seen[key] = reading
        readings.append(reading)

    entries = _entries(readings, context, diagnostics)
    if not any(entry.date for entry in entries):
        refusal = _undated_page_refusal(raw_items, readings)
        if refusal is None:
            diagnostics.append(
                Diagnostic(
                    code="undated-listing",
                    severity=Severity.WARNING,
                    message=f"no item of the page has a date: its {len(entries)} items (titles "
                    "with summaries) are published at the time they are first seen",
                )
            )
        else:
            diagnostics = [d for d in diagnostics if d.code != "undated-item"]
            diagnostics.append(
                Diagnostic(
                    code="not-a-listing",
                    severity=Severity.ERROR,
                    message=f"the page does not look like a news listing ({refusal}): "
                    "nothing published",
                )
            )
            entries = []
    return ParseResult(entries=tuple(entries), diagnostics=tuple(diagnostics))


def _is_feature(reading: Reading) -> bool:
    """An undated item that reads as news: a title that is no sentence, a summary that is
    one, and no contact details."""
    fields = (reading.title, *reading.labels, reading.summary)
    return (
        not reads_as_sentence(reading.title)
        and reads_as_sentence(reading.summary)
        and not any(is_contact(part) for text in fields for part in text.split("\n\n"))
    )


def _undated_page_refusal(raw_items: list[RawItem], readings: list[Reading]) -> str | None:
    """Why a page with no dated item is refused, or ``None`` for a list of undated features
    (a country office's home page): most items have a title and a summary."""
    if not raw_items:
        return "no numbered item"
    if readings and all(
        not r.labels and not r.summary and reads_as_sentence(r.title) for r in readings
    ):
        return "its items are bare summary lines, with no title or date to key an entry on"
    features = sum(1 for r in readings if _is_feature(r))
    if features >= _MIN_FEATURES and features * 2 > len(readings):
        return None
    return "no dated item"


def _entries(
    readings: list[Reading], context: PageContext, diagnostics: list[Diagnostic]
) -> list[Entry]:
    """Give each reading its identity and publication instant, in page order."""
    for reading in readings:
        if reading.date is None:
            diagnostics.append(
                item_diagnostic(
                    "undated-item",
                    Severity.INFO,
                    f"{reading.title!r} has no date: published at the time it is first seen",
                    reading.raw,
                )
            )

    # Different items sharing title and date: the last listed (the oldest) keeps the plain id,
    # the others are told apart by their summary.
    title_dates = Counter((r.normalised_title, r.date) for r in readings)
    remaining_title_date = Counter(title_dates)
    instants = page_order_instants([r.date for r in readings], context.timezone, context.seen_at)
    entries = []
    for reading, published in zip(readings, instants, strict=True):
        date = reading.date
        title_date = (reading.normalised_title, date)
        remaining_title_date[title_date] -= 1
        discriminator = ""
        if remaining_title_date[title_date] > 0:
            discriminator = reading.summary or "(no summary)"
            diagnostics.append(
                item_diagnostic(
                    "shared-title",
                    Severity.INFO,
                    f"{reading.title!r} is shared by {title_dates[title_date]} different items "
                    "of the same date: told apart by their summaries",
                    reading.raw,
                )
            )
        entries.append(
            Entry(
                id=entry_id(context.identity_key, reading.title, date, discriminator),
                source_id=context.source_id,
                title=reading.title,
                link=reading.link or "",
                page_url=context.page_url,
                date=date,
                published=published,
                summary=reading.summary,
                labels=tuple(reading.labels),
                credit=reading.credit,
                group=reading.raw.group,
            )
        )
    return entries
