"""The data feedpub's core works on: entries, parse diagnostics and parse results.

Frozen values; adapters produce them, the ledger stores them, the renderers read them. An
``Entry`` cleans and bounds what it holds when it is made, however it is made (an adapter, the
ledger reading a row, ``dataclasses.replace``): no entry carries text a feed cannot hold.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import InitVar, dataclass, field
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from feeds.identity import listing_key
from feeds.links import web_url
from feeds.text import clean_paragraphs, clean_text, shorten

UTC = dt.UTC

#: The most characters an entry's title keeps: a longer one is cut at a word, with an ellipsis.
TITLE_LIMIT = 1_000
#: The most characters an entry's summary keeps (its paragraphs' breaks included).
SUMMARY_LIMIT = 10_000
#: The most characters of each label, of the credit line and of the group heading.
LABEL_LIMIT = 200
CREDIT_LIMIT = 500
GROUP_LIMIT = 500
#: The most labels an entry keeps (the first ones, in page order).
MAX_LABELS = 20
#: What XML 1.0 cannot carry at all: an id holding one is refused (ids are never rewritten).
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


_NO_OFFSET = dt.timedelta(0)


def require_utc(value: dt.datetime, name: str) -> None:
    """Raise ``ValueError`` unless ``value`` is an aware datetime in UTC."""
    if value.tzinfo is UTC:
        return
    if value.tzinfo is None or value.utcoffset() != _NO_OFFSET:
        raise ValueError(f"{name} must be an aware UTC datetime, got {value!r}")


@dataclass(frozen=True, slots=True)
class Cut:
    """What an entry cut to its bounds: a field (``title``, ``summary``, ``labels``, ...) and
    how long it was (characters; for ``labels``, how many there were)."""

    field: str
    length: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One news item as feedpub publishes it.

    Made, it is clean: every text has its forbidden, invisible and bidirectional formatting
    characters removed and its whitespace collapsed (a summary keeps its paragraphs), and is
    bounded (``TITLE_LIMIT``, ``SUMMARY_LIMIT``, ``LABEL_LIMIT``, ``CREDIT_LIMIT``,
    ``GROUP_LIMIT``, ``MAX_LABELS``); its link and image are valid absolute http(s) URLs
    (``feeds.links.web_url``). ``ValueError`` for an entry without an id, a title or a link.

    Attributes:
        id: The entry's identity, an IRI computed once by ``feeds.identity.entry_id`` (a
            ``urn:uuid:``, or a feed's own id); the same in RSS, Atom and JSON, forever.
        source_id: The id of the source (listing) the entry came from.
        title: The item's title, plain text with whitespace collapsed.
        link: The item's own URL where the page gives one, else the listing page's URL.
        date: The calendar day the listing gives for the item, in the source's time zone;
            ``None`` for an undated item.
        published: When the item was published, an aware UTC datetime: the start of ``date``
            in the source's time zone (plus a page-order offset of a few seconds), or, for an
            undated item, the time it was first seen.
        summary: The item's summary as plain text (paragraphs separated by a blank line);
            empty when the listing gives none.
        labels: The item's labels ("Press release", "Event", a topic), in page order.
        credit: The image credit line shown with the item ("© A. Photographer / ILO 2023"),
            never used as a title or a date.
        group: The heading the item stood under on the page ("March 2021", "What's new"),
            or ``None``.
        image: The URL of the item's image, or ``None`` (also for one that is not a valid
            http(s) URL).
        cuts: What was cut to its bounds when the entry was made, for its parse result to
            report (``ParseResult`` does); not stored, not compared.
        page_url: Only given when made: the listing page's URL, the entry's link when its
            own is empty or not a valid http(s) URL (taken as the caller gives it: a local
            file's when previewing one).
    """

    id: str
    source_id: str
    title: str
    link: str
    date: dt.date | None
    published: dt.datetime
    summary: str = ""
    labels: tuple[str, ...] = ()
    credit: str | None = None
    group: str | None = None
    image: str | None = None
    cuts: tuple[Cut, ...] = field(default=(), compare=False, repr=False)
    page_url: InitVar[str | None] = None

    def __post_init__(self, page_url: str | None) -> None:
        if not self.id or _XML_FORBIDDEN.search(self.id):
            raise ValueError(f"an entry needs an id XML can carry, got {self.id!r}")
        cuts = list(self.cuts)
        title = _bounded(self.id, "title", self.title, cuts)
        if not title:
            raise ValueError(f"entry {self.id}: an entry needs a title")
        require_utc(self.published, f"entry {self.id}: published")
        link = web_url(self.link) if isinstance(self.link, str) else None
        if link is None and page_url:
            # the caller's own listing page (configured as http(s); a local file in previews)
            link = web_url(page_url) or (None if _XML_FORBIDDEN.search(page_url) else page_url)
        if link is None:
            raise ValueError(f"entry {self.id}: not an http(s) URL: {self.link!r}")
        labels: tuple[str, ...] = ()  # (most entries have none)
        if self.labels != ():
            labels = tuple(  # each once, in order: cleaning can make two labels one
                dict.fromkeys(
                    filter(None, (_bounded(self.id, "label", label, cuts) for label in self.labels))
                )
            )
        if len(labels) > MAX_LABELS:
            cuts.append(Cut("labels", len(labels)))
            labels = labels[:MAX_LABELS]
        summary = _bounded(self.id, "summary", self.summary, cuts)
        set_field = object.__setattr__  # the dataclass is frozen: set once, here
        set_field(self, "title", title)
        set_field(self, "link", link)
        set_field(self, "summary", summary)
        set_field(self, "labels", labels)
        if self.credit is not None:
            credit = _bounded(self.id, "credit", self.credit, cuts)
            set_field(self, "credit", credit or None)
        if self.group is not None:
            group = _bounded(self.id, "group", self.group, cuts)
            set_field(self, "group", group or None)
        if self.image is not None:
            set_field(self, "image", web_url(self.image) if isinstance(self.image, str) else None)
        set_field(self, "cuts", tuple(cuts))


