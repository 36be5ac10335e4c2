"""Auto-detection's reading of one item: its title heading and the title's own link, its
date, summary, label and image elements, and the selectors that find them in every item.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator

import lxml.html

from feeds.dates import read_listing_date, read_path_date
from feeds.text import clean_text
from sources.field_dates import DATE_CLASS, not_published, published_elements, read_field_date
from sources.selector_fields import element_text

MIN_TITLE_CHARACTERS = 12
#: A date field's text is this long at most (``Posted on 3 May 2026 by Ann Example``).
_SHORT_FIELD = 80
_DIGIT = re.compile(r"\d")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_LABEL_CLASS = re.compile(r"tag|label|categor|kicker|eyebrow|rubric|topic|type", re.IGNORECASE)
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
    """The item's title heading: the first heading with text that is not a date (a day's
    heading over its posts)."""
    return next(
        (
            h
            for h in item.iter(*_HEADINGS)
            if len(text := clean_text(h.text_content())) >= 3 and not is_date_text(text)
        ),
        None,
    )


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
    if not anchors:  # a short title is the item's one link: "Is it true?"
        linked = [a for a in item.iter("a") if a.get("href") and clean_text(a.text_content())]
        if len({a.get("href") for a in linked}) == 1 and len(linked[0].text_content().split()) >= 3:
            anchors = linked[:1]
    return max(anchors, key=lambda a: len(clean_text(a.text_content())), default=None)


def title_text(item: lxml.html.HtmlElement) -> str:
    found = heading(item)
    if found is not None:
        return clean_text(found.text_content())
    anchor = title_anchor(item)
    return clean_text(anchor.text_content()) if anchor is not None else ""


def _class_names(node: lxml.html.HtmlElement, item: lxml.html.HtmlElement) -> str:
    """The classes of ``node`` and of its ancestors within ``item``."""
    names = []
    for element in (node, *node.iterancestors()):
        if element is item:
            break
        names.append(str(element.get("class", "")))
    return " ".join(names)


def _reads(node: lxml.html.HtmlElement, attribute: str | None) -> bool:
    text = str(node.get(attribute, "")) if attribute else element_text(node)
    return read_field_date(text).date is not None


def published_element(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The item's ``datePublished`` or ``time`` element that gives a date (by its
    ``datetime`` or ``content``, else its text)."""
    for node in published_elements(item):
        if not not_published(node, item) and any(
            _reads(node, name) for name in (*_DATE_ATTRIBUTES, None)
        ):
            return node
    return None


_DATE_ATTRIBUTES = ("datetime", "content")


def _is_date_node(node: lxml.html.HtmlElement, item: lxml.html.HtmlElement) -> bool:
    """Whether ``node`` is made to hold the item's date: its text (short) reads as a date, and
    its class (or an ancestor's in the item) says date, time, published or meta, or it is a
    table cell or a leaf whose whole text is a date. A byline counts (``on March 4, 2016``);
    a paragraph of prose, the title or an element around the title does not."""
    if node is item or not isinstance(node, lxml.html.HtmlElement) or node.tag in _HEADINGS:
        return False
    text = element_text(node)
    if not 6 <= len(text) <= _SHORT_FIELD or not _DIGIT.search(text):
        return False
    title = title_anchor(item)
    if title is not None and (node is title or node in title.iterancestors()):
        return False
    if any(a.tag in _HEADINGS for a in node.iterancestors()) or not_published(node, item):
        return False
    if DATE_CLASS.search(_class_names(node, item)):
        return read_field_date(text).date is not None or any(
            _reads(node, name) for name in ("title", *_DATE_ATTRIBUTES)
        )
    leaf = not any(isinstance(c.tag, str) and c.tag != "br" for c in node)
    return (node.tag == "td" or (leaf and node.tag not in ("a", "p"))) and is_date_text(text)


