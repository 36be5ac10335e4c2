"""The grammar of an ILO listing, shared by its text and HTML front ends.

A front end reduces a page to ``RawItem`` values (the item's fields as text, in order, with
the group heading it stood under); ``interpret`` decides which field is the credit, label,
title, date and summary, gives each item its identity and dates, and reports what it decided.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from feeds.dates import page_order_instants, read_listing_date
from feeds.identity import entry_id, normalise_text
from feeds.model import Diagnostic, Entry, PageContext, ParseResult, Severity

#: Labels that name a kind of content: a two-field undated item starting with one is
#: certainly "label, title". Compared after ``normalise_text``.
CONTENT_LABELS = frozenset(
    normalise_text(label)
    for label in (
        "Press release", "News", "Event", "Events", "Statement", "Media advisory", "Video",
        "Feature", "Article", "Comment", "Speech", "Publication", "Podcast", "Interview",
        "Opinion", "Blog", "Infostory", "Photo gallery", "Announcement", "Meeting", "Webinar",
        "Communiqué de presse", "Actualité", "Événement", "Déclaration", "Avis aux médias",
        "Comunicado de prensa", "Noticia", "Evento", "Declaración", "Nota informativa",
        "Comunicado de imprensa", "Notícia", "Declaração",
        "Pressemitteilung", "Nachricht", "Veranstaltung", "Erklärung",
    )
)  # fmt: skip

_CREDIT = re.compile(r"^(?:©|\(c\)\s|copyright\s)", re.IGNORECASE)
_CLOSERS = "\"'\u201d\u2019)"
_SENTENCE_END = re.compile(f"[.!?\u2026][{_CLOSERS}]*$")
_SENTENCE_BREAK = re.compile(f"[.!?\u2026][{_CLOSERS}]*\\s+[A-Z\u00c0-\u00de]")
_MAX_LABEL_WORDS = 6
_MIN_SENTENCE_WORDS = 8
_MAX_TITLE_WORDS = 25


@dataclass(frozen=True, slots=True)
class RawField:
    """One field of an item as a front end found it: clean text, and its first link if any."""

    text: str
    href: str | None = None


@dataclass(frozen=True, slots=True)
class RawItem:
    """One numbered item of a listing, before interpretation.

    Attributes:
        fields: The item's non-empty fields, in page order.
        group: The heading the item stood under, or ``None``.
        position: The item's 1-based position on the page (for diagnostics only).
        line: The 1-based line of the document where the item starts, if known.
        link: A link for the item found outside its fields (an image link), if any.
    """

    fields: tuple[RawField, ...]
    group: str | None
    position: int
    line: int | None = None
    link: str | None = None


@dataclass(slots=True)
class _Reading:
    """An item once its fields are classified."""

    raw: RawItem
    title: str
    normalised_title: str = ""
    date_text: str | None = None
    date: dt.date | None = None
    labels: list[str] = field(default_factory=list)
    summary: str = ""
    credit: str | None = None
    link: str | None = None


def _diagnostic(code: str, severity: Severity, message: str, raw: RawItem) -> Diagnostic:
    return Diagnostic(
        code=code, severity=severity, message=message, line=raw.line, item=raw.position
    )


def _reads_as_sentence(text: str) -> bool:
    words = len(text.split())
    return (
        words > _MAX_TITLE_WORDS
        or bool(_SENTENCE_BREAK.search(text))
        or (bool(_SENTENCE_END.search(text)) and words >= _MIN_SENTENCE_WORDS)
    )


def _is_short_label(text: str) -> bool:
    return len(text.split()) <= _MAX_LABEL_WORDS and not _SENTENCE_END.search(text)


def _classify(
    raw: RawItem, page_has_labels: bool, diagnostics: list[Diagnostic]
) -> _Reading | None:
    fields = list(raw.fields)
    credit = None
    if fields and _CREDIT.match(fields[0].text):
        credit = fields.pop(0).text
    if not fields:
        diagnostics.append(
            _diagnostic("empty-item", Severity.WARNING, "item has no title: skipped", raw)
        )
        return None
    date_index = next(
        (i for i in range(1, len(fields)) if read_listing_date(fields[i].text).looks_like_date),
        None,
    )
    if date_index is not None:
        title = fields[date_index - 1]
        reading = _Reading(
            raw=raw,
            title=title.text,
            date_text=fields[date_index].text,
            labels=[f.text for f in fields[: date_index - 1]],
            summary="\n\n".join(f.text for f in fields[date_index + 1 :]),
        )
    elif len(fields) == 2:
        first, second = fields[0].text, fields[1].text
        if normalise_text(first) in CONTENT_LABELS:
            as_label = True
        elif _reads_as_sentence(second):
            as_label = False
        else:
            as_label = _is_short_label(first) and (page_has_labels or len(first) * 2 <= len(second))
        if as_label:
            title = fields[1]
            reading = _Reading(raw=raw, title=second, labels=[first])
            decision = f"read as label {first!r} and title {second!r}"
        else:
            title = fields[0]
            reading = _Reading(raw=raw, title=first, summary=second)
            decision = f"read as title {first!r} and summary"
        diagnostics.append(
            _diagnostic(
                "ambiguous-item",
                Severity.INFO,
                f"undated item with two fields (label and title, or title and summary): {decision}",
                raw,
            )
        )
    else:
        title_index = 0 if len(fields) == 1 else 1
        title = fields[title_index]
        reading = _Reading(
            raw=raw,
            title=title.text,
            labels=[f.text for f in fields[:title_index]],
            summary="\n\n".join(f.text for f in fields[title_index + 1 :]),
        )
    reading.credit = credit
    reading.normalised_title = normalise_text(reading.title)
    if reading.date_text is not None:
        reading.date = read_listing_date(reading.date_text).date
        if reading.date is None:
            diagnostics.append(
                _diagnostic(
                    "invalid-date",
                    Severity.WARNING,
                    f"{reading.date_text!r} is not a possible date: item treated as undated",
                    raw,
                )
            )
    reading.link = title.href or next((f.href for f in raw.fields if f.href), None) or raw.link
    return reading


def _page_has_labels(items: Iterable[RawItem]) -> bool:
    """True when dated items of the page carry labels: evidence for reading undated ones."""
    for raw in items:
        texts = [f.text for f in raw.fields if not _CREDIT.match(f.text)]
        for i in range(1, len(texts)):
            if read_listing_date(texts[i]).looks_like_date:
                if i >= 2:
                    return True
                break
    return False


def interpret(items: Iterable[RawItem], context: PageContext) -> ParseResult:
    """Turn a page's raw items into entries (in page order) and diagnostics."""
    raw_items = list(items)
    diagnostics: list[Diagnostic] = []
    page_has_labels = _page_has_labels(raw_items)
    readings: list[_Reading] = []
    seen: dict[tuple[str, str, str], _Reading] = {}
    for raw in raw_items:
        reading = _classify(raw, page_has_labels, diagnostics)
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
                _diagnostic(
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
        what = "no numbered item" if not raw_items else "no dated item"
        diagnostics = [d for d in diagnostics if d.code != "undated-item"]
        diagnostics.append(
            Diagnostic(
                code="not-a-listing",
                severity=Severity.ERROR,
                message=f"the page does not look like a news listing ({what}): nothing published",
            )
        )
        entries = []
    return ParseResult(entries=tuple(entries), diagnostics=tuple(diagnostics))


def _entries(
    readings: list[_Reading], context: PageContext, diagnostics: list[Diagnostic]
) -> list[Entry]:
    """Give each reading its identity and publication instant, in page order."""
    for reading in readings:
        if reading.date is None:
            diagnostics.append(
                _diagnostic(
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
                _diagnostic(
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
