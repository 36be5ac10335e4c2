"""The ILO listing adapter: "News and features" style pages, as HTML or as text renditions.

``parse`` is the entry point: a pure function from a page (its text, or its HTML) and a
``PageContext`` to a ``ParseResult``. Both forms of the same page give the same entries with
the same ids; the HTML form also gives each item its own link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from feeds.errors import ParseError
from feeds.model import Adapter, PageContext, ParseResult
from feeds.text import decode_document
from sources.ilo.grammar import interpret
from sources.ilo.html_form import cut_html
from sources.ilo.text_form import cut_text

Form = Literal["text", "html"]

_PAGINATED_PATH = re.compile(
    r"(?P<lang>/lang--[a-z]{2,3})(?:/nextRow--(?P<offset>\d+))?(?:/index\.html?)?/?$"
)

__all__ = [
    "Form",
    "ParseResult",
    "adapter",
    "detect_form",
    "next_page_url",
    "parse",
    "parse_html",
    "parse_text",
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


def parse_text(text: str, context: PageContext) -> ParseResult:
    """Parse a text rendition of a listing page."""
    items, diagnostics = cut_text(text)
    result = interpret(items, context)
    return replace(
        result,
        diagnostics=(*diagnostics, *result.diagnostics),
        next_page=next_page_url(context.page_url, len(items)),
        items_on_page=len(items),
    )


def parse_html(document: str, context: PageContext) -> ParseResult:
    """Parse the HTML of a listing page."""
    items, next_link = cut_html(document, context.page_url)
    result = interpret(items, context)
    return replace(
        result,
        next_page=next_link or next_page_url(context.page_url, len(items)),
        items_on_page=len(items),
    )


def adapter(options: Mapping[str, Any]) -> Adapter:
    """The ILO adapter for a source: it takes no options (the page's structure is known)."""
    for key in options:
        raise ValueError(f"{key}: the ilo adapter takes no selectors")
    return parse


def parse(document: str | bytes, context: PageContext, form: Form | None = None) -> ParseResult:
    """Parse a listing page in either form; the form is detected unless given.

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
        return parse_html(text, context)
    return parse_text(text, context)
