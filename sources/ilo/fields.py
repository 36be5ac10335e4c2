"""The fields of one ILO listing item: what a front end hands over (``RawItem``) and how its
fields are read as ``[credit] [label] title [date] [summary]`` (``classify``).

One reading for every rendition: an item cut from an indented, a flat or an HTML page gives
the same reading. Contains no page-level decision (those are in ``grammar``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from feeds.dates import DateReading
from feeds.identity import normalise_text
from feeds.model import Diagnostic, Severity
from sources.ilo.days import listing_date

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
        "プレスリリース", "ニュース", "イベント", "声明",
    )
)  # fmt: skip

CREDIT = re.compile(r"^(?:©|\(c\)\s|copyright\s)", re.IGNORECASE)
_CLOSERS = "\"'\u201d\u2019)\u300d\u300f"
#: What ends a sentence (then maybe closers): one of these is in every sentence break or end.
_TERMINATORS = ".!?\u2026\u3002\uff01\uff1f"
_SENTENCE_END = re.compile(f"(?:[.!?\u2026][{_CLOSERS}]*|[\u3002\uff01\uff1f][{_CLOSERS}]*)$")
_SENTENCE_BREAK = re.compile(
    f"[.!?\u2026][{_CLOSERS}]*\\s+[A-Z\u00c0-\u00de]|[\u3002\uff01\uff1f][{_CLOSERS}]*\\S"
)
#: A sentence ends at a period (not an ordinal's: ``Zum 3. Mal``) before a space or the end.
#: (The period is matched before looking behind it: quicker than looking at every character.)
_FIRST_SENTENCE = re.compile(
    f"^.*?(?:[.!?\u2026](?<!\\b\\d[.!?\u2026])(?<!\\b\\d\\d[.!?\u2026])[{_CLOSERS}]*(?=\\s|$)"
    f"|[\u3002\uff01\uff1f][{_CLOSERS}]*)",
    re.DOTALL,
)
_WIDE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_CONTACT_PREFIX = re.compile(
    r"^(?:e-?mail|courriel|correo|tel|t[ée]l|t[ée]l[ée]fono|phone|fax|mobile|web|website|t|f|m)"
    r"\b\.?\s*:?\s*",
    re.IGNORECASE,
)
_CONTACT = re.compile(
    r"^(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+$"  # an e-mail address
    r"|^\+?\(?\d[\d\s().\u2013/-]{6,}\d$"  # a phone number
    r"|^(?:https?://|www\.)\S+$",  # a URL
    re.IGNORECASE,
)
_MAX_LABEL_WORDS = 6
_MIN_SENTENCE_WORDS = 8
_MAX_TITLE_WORDS = 25
#: A title taken from a summary's first sentence is cut at a word boundary to this length.
DERIVED_TITLE_CHARACTERS = 100
#: ... or, in a script written without spaces, to this many characters.
DERIVED_TITLE_WIDE_CHARACTERS = 40


@dataclass(frozen=True, slots=True)
class RawField:
    """One field of an item as a front end found it: clean text, and its first link if any.
    How the text reads as a listing date is read once, when first asked (the grammar never
    asks it of most summaries)."""

    text: str
    href: str | None = None
    _reading: DateReading | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def reading(self) -> DateReading:
        """How the text reads as a listing date (``listing_date``)."""
        reading = self._reading
        if reading is None:
            reading = listing_date(self.text)
            object.__setattr__(self, "_reading", reading)  # frozen: set once, here
        return reading


@dataclass(frozen=True, slots=True)
class RawItem:
    """One item of a listing, before interpretation.

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
class Reading:
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


def item_diagnostic(code: str, severity: Severity, message: str, raw: RawItem) -> Diagnostic:
    """A diagnostic about one item, located by its line and position."""
    return Diagnostic(
        code=code, severity=severity, message=message, line=raw.line, item=raw.position
    )


def skipped_line(
    line: int, text: str, where: str, severity: Severity = Severity.INFO
) -> Diagnostic:
    """The diagnostic for a line of a text rendition that belongs to no item."""
    return Diagnostic(
        code="skipped-line", severity=severity, message=f"{where} skipped: {text[:80]!r}", line=line
    )


