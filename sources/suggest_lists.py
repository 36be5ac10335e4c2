"""Auto-detection's search of a page's structure: the candidate lists (repeated siblings of one
shape), how much each looks like a news list and why, and the selectors of its fields.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html

from feeds.dates import read_listing_date
from feeds.text import clean_text
from sources.selector_fields import not_published

MIN_ITEMS = 3
MIN_TITLE_CHARACTERS = 12
_SKIPPED = frozenset(("script", "style", "noscript", "template", "svg", "head", "select"))
_FURNITURE_TAGS = frozenset(("nav", "header", "footer", "aside", "form"))
_FURNITURE_ROLES = frozenset(("navigation", "banner", "contentinfo", "complementary", "search"))
_FURNITURE_NAME = re.compile(
    r"menu|(^|[-_])nav|footer|sidebar|widget|share|social|comment|cookie|breadcrumb|pagination"
    r"|pager|blogroll|masthead|toolbar|related|popular|trending",
    re.IGNORECASE,
)
_MAIN_NAME = re.compile(r"^(main|content|primary|posts|news|articles|results)", re.IGNORECASE)
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_LABEL_CLASS = re.compile(r"tag|label|categor|kicker|eyebrow|rubric|topic|type", re.IGNORECASE)
_DATE_CLASS = re.compile(r"date|time|published|posted|\b(meta|age)\b", re.IGNORECASE)
_SUMMARY_CLASS = re.compile(r"summary|excerpt|teaser|desc|intro|lead|abstract", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z][A-Za-z_-]{0,40}$")
#: Classes that say something about one item or its state, not about the list's shape.
_STATE_CLASS = re.compile(
    r"^(is-|has-|js-)|^(active|current|selected|odd|even|first|last|hidden|visible|open|closed"
    r"|sticky|new|clearfix|group|fade|show|in|col|row)$"
    r"|^(type|status|format|category|tag)-",
    re.IGNORECASE,
)
_PLACEHOLDER_IMAGE = re.compile(r"spacer|placeholder|avatar|logo|icon|blank|pixel|gravatar", re.I)


def stable_classes(element: lxml.html.HtmlElement) -> list[str]:
    """The element's classes that describe its kind: no digits, no per-item or state classes."""
    return [
        c
        for c in str(element.get("class", "")).split()
        if _NAME.match(c) and not _STATE_CLASS.search(c)
    ]


def simple_selector(element: lxml.html.HtmlElement, classes: int = 2) -> str:
    return str(element.tag) + "".join(f".{c}" for c in stable_classes(element)[:classes])


def _own_furniture(element: lxml.html.HtmlElement) -> str | None:
    if element.tag in _FURNITURE_TAGS:
        return f"inside <{element.tag}>"
    if str(element.get("role", "")).lower() in _FURNITURE_ROLES:
        return f"inside role={element.get('role')}"
    names = f"{element.get('id', '')} {element.get('class', '')}"
    if (match := _FURNITURE_NAME.search(names)) is not None:
        return f"inside an element named {match.group().strip('-_')!r}"
    return None


def furniture(element: lxml.html.HtmlElement) -> str | None:
    """Why the element is page furniture (menu, footer, sidebar...), or ``None``."""
    for ancestor in (element, *element.iterancestors()):
        if (why := _own_furniture(ancestor)) is not None:
            return why
    return None


def _in_main(element: lxml.html.HtmlElement) -> bool:
    return any(
        a.tag in ("main", "article")
        or str(a.get("role", "")).lower() == "main"
        or _MAIN_NAME.match(str(a.get("id", "")))
        for a in element.iterancestors()
    )


def leaves(item: lxml.html.HtmlElement) -> Iterator[lxml.html.HtmlElement]:
    for element in item.iter():
        if isinstance(element.tag, str) and not any(isinstance(c.tag, str) for c in element):
            yield element


_NUMERIC_DATE = re.compile(
    r"^(\d{1,2}[./-]\d{1,2}[./-](\d{4}|\d{2})|\d{4}[./-]\d{1,2}[./-]\d{1,2})\b"
)


def is_date_text(text: str) -> bool:
    """Whether a whole (short) text is a date: a listing date or a numeric one."""
    text = clean_text(text)
    return 6 <= len(text) <= 40 and (
        read_listing_date(text).date is not None or _NUMERIC_DATE.match(text) is not None
    )


def _is_good_anchor(anchor: lxml.html.HtmlElement) -> bool:
    text = clean_text(anchor.text_content())
    return bool(anchor.get("href")) and len(text) >= MIN_TITLE_CHARACTERS and not is_date_text(text)


