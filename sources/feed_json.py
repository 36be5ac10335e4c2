"""Reading JSON Feed 1.0 and 1.1 documents.

Fields of the wrong type are read as absent. Extensions (``_name`` keys) are ignored, except
``_feedpub.credit``, which feedpub's own JSON feeds carry.
"""

from __future__ import annotations

import json
import re
from typing import Any

from feeds.errors import ParseError
from feeds.text import clean_text
from sources.feed_items import (
    FeedDocument,
    FeedItem,
    ItemDate,
    bare_day,
    distinct_labels,
    instant_from_iso,
    plain_text,
    web_link,
)

_VERSION = re.compile(r"https?://jsonfeed\.org/version/1(?:\.\d+)?/?")


def read_json_feed(document: str, *, source: str, base_url: str) -> FeedDocument:
    """Read a JSON Feed; raise ``ParseError`` naming ``source`` when it is not one."""
    try:
        feed = json.loads(document)
    # ValueError: invalid JSON, or a number too long to read; RecursionError: nesting too deep.
    except (ValueError, RecursionError) as error:
        raise ParseError(
            source, f"not an RSS, Atom or JSON feed (invalid JSON: {error})"
        ) from error
    if not isinstance(feed, dict) or not _VERSION.fullmatch(_string(feed, "version")):
        raise ParseError(source, "not an RSS, Atom or JSON feed (JSON without a JSON Feed version)")
    items = feed.get("items", [])
    if not isinstance(items, list):
        raise ParseError(source, "not a JSON Feed: its items are not a list")
    return FeedDocument(
        items=tuple(
            _item(position, item if isinstance(item, dict) else {}, base_url)
            for position, item in enumerate(items, start=1)
        ),
        next_page=web_link(_string(feed, "next_url"), base_url),
    )


def _string(mapping: dict[str, Any], key: str) -> str:
    value = mapping.get(key)
    return value if isinstance(value, str) else ""


def _native_id(item: dict[str, Any]) -> str | None:
    """Its ``id``: a string, or a number as JSON Feed 1.0 feeds sometimes have it."""
    value = item.get("id")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return clean_text(value) or None


def _published(item: dict[str, Any]) -> ItemDate:
    """Its ``date_published``, else its ``date_modified``."""
    unread = None
    for key in ("date_published", "date_modified"):
        raw = clean_text(_string(item, key))
        if not raw:
            continue
        if (day := bare_day(raw)) is not None:
            return ItemDate(day=day)
        if (instant := instant_from_iso(raw)) is not None:
            return ItemDate(instant=instant)
        unread = unread or raw
    return ItemDate(unread=unread)


def _summary(item: dict[str, Any]) -> str:
    """Its ``summary``, else its ``content_text``, else the text of its ``content_html``."""
    return (
        clean_text(_string(item, "summary"))
        or clean_text(_string(item, "content_text"))
        or plain_text(_string(item, "content_html"))
    )


def _item(position: int, item: dict[str, Any], base_url: str) -> FeedItem:
    tags = item.get("tags")
    extension = item.get("_feedpub")
    credit = _string(extension, "credit") if isinstance(extension, dict) else ""
    return FeedItem(
        position=position,
        native_id=_native_id(item),
        title=clean_text(_string(item, "title")),
        link=web_link(_string(item, "url"), base_url)
        or web_link(_string(item, "external_url"), base_url),
        summary=_summary(item),
        published=_published(item),
        labels=distinct_labels(tag for tag in tags if isinstance(tag, str))
        if isinstance(tags, list)
        else (),
        credit=clean_text(credit) or None,
        image=web_link(_string(item, "image"), base_url)
        or web_link(_string(item, "banner_image"), base_url),
    )
