"""Items declared in the markup and app state of a page: schema.org microdata, microformats2
``h-entry`` and hAtom (read by mf2py, from the given document only), and JSON app state such
as ``__NEXT_DATA__`` (arrays of objects with a title and a link, bounded in size and depth).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import lxml.html
import mf2py

from feeds.text import clean_text
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

_URL_PROPERTY_TAGS = {"a": "href", "area": "href", "link": "href", "img": "src",
                      "audio": "src", "video": "src", "source": "src", "iframe": "src",
                      "embed": "src", "track": "src", "object": "data"}  # fmt: skip
_MF_CLASSES = ("h-entry", "hentry")
_TITLE_KEYS = ("title", "headline", "name")
_URL_KEYS = ("url", "href", "link", "permalink", "canonicalUrl", "canonical_url", "uri", "path")
_DATE_KEYS = ("datePublished", "publishedAt", "published_at", "publishDate", "publish_date",
              "pubDate", "published", "date", "firstPublishedAt", "createdAt",
              "created_at")  # fmt: skip
_SUMMARY_KEYS = ("description", "summary", "excerpt", "teaser", "dek", "subtitle")
_IMAGE_KEYS = ("image", "imageUrl", "image_url", "thumbnail", "thumbnailUrl", "picture")
_LABEL_KEYS = ("tags", "categories", "category", "section", "keywords")
_TAG = re.compile(r"<[^>]{0,1000}>")  # markup inside a JSON text, as in rendered excerpts
_SPACE_BEFORE_STOP = re.compile(r"\s+([.,;:!?])")
#: A longer h-entry name is the text of the whole entry (implied by mf2 parsing), not a title.
MAX_TITLE_CHARACTERS = 300
_EPOCH_MILLISECONDS = 100_000_000_000  # larger epoch numbers count milliseconds


# -- microdata ---------------------------------------------------------------------------------


def _microdata_value(element: lxml.html.HtmlElement) -> object:
    if element.get("itemscope") is not None:  # a nested item: its own url, else its text
        url = next((e for e in element.iter() if "url" in str(e.get("itemprop", "")).split()), None)
        return _microdata_value(url) if url is not None else clean_text(element.text_content())
    tag = str(element.tag)
    if tag == "meta":
        return clean_text(str(element.get("content", "")))
    if tag in _URL_PROPERTY_TAGS:
        return str(element.get(_URL_PROPERTY_TAGS[tag], "")).strip()
    if tag == "time" and element.get("datetime"):
        return str(element.get("datetime")).strip()
    if tag in ("data", "meter") and element.get("value"):
        return str(element.get("value")).strip()
    return clean_text(element.text_content())


def _microdata_properties(item: lxml.html.HtmlElement) -> dict[str, list[object]]:
    """The item's own properties: not those of the items nested in it."""
    properties: dict[str, list[object]] = {}
    stack = list(reversed([c for c in item if isinstance(c.tag, str)]))
    while stack:
        element = stack.pop()
        for name in str(element.get("itemprop", "")).split():
            properties.setdefault(name, []).append(_microdata_value(element))
        if element.get("itemscope") is None:
            stack.extend(reversed([c for c in element if isinstance(c.tag, str)]))
    return properties


def read_microdata(root: lxml.html.HtmlElement) -> StructuredReading:
    """The schema.org articles of the page's microdata (``itemscope itemtype=".../Article"``)."""
    articles = []
    for item in root.iter():
        if not isinstance(item.tag, str) or item.get("itemscope") is None:
            continue
        types = {t.rstrip("/").rsplit("/", 1)[-1] for t in str(item.get("itemtype", "")).split()}
        if not types & ARTICLE_TYPES:
            continue
        found = _microdata_properties(item)

        def first(*names: str, found: dict[str, list[object]] = found) -> object:
            return next((v for n in names for v in found.get(n, []) if v), "")

        url = first_url(first("url", "mainEntityOfPage"))
        if not url:  # the headline's own link, else the item's first link
            headline = next(
                (
                    e
                    for e in item.iter()
                    if {"headline", "name"} & set(str(e.get("itemprop", "")).split())
                ),
                None,
            )
            anchors = [
                a for a in (headline if headline is not None else item).iter("a") if a.get("href")
            ]
            anchors = anchors or [a for a in item.iter("a") if a.get("href")]
            url = str(anchors[0].get("href")).strip() if anchors else ""
        title = text_of(first("headline", "name"))
        keywords = found.get("keywords", []) + found.get("articleSection", [])
        if title:
            articles.append(
                StructuredArticle(
                    title=title,
                    url=url,
                    date=text_of(first("datePublished", "dateCreated", "startDate")),
                    summary=text_of(first("description", "abstract")),
                    labels=labels_of(", ".join(text_of(v) for v in keywords)),
                    image=first_url(first("image", "thumbnailUrl")),
                )
            )
    return StructuredReading(articles=tuple(articles))


