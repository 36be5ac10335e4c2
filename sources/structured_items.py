"""The shared ground of structured data readers: the article a page declares, a reading's
result, and bounded JSON reading (size, depth, count) that skips broken blocks."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import lxml.html

from feeds.model import Diagnostic, Severity
from feeds.text import clean_text

#: schema.org types read as listing items.
ARTICLE_TYPES = frozenset(
    ("Article", "NewsArticle", "BlogPosting", "Report", "ScholarlyArticle", "PressRelease",
     "AnalysisNewsArticle", "ReportageNewsArticle", "Event", "TechArticle", "SocialMediaPosting")
)  # fmt: skip
#: The largest JSON block read (characters), how deep and how many values are visited in one.
MAX_JSON_CHARACTERS = 4_000_000
MAX_DEPTH = 32
MAX_VALUES = 200_000
_UTC_SUFFIXES = ("Z", "+00:00", "-00:00")


@dataclass(frozen=True, slots=True, kw_only=True)
class StructuredArticle:
    """An article as the page declares it: texts as given, URLs not yet resolved."""

    title: str
    url: str
    date: str
    summary: str
    labels: tuple[str, ...]
    image: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StructuredReading:
    """What one structured mode read from a page, and what it had to skip."""

    articles: tuple[StructuredArticle, ...]
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def linked(self) -> int:
        """How many articles have both a title and a link."""
        return sum(1 for a in self.articles if a.title and a.url)


def text_of(value: object) -> str:
    """A JSON value as one line of text: lists joined, objects by their name or URL."""
    if isinstance(value, list):
        return ", ".join(text for text in (text_of(v) for v in value) if text)
    if isinstance(value, dict):
        return text_of(
            value.get("name") or value.get("url") or value.get("@id") or value.get("value") or ""
        )
    if isinstance(value, bool) or value is None:
        return ""
    return clean_text(str(value))


def first_url(value: object) -> str:
    """The first URL of a JSON value: a string, an object's ``url``/``src``, a list's first."""
    if isinstance(value, list):
        return next((url for url in (first_url(v) for v in value) if url), "")
    if isinstance(value, dict):
        return first_url(
            value.get("url") or value.get("contentUrl") or value.get("src") or value.get("value")
        )
    return clean_text(value).split(" ")[0] if isinstance(value, str) else ""


def labels_of(value: object) -> tuple[str, ...]:
    """Keywords or sections: a comma-separated string or a list."""
    if isinstance(value, str):
        labels = [clean_text(part) for part in value.split(",")]
    elif isinstance(value, list):
        labels = [text_of(part) for part in value]
    else:
        labels = []
    return tuple(dict.fromkeys(label for label in labels if label))


def structured_day(text: str, zone: ZoneInfo) -> str:
    """The calendar day of a declared date, as ``YYYY-MM-DD`` where it is ISO 8601: a UTC
    instant is read in the source's zone, a local time with an offset on its own day; any
    other text is returned as it is, for the listing date readers."""
    text = text.strip()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None and text.endswith(_UTC_SUFFIXES):
        return moment.astimezone(zone).date().isoformat()
    return moment.date().isoformat()


def walk_json(value: object) -> Iterator[tuple[object, int]]:
    """Every value of a JSON document with its depth, in document order, at most
    ``MAX_VALUES`` of them and none deeper than ``MAX_DEPTH``."""
    stack: list[tuple[object, int]] = [(value, 0)]
    visited = 0
    while stack and visited < MAX_VALUES:
        current, depth = stack.pop()
        visited += 1
        yield current, depth
        if depth >= MAX_DEPTH:
            continue
        if isinstance(current, dict):
            stack.extend((child, depth + 1) for child in reversed(list(current.values())))
        elif isinstance(current, list):
            stack.extend((child, depth + 1) for child in reversed(current))


def json_scripts(
    root: lxml.html.HtmlElement, accept: Callable[[lxml.html.HtmlElement], bool], what: str
) -> tuple[list[object], list[Diagnostic]]:
    """The JSON documents of the page's ``<script>`` elements that ``accept`` takes; a block
    that is not JSON or is too large is skipped with a diagnostic, never failing the page."""
    documents: list[object] = []
    diagnostics: list[Diagnostic] = []
    for number, script in enumerate((s for s in root.iter("script") if accept(s)), start=1):
        text = script.text or ""
        line = script.sourceline
        if len(text) > MAX_JSON_CHARACTERS:
            message = f"{what} block {number} has {len(text)} characters, more than "
            diagnostics.append(
                Diagnostic(code="structured-data-too-large", severity=Severity.WARNING,
                           message=message + f"{MAX_JSON_CHARACTERS}: skipped", line=line)
            )  # fmt: skip
            continue
        try:
            documents.append(json.loads(text))
        except json.JSONDecodeError as error:
            message = f"{what} block {number} is not JSON ({error.msg} at line {error.lineno} "
            diagnostics.append(
                Diagnostic(code="broken-structured-data", severity=Severity.WARNING,
                           message=message + f"column {error.colno}): skipped", line=line)
            )  # fmt: skip
        except RecursionError:
            diagnostics.append(
                Diagnostic(code="broken-structured-data", severity=Severity.WARNING,
                           message=f"{what} block {number} is nested too deeply: skipped",
                           line=line)
            )  # fmt: skip
    return documents, diagnostics
