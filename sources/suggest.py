"""Auto-detection: the source configuration suggested for an unknown page (ILO, structured
data, or the best candidate list of ``sources.suggest_lists`` with the next ones as
alternatives), or why the page is not a listing, as a ready-to-paste ``[[sources]]`` table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from feeds.model import PageContext, ParseResult
from feeds.text import clean_text
from sources import ilo
from sources.selectors import SelectorSpec, parse_with_selectors
from sources.structured import StructuredFinding, structured_suggestion
from sources.suggest_article import RELATED_SCORE, article_reason
from sources.suggest_fields import field_selectors
from sources.suggest_lists import (
    MIN_ITEMS,
    Candidate,
    candidates,
    item_selector,
    score_members,
)
from sources.suggest_zone import guess_timezone

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
#: Candidates kept (and printed) beside the suggestion.
KEPT_CANDIDATES = 3
_NOT_AN_ID = frozenset(("en", "uk", "www", "news", "home", "index", "source", "de", "fr", "es"))
_SECOND_LEVEL = frozenset(("co", "com", "org", "net", "gov", "ac", "edu", "gv", "or", "ne"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Alternative:
    """One candidate list as the selector adapter reads it, with why it scored."""

    label: str
    selectors: dict[str, str]
    score: float
    reasons: tuple[str, ...]
    result: ParseResult


@dataclass(frozen=True, slots=True, kw_only=True)
class Suggestion:
    """What auto-detection found: the adapter kind and its selectors, how it read, the other
    candidates, and the page's site id and time zone as far as the page tells them."""

    kind: str
    selectors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    result: ParseResult | None = None
    page_title: str = ""
    feed_links: list[str] = field(default_factory=list)
    url: str = ""  # the URL to read, where it is not the page's own (its advertised feed)
    alternatives: tuple[Alternative, ...] = ()
    source_id: str = ""
    timezone: str | None = None
    timezone_reason: str = "a guess: the page's dates carry no UTC offset"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")


def site_id(root: lxml.html.HtmlElement, page_url: str) -> str:
    """An id from the site's name (``og:site_name``), else from the host's main label."""
    for meta in root.iter("meta"):
        if str(meta.get("property", "")).lower() == "og:site_name":
            slug = _slug(str(meta.get("content", "")))
            if slug and slug not in _NOT_AN_ID:
                return slug
    labels = [part for part in (urlsplit(page_url).hostname or "").lower().split(".") if part]
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL:  # example.co.uk
        labels = labels[:-1]
    main = labels[-2] if len(labels) >= 2 else (labels[0] if labels else "")
    slug = _slug(main)
    return slug if slug and slug not in _NOT_AN_ID else "source"


def _read(document: str, context: PageContext, selectors: dict[str, str]) -> ParseResult:
    return parse_with_selectors(document, context, SelectorSpec.from_options(selectors))


def _entries_summary(result: ParseResult) -> str:
    dated = sum(1 for entry in result.entries if entry.date)
    return f"{len(result.entries)} entries, {dated} dated"


def _structure_alternatives(
    document: str, context: PageContext, root: lxml.html.HtmlElement, found: list[Candidate]
) -> list[Alternative]:
    """The best candidates read with their selectors; a candidate whose selector matches more
    than its members is scored again as what the selector matches, and of two selectors that
    match the same elements the shorter is kept."""
    kept: dict[frozenset[lxml.html.HtmlElement], Alternative] = {}
    for candidate in found[: 2 * KEPT_CANDIDATES]:
        if len(kept) == KEPT_CANDIDATES:
            break
        selector = item_selector(root, candidate.members)
        matched = [e for e in root.cssselect(selector) if isinstance(e, lxml.html.HtmlElement)]
        key = frozenset(matched)
        if not matched or (key in kept and len(kept[key].selectors["item"]) <= len(selector)):
            continue
        scored = candidate
        if key != frozenset(candidate.members):
            scored = score_members(matched, context.page_url)
            extra = f"its selector matches {len(matched)} elements, not {len(candidate.members)}"
            scored = replace(scored, reasons=(*scored.reasons, extra))
        selectors = {"item": selector, **field_selectors(scored.members)}
        kept[key] = Alternative(
            label=f"{len(scored.members)} repeated items",
            selectors=selectors,
            score=scored.score,
            reasons=scored.reasons,
            result=_read(document, context, selectors),
        )
    return sorted(kept.values(), key=lambda a: a.score, reverse=True)


