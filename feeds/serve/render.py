"""Rendering a feed: RSS 2.0 and Atom 1.0 (with feedgen) and JSON Feed 1.1.

The only module that imports feedgen, and the place its traps are handled: it prepends
entries unless told ``order="append"``; it stamps ``now()`` into the feed's and each entry's
updated time and the RSS ``lastBuildDate`` unless they are set (all are, from the entries);
the RSS channel ``<link>`` is the last link added (the alternate link goes last); it needs
``lxml.etree`` imported before it; it cannot write processing instructions, so the
``<?xml-stylesheet?>`` that lets browsers show RSS and Atom as a page is put in here, after
the XML declaration. Output is a pure function of its input: the same entries give
byte-identical feeds, so ETags change only when content does. ``render_feed`` renders a feed
whatever one entry holds: an entry the feed cannot be rendered with is left out and reported.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

import lxml.etree  # noqa: F401  (feedgen uses lxml.etree without importing it)
from feedgen.feed import FeedGenerator

from feeds import __version__
from feeds.identity import NAMESPACE
from feeds.model import LeftOut, StoredEntry

logger = logging.getLogger(__name__)

GENERATOR = "feedpub"
#: The instant of an empty feed: fixed, so that its bytes do not change with the clock.
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: A language tag as BCP 47 spells one (``en``, ``fr-CH``, ``zh-Hant-TW``).
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
#: How much of a renderer's error a left-out entry's reason keeps.
_REASON_LENGTH = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedInfo:
    """What a feed says about itself.

    Attributes:
        topic_id: The topic's id; the feed's Atom id is derived from it, never from a URL.
        title: The feed's title.
        description: The feed's description (a subtitle in Atom).
        self_url: The URL the feed is served at (as requested, or under the configured base).
        home_url: The topic's HTML page.
        language: The feed's language (``en``).
        publisher: Who publishes it (the feed's author).
        ttl_minutes: How often its sources are refreshed (RSS ``ttl``).
        image: An image URL for the feed, or empty.
        stylesheet_url: The XSL stylesheet browsers show RSS and Atom with (it must be on the
            feed's origin), or empty for none.
    """

    topic_id: str
    title: str
    description: str
    self_url: str
    home_url: str
    language: str
    publisher: str
    ttl_minutes: int
    image: str = ""
    stylesheet_url: str = ""

    @property
    def feed_id(self) -> str:
        """The feed's stable id: the same wherever and however it is served."""
        return f"urn:uuid:{uuid.uuid5(NAMESPACE, 'topic:' + self.topic_id)}"


def xml_text(text: str) -> str:
    """Text with the characters XML forbids removed."""
    return _XML_FORBIDDEN.sub("", text)


def language_tag(language: str) -> str:
    """The feed's language if it is a language tag, else empty (the feed then says none)."""
    return language if _LANGUAGE_TAG.fullmatch(language) else ""


def entry_text(stored: StoredEntry) -> str:
    """What an entry says: its summary, or, for an item without one, a true line made of its
    label, title and date (feed readers and validators want text in every entry)."""
    entry = stored.entry
    if entry.summary:
        return entry.summary
    label = f"{entry.labels[0]}: " if entry.labels else ""
    day = f" ({entry.date.isoformat()})" if entry.date else ""
    return f"{label}{entry.title}{day}"


def changed_at(stored: StoredEntry) -> dt.datetime:
    """When an entry last changed what a feed shows: its update, or when it was first seen."""
    return max(stored.updated, stored.first_seen, stored.entry.published)


def feed_updated(entries: Sequence[StoredEntry]) -> dt.datetime:
    """The feed's updated time: the latest change of its entries (never the clock)."""
    return max((changed_at(s) for s in entries), default=EPOCH)


def _generator(info: FeedInfo, entries: Sequence[StoredEntry]) -> FeedGenerator:
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    generator.id(info.feed_id)
    generator.title(xml_text(info.title))
    generator.subtitle(xml_text(info.description or info.title))
    generator.description(xml_text(info.description or info.title))
    generator.author({"name": xml_text(info.publisher)})
    if language := language_tag(info.language):
        generator.language(language)
    generator.generator(GENERATOR, version=__version__)
    generator.ttl(info.ttl_minutes)
    if info.image:
        generator.logo(xml_text(info.image))
        generator.image(
            url=xml_text(info.image), title=xml_text(info.title), link=xml_text(info.home_url)
        )
    # feedgen takes the RSS channel <link> from the last link added: the alternate one.
    generator.link(href=xml_text(info.self_url), rel="self")
    generator.link(href=xml_text(info.home_url), rel="alternate")
    generator.updated(feed_updated(entries))  # also lastBuildDate; never now()
    for stored in entries:
        entry = stored.entry
        item = generator.add_entry(order="append")
        item.id(entry.id)
        item.guid(entry.id, permalink=False)
        item.title(xml_text(entry.title))
        item.link(href=entry.link, rel="alternate")
        item.published(entry.published)
        item.updated(max(stored.updated, entry.published))
        item.summary(xml_text(entry_text(stored)))  # Atom summary, and the RSS description
        for label in entry.labels:
            item.category(term=xml_text(label))
        if entry.credit:
            item.rights(xml_text(entry.credit))
            item.dc.dc_rights(xml_text(entry.credit))
    return generator


def with_stylesheet(document: bytes, stylesheet_url: str) -> bytes:
    """An XML document with an ``<?xml-stylesheet?>`` for ``stylesheet_url`` right after its
    XML declaration (or first, without one); the document itself when the URL is empty."""
    if not stylesheet_url:
        return document
    href = quoteattr(xml_text(stylesheet_url))  # escapes '>' too: the URL cannot end the PI
    instruction = f'<?xml-stylesheet type="text/xsl" href={href}?>'.encode()
    if not document.startswith(b"<?xml "):
        return instruction + b"\n" + document
    end = document.index(b"?>") + len(b"?>")
    return document[:end] + b"\n" + instruction + document[end:]


def render_rss(info: FeedInfo, entries: Sequence[StoredEntry]) -> bytes:
    """The feed as RSS 2.0 (UTF-8)."""
    rss: bytes = _generator(info, entries).rss_str(pretty=True)
    return with_stylesheet(rss, info.stylesheet_url)


def render_atom(info: FeedInfo, entries: Sequence[StoredEntry]) -> bytes:
    """The feed as Atom 1.0 (UTF-8)."""
    atom: bytes = _generator(info, entries).atom_str(pretty=True)
    return with_stylesheet(atom, info.stylesheet_url)


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def render_json(info: FeedInfo, entries: Sequence[StoredEntry]) -> bytes:
    """The feed as JSON Feed 1.1 (UTF-8); the credit and source are under ``_feedpub``."""
    items = []
    for stored in entries:
        entry = stored.entry
        item: dict[str, object] = {
            "id": entry.id,
            "url": entry.link,
            "title": entry.title,
            "content_text": entry_text(stored),
            "date_published": _iso(entry.published),
            "date_modified": _iso(max(stored.updated, entry.published)),
        }
        if entry.summary:
            item["summary"] = entry.summary
        if entry.labels:
            item["tags"] = list(entry.labels)
        extension: dict[str, object] = {"source": entry.source_id}
        if entry.date:
            extension["listing_date"] = entry.date.isoformat()
        if entry.credit:
            extension["credit"] = entry.credit
        item["_feedpub"] = extension
        items.append(item)
    feed: dict[str, object] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": info.title,
        "home_page_url": info.home_url,
        "feed_url": info.self_url,
        "description": info.description,
        "language": language_tag(info.language),
        "authors": [{"name": info.publisher}],
        "items": items,
    }
    if not feed["language"]:
        del feed["language"]
    if info.image:
        feed["icon"] = info.image
    return (json.dumps(feed, ensure_ascii=False, indent=1) + "\n").encode()


#: A renderer: a feed's bytes from what it says about itself and its entries.
Renderer = Callable[[FeedInfo, Sequence[StoredEntry]], bytes]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered feed, and the entries left out of it because it could not be rendered with
    them."""

    body: bytes
    left_out: tuple[LeftOut, ...] = ()


def render_feed(render: Renderer, info: FeedInfo, entries: Sequence[StoredEntry]) -> Rendered:
    """The feed ``render`` makes of the entries; when it fails, each entry is tried alone, and
    those it fails with are left out (logged with their source and id, and reported). The
    error of a feed that fails without any entry is raised: no entry is to blame."""
    try:
        return Rendered(render(info, entries))
    except Exception as error:  # any failure: next, find which entry caused it
        failure = error
    try:
        render(info, ())
    except Exception:
        raise failure from None
    kept: list[StoredEntry] = []
    left_out: list[LeftOut] = []
    for stored in entries:
        try:
            render(info, (stored,))
        except Exception as error:  # whatever it is, the entry is left out
            entry = stored.entry
            reason = f"the feed cannot be rendered with it: {error!r}"[:_REASON_LENGTH]
            logger.warning(
                "feed %s: entry %s of source %s left out: %s",
                info.topic_id, entry.id, entry.source_id, reason,
            )  # fmt: skip
            left_out.append(LeftOut(source_id=entry.source_id, entry_id=entry.id, reason=reason))
        else:
            kept.append(stored)
    return Rendered(render(info, kept), tuple(left_out))
