"""Reading RSS 0.9x, 1.0 and 2.0 and Atom 1.0 feeds (with feedparser), safely.

A document whose prolog declares entities or refers to an external DTD is refused before any
XML parser sees it, and feedparser only ever gets bytes in memory (never a string it could take
for a URL or a file name), so reading a feed never expands entities or touches a file or the
network.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from typing import Any

import feedparser

from feeds.errors import ParseError
from feeds.text import clean_text
from sources.feed_items import (
    FeedDocument,
    FeedItem,
    ItemDate,
    bare_day,
    distinct_labels,
    instant_from_struct,
    plain_text,
    web_link,
)

#: What can come before the root element: comments, processing instructions, a DOCTYPE, and
#: the entity declarations only an internal subset should hold.
_PROLOG_PART = re.compile(
    r"<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)"
    r"|(?P<doctype><!DOCTYPE)|(?P<entity><!ENTITY)|(?P<element><(?:[^\W\d]|:))",
    re.DOTALL | re.IGNORECASE,
)
#: A DOCTYPE up to its internal subset (``[``) or its end (``>``); quoted literals skipped.
_DOCTYPE = re.compile(
    r"""<!DOCTYPE(?P<declaration>(?:[^\[>"']|"[^"]*"|'[^']*')*)(?P<end>[\[>])""",
    re.IGNORECASE,
)
_QUOTED = re.compile(r""""[^"]*"|'[^']*'""")
_ENTITY_DECLARATION = re.compile(r"<!ENTITY", re.IGNORECASE)
#: What feedparser gives: dicts (``FeedParserDict``) of strings, lists and dicts.
Parsed = dict[str, Any]
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: We hand feedparser text we have already decoded, re-encoded: its own sniffing must not run.
_AS_UTF8 = {"content-type": "application/xml; charset=utf-8"}

#: A numeric character reference (``&#1;``, ``&#xD800;``).
_CHARACTER_REFERENCE = re.compile(r"&#(?:[xX]([0-9A-Fa-f]{1,8})|([0-9]{1,10}));")


def _readable_reference(match: re.Match[str]) -> str:
    """A character reference as is, or U+FFFD for one to a code point XML cannot hold (a
    control, a surrogate, U+FFFE): feedparser's lenient reader fails on a feed holding one."""
    code = int(match[1], 16) if match[1] else int(match[2])
    allowed = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
    return match[0] if allowed or 0x10000 <= code <= 0x10FFFF else "\ufffd"


ENTITIES_REFUSED = (
    "entity declarations are not allowed in feeds (billion laughs, external entities)"
)
EXTERNAL_DTD_REFUSED = (
    "a DOCTYPE referring to an external DTD (SYSTEM or PUBLIC) is not allowed in feeds"
)


def refuse_entity_tricks(document: str, source: str) -> None:
    """Raise ``ParseError`` naming ``source`` if the document's prolog declares entities or its
    DOCTYPE refers to an external DTD. A plain ``<!DOCTYPE rss>`` passes."""
    for part in _PROLOG_PART.finditer(document):
        if part["element"]:
            return
        if part["entity"]:
            raise ParseError(source, ENTITIES_REFUSED)
        if part["doctype"]:
            doctype = _DOCTYPE.match(document, part.start())
            if doctype is None:
                raise ParseError(source, "the DOCTYPE is malformed")
            name_and_external_id = _QUOTED.sub(" ' ", doctype["declaration"]).split()
            if len(name_and_external_id) > 1:
                raise ParseError(source, EXTERNAL_DTD_REFUSED)
            if doctype["end"] == "[" and _ENTITY_DECLARATION.search(document, doctype.end()):
                raise ParseError(source, ENTITIES_REFUSED)
            return


def read_xml_feed(document: str, *, source: str, base_url: str) -> FeedDocument:
    """Read an RSS or Atom feed. Call ``refuse_entity_tricks`` first.

    Raises ``ParseError`` naming ``source`` when the document is not a feed at all.
    """
    data = _CHARACTER_REFERENCE.sub(_readable_reference, document).encode("utf-8", "replace")
    try:
        parsed = feedparser.parse(io.BytesIO(data), response_headers=_AS_UTF8)
    # feedparser is a lenient reader of hostile input: any failure of its own means that the
    # document is not a feed it can read.
    except Exception as error:
        raise ParseError(source, f"not an RSS, Atom or JSON feed ({error!r})") from error
    entries: list[Any] = list(dict.get(parsed, "entries") or [])
    version = dict.get(parsed, "version") or ""
    problem = dict.get(parsed, "bozo_exception") if dict.get(parsed, "bozo") else None
    if not version and not entries:
        because = f" ({problem})" if problem else ""
        raise ParseError(source, f"not an RSS, Atom or JSON feed{because}")
    feed: Parsed = dict.get(parsed, "feed") or {}
    return FeedDocument(
        items=tuple(
            _item(position, entry, base_url)
            for position, entry in enumerate(entries, start=1)
            if isinstance(entry, dict)
        ),
        next_page=_next_page(feed, base_url),
        problem=str(problem) if problem else None,
    )


# feedparser's dict answers some keys with others ("updated" with "published", with a
# DeprecationWarning): every read below goes through ``dict.get``, which takes keys literally.


def _string(mapping: Parsed, key: str) -> str:
    value = dict.get(mapping, key)
    return value if isinstance(value, str) else ""


def _dicts(mapping: Parsed, key: str) -> Iterator[Parsed]:
    values = dict.get(mapping, key)
    if isinstance(values, list):
        yield from (value for value in values if isinstance(value, dict))


def _as_text(value: str, content_type: str) -> str:
    """Plain text from a value, read as markup only where the feed says it is HTML."""
    return plain_text(value) if content_type in _HTML_TYPES else clean_text(value)


def _detail_text(entry: Parsed, key: str) -> str:
    """The plain text of a text construct: ``title``, ``summary``, ``rights``."""
    detail = dict.get(entry, f"{key}_detail")
    content_type = _string(detail, "type") if isinstance(detail, dict) else ""
    return _as_text(_string(entry, key), content_type)


def _content_text(entry: Parsed) -> str:
    for content in _dicts(entry, "content"):
        if text := _as_text(_string(content, "value"), _string(content, "type")):
            return text
    return ""


def _summary(entry: Parsed) -> str:
    """Its summary (``description``), else its content. feedparser copies an Atom content to a
    summary without its type: only a summary with a type of its own is one."""
    if isinstance(dict.get(entry, "summary_detail"), dict):
        return _detail_text(entry, "summary") or _content_text(entry)
    return _content_text(entry) or clean_text(_string(entry, "summary"))


def _entry_base(entry: Parsed, base_url: str) -> str:
    """The base of the entry's relative URLs that feedparser leaves relative (its images): its
    ``xml:base``, else the page's URL."""
    details = [dict.get(entry, "title_detail"), dict.get(entry, "summary_detail")]
    for detail in [*details, *_dicts(entry, "content")]:
        if isinstance(detail, dict) and (base := _string(detail, "base")):
            return web_link(base, base_url) or base_url
    return base_url


def _published(entry: Parsed) -> ItemDate:
    """The item's publication date, else its update date."""
    unread = None
    for key in ("published", "updated"):
        raw = clean_text(_string(entry, key))
        if not raw:
            continue
        day = bare_day(raw)
        if day is not None:
            return ItemDate(day=day)
        parsed = dict.get(entry, f"{key}_parsed")
        instant = instant_from_struct(parsed) if isinstance(parsed, time.struct_time) else None
        if instant is not None:
            return ItemDate(instant=instant)
        unread = unread or raw
    return ItemDate(unread=unread)


def _image(entry: Parsed, base: str) -> str | None:
    """Its ``media:thumbnail``, else an image ``media:content``, else an image enclosure."""
    candidates = [_string(thumbnail, "url") for thumbnail in _dicts(entry, "media_thumbnail")]
    candidates += [
        _string(media, "url")
        for media in _dicts(entry, "media_content")
        if _string(media, "medium") == "image" or _string(media, "type").startswith("image/")
    ]
    candidates += [
        _string(link, "href")
        for link in _dicts(entry, "links")
        if _string(link, "rel") == "enclosure" and _string(link, "type").startswith("image/")
    ]
    for candidate in candidates:
        if url := web_link(candidate, base):
            return url
    return None


def _credit(entry: Parsed) -> str | None:
    """Its ``media:credit``, else its own ``rights`` (``dc:rights``): never the feed's."""
    for credit in _dicts(entry, "media_credit"):
        if text := clean_text(_string(credit, "content")):
            return text
    return _detail_text(entry, "rights") or None


def _item(position: int, entry: Parsed, base_url: str) -> FeedItem:
    tags = _dicts(entry, "tags")
    return FeedItem(
        position=position,
        native_id=clean_text(_string(entry, "id")) or None,
        title=_detail_text(entry, "title"),
        # feedparser has applied any xml:base to links already: only the page's base is left.
        link=web_link(_string(entry, "link"), base_url),
        summary=_summary(entry),
        published=_published(entry),
        labels=distinct_labels(_string(tag, "label") or _string(tag, "term") for tag in tags),
        credit=_credit(entry),
        image=_image(entry, _entry_base(entry, base_url)),
    )


def _next_page(feed: Parsed, base_url: str) -> str | None:
    """Its RFC 5005 ``next`` link (``atom:link rel="next"``, in Atom or RSS)."""
    for link in _dicts(feed, "links"):
        if _string(link, "rel") == "next":
            return web_link(_string(link, "href"), base_url)
    return None