#: How each text field of an entry is cleaned, and the most characters it keeps.
_BOUNDS: dict[str, tuple[int, Callable[[str], str]]] = {
    "title": (TITLE_LIMIT, clean_text),
    "summary": (SUMMARY_LIMIT, clean_paragraphs),
    "label": (LABEL_LIMIT, clean_text),
    "credit": (CREDIT_LIMIT, clean_text),
    "group": (GROUP_LIMIT, clean_text),
}


def _bounded(entry_id: str, name: str, text: str, cuts: list[Cut]) -> str:
    """``text`` cleaned and cut to its field's bound (noting the cut in ``cuts``)."""
    if not isinstance(text, str):
        raise ValueError(f"entry {entry_id}: {name} is not text: {text!r}")
    limit, clean = _BOUNDS[name]
    text = clean(text)
    if len(text) > limit:
        cuts.append(Cut(name, len(text)))
        text = shorten(text, limit)
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEntry:
    """An entry as the ledger keeps it: the entry, and when it was first seen and last changed.

    Attributes:
        entry: The entry; its ``published`` is the stored one, decided once.
        first_seen: When feedpub first saw the item.
        updated: When its title, summary or labels last changed (its ``published`` until then).
        content_html: The body of the article its link leads to, as sanitised HTML
            (``full_text`` sources), or empty.
    """

    entry: Entry
    first_seen: dt.datetime
    updated: dt.datetime
    content_html: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LeftOut:
    """An entry left out of what is published, and why: a stored row that cannot be an entry
    (it holds what the model refuses), or an entry a feed could not be rendered with.

    Attributes:
        source_id: The source of the entry.
        entry_id: Its id (as stored).
        reason: What is wrong, in words.
    """

    source_id: str
    entry_id: str
    reason: str


