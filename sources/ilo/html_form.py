"""The HTML front end of the ILO listing grammar: reads the HTML of a listing page.

Finds the listing (``ol.item-list > li`` in the classic template, else any list whose items
hold a linked heading, else repeated blocks of the same class, as flat and title-less pages
have them), the group headings between items, and each item's fields in page order, with the
link of each field. ``grammar`` decides what each field is.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import lxml.html
from lxml import etree

from feeds.links import web_url
from feeds.model import Diagnostic
from feeds.text import clean_text
from sources.html_parser import LISTING_PARSER
from sources.ilo.fields import RawField, RawItem, drop_cut_item, is_date

HtmlRendition = Literal["item-list", "linked-headings", "blocks", "no-items"]

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_BLOCKS = frozenset(
    (
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li", "main", "nav",
        "ol", "p", "section", "table", "tbody", "td", "th", "thead", "time", "tr", "ul",
    )
)  # fmt: skip
#: Classes that make an element a field (compared in lower case, anywhere in the class).
_FIELD_CLASSES = re.compile("caption|credit|date|prehead|label|summary|title")
_SKIPPED = frozenset(("script", "style", "noscript", "template", "button", "svg", "form"))
_GROUP_HEADINGS = frozenset(("h2", "h3", "h4"))
_LIST_TAGS = frozenset(("ol", "ul"))
_PAGE_FURNITURE = frozenset(("nav", "header", "footer", "aside"))
_BLOCK_TAGS = frozenset(("div", "article", "section"))
_MIN_BLOCKS = 2
_HEADINGS = ("h2", "h3", "h4", "h5", "h6")


def _has_linked_heading(element: lxml.html.HtmlElement) -> bool:
    """True when ``element`` holds a heading (h2 to h6) holding a link (an ``a`` with an
    ``href``): looked for by walking the element, quicker than an XPath for each item."""
    return any(
        anchor.get("href") is not None
        for heading in element.iterdescendants(*_HEADINGS)
        for anchor in heading.iterdescendants("a")
    )


def _classes(element: lxml.html.HtmlElement) -> str:
    return str(element.get("class", "")).lower()


def _is_field_element(element: lxml.html.HtmlElement) -> bool:
    if element.tag in _BLOCKS:
        return True
    classes = element.get("class")
    return bool(classes) and _FIELD_CLASSES.search(classes.lower()) is not None


class _FieldCollector:
    """Cuts one item's text into fields at block boundaries, keeping each field's first link."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.fields: list[RawField] = []
        self.parts: list[str] = []
        self.href: str | None = None

    def flush(self) -> None:
        if self.parts:
            text = clean_text(" ".join(self.parts))
            if text:
                self.fields.append(RawField(text, self.href))
            self.parts = []
        self.href = None

    def link(self, href: str | None) -> str | None:
        return web_url(href, self.base_url) if href else None

    def collect(self, item: lxml.html.HtmlElement) -> list[RawField]:
        """Walk ``item`` in document order (text, children, tails) and return its fields.
        Comments and processing instructions are left out, not the text after them."""
        self._walk(item)
        self.flush()
        return self.fields

    def _walk(self, element: lxml.html.HtmlElement) -> None:
        """Gather ``element``'s text and its children's, in order, without its own tail:
        a field element is a boundary at its start and at its end."""
        tag = element.tag
        if tag in _SKIPPED:
            return  # scripts, forms: only their tail is text
        boundary = _is_field_element(element)
        if boundary and (self.parts or self.href is not None):
            self.flush()  # (with nothing gathered, a boundary changes nothing)
        if tag == "br":
            self.parts.append(" ")
        elif tag == "a" and self.href is None and (href := element.get("href")):
            self.href = self.link(href)
        if text := element.text:  # (lxml makes a new string at each reading of a text)
            self.parts.append(text)
        for child in element:  # at most the parser's depth (255) of nested calls
            if isinstance(child.tag, str):
                self._walk(child)
            if tail := child.tail:  # a comment's too: the text after it is the element's
                self.parts.append(tail)
        if boundary and (self.parts or self.href is not None):
            self.flush()


def _item_lists(root: lxml.html.HtmlElement) -> tuple[HtmlRendition, list[lxml.html.HtmlElement]]:
    marked = [el for el in root.iter("ol", "ul") if "item-list" in _classes(el)]
    if marked:
        return "item-list", marked
    lists = [
        element
        for element in root.iter("ol", "ul")
        if any(_has_linked_heading(li) for li in element.iterchildren("li"))
        and not any(ancestor.tag in _LIST_TAGS for ancestor in element.iterancestors())
    ]
    return ("linked-headings" if lists else "no-items"), lists


def _in_furniture(element: lxml.html.HtmlElement) -> bool:
    return any(ancestor.tag in _PAGE_FURNITURE for ancestor in element.iterancestors())


