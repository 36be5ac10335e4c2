"""Structured data in HTML pages: the items a page declares (its advertised feeds, schema.org
JSON-LD and microdata, microformats2 ``h-entry``, JSON app state), read before any guessing.

Used by the selector adapter (``structured = "json-ld" | ...``) and by auto-detection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html

from feeds.model import PageContext
from sources.structured_items import (
    ARTICLE_TYPES,
    StructuredArticle,
    StructuredReading,
    first_url,
    json_scripts,
    labels_of,
    text_of,
    walk_json,
)
from sources.structured_markup import read_app_state, read_h_entries, read_microdata

#: The ``structured`` modes of the selector adapter, in the order auto-detection tries them.
MODES = ("json-ld", "microdata", "h-entry", "app-state")
#: A structured reading is taken when it gives at least this many items with titles and links.
MIN_ITEMS = 3
_LIST_TYPES = frozenset(("ItemList", "OfferCatalog", "HowToSection"))
_NOT_LISTINGS = frozenset(("BreadcrumbList", "SiteNavigationElement"))  # a page's place, not items
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")


@dataclass(frozen=True, slots=True, kw_only=True)
class StructuredFinding:
    """What the page declares, as a source: its own feed (``kind = "feed"``, ``url``), or the
    selector adapter in one structured mode (``selectors = {"structured": mode}``)."""

    kind: str
    url: str = ""
    selectors: dict[str, str]
    notes: tuple[str, ...]
    count: int = 0


def _types(thing: dict[str, Any]) -> set[str]:
    kind = thing.get("@type", [])
    return {str(k).rsplit("/", 1)[-1] for k in (kind if isinstance(kind, list) else [kind])}


def _schema_article(thing: dict[str, Any], *, url: str = "", title: str = "") -> StructuredArticle:
    return StructuredArticle(
        title=text_of(thing.get("headline") or thing.get("name")) or title,
        url=first_url(thing.get("url") or thing.get("@id") or thing.get("mainEntityOfPage")) or url,
        date=text_of(
            thing.get("datePublished") or thing.get("dateCreated") or thing.get("startDate")
        ),
        summary=text_of(thing.get("description") or thing.get("abstract")),
        labels=labels_of(thing.get("keywords") or thing.get("articleSection")),
        image=first_url(thing.get("image") or thing.get("thumbnailUrl")),
    )


def _list_items(elements: object, taken: set[int]) -> list[StructuredArticle]:
    """The entries of an ``ItemList``: ``ListItem`` with ``url``/``name`` or an ``item`` (a
    URL or a thing); articles listed bare are read where they stand."""
    found = []
    for element in elements if isinstance(elements, list) else [elements]:
        if not isinstance(element, dict) or "ListItem" not in _types(element):
            continue
        item = element.get("item")
        if isinstance(item, dict):
            taken.add(id(item))
            name, link = text_of(element.get("name")), first_url(element.get("url"))
            article = _schema_article(item, url=link, title=name)
        else:
            article = _schema_article(element, url=first_url(item))
        if article.title:
            found.append(article)
    return found


def _is_json_ld(script: lxml.html.HtmlElement) -> bool:
    return str(script.get("type", "")).strip().lower() == "application/ld+json"


def json_ld_types(root: lxml.html.HtmlElement) -> set[str]:
    """Every schema.org type the page's JSON-LD declares (``NewsArticle``, ``ItemList``...)."""
    documents, _diagnostics = json_scripts(root, _is_json_ld, "JSON-LD")
    return {
        kind
        for document in documents
        for thing, _depth in walk_json(document)
        if isinstance(thing, dict)
        for kind in _types(thing)
    }


