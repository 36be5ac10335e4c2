"""The ILO listing adapter: "News and features" style pages, as HTML or as text renditions.

``parse`` is the entry point: a pure function from a page (its text, or its HTML) and a
``PageContext`` to a ``ParseResult``. Both forms of the same page, and every rendition of it
(indented, flat, title-less, bulleted), give the same entries with the same ids; the HTML form
also gives each item its own link. ``read_page`` also says which rendition it recognised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from feeds.errors import ParseError
from feeds.model import Adapter, PageContext, ParseResult
from feeds.text import clean_lines, clean_text, decode_document
from sources.ilo.flat_form import cut_dash_separated, cut_date_led, is_dash_separated
from sources.ilo.grammar import interpret
from sources.ilo.html_form import HtmlRendition, cut_html
from sources.ilo.text_form import cut_text, is_item_line

Form = Literal["text", "html"]
TextRendition = Literal["numbered", "bulleted", "dash-separated", "date-led"]
Rendition = TextRendition | HtmlRendition

#: What ``feedpub preview`` says of each rendition.
RENDITIONS: dict[Rendition, str] = {
    "numbered": "text rendition, indented numbered items",
    "bulleted": "text rendition, indented bulleted items",
    "dash-separated": "text rendition, flat items separated by '-' lines",
    "date-led": "text rendition, flat items each led by its date (title-less)",
    "item-list": "HTML, the classic item list (ol.item-list)",
    "linked-headings": "HTML, lists of items with linked headings",
    "blocks": "HTML, repeated item blocks",
    "no-items": "HTML, no list of items found",
}

_PAGINATED_PATH = re.compile(
    r"(?P<lang>/lang--[a-z]{2,3})(?:/nextRow--(?P<offset>\d+))?(?:/index\.html?)?/?$"
)

__all__ = [
    "RENDITIONS",
    "Form",
    "ParseResult",
    "Rendition",
    "adapter",
    "detect_form",
    "next_page_url",
    "parse",
    "parse_html",
    "parse_text",
    "read_page",
]

_HTML_MARKERS = ("<!doctype", "<html", "<head", "<body", "<ol", "<ul", "<div", "<p", "<h1", "<li")


def detect_form(text: str) -> Form:
    """Tell an HTML page from a text rendition by its first characters."""
    start = text.lstrip("\ufeff \t\r\n")[:512].lower()
    return "html" if start.startswith("<") and any(m in start for m in _HTML_MARKERS) else "text"


def next_page_url(page_url: str, items_on_page: int) -> str | None:
    """The URL of the next page of an ILO listing: ``.../lang--en/nextRow--N/index.htm``,
    where N counts the records shown so far. ``None`` for other URLs or an empty page."""
    parts = urlsplit(page_url)
    match = _PAGINATED_PATH.search(parts.path)
    if parts.scheme not in ("http", "https") or match is None or items_on_page == 0:
        return None
    offset = int(match["offset"] or 0) + items_on_page
    path = f"{parts.path[: match.start()]}{match['lang']}/nextRow--{offset}/index.htm"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def text_rendition(lines: list[str]) -> TextRendition:
    """Which text rendition the (clean) lines are: items numbered or bulleted under an
    indent, flat items separated by ``-`` lines, or flat items led by their dates."""
    return _rendition(lines)[0]


def _rendition(lines: list[str]) -> tuple[TextRendition, list[str]]:
    """The rendition of the (clean) lines, and for a flat one its lines stripped."""
    for number, line in enumerate(lines, start=1):
        if is_item_line(line, number):
            bulleted = line.lstrip()[:1] in "\u2022\u25e6\u25aa"
            return ("bulleted" if bulleted else "numbered"), []
    stripped = [clean_text(line) for line in lines]
    return ("dash-separated" if is_dash_separated(stripped) else "date-led"), stripped


def read_text(text: str, context: PageContext) -> tuple[TextRendition, ParseResult]:
    """Parse a text rendition of a listing page; also say which rendition it is."""
    lines = clean_lines(text)
    rendition, stripped = _rendition(lines)
    if rendition in ("numbered", "bulleted"):
        items, diagnostics = cut_text(lines)
    else:
        cut = cut_dash_separated if rendition == "dash-separated" else cut_date_led
        items, diagnostics = cut(stripped)
    result = interpret(items, context)
    return rendition, replace(
        result,
        diagnostics=(*diagnostics, *result.diagnostics),
        next_page=next_page_url(context.page_url, len(items)),
        items_on_page=len(items),
    )


def parse_text(text: str, context: PageContext) -> ParseResult:
    """Parse a text rendition of a listing page."""
    return read_text(text, context)[1]


def read_html(document: str, context: PageContext) -> tuple[HtmlRendition, ParseResult]:
    """Parse the HTML of a listing page; also say which shape of HTML it is."""
    cut = cut_html(document, context.page_url)
    result = interpret(cut.items, context)
    return cut.rendition, replace(
        result,
        diagnostics=(*cut.diagnostics, *result.diagnostics),
        next_page=cut.next_page or next_page_url(context.page_url, len(cut.items)),
        items_on_page=len(cut.items),
    )


def parse_html(document: str, context: PageContext) -> ParseResult:
    """Parse the HTML of a listing page."""
    return read_html(document, context)[1]


def adapter(options: Mapping[str, Any]) -> Adapter:
    """The ILO adapter for a source: it takes no options (the page's structure is known)."""
    for key in options:
        raise ValueError(f"{key}: the ilo adapter takes no selectors")
    return parse


def read_page(
    document: str | bytes, context: PageContext, form: Form | None = None
) -> tuple[Rendition, ParseResult]:
    """Parse a listing page in either form (detected unless given) and say which rendition
    was recognised (a key of ``RENDITIONS``).

    Raises ``ParseError`` (naming the page) for empty or binary documents. A page that is
    not a listing is not an error here: its result has no entries and a ``not-a-listing``
    diagnostic, for the caller to act on.
    """
    text = (
        decode_document(document, source=context.page_url)
        if isinstance(document, bytes)
        else document
    )
    if not text.strip():
        raise ParseError(context.page_url, "the document is empty")
    if (form or detect_form(text)) == "html":
        return read_html(text, context)
    return read_text(text, context)


def parse(document: str | bytes, context: PageContext, form: Form | None = None) -> ParseResult:
    """Parse a listing page in either form; the form is detected unless given (see
    ``read_page``)."""
    return read_page(document, context, form)[1]