class Severity(StrEnum):
    """How much a diagnostic matters to the person configuring a source."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    """Something an adapter decided or could not decide, for the user to see.

    Attributes:
        code: A short stable name (``undated-item``, ``ambiguous-item``, ``skipped-line``,
            ``duplicate-item``, ``shared-title``, ``not-a-listing``, ...).
        severity: How much it matters.
        message: What happened, in words.
        line: The 1-based line of the document it concerns (text renditions), if any.
        item: The 1-based position of the item on the page it concerns, if any.
    """

    code: str
    severity: Severity
    message: str
    line: int | None = None
    item: int | None = None


_LIMITS = {
    "title": TITLE_LIMIT,
    "summary": SUMMARY_LIMIT,
    "label": LABEL_LIMIT,
    "credit": CREDIT_LIMIT,
    "group": GROUP_LIMIT,
    "labels": MAX_LABELS,
}


def cut_diagnostic(entry: Entry) -> Diagnostic | None:
    """A ``cut-text`` warning saying what the entry cut to its bounds, if anything."""
    if not entry.cuts:
        return None
    what = ", ".join(
        f"its {cut.length} labels to {MAX_LABELS}"
        if cut.field == "labels"
        else f"its {cut.field} of {cut.length} characters to {_LIMITS[cut.field]}"
        for cut in entry.cuts
    )
    return Diagnostic(
        code="cut-text",
        severity=Severity.WARNING,
        message=f"{shorten(entry.title, 80)!r} ({entry.id}): cut {what}",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseResult:
    """What an adapter found in one document.

    Attributes:
        entries: The entries, in page order.
        diagnostics: What the adapter decided or could not decide, and what its entries cut
            to their bounds (``cut-text``, added when the result is made).
        next_page: The URL of the listing's next page, where the page tells it, else ``None``.
        items_on_page: How many items the page showed, if not one per entry.
        instants_from_days: The entries' instants were derived from calendar days and page
            order (a listing), not given by the document (a feed): across the pages of one
            listing they are decided again together.
    """

    entries: tuple[Entry, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    next_page: str | None = None
    items_on_page: int | None = None
    instants_from_days: bool = True

    def __post_init__(self) -> None:
        # what the entries cut to their bounds is said here, once, whichever adapter made them
        cut = [d for d in map(cut_diagnostic, self.entries) if d is not None]
        if cut:  # (most pages cut nothing: their diagnostics are not looked through)
            said = set(self.diagnostics)
            added = [d for d in cut if d not in said]
            if added:
                object.__setattr__(self, "diagnostics", (*self.diagnostics, *added))

    @property
    def item_count(self) -> int:
        """How many items the page showed (duplicates included): what pagination offsets
        count."""
        return len(self.entries) if self.items_on_page is None else self.items_on_page

    @property
    def is_listing(self) -> bool:
        """False when the adapter judged the document not to be a listing at all."""
        return not any(d.code == "not-a-listing" for d in self.diagnostics)


@dataclass(frozen=True, slots=True, kw_only=True)
class PageContext:
    """What an adapter needs to know about the page it parses, besides the page itself.

    Attributes:
        source_id: The configured id of the source.
        page_url: The URL the page was fetched from: the fallback link of its entries and
            the base of relative links. Host and scheme do not affect identity.
        timezone: The zone in which the listing's calendar dates are read.
        seen_at: The moment the page was fetched (injected, never read from a clock here):
            the provisional publication time of undated items.
        identity_key: What identifies the listing in entry ids; by default the page URL
            without scheme, ``www.``, pagination or query (see ``feeds.identity``).
    """

    source_id: str
    page_url: str
    timezone: ZoneInfo
    seen_at: dt.datetime
    identity_key: str = field(default="")

    def __post_init__(self) -> None:
        require_utc(self.seen_at, "seen_at")
        if not self.identity_key:
            object.__setattr__(self, "identity_key", listing_key(self.page_url))


class Adapter(Protocol):
    """What every source adapter is: a pure function from a document to a parse result.

    ``document`` is the page's text (already decoded); it raises ``ParseError`` (naming the
    page) only for documents it cannot read at all.
    """

    def __call__(self, document: str, context: PageContext) -> ParseResult: ...


class ArticleExtractor(Protocol):
    """What extracts an article: a pure function from an article page (its text, fetched from
    ``url``) to its body as sanitised HTML; ``selector`` (CSS) names the body's element when
    not empty. Raises ``ParseError`` (naming the page) for a page that gives no article."""

    def __call__(self, document: str, *, url: str, selector: str = "") -> str: ...


#: Makes a source's adapter from its options (its ``[sources.selectors]`` table); raises
#: ``ValueError("key: what is wrong")`` for options it cannot use.
AdapterFactory = Callable[[Mapping[str, Any]], Adapter]


def entry_record(entry: Entry) -> dict[str, object]:
    """An entry as a JSON-ready dict (``date`` as ``YYYY-MM-DD``, ``published`` as ISO 8601)."""
    return {
        "id": entry.id,
        "source_id": entry.source_id,
        "title": entry.title,
        "link": entry.link,
        "date": entry.date.isoformat() if entry.date else None,
        "published": entry.published.isoformat().replace("+00:00", "Z"),
        "labels": list(entry.labels),
        "credit": entry.credit,
        "summary": entry.summary,
        "group": entry.group,
        "image": entry.image,
    }


def diagnostic_record(diagnostic: Diagnostic) -> dict[str, object]:
    """A diagnostic as a JSON-ready dict."""
    return {
        "code": diagnostic.code,
        "severity": str(diagnostic.severity),
        "message": diagnostic.message,
        "line": diagnostic.line,
        "item": diagnostic.item,
    }
