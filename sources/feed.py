"""The feed adapter (``kind = "feed"``): RSS 0.9x/1.0/2.0, Atom 1.0 and JSON Feed 1.0/1.1 offered
as sources, so that a topic can mix listing pages and existing feeds.

Items keep their feed's ids (when they are IRIs) and dates; entity declarations and external
DTDs are refused before any XML parser runs (``sources.feed_xml``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from feeds.dates import first_seen_instant, listing_instant
from feeds.errors import ParseError
from feeds.identity import entry_id
from feeds.model import Adapter, Diagnostic, Entry, PageContext, ParseResult, Severity
from sources.feed_items import FeedDocument, FeedItem, ItemDate, title_from_summary
from sources.feed_json import read_json_feed
from sources.feed_xml import read_xml_feed, refuse_entity_tricks

__all__ = ["adapter", "parse_feed"]

_LEADING_SPACE = "\ufeff \t\r\n"


def adapter(options: Mapping[str, Any]) -> Adapter:
    """The feed adapter for a source: it takes no options (a feed says what its items are)."""
    for key in options:
        raise ValueError(f"{key}: the feed adapter takes no selectors")
    return parse_feed


def parse_feed(document: str, context: PageContext) -> ParseResult:
    """Read an RSS, Atom or JSON feed (JSON when it starts with ``{``) as a listing.

    Raises ``ParseError`` (naming the page) for an empty document, one that is not a feed at
    all, or an XML document declaring entities or referring to an external DTD. A feed with no
    items is not an error here: its result has a ``not-a-listing`` diagnostic.
    """
    text = document.lstrip(_LEADING_SPACE)
    if not text:
        raise ParseError(context.page_url, "the document is empty")
    if text.startswith("{"):
        feed = read_json_feed(text, source=context.page_url, base_url=context.page_url)
    else:
        refuse_entity_tricks(text, context.page_url)
        feed = read_xml_feed(text, source=context.page_url, base_url=context.page_url)
    return _result(feed, context)


def _diagnostic(code: str, severity: Severity, message: str, item: FeedItem) -> Diagnostic:
    return Diagnostic(code=code, severity=severity, message=message, item=item.position)


def _calendar_day(published: ItemDate, zone: ZoneInfo) -> dt.date | None:
    """The listing day of an item: its instant's day in the source's zone, or its bare day."""
    if published.instant is not None:
        return published.instant.astimezone(zone).date()
    return published.day


def _instants(dates: Sequence[ItemDate], zone: ZoneInfo, seen_at: dt.datetime) -> list[dt.datetime]:
    """The publication instants of the kept items, in feed order: the feed's own instant; for a
    bare day, the start of that day in the source's zone plus a second per later item of that
    day; for an undated item, the time it was first seen less a second per earlier one."""
    later_same_day = Counter(date.day for date in dates if date.day is not None)
    undated_rank = 0
    instants = []
    for date in dates:
        if date.instant is not None:
            instants.append(date.instant)
        elif date.day is not None:
            later_same_day[date.day] -= 1
            instants.append(listing_instant(date.day, zone, later_same_day[date.day]))
        else:
            instants.append(first_seen_instant(seen_at, undated_rank))
            undated_rank += 1
    return instants


def _title(item: FeedItem, diagnostics: list[Diagnostic]) -> str:
    """The item's title, else the start of its summary; empty when it has neither."""
    if item.title:
        return item.title
    title = title_from_summary(item.summary)
    if title:
        diagnostics.append(
            _diagnostic(
                "untitled-item",
                Severity.INFO,
                f"item {item.position} has no title: titled by the start of its summary",
                item,
            )
        )
    else:
        diagnostics.append(
            _diagnostic(
                "skipped-item",
                Severity.WARNING,
                f"item {item.position} has neither a title nor a summary: skipped",
                item,
            )
        )
    return title


def _date_diagnostic(item: FeedItem, title: str) -> Diagnostic | None:
    if item.published.unread is not None:
        return _diagnostic(
            "unreadable-date",
            Severity.WARNING,
            f"{title!r}: its date {item.published.unread!r} cannot be read: "
            "published at the time it is first seen",
            item,
        )
    if item.published.instant is None and item.published.day is None:
        return _diagnostic(
            "undated-item",
            Severity.INFO,
            f"{title!r} has no date: published at the time it is first seen",
            item,
        )
    return None


def _result(feed: FeedDocument, context: PageContext) -> ParseResult:
    diagnostics: list[Diagnostic] = []
    if feed.problem:
        diagnostics.append(
            Diagnostic(
                code="malformed-feed",
                severity=Severity.WARNING,
                message=f"the feed is not well-formed ({feed.problem}): read leniently",
            )
        )
    kept: list[tuple[FeedItem, str, str, dt.date | None]] = []
    seen: set[str] = set()
    for item in feed.items:
        title = _title(item, diagnostics)
        if not title:
            continue
        day = _calendar_day(item.published, context.timezone)
        identity = entry_id(
            context.identity_key, title, day, link=item.link, native_id=item.native_id
        )
        if identity in seen:
            diagnostics.append(
                _diagnostic(
                    "duplicate-item",
                    Severity.INFO,
                    f"{title!r} ({identity}) is in the feed again: published once",
                    item,
                )
            )
            continue
        seen.add(identity)
        if date_diagnostic := _date_diagnostic(item, title):
            diagnostics.append(date_diagnostic)
        kept.append((item, title, identity, day))

    instants = _instants([item.published for item, *_ in kept], context.timezone, context.seen_at)
    entries = tuple(
        Entry(
            id=identity,
            source_id=context.source_id,
            title=title,
            link=item.link or "",
            page_url=context.page_url,
            date=day,
            published=published,
            summary=item.summary,
            labels=item.labels,
            credit=item.credit,
            image=item.image,
        )
        for (item, title, identity, day), published in zip(kept, instants, strict=True)
    )
    if not entries:
        what = (
            f"none of its {len(feed.items)} items can be read" if feed.items else "it has no items"
        )
        diagnostics.append(
            Diagnostic(
                code="not-a-listing",
                severity=Severity.ERROR,
                message=f"the feed gives no entries ({what}): nothing published",
            )
        )
    return ParseResult(
        entries=entries,
        diagnostics=tuple(diagnostics),
        next_page=feed.next_page,
        items_on_page=len(feed.items),
        instants_from_days=False,
    )
