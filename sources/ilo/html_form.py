"""The HTML front end of the ILO listing grammar: reads the HTML of a listing page.

Finds the listing (``ol.item-list > li`` in the classic template, else any list whose items
hold a linked heading), the group headings between lists, and each item's fields in page
order, with the link of each field. ``grammar`` decides what each field is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import lxml.html
from lxml import etree

from feeds.links import web_url
from feeds.text import clean_text
from sources.ilo.grammar import RawField, RawItem

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_BLOCKS = frozenset(
    (
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li", "main", "nav",
        "ol", "p", "section", "table", "tbody", "td", "th", "thead", "time", "tr", "ul",
    )
)  # fmt: skip
_FIELD_CLASSES = ("caption", "credit", "date", "prehead", "label", "summary", "title")
_SKIPPED = frozenset(("script", "style", "noscript", "template", "button", "svg", "form"))
_GROUP_HEADINGS = frozenset(("h2", "h3", "h4"))
_LIST_TAGS = frozenset(("ol", "ul"))
_PAGE_FURNITURE = frozenset(("nav", "header", "footer", "aside"))
_ITEM_TITLE_XPATH = ".//*[self::h2 or self::h3 or self::h4 or self::h5 or self::h6][.//a[@href]]"


def _classes(element: lxml.html.HtmlElement) -> str:
    return str(element.get("class", "")).lower()


def _is_field_element(element: lxml.html.HtmlElement) -> bool:
    if element.tag in _BLOCKS:
        return True
    classes = element.get("class")
    return bool(classes) and any(name in classes.lower() for name in _FIELD_CLASSES)


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
        """Walk ``item`` in document order (text, children, tails) and return its fields."""
        parts = self.parts
        walker = etree.iterwalk(item, events=("start", "end"))
        for event, element in walker:
            tag = element.tag
            if event == "start":
                if not isinstance(tag, str) or tag in _SKIPPED:
                    walker.skip_subtree()  # comments, scripts: only their tail is text
                    continue
                if _is_field_element(element):
                    self.flush()
                    parts = self.parts
                if tag == "br":
                    parts.append(" ")
                elif tag == "a" and self.href is None and element.get("href"):
                    self.href = self.link(element.get("href"))
                if element.text:
                    parts.append(element.text)
                continue
            if isinstance(tag, str) and tag not in _SKIPPED and _is_field_element(element):
                self.flush()
                parts = self.parts
            if element is not item and element.tail:
                parts.append(element.tail)
        self.flush()
        return self.fields


def _item_lists(root: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    marked = [el for el in root.iter("ol", "ul") if "item-list" in _classes(el)]
    if marked:
        return marked
    return [
        element
        for element in root.iter("ol", "ul")
        if any(li.xpath(_ITEM_TITLE_XPATH) for li in element.iterchildren("li"))
        and not any(ancestor.tag in _LIST_TAGS for ancestor in element.iterancestors())
    ]


def _document_events(
    root: lxml.html.HtmlElement, lists: list[lxml.html.HtmlElement]
) -> Iterator[tuple[str, lxml.html.HtmlElement]]:
    """Yield ("heading", h) and ("list", ol) in document order, outside the lists."""
    list_set = set(lists)
    inside: set[lxml.html.HtmlElement] = set()
    for element in root.iter():
        if element in list_set:
            inside.update(element.iter())
            yield "list", element
        elif element in inside:
            continue
        elif element.tag in _GROUP_HEADINGS and not any(
            ancestor.tag in _PAGE_FURNITURE for ancestor in element.iterancestors()
        ):
            yield "heading", element


def cut_html(document: str, page_url: str) -> tuple[list[RawItem], str | None]:
    """Cut an HTML listing page into raw items; also return its ``rel=next`` link, if any."""
    document = _XML_DECLARATION.sub("", document, count=1)
    try:
        root = lxml.html.document_fromstring(document)
    except (etree.ParserError, ValueError):
        return [], None
    base_url = page_url
    for base in root.iter("base"):
        if base.get("href"):
            base_url = web_url(str(base.get("href")), page_url) or page_url
            break
    items: list[RawItem] = []
    group: str | None = None
    heading_since_list = True
    for kind, element in _document_events(root, _item_lists(root)):
        if kind == "heading":
            group = clean_text(element.text_content()) or None
            heading_since_list = True
            continue
        if not heading_since_list:
            group = None  # two lists in a row: an empty heading
        heading_since_list = False
        for li in element.iterchildren("li"):
            collector = _FieldCollector(base_url)
            if not collector.collect(li):
                continue
            link = None
            if not any(f.href for f in collector.fields):  # an image link, if nothing else
                link = collector.link(next((a.get("href") for a in li.iter("a")), None))
            items.append(
                RawItem(
                    fields=tuple(collector.fields),
                    group=group,
                    position=len(items) + 1,
                    line=li.sourceline,
                    link=link,
                )
            )
    next_page = None
    for element in root.iter("a", "link"):
        if "next" in str(element.get("rel", "")).lower().split() and element.get("href"):
            next_page = _FieldCollector(base_url).link(element.get("href"))
            break
    return items, next_page
