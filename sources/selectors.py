"""The selector adapter (``kind = "html"``): any HTML listing, read with CSS selectors.

A source declares a selector for its items and, within each item, for the title, link, date,
summary, labels and image; ``selector@attribute`` reads an attribute (``time@datetime``), and
``+ tr .age@title`` reads a field from the item's next sibling (a forum's row under the title
row). The link is the title's own anchor unless a link selector finds another one only.
Without a date selector the date comes from elements made for one (``time``, a date class, a
table cell), never from prose. Year-first dates are read as written; numeric ones in the
page's language's order (``date_order`` overrides). Ids come from the item's own link, else
from its title and date. ``structured = "json-ld" | "microdata" | "h-entry" | "app-state"``
reads the items the page declares instead (``sources.structured``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import lxml.html
from lxml import etree

from feeds.dates import month_first_for, page_order_instants
from feeds.errors import ParseError
from feeds.identity import entry_id
from feeds.links import web_url
from feeds.model import Adapter, Diagnostic, Entry, PageContext, ParseResult, Severity
from sources.field_dates import DateNotes, FieldDate, read_field_date
from sources.html_parser import LISTING_PARSER
from sources.selector_fields import FieldSelector, ItemMatches
from sources.structured import MODES, read_structured
from sources.structured_items import structured_day

__all__ = [
    "FIELDS",
    "FieldSelector",
    "SelectorSpec",
    "adapter",
    "parse_with_selectors",
    "read_date",
]

#: The fields a source may select within an item, besides ``item`` itself.
FIELDS = ("title", "link", "date", "summary", "label", "image")
SETTINGS = ("date_format", "date_order", "structured")
_DEFAULT_TITLE = "h1, h2, h3, h4, h5, h6"
_LAZY_IMAGE_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original", "src", "srcset")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_ORDERS = {"dmy": False, "mdy": True, "day-first": False, "month-first": True}


@dataclass(frozen=True, slots=True)
class SelectorSpec:
    """A source's validated selectors and date settings."""

    item: FieldSelector | None
    fields: Mapping[str, FieldSelector]
    date_format: str | None = None
    #: Numeric dates month first (``mdy``), day first (``dmy``), or ``None``: as the page's
    #: language writes them.
    month_first: bool | None = None
    structured: str | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SelectorSpec:
        """Validate a ``[sources.selectors]`` table; ``ValueError("key: ...")`` if wrong."""
        for key in options:
            if key not in ("item", *FIELDS, *SETTINGS):
                known = ", ".join(("item", *FIELDS, *SETTINGS))
                raise ValueError(f"{key}: unknown selector (known: {known})")
        structured = options.get("structured")
        if structured is not None and structured not in MODES:
            known = ", ".join(repr(mode) for mode in MODES)
            raise ValueError(f"structured: expected one of {known}, got {structured!r}")
        if "item" not in options and structured is None:
            raise ValueError("item: is required (the CSS selector of one listing item)")
        fields = {key: FieldSelector.parse(key, options[key]) for key in FIELDS if key in options}
        fields.setdefault("title", FieldSelector.parse("title", _DEFAULT_TITLE))
        date_format = options.get("date_format")
        if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
            raise ValueError(f"date_format: expected a strptime format, got {date_format!r}")
        order = options.get("date_order")
        if order is not None and order not in _ORDERS:
            raise ValueError(
                f"date_order: expected 'dmy' (day first) or 'mdy' (month first), got {order!r}"
            )
        return cls(
            item=(
                FieldSelector.parse("item", options["item"], sibling_allowed=False)
                if "item" in options
                else None
            ),
            fields=fields,
            date_format=date_format,
            month_first=None if order is None else _ORDERS[order],
            structured=structured,
        )


def adapter(options: Mapping[str, Any]) -> Adapter:
    """The selector adapter for a source's ``[sources.selectors]``."""
    spec = SelectorSpec.from_options(options)

    def parse(document: str, context: PageContext) -> ParseResult:
        return parse_with_selectors(document, context, spec)

    return parse


def read_date(text: str, spec: SelectorSpec, *, month_first: bool = False) -> dt.date | None:
    """A calendar day from a date field read with a source's settings (``read_field_date``;
    ``month_first`` is the page's order when the source declares none)."""
    return _read(text, spec, month_first).date


def _read(text: str, spec: SelectorSpec, month_first: bool) -> FieldDate:
    order = month_first if spec.month_first is None else spec.month_first
    return read_field_date(text, date_format=spec.date_format, month_first=order)


