"""One field of a listing item: compiled ``selector[@attribute]`` (sibling fields ``+ tr .age``
too), its matches within each item of a page, and an element's text with its table cells kept
apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import lxml.html
from cssselect import HTMLTranslator, SelectorError
from cssselect import parse as parse_css
from cssselect.parser import Attrib, Class, Element, Function, Hash, Negation, Pseudo
from lxml import etree
from lxml.cssselect import CSSSelector

from feeds.text import clean_text

#: What joins the text of two table cells (``macOS Tahoe · 24 Mar 2026``).
CELL_SEPARATOR = " · "
_CELLS = frozenset({"td", "th"})
_BLOCKS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption"}
    | {"figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main"}
    | {"nav", "ol", "p", "section", "table", "tbody", "thead", "tfoot", "tr", "ul"}
)
_CELL_MARK = "\x1f"
_ATTRIBUTE = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]*")


def element_text(element: lxml.html.HtmlElement) -> str:
    """The text of ``element`` as a reader sees it: block elements apart, table cells joined
    with ``CELL_SEPARATOR``, whitespace normalised."""
    if not len(element):  # no child (nor comment): its own text, whatever its tag
        text = element.text or ""
    else:
        parts: list[str] = []
        _gather(element, parts)
        text = "".join(parts)
    if _CELL_MARK not in text:  # no table cell: one piece
        return clean_text(text)
    cells = (clean_text(piece) for piece in text.split(_CELL_MARK))
    return CELL_SEPARATOR.join(cell for cell in cells if cell)


def _gather(node: lxml.html.HtmlElement, parts: list[str]) -> None:
    """Append the text of ``node`` and of its children (each with its tail) to ``parts``, a
    space at each end of a block, a cell mark at the start of a cell. Comments and processing
    instructions are left out, not the text after them."""
    tag = node.tag.lower()
    parts.append(_CELL_MARK if tag in _CELLS else " " if tag in _BLOCKS else "")
    parts.append(node.text or "")
    for child in node:  # at most the parser's depth (255) of nested calls
        if isinstance(child.tag, str):
            _gather(child, parts)
        parts.append(child.tail or "")  # a comment's too: the text after it is the node's
    parts.append(" " if tag in _BLOCKS or tag in _CELLS else "")


def _split_sibling(key: str, value: str, selector: str) -> tuple[str, str]:
    """``+ tr .age`` -> (``tr``, ``.age``): the sibling's own selector, then the one inside."""
    rest = selector[1:].strip()
    depth, quote = 0, ""
    for index, char in enumerate(rest):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif depth == 0 and (char.isspace() or char in ">~+,"):
            if not char.isspace():
                break
            return rest[:index], rest[index:].strip()
    else:
        if rest:
            return rest, ""
    raise ValueError(
        f"{key}: a sibling field is '+', one element selector, then optionally a selector "
        f"inside it (such as '+ tr .age@title'), got {value!r}"
    )


def _one_element(tree: object) -> bool:
    """True for a parsed selector of one element, with no combinator (``h4``, ``.date``,
    ``a[href]:not(.icon)``): whether an element matches it does not depend on the element
    the selector is run from (as ``:scope``'s and a combinator's do)."""
    while not isinstance(tree, Element):
        if isinstance(tree, Pseudo) and tree.ident == "scope":
            return False
        if isinstance(tree, Negation) and not _one_element(tree.subselector):
            return False
        if not isinstance(tree, Class | Hash | Attrib | Function | Negation | Pseudo):
            return False  # a combinator, :has(), :is(), :where()
        tree = tree.selector
    return True