def heading(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The item's title heading: the first heading with text."""
    return next((h for h in item.iter(*_HEADINGS) if len(clean_text(h.text_content())) >= 3), None)


def title_anchor(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The title's own link: the heading's anchor (inside it, else around it), else the
    item's main link (the longest link text that is not a date)."""
    found = heading(item)
    if found is not None:
        inner = next((a for a in found.iter("a") if a.get("href")), None)
        if inner is not None:
            return inner
        return next((a for a in found.iterancestors("a") if a.get("href")), None)
    anchors = [a for a in item.iter("a") if _is_good_anchor(a)]
    return max(anchors, key=lambda a: len(clean_text(a.text_content())), default=None)


def _title_text(item: lxml.html.HtmlElement) -> str:
    found = heading(item)
    if found is not None:
        return clean_text(found.text_content())
    anchor = title_anchor(item)
    return clean_text(anchor.text_content()) if anchor is not None else ""


def time_element(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    return next(item.iter("time"), None)


def date_element(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """A dedicated date element: a leaf named date/time/published, or a table cell, whose whole
    text is a date; never a paragraph."""
    for leaf in leaves(item):
        if (
            leaf.tag in ("p", "a")
            or not is_date_text(leaf.text_content())
            or not_published(leaf, item)
        ):
            continue
        names = ""
        for element in (leaf, *leaf.iterancestors()):
            if element is item:
                break
            names += " " + str(element.get("class", ""))
        if leaf.tag in ("td", "span", "div", "small", "li", "dd") and (
            _DATE_CLASS.search(names) or leaf.tag == "td" or leaf.getparent() is item
        ):
            return leaf
    return None


def summary_element(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    title = _title_text(item)
    for element in item.iter("p", "div", "span", "td"):
        text = clean_text(element.text_content())
        if element is item:
            continue
        if element.tag != "p" and not _SUMMARY_CLASS.search(str(element.get("class", ""))):
            continue
        if len(text) >= 40 and text != title and heading(element) is None:
            return element
    return None


def image_element(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The first image that is not a placeholder, spacer, avatar, logo or icon."""
    for image in item.iter("img"):
        source = " ".join(str(image.get(a, "")) for a in ("src", "data-src", "srcset", "class"))
        if str(image.get("src", "")).startswith("data:") and not image.get("data-src"):
            continue
        if image.get("width") in ("0", "1") or image.get("height") in ("0", "1"):
            continue
        if _PLACEHOLDER_IMAGE.search(source):
            continue
        return image
    return None


def _depth(path: str) -> int:
    return len([part for part in path.split("/") if part])


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One repeated element of the page: its members, score, and why it scored so."""

    members: tuple[lxml.html.HtmlElement, ...]
    score: float
    reasons: tuple[str, ...]


def score_members(members: list[lxml.html.HtmlElement], page_url: str) -> Candidate:
    """How much ``members`` look like the items of a news list, with the reasons."""
    page = urlsplit(page_url)
    count = len(members)
    links: list[str] = []
    same_site: list[str] = []
    deeper, titled, headed, dated, summarised = 0, 0, 0, 0, 0
    for member in members:
        anchor = title_anchor(member)
        if anchor is not None:
            target = urlsplit(urljoin(page_url, str(anchor.get("href"))))
            if target.scheme in ("http", "https", page.scheme):
                links.append(target._replace(fragment="").geturl())
                if target.hostname == page.hostname:
                    same_site.append(links[-1])
                    deeper += target.path.rstrip("/") != page.path.rstrip("/") and _depth(
                        target.path
                    ) >= max(1, min(_depth(page.path), 2))
        title = _title_text(member)
        titled += len(title) >= MIN_TITLE_CHARACTERS and len(title.split()) >= 3
        headed += heading(member) is not None
        dated += time_element(member) is not None or date_element(member) is not None
        summarised += summary_element(member) is not None
    share = {
        "own links": len(set(links)) / count,
        "same-site links": len(set(same_site)) / count,
        "links to deeper pages": deeper / count,
        "titles of three words or more": titled / count,
        "titles in headings": headed / count,
        "dates": dated / count,
        "summaries": summarised / count,
    }
    weights = {"same-site links": 2.0, "dates": 1.5}
    quality = sum(weights.get(name, 1.0) * value for name, value in share.items())
    reasons = [f"{count} items"] + [
        f"{name} ({round(value * count)}/{count})" for name, value in share.items() if value
    ]
    factor = (
        share["own links"]
        * (0.3 + 0.7 * share["titles of three words or more"])
        * (0.4 + 0.6 * share["same-site links"])
    )
    if (why := furniture(members[0])) is not None:
        factor *= 0.05
        reasons.append(f"penalised: {why}")
    elif _in_main(members[0]):
        factor *= 1.3
        reasons.append("in the main content")
    score = math.sqrt(count) * quality * factor
    return Candidate(members=tuple(members), score=round(score, 2), reasons=tuple(reasons))


def _groups(parent: lxml.html.HtmlElement) -> Iterator[list[lxml.html.HtmlElement]]:
    """Sibling groups of one shape: by tag (all shared stable classes), and by each stable
    class most of them share (so that ``div.post`` is told apart from ``div.ad``)."""
    by_tag: dict[str, list[lxml.html.HtmlElement]] = {}
    for child in parent:
        if isinstance(child.tag, str) and child.tag not in _SKIPPED:
            by_tag.setdefault(child.tag, []).append(child)
    for members in by_tag.values():
        if len(members) < MIN_ITEMS:
            continue
        yield members
        counts = Counter(c for m in members for c in set(stable_classes(m)))
        for name, seen in counts.items():
            if MIN_ITEMS <= seen < len(members):
                yield [m for m in members if name in stable_classes(m)]


def candidates(root: lxml.html.HtmlElement, page_url: str) -> list[Candidate]:
    """Every candidate list on the page, the likeliest first, each with a selector that
    matches exactly its members."""
    found: dict[frozenset[lxml.html.HtmlElement], Candidate] = {}
    for parent in root.iter():
        if not isinstance(parent.tag, str) or parent.tag in _SKIPPED:
            continue
        for members in _groups(parent):
            if sum(1 for m in members if title_anchor(m) is not None) < MIN_ITEMS:
                continue
            key = frozenset(members)
            if key not in found:
                found[key] = score_members(members, page_url)
    return sorted(found.values(), key=lambda c: c.score, reverse=True)


def _select(root: lxml.html.HtmlElement, selector: str) -> list[lxml.html.HtmlElement]:
    return [e for e in root.cssselect(selector) if isinstance(e, lxml.html.HtmlElement)]


def _shape(element: lxml.html.HtmlElement) -> str:
    element_id = str(element.get("id", ""))
    if element_id and _NAME.match(element_id):
        return f"#{element_id}"
    return simple_selector(element, classes=3)


def item_selector(root: lxml.html.HtmlElement, members: tuple[lxml.html.HtmlElement, ...]) -> str:
    """The shortest selector (the members' shape, then their parents' ids and classes) that
    matches exactly ``members``; the most specific one tried when none does."""
    first, wanted = members[0], set(members)
    shared = set(stable_classes(first)).intersection(*(stable_classes(m) for m in members))
    own = str(first.tag) + "".join(f".{c}" for c in stable_classes(first) if c in shared)
    chain = [own]
    if set(_select(root, own)) == wanted:
        return own
    for ancestor in first.iterancestors():
        if ancestor.tag in ("html", "body"):
            break
        chain.insert(0, _shape(ancestor))
        for candidate in (" ".join([chain[0], chain[-1]]), " > ".join(chain)):
            if set(_select(root, candidate)) == wanted:
                return candidate
        if chain[0].startswith("#"):
            break
    return " > ".join(chain)


def common_child_selector(
    items: list[lxml.html.HtmlElement],
    pick: Callable[[lxml.html.HtmlElement], lxml.html.HtmlElement | None],
) -> str | None:
    """A selector that finds, first in each item, the element ``pick`` chooses there: its
    shape, its parent's shape then its own, or its cell position; ``None`` if ``pick`` finds
    nothing in more than four items out of ten or no selector finds what it picks."""
    present = [(item, element) for item in items if (element := pick(item)) is not None]
    if not present or len(present) * 10 < len(items) * 6:
        return None
    shapes: Counter[str] = Counter()
    for item, element in present:
        shapes[simple_selector(element)] += 1
        parent = element.getparent()
        if parent is not None and parent is not item:
            shapes[f"{simple_selector(parent)} > {simple_selector(element)}"] += 1
        if element.tag in ("td", "th") and parent is not None:
            shapes[f"{element.tag}:nth-child({parent.index(element) + 1})"] += 1
    for shape, _count in shapes.most_common():
        if all(
            (found := item.cssselect(shape)) and found[0] is element for item, element in present
        ):
            return shape
    return None


def field_selectors(members: tuple[lxml.html.HtmlElement, ...]) -> dict[str, str]:
    """The title, link, date, summary, label and image selectors within ``members``."""
    items = [m for m in members if title_anchor(m) is not None] or list(members)
    selectors: dict[str, str] = {}
    title = common_child_selector(items, heading)
    if title is None:
        title = common_child_selector(items, title_anchor)
    selectors["title"] = title or "a"
    # the adapter takes the title's own anchor; a link selector only for an anchor around it
    outside = [
        i
        for i in items
        if (a := title_anchor(i)) is not None
        and (h := heading(i)) is not None
        and a in h.iterancestors()
    ]
    if outside and (link := common_child_selector(items, title_anchor)) is not None:
        selectors["link"] = link + "@href"
    if sum(1 for i in items if time_element(i) is not None) * 10 >= len(items) * 6:
        times = [t for i in items if (t := time_element(i)) is not None]
        with_attribute = all(t.get("datetime") for t in times)
        selector = common_child_selector(items, time_element) or "time"
        selectors["date"] = selector + ("@datetime" if with_attribute else "")
    elif (date := common_child_selector(items, date_element)) is not None:
        selectors["date"] = date
    if (found := common_child_selector(items, summary_element)) is not None:
        selectors["summary"] = found

    def label(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
        return next(
            (
                e
                for e in leaves(item)
                if _LABEL_CLASS.search(str(e.get("class", "")))
                and not _DATE_CLASS.search(str(e.get("class", "")))
                and not is_date_text(e.text_content())
            ),
            None,
        )

    if (found := common_child_selector(items, label)) is not None:
        selectors["label"] = found
    if sum(1 for i in items if image_element(i) is not None) * 2 >= len(items):
        selectors["image"] = common_child_selector(items, image_element) or "img"
    return selectors
