"""The selector adapter (``kind = "html"``): any HTML listing, read with CSS selectors.

A source declares a selector for its items and, within each item, for the title, link, date
(without one, a date written anywhere in the item is taken), summary, labels and image;
``selector@attribute`` reads an attribute instead of the text (``time@datetime``,
``img@data-src``). Links and images are resolved against the page, lazy
images (``data-src``, ``data-lazy-src``, ``srcset``) are found, whitespace is normalised. A
selector that matches nothing on the page is reported by name. Ids come from the item's own
link, else from its title and date. ``structured = "json-ld" | "microdata" | "h-entry" |
"app-state"`` reads the items the page declares instead (``sources.structured``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import lxml.html
from cssselect import SelectorError
from dateutil import parser as date_parser
from lxml import etree
from lxml.cssselect import CSSSelector

from feeds.dates import find_listing_date, page_order_instants, read_listing_date
from feeds.errors import ParseError
from feeds.identity import entry_id
from feeds.links import web_url
from feeds.model import Adapter, Diagnostic, Entry, PageContext, ParseResult, Severity
from feeds.text import clean_text
from sources.structured import MODES, read_structured
from sources.structured_items import structured_day

#: The fields a source may select within an item, besides ``item`` itself.
FIELDS = ("title", "link", "date", "summary", "label", "image")
SETTINGS = ("date_format", "date_order", "structured")
_DEFAULT_TITLE = "h1, h2, h3, h4, h5, h6"
_LAZY_IMAGE_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original", "src", "srcset")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
#: ISO and year-first dates are never day-first.
_ISO_START = re.compile(r"^\s*\d{4}[-/]\d{1,2}[-/]\d{1,2}")


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A compiled ``selector[@attribute]``."""

    source: str
    css: CSSSelector
    attribute: str | None

    @classmethod
    def parse(cls, key: str, value: object) -> FieldSelector:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key}: expected a CSS selector, got {value!r}")
        selector, at, attribute = value.strip().rpartition("@")
        if not at:  # no "@": the whole value is the selector
            selector, attribute = attribute, ""
        elif not attribute or not selector:
            raise ValueError(f"{key}: expected a CSS selector and an attribute, got {value!r}")
        if attribute and not re.fullmatch(r"[A-Za-z_:][-A-Za-z0-9_:.]*", attribute):
            raise ValueError(f"{key}: {attribute!r} is not an attribute name")
        try:
            css = CSSSelector(selector)
        except SelectorError as error:
            raise ValueError(f"{key}: not a CSS selector: {selector!r} ({error})") from error
        return cls(source=value.strip(), css=css, attribute=attribute or None)

    def select(self, element: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
        found = self.css(element)
        return (
            [e for e in found if isinstance(e, lxml.html.HtmlElement)]
            if isinstance(found, list)
            else []
        )

    def read(self, element: lxml.html.HtmlElement) -> str:
        """The attribute (or the text) of ``element``, whitespace normalised."""
        if self.attribute:
            return clean_text(str(element.get(self.attribute, "")))
        return clean_text(element.text_content())


@dataclass(frozen=True, slots=True)
class SelectorSpec:
    """A source's validated selectors and date settings."""

    item: FieldSelector | None
    fields: Mapping[str, FieldSelector]
    date_format: str | None = None
    day_first: bool = True
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
        order = options.get("date_order", "day-first")
        if order not in ("day-first", "month-first"):
            raise ValueError(f"date_order: expected 'day-first' or 'month-first', got {order!r}")
        return cls(
            item=FieldSelector.parse("item", options["item"]) if "item" in options else None,
            fields=fields,
            date_format=date_format,
            day_first=order == "day-first",
            structured=structured,
        )


def adapter(options: Mapping[str, Any]) -> Adapter:
    """The selector adapter for a source's ``[sources.selectors]``."""
    spec = SelectorSpec.from_options(options)

    def parse(document: str, context: PageContext) -> ParseResult:
        return parse_with_selectors(document, context, spec)

    return parse


def read_date(text: str, spec: SelectorSpec) -> dt.date | None:
    """A calendar day from a date field: the source's format, then listing dates in five
    languages, then ISO 8601 and common numeric forms."""
    text = clean_text(text)
    if not text:
        return None
    if spec.date_format:
        try:
            return dt.datetime.strptime(text, spec.date_format).date()  # noqa: DTZ007  (a day)
        except ValueError:
            return None
    reading = read_listing_date(text)
    if reading.looks_like_date:
        return reading.date
    try:
        parsed = date_parser.parse(text, dayfirst=spec.day_first and not _ISO_START.match(text))
    except (ValueError, OverflowError):
        return None
    return parsed.date() if parsed.year >= 1900 else None


def _resolve(base: str, href: str) -> str | None:
    return web_url(href, base)


def _image(element: lxml.html.HtmlElement, selector: FieldSelector, base: str) -> str | None:
    for found in selector.select(element):
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


def _first_text(element: lxml.html.HtmlElement, selector: FieldSelector | None) -> str:
    if selector is None:
        return ""
    for found in selector.select(element):
        text = selector.read(found)
        if text:
            return text
    return ""


def parse_with_selectors(document: str, context: PageContext, spec: SelectorSpec) -> ParseResult:
    """Read a listing page with a source's selectors."""
    try:
        root = lxml.html.document_fromstring(_XML_DECLARATION.sub("", document, count=1))
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
    items: list[_Item] = []
    for position, element in enumerate(elements, start=1):
        unmatched -= {key for key, sel in spec.fields.items() if sel.select(element)}
        title = _first_text(element, spec.fields["title"])
        link_selector = spec.fields.get("link")
        link_element = None
        if link_selector is not None:
            link_element = next(iter(link_selector.select(element)), None)
        else:
            title_elements = spec.fields["title"].select(element)
            anchors = [a for t in title_elements for a in t.iter("a") if a.get("href")]
            link_element = (
                anchors[0]
                if anchors
                else next((a for a in element.iter("a") if a.get("href")), None)
            )
        link = None
        if link_element is not None:
            attribute = (
                link_selector.attribute if link_selector and link_selector.attribute else "href"
            )
            link = _resolve(base, str(link_element.get(attribute, "")))
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
        if "date" in spec.fields:
            date_text = _first_text(element, spec.fields["date"])
            date = read_date(date_text, spec) if date_text else None
        else:  # no date selector: a date written anywhere in the item
            date_text, date = "", find_listing_date(element.text_content())
        if date_text and date is None:
            diagnostics.append(
                Diagnostic(
                    code="invalid-date",
                    severity=Severity.WARNING,
                    message=f"item {position}: {date_text!r} is not a date it can read",
                    item=position,
                )
            )
        label_selector = spec.fields.get("label")
        labels = (
            ()
            if label_selector is None
            else tuple(
                dict.fromkeys(
                    t for t in (label_selector.read(e) for e in label_selector.select(element)) if t
                )
            )
        )
        image_selector = spec.fields.get("image")
        items.append(
            _Item(
                title=title,
                link=link,
                date=date,
                summary=_first_text(element, spec.fields.get("summary")),
                labels=labels,
                image=_image(element, image_selector, base) if image_selector else None,
                position=position,
            )
        )
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
