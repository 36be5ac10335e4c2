"""The feed adapter's intermediate data: one feed's items as plain values, read from RSS, Atom or
JSON Feed, and the helpers both readers share (markup to plain text, links, timestamps).

Computes no identity and no publication instant: ``sources.feed`` does.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

from feeds.dates import MAX_YEAR, MIN_YEAR
from feeds.links import web_url
from feeds.model import UTC
from feeds.text import clean_text

#: How long a title made from the start of a summary may be, ellipsis excluded.
SUMMARY_TITLE_LENGTH = 80

_BARE_DAY = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})\s*")
_MARKUP = re.compile(r"<[A-Za-z/!?]|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]\w*);")
_TAG = re.compile(r"<[^>]*>")
#: Elements whose end separates words (``<p>a</p><p>b</p>`` reads "a b", not "ab").
_BLOCK_ELEMENTS = (
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p",
    "pre", "section", "table", "td", "th", "tr", "ul",
)  # fmt: skip
#: Elements whose text is never meant to be read.
_HIDDEN_ELEMENTS = ("script", "style", "template", "noscript")


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemDate:
    """When an item was published, as its feed says it.

    Attributes:
        instant: When, as an aware UTC instant to the second.
        day: The calendar day, when the feed gives a bare day (``2026-03-05``), not an instant.
        unread: A date the item gives that could not be read, when it gives no other.
    """

    instant: dt.datetime | None = None
    day: dt.date | None = None
    unread: str | None = None

    def __post_init__(self) -> None:
        if self.instant is not None and self.day is not None:
            raise ValueError("an item date is an instant or a day, not both")


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedItem:
    """One item of a feed, as its feed gives it, made plain.

    Attributes:
        position: The item's 1-based position in the feed.
        native_id: The id the feed gives the item (RSS ``guid``, Atom ``id``, JSON ``id``).
        title: The title as plain text; empty when the item has none.
        link: The item's own absolute http(s) URL, or ``None``.
        summary: The summary (else the content) as plain text; empty when there is none.
        published: When it was published (else updated), as the feed says it.
        labels: Its categories or tags, distinct, in feed order.
        credit: Its ``media:credit`` or rights line, or ``None``.
        image: Its image's absolute http(s) URL, or ``None``.
    """

    position: int
    native_id: str | None = None
    title: str = ""
    link: str | None = None
    summary: str = ""
    published: ItemDate = field(default_factory=ItemDate)
    labels: tuple[str, ...] = ()
    credit: str | None = None
    image: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedDocument:
    """What a reader found in one feed.

    Attributes:
        items: Every item, in feed order (untitled and duplicate ones too).
        next_page: The URL of the feed's next page (RFC 5005 ``next``, JSON ``next_url``).
        problem: Why the feed was read leniently (it is not well-formed), if it was.
    """

    items: tuple[FeedItem, ...]
    next_page: str | None = None
    problem: str | None = None


def plain_text(markup: str) -> str:
    """The text an HTML fragment shows, whitespace collapsed; scripts and styles dropped."""
    text = clean_text(markup)
    if not _MARKUP.search(text):
        return text
    try:
        root = lxml.html.fragment_fromstring(text, create_parent="div")
    except (etree.ParserError, ValueError):  # lxml refuses a few odd strings outright
        return clean_text(_TAG.sub(" ", text))
    if not isinstance(root, lxml.html.HtmlElement):
        return clean_text(_TAG.sub(" ", text))
    for hidden in list(root.iter(*_HIDDEN_ELEMENTS)):
        hidden.drop_tree()
    for block in root.iter(*_BLOCK_ELEMENTS):
        block.tail = " " + (block.tail or "")
        if block is not root:
            block.text = " " + (block.text or "")
    return clean_text(root.text_content())


def title_from_summary(summary: str) -> str:
    """A title for an untitled item: the start of its summary, cut at a word."""
    if len(summary) <= SUMMARY_TITLE_LENGTH:
        return summary
    cut = summary[:SUMMARY_TITLE_LENGTH]
    space = cut.rfind(" ")
    if space > SUMMARY_TITLE_LENGTH // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "\u2026"


def web_link(href: str, base: str) -> str | None:
    """``href`` resolved against ``base``, if that gives an absolute http(s) URL (cleaned by
    ``feeds.links.web_url``)."""
    return web_url(href, base)


def distinct_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """Labels cleaned, empty ones dropped, each once (the first spelling kept), in order."""
    kept: dict[str, str] = {}
    for label in labels:
        text = clean_text(label)
        if text and text.casefold() not in kept:
            kept[text.casefold()] = text
    return tuple(kept.values())


def bare_day(text: str) -> dt.date | None:
    """The calendar day a bare ``YYYY-MM-DD`` date gives, else ``None``."""
    match = _BARE_DAY.fullmatch(text)
    if match is None:
        return None
    try:
        day = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return day if MIN_YEAR <= day.year <= MAX_YEAR else None


def utc_instant(value: dt.datetime) -> dt.datetime | None:
    """``value`` as an aware UTC instant to the second (read as UTC if naive, as feedparser reads
    a time without an offset), or ``None`` for years no news is dated in."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        instant = value.astimezone(UTC).replace(microsecond=0)
    except OverflowError:
        return None
    return instant if MIN_YEAR <= instant.year <= MAX_YEAR else None


def instant_from_struct(value: time.struct_time) -> dt.datetime | None:
    """A UTC instant from a ``time.struct_time`` in UTC (feedparser's parsed dates)."""
    try:
        return utc_instant(dt.datetime(*value[:6], tzinfo=UTC))
    except (TypeError, ValueError):
        return None


def instant_from_iso(text: str) -> dt.datetime | None:
    """A UTC instant from an RFC 3339 / ISO 8601 date-time (JSON Feed's dates)."""
    try:
        return utc_instant(dt.datetime.fromisoformat(text.strip()))
    except ValueError:
        return None
