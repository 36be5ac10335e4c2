"""The HTML parser the listing adapters read pages with: ``lxml.html``'s element classes, looked
up without a call into Python for each element (``lxml.html``'s own parser makes one)."""

from __future__ import annotations

import lxml.html
from lxml import etree


def listing_parser() -> etree.HTMLParser:
    """An HTML parser whose elements, comments, processing instructions and entities are
    those of ``lxml.html`` (``HtmlElement``, ``HtmlComment``, ...). Its forms' elements are
    plain ``HtmlElement`` too: no adapter reads a form."""
    parser = etree.HTMLParser()
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=lxml.html.HtmlElement,
            comment=lxml.html.HtmlComment,
            pi=lxml.html.HtmlProcessingInstruction,
            entity=lxml.html.HtmlEntity,
        )
    )
    return parser


#: Shared as ``lxml.html``'s own parser is.
LISTING_PARSER = listing_parser()