# -- microformats2 h-entry and hAtom -----------------------------------------------------------


def _mf_first(properties: dict[str, Any], name: str) -> object:
    values = properties.get(name)
    return values[0] if isinstance(values, list) and values else ""


def _mf_text(value: object) -> str:
    if isinstance(value, dict):  # an embedded item or an e-* property: its value or text
        return text_of(value.get("value") or value.get("html") or "")
    return text_of(value)


def _mf_items(items: object) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for item, _depth in walk_json(items):
        if isinstance(item, dict) and "h-entry" in (item.get("type") or []):
            found.append(item)
    return found


def read_h_entries(root: lxml.html.HtmlElement) -> StructuredReading:
    """The page's microformats2 ``h-entry`` items (and hAtom ``hentry``, which mf2py reads
    as ``h-entry``). mf2py is given the document itself and no URL, so it fetches nothing."""
    if not any(
        set(str(e.get("class", "")).split()) & set(_MF_CLASSES)
        for e in root.iter()
        if isinstance(e.tag, str)
    ):
        return StructuredReading(articles=())
    document = lxml.html.tostring(root, encoding="unicode")
    parsed = mf2py.parse(doc=document, html_parser="lxml")
    articles = []
    for entry in _mf_items(parsed.get("items", [])):
        properties = entry.get("properties", {})
        title = _mf_text(_mf_first(properties, "name"))
        if not title or len(title) > MAX_TITLE_CHARACTERS:  # none, or the entry's whole text
            continue
        image = _mf_first(properties, "featured") or _mf_first(properties, "photo")
        articles.append(
            StructuredArticle(
                title=title,
                url=first_url(_mf_first(properties, "url")),
                date=_mf_text(_mf_first(properties, "published")),
                summary=_mf_text(_mf_first(properties, "summary")),
                labels=labels_of([_mf_text(c) for c in properties.get("category", [])]),
                image=first_url(image),
            )
        )
    return StructuredReading(articles=tuple(articles))


# -- JSON app state ----------------------------------------------------------------------------


def _is_app_state(script: lxml.html.HtmlElement) -> bool:
    return str(script.get("type", "")).strip().lower() == "application/json"


def _key(thing: dict[str, Any], keys: tuple[str, ...]) -> object:
    return next((thing[k] for k in keys if thing.get(k)), "")


def _state_text(value: object) -> str:
    if isinstance(value, dict):  # WordPress's {"rendered": "..."} and similar
        value = value.get("rendered") or value.get("text") or value.get("value") or ""
    if not isinstance(value, str):
        return ""
    return _SPACE_BEFORE_STOP.sub(r"\1", clean_text(html.unescape(_TAG.sub(" ", value))))


def _state_date(value: object) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, (int, float)) and value > 0:  # an epoch instant, in UTC
        seconds = value / 1000 if value >= _EPOCH_MILLISECONDS else value
        try:
            return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return ""
    return text_of(value) if isinstance(value, str) else ""


def _state_article(thing: dict[str, Any]) -> StructuredArticle | None:
    title = _state_text(_key(thing, _TITLE_KEYS))
    url = _key(thing, _URL_KEYS)
    if not title or not isinstance(url, str) or not url.strip():
        return None
    return StructuredArticle(
        title=title,
        url=url.strip(),
        date=_state_date(_key(thing, _DATE_KEYS)),
        summary=_state_text(_key(thing, _SUMMARY_KEYS)),
        labels=labels_of(_key(thing, _LABEL_KEYS)),
        image=first_url(_key(thing, _IMAGE_KEYS)),
    )


def read_app_state(root: lxml.html.HtmlElement) -> StructuredReading:
    """The list of articles in the page's JSON app state (``<script type="application/json">``,
    ``__NEXT_DATA__`` among them): of its arrays of objects with a title-like and a URL-like key,
    most of them dated (menus and author lists are not), the one with the most such objects."""
    documents, diagnostics = json_scripts(root, _is_app_state, "app state")
    best: tuple[float, list[StructuredArticle]] = (0, [])
    for document in documents:
        for value, _depth in walk_json(document):
            if not isinstance(value, list) or len(value) < 2:
                continue
            articles = [
                a
                for a in (_state_article(v) for v in value if isinstance(v, dict))
                if a is not None
            ]
            dated = sum(1 for a in articles if a.date)
            score = len(articles) + dated
            if len(articles) * 2 >= len(value) and dated * 2 >= len(articles) and score > best[0]:
                best = (score, articles)
    return StructuredReading(articles=tuple(best[1]), diagnostics=tuple(diagnostics))