def date_element(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The item's innermost dedicated date element (``_is_date_node``), or ``None``."""
    found = next((node for node in item.iter() if _is_date_node(node, item)), None)
    while found is not None:
        inner = next((c for c in found if _is_date_node(c, item)), None)
        if inner is None:
            return found
        found = inner
    return None


def path_date_anchor(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The title's link, when its path holds a day (``/2016/03/17/a-title/``)."""
    anchor = title_anchor(item)
    if anchor is None or read_path_date(str(anchor.get("href", ""))) is None:
        return None
    return anchor


def summary_element(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    title = title_text(item)
    for element in item.iter("p", "div", "span", "td"):
        text = clean_text(element.text_content())
        if element is item:
            continue
        if element.tag != "p" and not _SUMMARY_CLASS.search(str(element.get("class", ""))):
            continue
        if (
            len(text) >= 40
            and text != title
            and heading(element) is None
            and not _is_date_node(element, item)
        ):
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
        if _NAME.match(prop := str(element.get("itemprop", ""))):
            shapes[f"{element.tag}[itemprop={prop}]"] += 1
        parent = element.getparent()
        if parent is not None and parent is not item:
            shapes[f"{simple_selector(parent)} > {simple_selector(element)}"] += 1
        if element.tag in ("td", "th") and parent is not None:
            shapes[f"{element.tag}:nth-child({parent.index(element) + 1})"] += 1
        elif parent is not None:  # the second paragraph, after a byline paragraph
            same = [c for c in parent if c.tag == element.tag]
            shapes[f"{element.tag}:nth-of-type({same.index(element) + 1})"] += 1
    for shape, _count in shapes.most_common():
        if all(
            (found := item.cssselect(shape)) and found[0] is element for item, element in present
        ):
            return shape
    return None


def _prefixed_headings(items: list[lxml.html.HtmlElement]) -> bool:
    """Whether the items' headings hold their title links beside other words (``Sticky:``,
    ``Poll:``, a count): then the link's text is the title."""
    differ = False
    for item in items:
        found, anchor = heading(item), title_anchor(item)
        if found is None or anchor is None or found not in anchor.iterancestors():
            return False
        title = clean_text(anchor.text_content())
        if not title:
            return False
        differ = differ or title != clean_text(found.text_content())
    return differ


def date_selector(items: list[lxml.html.HtmlElement]) -> str | None:
    """The date field of ``items``: their ``datePublished`` or ``time`` elements with the
    attribute that holds the date in all of them; else their dedicated date elements; else
    the title links, when their paths hold the day."""
    times = [t for i in items if (t := published_element(i)) is not None]
    if times and (selector := common_child_selector(items, published_element)) is not None:
        for attribute in (*_DATE_ATTRIBUTES, None):
            if all(_reads(t, attribute) for t in times):
                return selector + (f"@{attribute}" if attribute else "")
    if (selector := common_child_selector(items, date_element)) is not None:
        dates = [d for i in items if (d := date_element(i)) is not None]
        for attribute in (None, "title", *_DATE_ATTRIBUTES):
            if all(_reads(d, attribute) for d in dates):
                return selector + (f"@{attribute}" if attribute else "")
        return selector
    if (selector := common_child_selector(items, path_date_anchor)) is not None:
        return f"{selector}@href"
    return None


def field_selectors(members: tuple[lxml.html.HtmlElement, ...]) -> dict[str, str]:
    """The title, link, date, summary, label and image selectors within ``members``."""
    items = [m for m in members if title_anchor(m) is not None] or list(members)
    selectors: dict[str, str] = {}
    title = common_child_selector(items, heading)
    if title is None or _prefixed_headings(items):
        title = common_child_selector(items, title_anchor) or title
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
    if (date := date_selector(items)) is not None:
        selectors["date"] = date
    if (found := common_child_selector(items, summary_element)) is not None:
        selectors["summary"] = found

    def label(item: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
        return next(
            (
                e
                for e in leaves(item)
                if _LABEL_CLASS.search(str(e.get("class", "")))
                and not DATE_CLASS.search(str(e.get("class", "")))
                and not is_date_text(e.text_content())
            ),
            None,
        )

    if (found := common_child_selector(items, label)) is not None:
        selectors["label"] = found
    if sum(1 for i in items if image_element(i) is not None) * 2 >= len(items):
        selectors["image"] = common_child_selector(items, image_element) or "img"
    return selectors