def _repeated_blocks(root: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """The largest run of sibling blocks sharing a tag and class, each holding a date field
    or a linked heading: the items of a listing marked up without a list."""
    best: list[lxml.html.HtmlElement] = []
    for parent in root.iter(*_BLOCK_TAGS, "main", "body"):
        if len(parent) < _MIN_BLOCKS or len(parent) <= len(best):
            continue  # too few children for a longer run (a listing's own items, once found)
        children = [(child, _classes(child)) for child in parent.iterchildren(*_BLOCK_TAGS)]
        kinds = Counter(
            (child.tag, classes) for child, classes in children if classes or child.tag == "article"
        )
        if not kinds:
            continue
        (tag, classes), count = kinds.most_common(1)[0]
        if count < _MIN_BLOCKS or count <= len(best) or _in_furniture(parent):
            continue
        blocks = [child for child, kind in children if child.tag == tag and kind == classes]
        if all(_has_linked_heading(block) or _holds_date(block) for block in blocks):
            best = blocks
    return best


def _holds_date(block: lxml.html.HtmlElement) -> bool:
    return any(
        is_date(clean_text(element.text_content()))
        for element in block.iter()
        if isinstance(element.tag, str) and _is_field_element(element)
    )


def _document_events(
    root: lxml.html.HtmlElement, items: list[lxml.html.HtmlElement]
) -> Iterator[tuple[str, lxml.html.HtmlElement]]:
    """Yield ("heading", h) and ("item", li) in document order, headings outside items."""
    item_set = set(items)
    containers = {item.getparent() for item in items}
    if any(
        ancestor in item_set
        for container in containers
        if container is not None
        for ancestor in (container, *container.iterancestors())
    ):  # an item within another: every element is looked at
        yield from _nested_document_events(root, item_set)
        return
    stack = [root]  # an item's own elements are not looked at
    while stack:
        element = stack.pop()
        if element in item_set:
            yield "item", element
            continue
        if element.tag in _GROUP_HEADINGS and not _in_furniture(element):
            yield "heading", element
        stack.extend(reversed(element))


def _nested_document_events(
    root: lxml.html.HtmlElement, item_set: set[lxml.html.HtmlElement]
) -> Iterator[tuple[str, lxml.html.HtmlElement]]:
    inside: set[lxml.html.HtmlElement] = set()
    for element in root.iter():
        if element in item_set:
            inside.update(element.iter())
            yield "item", element
        elif element in inside:
            continue
        elif element.tag in _GROUP_HEADINGS and not _in_furniture(element):
            yield "heading", element


@dataclass(frozen=True, slots=True, kw_only=True)
class HtmlCut:
    """What the HTML front end found: the shape of the listing, its items, its ``rel=next``
    link, and what it dropped (the cut last item of a page that ends before ``</html>``)."""

    rendition: HtmlRendition
    items: list[RawItem]
    next_page: str | None = None
    diagnostics: tuple[Diagnostic, ...] = ()


def cut_html(document: str, page_url: str) -> HtmlCut:
    """Cut an HTML listing page into raw items."""
    document = _XML_DECLARATION.sub("", document, count=1)
    try:
        root = lxml.html.document_fromstring(document, parser=LISTING_PARSER)
    except (etree.ParserError, ValueError):
        return HtmlCut(rendition="no-items", items=[])
    base_url = page_url
    for base in root.iter("base"):
        if base.get("href"):
            base_url = web_url(str(base.get("href")), page_url) or page_url
            break
    rendition, lists = _item_lists(root)
    elements = [li for element in lists for li in element.iterchildren("li")]
    if not elements and (blocks := _repeated_blocks(root)):
        rendition, elements = "blocks", blocks
    items: list[RawItem] = []
    group: str | None = None
    heading_since_items = True
    container = None
    for kind, element in _document_events(root, elements):
        if kind == "heading":
            group = clean_text(element.text_content()) or None
            heading_since_items = True
            continue
        if element.getparent() is not container and not heading_since_items:
            group = None  # two lists in a row: an empty heading
        container, heading_since_items = element.getparent(), False
        collector = _FieldCollector(base_url)
        if not collector.collect(element):
            continue
        link = None
        if not any(f.href for f in collector.fields):  # an image link, if nothing else
            link = collector.link(next((a.get("href") for a in element.iter("a")), None))
        items.append(
            RawItem(
                fields=tuple(collector.fields),
                group=group,
                position=len(items) + 1,
                line=element.sourceline,
                link=link,
            )
        )
    next_page = None
    for element in root.iter("a", "link"):
        if "next" in str(element.get("rel", "")).lower().split() and element.get("href"):
            next_page = _FieldCollector(base_url).link(element.get("href"))
            break
    ended = document.rstrip()[-7:].lower() in ("</html>", "</body>")
    cut = None if ended else drop_cut_item(items)
    return HtmlCut(
        rendition=rendition,
        items=items,
        next_page=next_page,
        diagnostics=() if cut is None else (cut,),
    )