def word_count(text: str) -> int:
    """Words, counting two characters of a script written without spaces as one word."""
    words = len(text.split())
    if text.isascii():  # no such script (checked far quicker than by looking for one)
        return words
    return words + len(_WIDE.findall(text)) // 2


def reads_as_sentence(text: str) -> bool:
    """True for text that reads as prose (a summary), not as a title or a label."""
    words = word_count(text)
    if words > _MAX_TITLE_WORDS:
        return True
    if not any(mark in text for mark in _TERMINATORS):
        return False  # no sentence ends in it (seen far quicker than by the patterns)
    return bool(_SENTENCE_BREAK.search(text)) or (
        bool(_SENTENCE_END.search(text)) and words >= _MIN_SENTENCE_WORDS
    )


def is_short_label(text: str) -> bool:
    """True for text short enough, and unfinished enough, to be a label."""
    return word_count(text) <= _MAX_LABEL_WORDS and not _SENTENCE_END.search(text)


def is_contact(text: str) -> bool:
    """True for a field that is only an e-mail address, a phone number or a URL."""
    return bool(_CONTACT.match(_CONTACT_PREFIX.sub("", text, count=1))) and not is_date(text)


def is_date(text: str) -> bool:
    """True for a field that has the shape of a listing date."""
    return listing_date(text).looks_like_date


def title_from_summary(summary: str) -> str:
    """The title of an item that has none: its summary's first sentence (without a final
    period), cut at a word boundary when long."""
    first = " ".join(summary.split())
    if match := _FIRST_SENTENCE.match(first):
        first = match.group()
    if first.endswith("."):
        first = first[:-1]
    if _WIDE.search(first) and " " not in first:
        if len(first) > DERIVED_TITLE_WIDE_CHARACTERS:
            first = first[:DERIVED_TITLE_WIDE_CHARACTERS] + "\u2026"
        return first.removesuffix("\u3002")
    if len(first) > DERIVED_TITLE_CHARACTERS:
        cut = first[: DERIVED_TITLE_CHARACTERS + 1].rsplit(" ", 1)[0]
        first = cut.rstrip(",;:\u2013-— ") + "\u2026"
    return first


@dataclass(frozen=True, slots=True)
class PageEvidence:
    """What the page's other items tell about reading an ambiguous one.

    Attributes:
        has_labels: Dated items carry labels before their titles.
        titleless: Most dated items have no title (their date comes first).
    """

    has_labels: bool = False
    titleless: bool = False


def page_evidence(items: Iterable[RawItem]) -> PageEvidence:
    """Look at where the dated items of a page have their date."""
    has_labels = False
    dated = date_first = 0
    for raw in items:
        kept = [f for f in raw.fields if not CREDIT.match(f.text)]
        for i, kept_field in enumerate(kept):
            if kept_field.reading.looks_like_date:
                dated += 1
                has_labels = has_labels or i >= 2
                date_first += i == 0
                break
    return PageEvidence(has_labels=has_labels, titleless=dated > 0 and date_first * 2 >= dated)


def _date_index(fields: list[RawField], evidence: PageEvidence) -> tuple[int | None, bool]:
    """Where the item's date is, and whether the item has no title."""
    index = next((i for i in range(1, len(fields)) if fields[i].reading.looks_like_date), None)
    if index is None:
        dated_first = len(fields) > 1 and fields[0].reading.looks_like_date
        return (0, True) if dated_first else (None, False)
    if index == 1:
        first = fields[0].text
        if normalise_text(first) in CONTENT_LABELS or (
            evidence.titleless and is_short_label(first)
        ):
            return 1, True  # a label, then the date: the item has no title
    return index, False