def _of_one_element(selector: str) -> bool:
    """True for a selector (or a group of them: ``h1, h2``) of single elements."""
    return all(
        parsed.pseudo_element is None and _one_element(parsed.parsed_tree)
        for parsed in parse_css(selector)
    )


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A compiled ``selector[@attribute]``; a selector starting with ``+`` is read from the
    item's next sibling element, if it matches the element selector after the ``+``.
    ``page_wide``: its matches within an item are its matches on the page that are the item or
    within it (a selector of single elements, not read from a sibling)."""

    source: str
    css: etree.XPath | None  # a CSSSelector, or a child step after a sibling: '+ tr > td'
    attribute: str | None
    sibling: etree.XPath | None = None
    page_wide: bool = False

    @classmethod
    def parse(cls, key: str, value: object, *, sibling_allowed: bool = True) -> FieldSelector:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key}: expected a CSS selector, got {value!r}")
        selector, at, attribute = value.strip().rpartition("@")
        if not at:  # no "@": the whole value is the selector
            selector, attribute = attribute, ""
        elif not attribute or not selector.strip():
            raise ValueError(f"{key}: expected a CSS selector and an attribute, got {value!r}")
        if attribute and not _ATTRIBUTE.fullmatch(attribute):
            raise ValueError(f"{key}: {attribute!r} is not an attribute name")
        selector, sibling = selector.strip(), None
        if selector.startswith("+"):
            if not sibling_allowed:
                raise ValueError(
                    f"{key}: a sibling selector ('+ ...') reads a field next to an item; "
                    f"an item needs its own selector, got {value!r}"
                )
            own, selector = _split_sibling(key, value, selector)
            try:
                sibling = etree.XPath(HTMLTranslator().css_to_xpath(own, prefix="self::"))
            except SelectorError as error:
                raise ValueError(
                    f"{key}: not a CSS selector for the sibling: {own!r} ({error})"
                ) from error
        try:
            if sibling is not None and selector.startswith(">"):
                child = HTMLTranslator().css_to_xpath(selector[1:].strip(), prefix="child::")
                css: etree.XPath | None = etree.XPath(child)
            else:
                css = CSSSelector(selector) if selector else None
            page_wide = sibling is None and css is not None and _of_one_element(selector)
        except SelectorError as error:
            raise ValueError(f"{key}: not a CSS selector: {selector!r} ({error})") from error
        return cls(
            source=value.strip(),
            css=css,
            attribute=attribute or None,
            sibling=sibling,
            page_wide=page_wide,
        )

    def select(self, element: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
        """The elements the selector finds in ``element`` (or in its next sibling)."""
        if self.sibling is not None:
            after = element.getnext()
            while after is not None and not isinstance(after, lxml.html.HtmlElement):
                after = after.getnext()
            if after is None or not self.sibling(after):
                return []
            element = after
        if self.css is None:
            return [element]
        found = self.css(element)
        return (
            [e for e in found if isinstance(e, lxml.html.HtmlElement)]
            if isinstance(found, list)
            else []
        )

    def read(self, element: lxml.html.HtmlElement) -> str:
        """The attribute (or the text) of ``element``, whitespace normalised."""
        if self.attribute:
            return clean_text(str(element.get(self.attribute, "")))
        return element_text(element)


class ItemMatches:
    """Field selectors' matches within each item of a page, as ``FieldSelector.select`` finds
    them from the item (in document order). A ``page_wide`` selector is run once over the
    page, its matches given to the items holding them, rather than once for each item."""

    def __init__(self, root: lxml.html.HtmlElement, items: Iterable[lxml.html.HtmlElement]):
        self.root = root
        self.items = set(items)
        self._by_item: dict[str, dict[lxml.html.HtmlElement, list[lxml.html.HtmlElement]]] = {}
        self._nested: bool | None = None  # an item within another: known once asked

    def _items_nested(self) -> bool:
        if self._nested is None:
            self._nested = any(
                ancestor in self.items for item in self.items for ancestor in item.iterancestors()
            )
        return self._nested

    def select(
        self, key: str, selector: FieldSelector, item: lxml.html.HtmlElement
    ) -> list[lxml.html.HtmlElement]:
        """What ``selector`` (the field ``key``'s) finds in ``item``."""
        if not selector.page_wide:
            return selector.select(item)
        by_item = self._by_item.get(key)
        if by_item is None:
            by_item = self._by_item[key] = {}
            nested = self._items_nested()
            for found in selector.select(self.root):
                holder: lxml.html.HtmlElement | None = found
                while holder is not None:  # up to the item holding it, or to every one
                    if holder in self.items:
                        by_item.setdefault(holder, []).append(found)
                        if not nested:
                            break
                    holder = holder.getparent()
        return by_item.get(item, [])