def page_language(root: lxml.html.HtmlElement) -> str | None:
    """The page's declared language (``<html lang>``, else its ``Content-Language``)."""
    language = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    if language:
        return str(language)
    for meta in root.iter("meta"):
        if str(meta.get("http-equiv", "")).lower() == "content-language" and meta.get("content"):
            return str(meta.get("content")).split(",")[0]
    return None


def _resolve(base: str, href: str) -> str | None:
    return web_url(href, base)


def _image(matches: list[lxml.html.HtmlElement], selector: FieldSelector, base: str) -> str | None:
    for found in matches:
        candidates = [selector.attribute] if selector.attribute else list(_LAZY_IMAGE_ATTRIBUTES)
        for name in candidates:
            value = str(found.get(name, "")).strip()
            if value and not value.startswith("data:"):
                if name == "srcset":  # its first candidate's URL, without its descriptor
                    value = value.split(",")[0].strip().partition(" ")[0]
                url = _resolve(base, value)
                if url:
                    return url
    return None


@dataclass(slots=True)
class _Item:
    title: str
    link: str | None
    date: dt.date | None
    summary: str
    labels: tuple[str, ...]
    image: str | None
    position: int


def _first_text(
    element: lxml.html.HtmlElement, key: str, spec: SelectorSpec, matches: ItemMatches
) -> tuple[str, lxml.html.HtmlElement | None]:
    """The first non-empty text the field's selector finds in the item, and the element it is
    from."""
    selector = spec.fields.get(key)
    if selector is None:
        return "", None
    for found in matches.select(key, selector, element):
        text = selector.read(found)
        if text:
            return text, found
    return "", None


def _own_anchor(
    title: lxml.html.HtmlElement, item: lxml.html.HtmlElement
) -> lxml.html.HtmlElement | None:
    """The title's own link: the title if it is an ``a``, else its first ``a`` with an
    ``href``, else its closest ``a`` ancestor within the item."""
    for anchor in title.iter("a"):
        if anchor.get("href"):
            return anchor
    node: lxml.html.HtmlElement | None = title
    while node is not None:
        if node.tag == "a" and node.get("href"):
            return node
        if node is item:
            break
        node = node.getparent()
    return None


def _link(
    item: lxml.html.HtmlElement,
    title: lxml.html.HtmlElement | None,
    spec: SelectorSpec,
    matches: ItemMatches,
    base: str,
) -> str | None:
    """An item's link: its title's own anchor, when there is no link selector or when the
    selector also finds that anchor (``title = "a"``, ``link = "a@href"`` agree on the
    titled link, not an empty icon link before it); else the selector's first match; else
    the item's first link."""
    own = _own_anchor(title, item) if title is not None else None
    selector = spec.fields.get("link")
    attribute = selector.attribute if selector and selector.attribute else "href"
    if selector is None:
        chosen = (
            own if own is not None else next((a for a in item.iter("a") if a.get("href")), None)
        )
    else:
        found = matches.select("link", selector, item)
        chosen = own if own is not None and own in found else next(iter(found), None)
    return None if chosen is None else _resolve(base, str(chosen.get(attribute, "")))