def _two_fields(
    raw: RawItem, fields: list[RawField], evidence: PageEvidence, diagnostics: list[Diagnostic]
) -> Reading:
    """An undated item of two fields: label and title, or title and summary."""
    first, second = fields[0].text, fields[1].text
    if normalise_text(first) in CONTENT_LABELS:
        as_label = True
    elif reads_as_sentence(second):
        as_label = False
    else:
        as_label = is_short_label(first) and (evidence.has_labels or len(first) * 2 <= len(second))
    if as_label:
        reading = Reading(raw=raw, title=second, labels=[first])
        decision = f"read as label {first!r} and title {second!r}"
    else:
        reading = Reading(raw=raw, title=first, summary=second)
        decision = f"read as title {first!r} and summary"
    diagnostics.append(
        item_diagnostic(
            "ambiguous-item",
            Severity.INFO,
            f"undated item with two fields (label and title, or title and summary): {decision}",
            raw,
        )
    )
    return reading


def classify(raw: RawItem, evidence: PageEvidence, diagnostics: list[Diagnostic]) -> Reading | None:
    """Read an item's fields, or ``None`` (with a diagnostic) for an item with no title."""
    fields = list(raw.fields)
    credit = None
    if fields and CREDIT.match(fields[0].text):
        credit = fields.pop(0).text
    if not fields:
        diagnostics.append(
            item_diagnostic("empty-item", Severity.WARNING, "item has no title: skipped", raw)
        )
        return None
    if all(is_contact(f.text) for f in fields):
        diagnostics.append(
            item_diagnostic(
                "contact-item",
                Severity.WARNING,
                f"item is only contact details, not news: skipped: {fields[0].text[:80]!r}",
                raw,
            )
        )
        return None
    date_index, titleless = _date_index(fields, evidence)
    title = fields[0]
    if date_index is not None and titleless:
        summary = "\n\n".join(f.text for f in fields[date_index + 1 :])
        if not summary:
            diagnostics.append(
                item_diagnostic(
                    "empty-item", Severity.WARNING, "item has a date but no text: skipped", raw
                )
            )
            return None
        title = fields[date_index + 1]
        reading = Reading(
            raw=raw,
            title=title_from_summary(summary),
            date_text=fields[date_index].text,
            labels=[f.text for f in fields[:date_index]],
            summary=summary,
        )
        diagnostics.append(
            item_diagnostic(
                "title-from-summary",
                Severity.INFO,
                f"item has no title: titled by its summary's first sentence {reading.title!r}",
                raw,
            )
        )
    elif date_index is not None:
        title = fields[date_index - 1]
        reading = Reading(
            raw=raw,
            title=title.text,
            date_text=fields[date_index].text,
            labels=[f.text for f in fields[: date_index - 1]],
            summary="\n\n".join(f.text for f in fields[date_index + 1 :]),
        )
    elif len(fields) == 2:
        reading = _two_fields(raw, fields, evidence, diagnostics)
        title = fields[1] if reading.labels else fields[0]
    else:
        title_index = 0 if len(fields) == 1 else 1
        title = fields[title_index]
        reading = Reading(
            raw=raw,
            title=title.text,
            labels=[f.text for f in fields[:title_index]],
            summary="\n\n".join(f.text for f in fields[title_index + 1 :]),
        )
    reading.credit = credit
    reading.normalised_title = normalise_text(reading.title)
    if date_index is not None:  # the field read as the date_text
        reading.date = fields[date_index].reading.date
        if reading.date is None:
            diagnostics.append(
                item_diagnostic(
                    "invalid-date",
                    Severity.WARNING,
                    f"{reading.date_text!r} is not a possible date: item treated as undated",
                    raw,
                )
            )
    reading.link = title.href or next((f.href for f in raw.fields if f.href), None) or raw.link
    return reading


def drop_cut_item(items: list[RawItem]) -> Diagnostic | None:
    """A page cut short ends in the middle of an item: on a page of dated items, a last item
    with no date is one. Drops it from ``items`` and says so."""
    if len(items) < 2 or not any(_dated(item) for item in items[:-1]) or _dated(items[-1]):
        return None
    last = items.pop()
    first = last.fields[0].text if last.fields else ""
    return Diagnostic(
        code="cut-item",
        severity=Severity.WARNING,
        message=f"the page ends in the middle of an item (no date): dropped: {first[:80]!r}",
        line=last.line,
        item=last.position,
    )


def _dated(item: RawItem) -> bool:
    return any(f.reading.looks_like_date for f in item.fields)
