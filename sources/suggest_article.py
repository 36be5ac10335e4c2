"""Auto-detection's judgement of single articles: a page whose own body of text outweighs its
lists, or whose lists are the story's own links, is an article, not a listing.
"""

from __future__ import annotations

import re
from collections import Counter

import lxml.html

from feeds.text import clean_text
from sources.structured import json_ld_types
from sources.structured_items import ARTICLE_TYPES
from sources.suggest_fields import title_anchor
from sources.suggest_lists import SKIPPED, Candidate, own_furniture

#: An article's body: this much text in paragraphs outside every candidate list.
ARTICLE_BODY_CHARACTERS = 1000
#: The body an article needs when the page says it is one (og:type, article:published_time,
#: a JSON-LD Article).
DECLARED_BODY_CHARACTERS = 600
#: Text of any block outside the lists, this long and this many times the best list's text,
#: is a story (an article written in ``div``s and ``br``s, a long text with a few links).
TEXT_BODY_CHARACTERS = 2000
OUTWEIGHS = 6
#: A block of text counts towards the body from this length (a CJK character counts twice).
BLOCK_CHARACTERS = 80
#: An article's other lists offered as its related links from this score (menus and share
#: buttons score below it); only lists from this score hold items rather than the story.
RELATED_SCORE = 1.0
#: A list item with this much text is a wrapper around a story, not an item of a list.
LIST_ITEM_CHARACTERS = 2000
#: An element holding this share of a page's text is its story, whatever its name.
STORY_SHARE = 0.6
#: A story's lists link mostly away from the site: at most this share of their items within it.
OFF_SITE_SHARE = 0.2
#: Candidates whose items are kept out of the body.
LISTS_KEPT_OUT = 3
_BLOCKS = frozenset(
    ("p", "div", "td", "article", "section", "blockquote", "main", "li", "dd", "pre", "font")
)
_WIDE = re.compile(r"[\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]")
#: The schema.org types of a page that is one story (an event page is none).
_STORY_TYPES = ARTICLE_TYPES - {"Event"}


def _own_text(block: lxml.html.HtmlElement) -> str:
    """The text of ``block`` without the text of the blocks inside it."""
    parts = [block.text or ""]
    for child in block:
        if isinstance(child.tag, str) and child.tag not in _BLOCKS and child.tag not in SKIPPED:
            parts.append(child.text_content())
        parts.append(child.tail or "")
    return clean_text("".join(parts))


def _weight(text: str) -> int:
    return len(text) + len(_WIDE.findall(text))


def declared_article(root: lxml.html.HtmlElement, og_type: str) -> str | None:
    """What on the page says it is one article: ``og:type``, ``article:published_time`` or a
    JSON-LD ``NewsArticle`` (on a page that declares no ``ItemList``)."""
    if og_type == "article":
        return "og:type is article"
    for meta in root.iter("meta"):
        if str(meta.get("property", "")).lower() == "article:published_time":
            return "it has an article:published_time"
    types = json_ld_types(root)
    if types & _STORY_TYPES and "ItemList" not in types:
        return "its JSON-LD declares an article"
    return None


def article_reason(root: lxml.html.HtmlElement, found: list[Candidate], og_type: str) -> str | None:
    """Why the page is a single article rather than a listing, or ``None``: the lists are the
    story's own links; or a body of paragraphs with a page that says it is an article, or
    has one ``h1`` or one ``article``; or text outside the lists many times the best list's."""
    headings = root.cssselect("h1")
    if found and (story := _story_around(found[0], headings)) is not None:
        return (
            f"its lists are inside the <{story.tag}> that holds its title and link away "
            "from the site"
        )
    lists = [c for c in found[:LISTS_KEPT_OUT] if c.score >= RELATED_SCORE]
    in_lists = {e for c in lists for m in _items(c) for e in m.iter()}
    blocks = [
        (block, weight)
        for block in root.iter(*_BLOCKS)
        if block not in in_lists and (weight := _weight(_own_text(block))) >= BLOCK_CHARACTERS
    ]
    paragraphs = _body_characters([(block, weight) for block, weight in blocks if block.tag == "p"])
    declared = declared_article(root, og_type)
    if declared is not None and paragraphs >= DECLARED_BODY_CHARACTERS:
        return f"{declared} and its body has {paragraphs} characters of paragraphs"
    listed = sum(len(clean_text(m.text_content())) for m in found[0].members) if found else 0
    # a body a third of the best list's text at least: a news home page's intro is no story
    if paragraphs >= ARTICLE_BODY_CHARACTERS and listed < 3 * paragraphs:
        if len(headings) == 1:
            return f"one h1 over {paragraphs} characters of paragraphs"
        if len(root.cssselect("article")) == 1:
            return f"one <article> with {paragraphs} characters of paragraphs"
    text = _body_characters(blocks)
    if text >= TEXT_BODY_CHARACTERS and text > OUTWEIGHS * listed:
        return (
            f"its {text} characters of text outside lists are over {OUTWEIGHS} times its best "
            f"list's {listed}"
        )
    return None


def _items(candidate: Candidate) -> list[lxml.html.HtmlElement]:
    """The members of a list that are items: all but the wrappers around the story (a page's
    main column among others): a long member with no title link of its own, or holding most
    of the list's text."""
    sizes = [len(clean_text(m.text_content())) for m in candidate.members]
    most = STORY_SHARE * sum(sizes)
    return [
        m
        for m, size in zip(candidate.members, sizes, strict=True)
        if size < LIST_ITEM_CHARACTERS or (title_anchor(m) is not None and size <= most)
    ]


def _body_characters(blocks: list[tuple[lxml.html.HtmlElement, int]]) -> int:
    """The characters of the blocks outside page furniture; furniture by name that holds
    most of the page's text is no furniture (a ``nav-drawer`` around the story)."""
    carried: Counter[lxml.html.HtmlElement] = Counter()
    for block, length in blocks:
        for ancestor in block.iterancestors():
            carried[ancestor] += length
    most = STORY_SHARE * sum(length for _, length in blocks)
    body = 0
    for block, length in blocks:
        for element in (block, *block.iterancestors()):
            if element.tag in ("html", "body"):
                body += length
                break
            if own_furniture(element) is not None and carried[element] < most:
                break
    return body


def _story_around(
    top: Candidate, headings: list[lxml.html.HtmlElement]
) -> lxml.html.HtmlElement | None:
    """The ``article`` holding the page's title (its one ``h1``) and every item of the best
    list, when those items link away from the site: the lists of a story, not a listing."""
    if len(headings) != 1 or top.same_site > OFF_SITE_SHARE:
        return None
    title = headings[0]
    for story in top.members[0].iterancestors("article"):
        if title in story.iter("h1") and all(story in m.iterancestors() for m in top.members):
            return story
    return None
