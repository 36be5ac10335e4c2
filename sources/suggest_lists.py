"""Auto-detection's search of a page's structure: the candidate lists (repeated siblings of one
shape), how much each looks like a news list and why, and the selectors of its fields.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html

from sources.suggest_fields import (
    MIN_TITLE_CHARACTERS,
    date_element,
    heading,
    path_date_anchor,
    published_element,
    simple_selector,
    stable_classes,
    summary_element,
    title_anchor,
    title_text,
)

MIN_ITEMS = 3
#: Elements that hold no visible content of a page.
SKIPPED = frozenset(("script", "style", "noscript", "template", "svg", "head", "select"))
_FURNITURE_TAGS = frozenset(("nav", "header", "footer", "aside", "form"))
_TYPED = frozenset(("text", "search", "email", "password", "tel", "url", "number"))
_FURNITURE_ROLES = frozenset(("navigation", "banner", "contentinfo", "complementary", "search"))
#: Words that name page furniture, at the start or end of an id's or class's word (``main-menu``,
#: ``topmenu``, ``sidebar``, ``comments``; not the ``pager`` inside ``autopagerize_page_element``).
_FURNITURE_WORDS = (
    *("menu", "nav", "footer", "sidebar", "widget", "share", "social", "comment", "cookie"),
    *("breadcrumb", "pagination", "pager", "blogroll", "masthead", "toolbar", "related"),
    *("popular", "trending", "carousel", "slide"),
)
_NAME_WORDS = re.compile(r"[a-z]+")
_TAXONOMY = re.compile(r"(tag|category|categories|post|type|format|status|topic)[-_]")
_MAIN_WORDS = frozenset(("content", "main"))
_MAIN_NAMES = frozenset(("content", "main", "blog", "posts", "articles", "news", "blog-posts"))
_MAIN_NAME = re.compile(r"^(main|content|primary|posts|news|articles|results)", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z][A-Za-z_-]{0,40}$")


def own_furniture(element: lxml.html.HtmlElement) -> str | None:
    """Why ``element`` itself is page furniture (its tag, role, or a furniture word in its id
    or a class that names no main content: not ``content-sidebar-wrap``), or ``None``."""
    if element.tag == "form":
        if _typed_into(element):  # a search, sign-in or comment form; not a list's checkboxes
            return "inside <form>"
    elif element.tag in _FURNITURE_TAGS:
        return f"inside <{element.tag}>"
    if str(element.get("role", "")).lower() in _FURNITURE_ROLES:
        return f"inside role={element.get('role')}"
    names = f"{element.get('id', '')} {element.get('class', '')}".lower().split()
    if _MAIN_NAMES.intersection(names):
        return None  # a blog's main column that its theme calls a widget: 'widget Blog'
    for name in names:
        if _TAXONOMY.match(name):
            continue  # a post's own tag or category: 'tag-slideshow', 'category-social'
        words = _NAME_WORDS.findall(name)
        if _MAIN_WORDS.intersection(words):
            continue  # a layout wrapper around the content and its sidebar
        for word in words:
            for furniture_word in _FURNITURE_WORDS:
                if word.startswith(furniture_word) or word.endswith(
                    (furniture_word, furniture_word + "s")
                ):
                    return f"inside an element named {furniture_word!r}"
    return None


def _typed_into(form: lxml.html.HtmlElement) -> bool:
    """Whether ``form`` has a field to type into (a search box, a password, a comment)."""
    return any(
        field.tag == "textarea" or str(field.get("type", "text")).lower() in _TYPED
        for field in form.iter("input", "textarea")
    )


def furniture(element: lxml.html.HtmlElement) -> str | None:
    """Why the element is page furniture (menu, footer, sidebar...), or ``None``; the page's
    ``html`` and ``body`` (whose classes are switches for the whole page) never are."""
    for ancestor in (element, *element.iterancestors()):
        if ancestor.tag in ("html", "body"):
            return None
        if (why := own_furniture(ancestor)) is not None:
            return why
    return None


def _in_main(element: lxml.html.HtmlElement) -> bool:
    return any(
        a.tag in ("main", "article")
        or str(a.get("role", "")).lower() == "main"
        or _MAIN_NAME.match(str(a.get("id", "")))
        for a in element.iterancestors()
    )


def _depth(path: str) -> int:
    return len([part for part in path.split("/") if part])


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One repeated element of the page: its members, score, and why it scored so."""

    members: tuple[lxml.html.HtmlElement, ...]
    score: float
    reasons: tuple[str, ...]
    same_site: float = 0.0  # the share of members whose title links within the site


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
        title = title_text(member)
        titled += len(title) >= MIN_TITLE_CHARACTERS and len(title.split()) >= 3
        headed += heading(member) is not None
        dated += any(
            find(member) is not None for find in (published_element, date_element, path_date_anchor)
        )
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
    return Candidate(
        members=tuple(members),
        score=round(score, 2),
        reasons=tuple(reasons),
        same_site=share["same-site links"],
    )


def _row_shape(row: lxml.html.HtmlElement) -> tuple[str, ...]:
    return tuple(str(c.tag) for c in row if c.tag in ("td", "th"))