def read_json_ld(root: lxml.html.HtmlElement) -> StructuredReading:
    """The schema.org articles of the page's JSON-LD: articles anywhere in its blocks (in
    ``@graph``, arrays, ``mainEntity``), and the entries of an ``ItemList``."""
    documents, diagnostics = json_scripts(root, _is_json_ld, "JSON-LD")
    articles: list[StructuredArticle] = []
    taken: set[int] = set()  # the articles of list items, read with their list item
    for document in documents:
        for thing, _depth in walk_json(document):
            if not isinstance(thing, dict) or id(thing) in taken:
                continue
            types = _types(thing)
            if types & _LIST_TYPES and not types & _NOT_LISTINGS:
                articles.extend(_list_items(thing.get("itemListElement"), taken))
            elif types & ARTICLE_TYPES and (article := _schema_article(thing)).title:
                articles.append(article)
    return StructuredReading(articles=tuple(articles), diagnostics=tuple(diagnostics))


def read_structured(root: lxml.html.HtmlElement, mode: str) -> StructuredReading:
    """The articles the page declares in one of the ``MODES``."""
    readers: dict[str, Callable[[lxml.html.HtmlElement], StructuredReading]] = {
        "json-ld": read_json_ld,
        "microdata": read_microdata,
        "h-entry": read_h_entries,
        "app-state": read_app_state,
    }
    return readers[mode](root)


def advertised_feeds(root: lxml.html.HtmlElement, page_url: str) -> list[str]:
    """The absolute URLs of the feeds the page advertises with ``<link rel="alternate">``:
    the feed of the page's own section first (``/category/tools/feed/`` on
    ``/category/tools/``, not the whole site's), comment feeds last."""
    feeds = [
        (
            "comment" in str(link.get("title", "")).lower() or "/comments/" in href,
            -_shared_path(page_url, urljoin(page_url, href)),
            urljoin(page_url, href),
        )
        for link in root.iter("link")
        if "alternate" in str(link.get("rel", "")).lower().split()
        and str(link.get("type", "")).strip().lower() in FEED_TYPES
        and (href := str(link.get("href", "")).strip())
    ]
    return list(dict.fromkeys(url for *_, url in sorted(feeds, key=lambda found: found[:2])))


def _shared_path(page_url: str, feed_url: str) -> int:
    """How many leading path segments (without a file extension) two URLs of one host share."""
    page, feed = urlsplit(page_url), urlsplit(feed_url)
    if (page.hostname or "").removeprefix("www.") != (feed.hostname or "").removeprefix("www."):
        return 0

    def segments(path: str) -> list[str]:
        return [part.rsplit(".", 1)[0] for part in path.split("/") if part]

    shared = 0
    for own, other in zip(segments(page.path), segments(feed.path), strict=False):
        if own != other:
            break
        shared += 1
    return shared


def structured_suggestion(
    root: lxml.html.HtmlElement, context: PageContext
) -> StructuredFinding | None:
    """What the page declares about its items, tried in order: its own advertised feed, then
    JSON-LD, microdata, ``h-entry`` and JSON app state, each taken when it gives at least
    ``MIN_ITEMS`` items with titles and links; ``None`` when the page declares none."""
    feeds = advertised_feeds(root, context.page_url)
    if feeds:
        others = [f"the page also advertises {url}" for url in feeds[1:]]
        note = f'the page advertises its own feed: {feeds[0]} (read it with kind = "feed")'
        return StructuredFinding(kind="feed", url=feeds[0], selectors={}, notes=(note, *others))
    skipped: list[str] = []
    for mode in MODES:
        reading = read_structured(root, mode)
        skipped.extend(d.message for d in reading.diagnostics)
        if reading.linked >= MIN_ITEMS:
            note = f"found {reading.linked} items declared in the page's {_MODE_NAMES[mode]}"
            return StructuredFinding(
                kind="html",
                selectors={"structured": mode},
                notes=(note, *skipped),
                count=reading.linked,
            )
    return None


_MODE_NAMES = {
    "json-ld": "schema.org JSON-LD",
    "microdata": "schema.org microdata",
    "h-entry": "microformats (h-entry, hAtom)",
    "app-state": "embedded app state (JSON)",
}
