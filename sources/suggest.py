"""Auto-detection: finding the items of an unknown listing page and suggesting a source.

``suggest_source`` looks at an HTML page the way a person would when writing selectors: an ILO
listing is recognised as such; schema.org articles in JSON-LD or microdata are used where the
page declares them; otherwise it looks for the repeated element (many siblings of one shape,
each with a linked title, ideally a date) and, within it, for the title, link, date, summary,
label and image. The result is a ready-to-paste ``[[sources]]`` table, checked by parsing the
page with it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from feeds.dates import read_listing_date
from feeds.model import PageContext, ParseResult
from feeds.text import clean_text
from sources import ilo
from sources.selectors import SelectorSpec, parse_with_selectors
from sources.structured import StructuredFinding, structured_suggestion

_FURNITURE = frozenset(("nav", "header", "footer", "aside", "script", "style", "noscript", "form"))
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_LABEL_CLASS = re.compile(r"tag|label|categor|kicker|eyebrow|rubric|topic|type", re.IGNORECASE)
_DATE_CLASS = re.compile(r"date|time|published", re.IGNORECASE)
_STABLE_CLASS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,40}$")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
MIN_ITEMS = 3
MIN_TITLE_CHARACTERS = 12


@dataclass
class Suggestion:
    """What auto-detection found: the adapter kind and its selectors, and how it read."""

    kind: str
    selectors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    result: ParseResult | None = None
    page_title: str = ""
    feed_links: list[str] = field(default_factory=list)
    url: str = ""  # the URL to read, where it is not the page's own (its advertised feed)


def _classes(element: lxml.html.HtmlElement) -> list[str]:
    return [c for c in str(element.get("class", "")).split() if _STABLE_CLASS.match(c)]


def _simple_selector(element: lxml.html.HtmlElement) -> str:
    classes = _classes(element)
    return str(element.tag) + "".join(f".{c}" for c in classes[:2])


def _in_furniture(element: lxml.html.HtmlElement) -> bool:
    return any(a.tag in _FURNITURE for a in element.iterancestors())


def _title_link(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    anchors = [
        a
        for a in item.iter("a")
        if a.get("href") and len(clean_text(a.text_content())) >= MIN_TITLE_CHARACTERS
    ]
    return max(anchors, key=lambda a: len(clean_text(a.text_content())), default=None)


def _has_date(item: lxml.html.HtmlElement) -> bool:
    if any(True for _ in item.iter("time")):
        return True
    return any(_date_text(e) for e in _leaves(item))


def _leaves(item: lxml.html.HtmlElement) -> Iterator[lxml.html.HtmlElement]:
    for element in item.iter():
        if isinstance(element.tag, str) and not any(isinstance(c.tag, str) for c in element):
            yield element


def _date_text(element: lxml.html.HtmlElement) -> bool:
    text = clean_text(element.text_content())
    return 6 <= len(text) <= 60 and read_listing_date(text).date is not None


def _candidate_groups(
    root: lxml.html.HtmlElement,
) -> list[tuple[float, list[lxml.html.HtmlElement]]]:
    groups = []
    for parent in root.iter():
        if not isinstance(parent.tag, str) or parent.tag in _FURNITURE or _in_furniture(parent):
            continue
        children = [c for c in parent if isinstance(c.tag, str)]
        by_shape: dict[str, list[lxml.html.HtmlElement]] = {}
        for child in children:
            by_shape.setdefault(_simple_selector(child), []).append(child)
        for members in by_shape.values():
            linked = [m for m in members if _title_link(m) is not None]
            if len(linked) < MIN_ITEMS:
                continue
            dated = sum(1 for m in linked if _has_date(m))
            score = len(linked) * (1 + 2 * dated / len(linked)) * (len(linked) / len(members))
            groups.append((score, members))
    groups.sort(key=lambda group: group[0], reverse=True)
    return groups


def _item_selector(root: lxml.html.HtmlElement, members: list[lxml.html.HtmlElement]) -> str:
    """A CSS selector that picks out exactly ``members`` on the page, as short as it can."""
    first = members[0]
    own = _simple_selector(first)
    parent = first.getparent()
    chain = [own]
    for ancestor in [parent, *parent.iterancestors()] if parent is not None else []:
        if not isinstance(ancestor.tag, str):
            break
        for candidate in (" ".join(chain), " > ".join(chain)):
            if set(root.cssselect(candidate)) == set(members):
                return candidate
        if ancestor.get("id") and _STABLE_CLASS.match(str(ancestor.get("id"))):
            chain.insert(0, f"#{ancestor.get('id')}")
            candidate = " > ".join(chain) if len(chain) == 2 else " ".join(chain)
            if set(root.cssselect(candidate)) >= set(members):
                return candidate
        else:
            chain.insert(0, _simple_selector(ancestor))
        if ancestor.tag == "body":
            break
    return " > ".join(chain)


def _common_child_selector(
    items: list[lxml.html.HtmlElement],
    pick: Callable[[lxml.html.HtmlElement], lxml.html.HtmlElement | None],
) -> str | None:
    """A simple selector that finds, first in each item, the element ``pick`` chooses there;
    ``None`` if ``pick`` finds nothing in more than four items out of ten."""
    present = [(item, element) for item in items if (element := pick(item)) is not None]
    if len(present) * 10 < len(items) * 6:
        return None
    shapes = Counter(_simple_selector(element) for _, element in present)
    for shape, _count in shapes.most_common():
        if all(
            (found := item.cssselect(shape)) and found[0] is element for item, element in present
        ):
            return shape
    return None


def _microdata(root: lxml.html.HtmlElement) -> dict[str, str] | None:
    items = [
        e
        for e in root.iter()
        if isinstance(e.tag, str)
        and e.get("itemscope") is not None
        and re.search(
            r"schema\.org/(News|Blog|Scholarly)?(Article|Posting|Report)",
            str(e.get("itemtype", "")),
        )
    ]
    if len(items) < 2:
        return None
    kind = str(items[0].get("itemtype")).rsplit("/", 1)[-1]
    selectors = {"item": f"[itemtype$='{kind}']", "title": "[itemprop=headline]"}
    if items[0].cssselect("[itemprop=url]"):
        selectors["link"] = "[itemprop=url]@href"
    date = items[0].cssselect("[itemprop=datePublished]")
    if date:
        attribute = (
            "datetime" if date[0].get("datetime") else "content" if date[0].get("content") else ""
        )
        selectors["date"] = "[itemprop=datePublished]" + (f"@{attribute}" if attribute else "")
    if items[0].cssselect("[itemprop=description]"):
        selectors["summary"] = "[itemprop=description]"
    if items[0].cssselect("[itemprop=image]"):
        selectors["image"] = "[itemprop=image]"
    return selectors


def _structure(root: lxml.html.HtmlElement) -> tuple[dict[str, str], int] | None:
    groups = _candidate_groups(root)
    if not groups:
        return None
    _, members = groups[0]
    items = [m for m in members if _title_link(m) is not None]
    selectors = {"item": _item_selector(root, members)}

    def heading(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
        link = _title_link(item)
        return (
            next((a for a in link.iterancestors() if a.tag in _HEADINGS), None)
            if link is not None
            else None
        )

    title = _common_child_selector(items, heading)
    if title:
        selectors["title"] = title
    else:
        selectors["title"] = _common_child_selector(items, _title_link) or "a"
        selectors["link"] = selectors["title"] + "@href"

    def time_element(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
        return next(item.iter("time"), None)

    def date_leaf(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
        return next((e for e in _leaves(item) if _date_text(e)), None)

    if sum(1 for i in items if time_element(i) is not None) * 10 >= len(items) * 6:
        times = [time_element(i) for i in items]
        with_attribute = all(t is not None and t.get("datetime") for t in times)
        selectors["date"] = "time@datetime" if with_attribute else "time"
    elif (date := _common_child_selector(items, date_leaf)) is not None:
        selectors["date"] = date

    def summary(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
        link = _title_link(item)
        title_text = clean_text(link.text_content()) if link is not None else ""
        return next(
            (
                e
                for e in _leaves(item)
                if e.tag in ("p", "div", "span")
                and len(clean_text(e.text_content())) >= 40
                and clean_text(e.text_content()) != title_text
            ),
            None,
        )

    if (found := _common_child_selector(items, summary)) is not None:
        selectors["summary"] = found

    def label(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
        return next(
            (
                e
                for e in _leaves(item)
                if _LABEL_CLASS.search(str(e.get("class", "")))
                and not _DATE_CLASS.search(str(e.get("class", "")))
            ),
            None,
        )

    if (found := _common_child_selector(items, label)) is not None:
        selectors["label"] = found
    if sum(1 for i in items if next(i.iter("img"), None) is not None) * 2 >= len(items):
        selectors["image"] = "img"
    return selectors, len(items)


def suggest_source(document: str, context: PageContext) -> Suggestion:
    """Find the items of a listing page and say how to configure it as a source."""
    try:
        root = lxml.html.document_fromstring(_XML_DECLARATION.sub("", document, count=1))
    except (etree.ParserError, ValueError):
        return Suggestion(kind="", notes=["the page could not be read as HTML"])
    page_title = clean_text(root.findtext(".//title") or "")
    feeds = [
        urljoin(context.page_url, str(link.get("href")))
        for link in root.iter("link")
        if str(link.get("rel", "")).lower() == "alternate"
        and str(link.get("type", "")).lower()
        in ("application/rss+xml", "application/atom+xml", "application/feed+json")
        and link.get("href")
    ]
    if root.cssselect("ol.item-list > li, ul.item-list > li"):
        result = ilo.parse(document, context)
        note = "an ILO listing page: the ilo adapter reads it without selectors"
        return Suggestion(
            kind="ilo", result=result, page_title=page_title, feed_links=feeds, notes=[note]
        )
    candidates: list[tuple[str, dict[str, str]]] = []
    declared = structured_suggestion(root, context)
    if declared is not None and declared.kind == "html":
        result = parse_with_selectors(
            document, context, SelectorSpec.from_options(declared.selectors)
        )
        return Suggestion(kind="html", selectors=declared.selectors, notes=list(declared.notes),
                          result=result, page_title=page_title, feed_links=feeds)  # fmt: skip
    if (structure := _structure(root)) is not None:
        selectors, count = structure
        candidates.append((f"{count} repeated items", selectors))
    best: Suggestion | None = None
    for how, selectors in candidates:
        result = parse_with_selectors(document, context, SelectorSpec.from_options(selectors))
        suggestion = Suggestion(
            kind="html",
            selectors=selectors,
            result=result,
            page_title=page_title,
            feed_links=feeds,
            notes=[f"found {how}"],
        )
        dated = sum(1 for entry in result.entries if entry.date)
        score = (len(result.entries) >= MIN_ITEMS, dated, len(result.entries))
        if (
            best is None
            or best.result is None
            or score
            > (
                len(best.result.entries) >= MIN_ITEMS,
                sum(1 for entry in best.result.entries if entry.date),
                len(best.result.entries),
            )
        ):
            best = suggestion
    if declared is not None and declared.kind == "feed":
        return _declared_feed(declared, best, page_title)
    if best is None:
        return Suggestion(kind="", page_title=page_title, feed_links=feeds,
                          notes=["no repeated item with a linked title was found"])  # fmt: skip
    return best


def _declared_feed(found: StructuredFinding, page: Suggestion | None, title: str) -> Suggestion:
    """The page's own feed as the suggestion, its reading as HTML kept as a note."""
    notes = list(found.notes)
    if page is not None and page.result is not None:
        read = ", ".join(f"{key} = {_toml_string(value)}" for key, value in page.selectors.items())
        notes.append(f"or read the page itself with kind = \"html\" and {read} "
                     f"({len(page.result.entries)} entries; {'; '.join(page.notes)})")  # fmt: skip
    return Suggestion(kind="feed", url=found.url, notes=notes, page_title=title)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def suggestion_toml(suggestion: Suggestion, url: str, timezone: str) -> str:
    """The suggestion as a ``[[sources]]`` table to paste into ``feedpub.toml``."""
    host = (urlsplit(url).hostname or "source").removeprefix("www.")
    slug = re.sub(
        r"[^a-z0-9]+", "-", (host.split(".")[0] + " " + urlsplit(url).path).lower()
    ).strip("-")
    lines = []
    result = suggestion.result
    for note in suggestion.notes:
        lines.append(f"# {note}")
    if result is not None:
        dated = sum(1 for entry in result.entries if entry.date)
        lines.append(f"# read with these settings: {len(result.entries)} entries, {dated} dated")
        for entry in result.entries[:3]:
            day = entry.date.isoformat() if entry.date else "undated"
            lines.append(f"#   {day}  {entry.title[:70]}")
    for feed in suggestion.feed_links:
        lines.append(f'# the page also offers a feed: {feed} (kind = "feed" reads it)')
    lines += [
        "[[sources]]",
        f"id = {_toml_string(slug[:60] or 'source')}",
        f"title = {_toml_string(suggestion.page_title or host)}",
        f"url = {_toml_string(suggestion.url or url)}",
        f"kind = {_toml_string(suggestion.kind)}",
        f"timezone = {_toml_string(timezone)}  # the zone its dates are read in: check it",
    ]
    if suggestion.selectors:
        lines.append("")
        lines.append("[sources.selectors]")
        lines.extend(
            f"{key} = {_toml_string(value)}" for key, value in suggestion.selectors.items()
        )
    return "\n".join(lines) + "\n"