def _groups(parent: lxml.html.HtmlElement) -> Iterator[list[lxml.html.HtmlElement]]:
    """Sibling groups of one shape: by tag (all shared stable classes), and by each stable
    class most of them share (so that ``div.post`` is told apart from ``div.ad``)."""
    by_tag: dict[str, list[lxml.html.HtmlElement]] = {}
    for child in parent:
        if isinstance(child.tag, str) and child.tag not in SKIPPED:
            by_tag.setdefault(child.tag, []).append(child)
    for members in by_tag.values():
        if len(members) < MIN_ITEMS:
            continue
        yield members
        if members[0].tag == "tr":  # the rows of the body's shape: no heading or pager row
            shapes = Counter(_row_shape(m) for m in members)
            shape, seen = shapes.most_common(1)[0]
            if MIN_ITEMS <= seen < len(members):
                yield [m for m in members if _row_shape(m) == shape]
        counts = Counter(c for m in members for c in set(stable_classes(m)))
        for name, seen in counts.items():
            if MIN_ITEMS <= seen < len(members):
                yield [m for m in members if name in stable_classes(m)]


def _cousin_groups(root: lxml.html.HtmlElement) -> Iterator[list[lxml.html.HtmlElement]]:
    """Items of one shape spread over sibling containers of one tag: a list cut into month
    groups (``ul.news > li`` under each heading), rows of two cards (``div.row >
    article.post``), a forum's pinned threads above the others."""
    cousins: dict[tuple[lxml.html.HtmlElement, str, str], list[lxml.html.HtmlElement]] = {}
    for parent in root.iter():
        grandparent = parent.getparent()
        if grandparent is None or not isinstance(parent.tag, str) or parent.tag in SKIPPED:
            continue
        for child in parent:
            if isinstance(child.tag, str) and child.tag not in SKIPPED:
                shape = f"{child.tag}.{next(iter(stable_classes(child)), '')}"
                cousins.setdefault((grandparent, str(parent.tag), shape), []).append(child)
    for members in cousins.values():
        parents = len({m.getparent() for m in members})
        # one in each container is a column of rows (a forum's last-post cells), not items
        if len(members) >= MIN_ITEMS and parents > 1 and len(members) * 2 >= parents * 3:
            yield members


def candidates(root: lxml.html.HtmlElement, page_url: str) -> list[Candidate]:
    """Every candidate list on the page, the likeliest first, each with a selector that
    matches exactly its members."""
    found: dict[frozenset[lxml.html.HtmlElement], Candidate] = {}
    groups = (
        members
        for parent in root.iter()
        if isinstance(parent.tag, str) and parent.tag not in SKIPPED
        for members in _groups(parent)
    )
    for members in itertools.chain(groups, _cousin_groups(root)):
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
    widest = " > ".join(chain)
    if (positioned := _positioned(root, first, wanted, chain)) is not None:
        return positioned
    matched = set(_select(root, widest))
    kind = (simple_selector(first), _row_shape(first))
    if wanted <= matched and all((simple_selector(e), _row_shape(e)) == kind for e in matched):
        return widest  # more of the same kind (a footer's other columns): scored as matched
    return _pinned(root, first, wanted, own) or widest


def _pinned(
    root: lxml.html.HtmlElement,
    first: lxml.html.HtmlElement,
    wanted: set[lxml.html.HtmlElement],
    own: str,
) -> str | None:
    """The members' path with each ancestor that has no id or class pinned by its place
    (``#content > div > table:nth-child(3) > tr``), for tables nested in tables."""
    steps = [own]
    for ancestor in first.iterancestors():
        if ancestor.tag in ("html", "body"):
            break
        step = _shape(ancestor)
        parent = ancestor.getparent()
        if step == ancestor.tag and parent is not None:
            place = [c for c in parent if isinstance(c.tag, str)].index(ancestor) + 1
            step += f":nth-child({place})"
        steps.insert(0, step)
        if step.startswith("#"):
            break
    pinned = " > ".join(steps)
    if set(_select(root, pinned)) == wanted:
        return pinned
    return _positioned(root, first, wanted, [pinned])


def _positioned(
    root: lxml.html.HtmlElement,
    first: lxml.html.HtmlElement,
    wanted: set[lxml.html.HtmlElement],
    chain: list[str],
) -> str | None:
    """A selector for members that are a run of siblings, skipping the siblings before and
    after them (a table's heading and pager rows): ``tr:nth-child(n+2):nth-last-child(n+2)``."""
    parent = first.getparent()
    if parent is None or any(m.getparent() is not parent for m in wanted):
        return None
    siblings = [c for c in parent if isinstance(c.tag, str)]
    places = sorted(siblings.index(m) for m in wanted)
    if places[-1] - places[0] + 1 != len(places):
        return None
    suffix = f":nth-child(n+{places[0] + 1})" if places[0] else ""
    if (after := len(siblings) - 1 - places[-1]) > 0:
        suffix += f":nth-last-child(n+{after + 1})"
    for candidate in (" ".join([chain[0], chain[-1]]), " > ".join(chain)):
        if suffix and set(_select(root, candidate + suffix)) == wanted:
            return candidate + suffix
    return None