def parse_with_selectors(document: str, context: PageContext, spec: SelectorSpec) -> ParseResult:
    """Read a listing page with a source's selectors."""
    try:
        root = lxml.html.document_fromstring(
            _XML_DECLARATION.sub("", document, count=1), parser=LISTING_PARSER
        )
    except (etree.ParserError, ValueError) as error:
        raise ParseError(context.page_url, f"not an HTML page: {error}") from error
    base = context.page_url
    for element in root.iter("base"):
        if element.get("href"):
            base = web_url(str(element.get("href")), base) or base
            break
    diagnostics: list[Diagnostic] = []
    if spec.structured is not None:
        found = structured_items(root, base, spec, context, diagnostics)
        return _result(found, context, diagnostics, item_count=len(found), root=root, base=base)
    if spec.item is None:  # not reached: validated with the options
        raise ParseError(context.page_url, "selectors.item is required")
    elements = spec.item.select(root)
    if not elements:
        diagnostics.append(
            Diagnostic(
                code="selector-matches-nothing",
                severity=Severity.ERROR,
                message=f"selectors.item {spec.item.source!r} matches nothing on the page",
            )
        )
    unmatched = set(spec.fields)
    matches = ItemMatches(root, elements)
    items: list[_Item] = []
    month_first = month_first_for(page_language(root))
    dates = DateNotes(
        date_format=spec.date_format,
        month_first=month_first if spec.month_first is None else spec.month_first,
        declared=spec.month_first is not None,
    )
    for position, element in enumerate(elements, start=1):
        if unmatched:  # a field found in one item is not looked for again
            unmatched -= {
                key for key in unmatched if matches.select(key, spec.fields[key], element)
            }
        title, title_element = _first_text(element, "title", spec, matches)
        if not title:
            diagnostics.append(
                Diagnostic(
                    code="empty-item",
                    severity=Severity.WARNING,
                    message=f"item {position} has no title (selectors.title): skipped",
                    item=position,
                )
            )
            continue
        link = _link(element, title_element, spec, matches, base)
        if "date" in spec.fields:
            date_text, _ = _first_text(element, "date", spec, matches)
            date = dates.read(date_text, position) if date_text else None
        else:  # no date selector: a date in an element made for one, never in prose
            date = dates.dedicated(element, position)
        label_selector = spec.fields.get("label")
        labels = (
            ()
            if label_selector is None
            else tuple(
                dict.fromkeys(
                    text
                    for found in matches.select("label", label_selector, element)
                    if (text := label_selector.read(found))
                )
            )
        )
        image_selector = spec.fields.get("image")
        items.append(
            _Item(
                title=title,
                link=link,
                date=date,
                summary=_first_text(element, "summary", spec, matches)[0],
                labels=labels,
                image=(
                    _image(matches.select("image", image_selector, element), image_selector, base)
                    if image_selector
                    else None
                ),
                position=position,
            )
        )
    settled = dates.settle()  # the page's own dates may show the other order
    for item in items:
        item.date = settled.get(item.position, item.date)
    diagnostics += dates.diagnostics()
    for key in sorted(unmatched):
        if elements:
            diagnostics.append(
                Diagnostic(
                    code="selector-matches-nothing",
                    severity=Severity.WARNING,
                    message=f"selectors.{key} {spec.fields[key].source!r} matches nothing "
                    "in any item",
                )
            )
    return _result(items, context, diagnostics, item_count=len(elements), root=root, base=base)


def structured_items(
    root: lxml.html.HtmlElement,
    base: str,
    spec: SelectorSpec,
    context: PageContext,
    diagnostics: list[Diagnostic],
) -> list[_Item]:
    """The items the page declares in the source's structured mode, in page order."""
    reading = read_structured(root, spec.structured or "json-ld")
    diagnostics.extend(reading.diagnostics)
    items = []
    for position, article in enumerate(reading.articles, start=1):
        date_text = structured_day(article.date, context.timezone) if article.date else ""
        items.append(
            _Item(
                title=article.title,
                link=_resolve(base, article.url) if article.url else None,
                date=read_date(date_text, spec) if date_text else None,
                summary=article.summary,
                labels=article.labels,
                image=_resolve(base, article.image) if article.image else None,
                position=position,
            )
        )
    return items


def _result(
    items: list[_Item],
    context: PageContext,
    diagnostics: list[Diagnostic],
    *,
    item_count: int,
    root: lxml.html.HtmlElement,
    base: str,
) -> ParseResult:
    entries: list[Entry] = []
    seen: set[str] = set()
    kept: list[_Item] = []
    ids: list[str] = []
    for item in items:
        identity = entry_id(context.identity_key, item.title, item.date, link=item.link)
        if identity in seen:
            diagnostics.append(
                Diagnostic(
                    code="duplicate-item",
                    severity=Severity.INFO,
                    message=f"{item.title!r} is listed again: published once",
                    item=item.position,
                )
            )
            continue
        seen.add(identity)
        kept.append(item)
        ids.append(identity)
    instants = page_order_instants([i.date for i in kept], context.timezone, context.seen_at)
    for item, identity, published in zip(kept, ids, instants, strict=True):
        entries.append(
            Entry(
                id=identity,
                source_id=context.source_id,
                title=item.title,
                link=item.link or "",
                page_url=context.page_url,
                date=item.date,
                published=published,
                summary=item.summary,
                labels=item.labels,
                image=item.image,
            )
        )
    if entries and not any(entry.date for entry in entries):
        diagnostics.append(
            Diagnostic(
                code="undated-items",
                severity=Severity.WARNING,
                message="no item has a date (selectors.date): all are published when first seen",
            )
        )
    if not entries:
        diagnostics.append(
            Diagnostic(
                code="not-a-listing",
                severity=Severity.ERROR,
                message="the selectors find no item on the page: nothing published",
            )
        )
    next_page = None
    for element in root.iter("a", "link"):
        if "next" in str(element.get("rel", "")).lower().split() and element.get("href"):
            next_page = _resolve(base, str(element.get("href")))
            break
    return ParseResult(
        entries=tuple(entries),
        diagnostics=tuple(diagnostics),
        next_page=next_page,
        items_on_page=item_count,
    )
