"""Structured data in HTML pages: schema.org articles declared in JSON-LD.

Used by the selector adapter (``structured = "json-ld"``) and by auto-detection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import lxml.html

from feeds.text import clean_text

#: schema.org types read as listing items.
ARTICLE_TYPES = frozenset(
    ("Article", "NewsArticle", "BlogPosting", "Report", "ScholarlyArticle", "PressRelease",
     "AnalysisNewsArticle", "ReportageNewsArticle", "Event")
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class StructuredArticle:
    """An article as JSON-LD declares it: texts as given, URLs not yet resolved."""

    title: str
    url: str
    date: str
    summary: str
    labels: tuple[str, ...]
    image: str


def _objects(value: object) -> list[dict[str, Any]]:
    """Every JSON object in a JSON-LD document, nested ones included, in document order."""
    found: list[dict[str, Any]] = []

    def visit(current: object) -> None:
        if isinstance(current, dict):
            found.append(current)
            for child in current.values():
                visit(child)
        elif isinstance(current, list):
            for child in current:
                visit(child)

    visit(value)
    return found


def _types(thing: dict[str, Any]) -> set[str]:
    kind = thing.get("@type", [])
    return {str(k).rsplit("/", 1)[-1] for k in (kind if isinstance(kind, list) else [kind])}


def _text(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(text for text in (_text(v) for v in value) if text)
    if isinstance(value, dict):
        return _text(value.get("name") or value.get("url") or value.get("@id") or "")
    return clean_text(str(value)) if value is not None else ""


def _labels(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        labels = [part.strip() for part in value.split(",")]
    elif isinstance(value, list):
        labels = [_text(part) for part in value]
    else:
        labels = []
    return tuple(dict.fromkeys(label for label in labels if label))


def json_ld_articles(root: lxml.html.HtmlElement) -> list[StructuredArticle]:
    """The schema.org articles a page declares in ``<script type="application/ld+json">``."""
    articles = []
    for script in root.iter("script"):
        if str(script.get("type", "")).strip().lower() != "application/ld+json":
            continue
        try:
            document = json.loads(script.text or "")
        except ValueError:
            continue
        for thing in _objects(document):
            title = _text(thing.get("headline") or thing.get("name"))
            if not (_types(thing) & ARTICLE_TYPES) or not title:
                continue
            image = thing.get("image")
            articles.append(
                StructuredArticle(
                    title=title,
                    url=_text(thing.get("url") or thing.get("@id") or ""),
                    date=_text(
                        thing.get("datePublished")
                        or thing.get("dateCreated")
                        or thing.get("startDate")
                    ),
                    summary=_text(thing.get("description")),
                    labels=_labels(thing.get("keywords") or thing.get("articleSection")),
                    image=_text(image).split(",")[0].strip() if image else "",
                )
            )
    return articles