def suggest_source(document: str, context: PageContext) -> Suggestion:
    """Find the items of a listing page and say how to configure it as a source."""
    try:
        root = lxml.html.document_fromstring(_XML_DECLARATION.sub("", document, count=1))
    except (etree.ParserError, ValueError):
        return Suggestion(kind="", notes=["the page could not be read as HTML"])
    zone, zone_reason = guess_timezone(root, context.page_url)
    page = Suggestion(
        kind="",
        page_title=clean_text(root.findtext(".//title") or ""),
        feed_links=[
            urljoin(context.page_url, str(link.get("href")))
            for link in root.iter("link")
            if str(link.get("rel", "")).lower() == "alternate"
            and str(link.get("type", "")).lower()
            in ("application/rss+xml", "application/atom+xml", "application/feed+json")
            and link.get("href")
        ],
        source_id=site_id(root, context.page_url),
        timezone=zone,
        timezone_reason=zone_reason,
    )
    if root.cssselect("ol.item-list > li, ul.item-list > li"):
        result = ilo.parse(document, context)
        if len(result.entries) >= MIN_ITEMS:
            note = "an ILO listing page: the ilo adapter reads it without selectors"
            return replace(page, kind="ilo", result=result, notes=[note])
    og_type = next(
        (
            str(m.get("content", "")).strip().lower()
            for m in root.iter("meta")
            if str(m.get("property", "")).lower() == "og:type"
        ),
        "",
    )
    found = candidates(root, context.page_url)
    alternatives = tuple(_structure_alternatives(document, context, root, found))
    if (reason := article_reason(root, found, og_type)) is not None:
        related = tuple(
            replace(a, label=f"not the page's list, only related links: {a.label}")
            for a in alternatives
            if a.score >= RELATED_SCORE
        )
        notes = [f"not a listing: a single article ({reason})"]
        notes += [
            f"{a.label} (item = {a.selectors['item']!r}, {_entries_summary(a.result)})"
            for a in related[:1]
        ]
        return replace(page, notes=notes, alternatives=related)
    # what the page declares comes first: its own feed, then items in structured data
    declared = structured_suggestion(root, context)
    if declared is not None and declared.kind == "html":
        result = _read(document, context, declared.selectors)
        if not alternatives or not _dates_elsewhere(alternatives[0].result, result):
            return replace(
                page,
                kind="html",
                selectors=declared.selectors,
                result=result,
                notes=list(declared.notes),
                alternatives=alternatives,
            )
        # the markup declares the items but not their dates, which the page shows
        markup = Alternative(
            label=declared.notes[0].removeprefix("found ") + " (without their dates)",
            selectors=declared.selectors,
            score=0.0,
            reasons=(),
            result=result,
        )
        alternatives = (alternatives[0], markup, *alternatives[1:])
        declared = None
    if not alternatives:
        if declared is not None:
            return _declared_feed(page, declared, None)
        return replace(page, notes=["no repeated item with a linked title was found"])
    top = alternatives[0]
    notes = [f"found {top.label}"] + ([f"why: {'; '.join(top.reasons)}"] if top.reasons else [])
    best = replace(
        page,
        kind="html",
        selectors=top.selectors,
        result=top.result,
        notes=notes,
        alternatives=alternatives[1:],
    )
    return best if declared is None else _declared_feed(page, declared, best)


def _dates_elsewhere(page: ParseResult | None, declared: ParseResult) -> bool:
    """Whether the page's own best list gives the items that structured data declares (nine
    in ten of their links) with more dates."""
    if page is None or not declared.entries:
        return False
    dated = sum(e.date is not None for e in page.entries)
    if dated <= sum(e.date is not None for e in declared.entries):
        return False
    links = {e.link for e in page.entries}
    return sum(e.link in links for e in declared.entries) * 10 >= len(declared.entries) * 9


def _declared_feed(
    page: Suggestion, found: StructuredFinding, best: Suggestion | None
) -> Suggestion:
    """The page's own feed as the suggestion; what the page itself gives (its best HTML
    reading, kept as the result and the first alternative) is said in a note."""
    notes = list(found.notes)
    if best is None or best.result is None:
        return replace(page, kind="feed", url=found.url, notes=notes)
    read = ", ".join(f"{key} = {_toml_string(value)}" for key, value in best.selectors.items())
    notes.append(
        f'or read the page itself with kind = "html" and {read} '
        f"({len(best.result.entries)} entries; {'; '.join(best.notes)})"
    )
    own = Alternative(
        label=f"the page itself: {best.notes[0].removeprefix('found ')}",
        selectors=best.selectors,
        score=0.0,
        reasons=(),
        result=best.result,
    )
    return replace(
        page,
        kind="feed",
        url=found.url,
        notes=notes,
        result=best.result,
        alternatives=(own, *best.alternatives),
    )


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _samples(result: ParseResult, indent: str = "#   ") -> list[str]:
    return [
        f"{indent}{entry.date.isoformat() if entry.date else 'undated'}  {entry.title[:70]}"
        for entry in result.entries[:3]
    ]


def suggestion_toml(suggestion: Suggestion, url: str, timezone: str, *, render: str = "") -> str:
    """The suggestion as a ``[[sources]]`` table to paste into ``feedpub.toml``, the other
    candidates and why each scored as comments above it; ``render``: how the page was read
    (``browser``), said in the table too."""
    host = (urlsplit(url).hostname or "source").removeprefix("www.")
    lines = [f"# {note}" for note in suggestion.notes]
    if suggestion.result is not None and suggestion.kind != "feed":  # a feed is read later
        lines.append(f"# read with these settings: {_entries_summary(suggestion.result)}")
        lines += _samples(suggestion.result)
        lines += [f"# [{d.severity}] {d.code}: {d.message}" for d in suggestion.result.diagnostics]
    lines += [
        f'# the page also offers a feed: {feed} (kind = "feed" reads it)'
        for feed in suggestion.feed_links
    ]
    for number, alternative in enumerate(suggestion.alternatives, start=2):
        lines.append(
            f"# alternative {number}: {alternative.label}, score {alternative.score}, "
            f"{_entries_summary(alternative.result)}"
        )
        lines.append(f"#   why: {'; '.join(alternative.reasons)}")
        lines += [f"#   {k} = {_toml_string(v)}" for k, v in alternative.selectors.items()]
        lines += _samples(alternative.result, "#     ")
    zone = suggestion.timezone or timezone
    lines += [
        "[[sources]]",
        f"id = {_toml_string(suggestion.source_id or 'source')}",
        f"title = {_toml_string(suggestion.page_title or host)}",
        f"url = {_toml_string(suggestion.url or url)}",
        f"kind = {_toml_string(suggestion.kind)}",
        f"timezone = {_toml_string(zone)}  # {suggestion.timezone_reason}: check it",
    ]
    if render and suggestion.kind != "feed":
        lines.append(f"render = {_toml_string(render)}")
    if suggestion.selectors:
        lines.append("")
        lines.append("[sources.selectors]")
        lines.extend(
            f"{key} = {_toml_string(value)}" for key, value in suggestion.selectors.items()
        )
    return "\n".join(lines) + "\n"
