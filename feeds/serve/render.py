"""Rendering a feed: RSS 2.0 and Atom 1.0 (with feedgen) and JSON Feed 1.1.

The only module that imports feedgen, and the place its traps are handled: it prepends
entries unless told ``order="append"``; it stamps ``now()`` into the feed's and each entry's
updated time and the RSS ``lastBuildDate`` unless they are set (all are, from the entries);
the RSS channel ``<link>`` is the last link added (the alternate link goes last in RSS, and
first in Atom, where readers take the first link as the site's); it needs
``lxml.etree`` imported before it; it cannot write processing instructions, so the
``<?xml-stylesheet?>`` that lets browsers show RSS and Atom as a page is put in here, after
the XML declaration. Output is a pure function of its input: the same entries give
byte-identical feeds, so ETags change only when content does. ``render_feed`` renders a feed
whatever one entry holds: an entry the feed cannot be rendered with is left out and reported.

Titles and summaries are plain text: RSS readers read ``<description>`` as HTML, so a summary
goes there escaped as HTML (paragraphs as ``<p>``), while titles stay text, as RSS readers take
them; Atom marks its text ``type="text"``. Every reader shows the characters the page showed.
An item without a summary gets none where the format allows it (RSS); where a reader or
validator wants text (Atom, JSON Feed), it gets its labels and listing day, the least that
repeats its title. Instants are written in the
source's own time zone, so the day a listing gave shows in the feed. An item's image goes in
``media:content`` (RSS, with its credit as ``media:credit``), an enclosure link (Atom) and
``image`` (JSON). A topic whose entries are in several languages says each entry's. An
entry's article (sanitised HTML, ``full_text`` sources) is its content: RSS
``content:encoded``, Atom ``<content type="html">``, JSON Feed ``content_html``; its summary
stays the summary.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import mimetypes
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr
from zoneinfo import ZoneInfo

import lxml.etree
from feedgen.ext.base import BaseEntryExtension, BaseExtension
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
MEDIA_NAMESPACE = "http://search.yahoo.com/mrss/"
ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


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
        entry_languages: Each source's language, where the feed's entries are in several
            (each entry then says its own); empty when they share the feed's.
        source_zones: Each source's time zone: an entry's instants are written in it.
        hub_url: The WebSub hub the feed is pushed by, or empty for none.
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
    entry_languages: Mapping[str, str] = field(default_factory=dict)
    source_zones: Mapping[str, ZoneInfo] = field(default_factory=dict)
    hub_url: str = ""

    def local(self, stored: StoredEntry, instant: dt.datetime) -> dt.datetime:
        """An instant of an entry, in its source's time zone (UTC if unknown)."""
        zone = self.source_zones.get(stored.entry.source_id)
        return instant.astimezone(zone) if zone else instant

    def entry_language(self, stored: StoredEntry) -> str:
        """The entry's language where the feed's entries differ in theirs, else empty."""
        return language_tag(self.entry_languages.get(stored.entry.source_id, ""))

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


def stand_in_text(stored: StoredEntry) -> str:
    """The text of an item without a summary, where a format wants text: what the listing
    says of it besides its title (its labels and listing day), else its title."""
    entry = stored.entry
    parts = [*entry.labels, *([entry.date.isoformat()] if entry.date else [])]
    return " · ".join(parts) or entry.title


def entry_text(stored: StoredEntry) -> str:
    """What an entry says as plain text: its summary, or its stand-in."""
    return stored.entry.summary or stand_in_text(stored)


def summary_html(summary: str) -> str:
    """A plain-text summary as HTML showing exactly its characters: escaped, and its
    paragraphs as ``<p>`` where it has several."""
    paragraphs = [html.escape(p.strip(), quote=False) for p in summary.split("\n\n") if p.strip()]
    if len(paragraphs) == 1:
        return paragraphs[0]
    return "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)


def image_type(url: str) -> str:
    """An image's media type from its URL's extension, or empty when it does not say."""
    guessed, _encoding = mimetypes.guess_type(urlsplit(url).path)
    return guessed if guessed and guessed.startswith("image/") else ""


def changed_at(stored: StoredEntry) -> dt.datetime:
    """When an entry last changed what a feed shows: its update, or when it was first seen."""
    return max(stored.updated, stored.first_seen, stored.entry.published)


def feed_updated(entries: Sequence[StoredEntry]) -> dt.datetime:
    """The feed's updated time: the latest change of its entries (never the clock)."""
    return max((changed_at(s) for s in entries), default=EPOCH)


class _FeedpubFeed(BaseExtension):  # type: ignore[misc]  # feedgen has no type information
    """The feed side of feedpub's additions: Media RSS's namespace, and the RSS channel's
    ``atom:link rel="hub"`` (feedgen's own ``link(rel="hub")`` would take the channel's
    ``<link>`` and write no ``atom:link``)."""

    def __init__(self) -> None:
        self.hub = ""

    def extend_ns(self) -> dict[str, str]:
        return {"media": MEDIA_NAMESPACE}

    def extend_rss(self, feed: Any) -> Any:
        channel = feed.find("channel")
        if self.hub and channel is not None:
            link = lxml.etree.Element(f"{{{ATOM_NAMESPACE}}}link")
            link.set("href", self.hub)
            link.set("rel", "hub")
            # beside the channel's atom:link rel="self", which feedgen writes first
            after = channel.find(f"{{{ATOM_NAMESPACE}}}link")
            if after is not None:
                after.addnext(link)
            else:
                channel.append(link)
        return feed


class _FeedpubEntry(BaseEntryExtension):  # type: ignore[misc]  # feedgen has no type information
    """An entry's image with its credit, and its language where the feed's entries differ."""

    def __init__(self) -> None:
        self.image = ""
        self.credit = ""
        self.language = ""

    def extend_rss(self, item: Any) -> Any:
        if self.image:
            content = lxml.etree.SubElement(item, f"{{{MEDIA_NAMESPACE}}}content")
            content.set("url", self.image)
            content.set("medium", "image")
            if media_type := image_type(self.image):
                content.set("type", media_type)
            if self.credit:
                credit = lxml.etree.SubElement(content, f"{{{MEDIA_NAMESPACE}}}credit")
                credit.text = self.credit
        return item

    def extend_atom(self, entry: Any) -> Any:
        if self.language:
            entry.set(_XML_LANG, self.language)
        if self.image:
            link = lxml.etree.SubElement(entry, "{http://www.w3.org/2005/Atom}link")
            link.set("rel", "enclosure")
            link.set("href", self.image)
            if media_type := image_type(self.image):
                link.set("type", media_type)
        return entry


def _generator(info: FeedInfo, entries: Sequence[StoredEntry], *, atom: bool) -> FeedGenerator:
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    generator.register_extension("feedpub", _FeedpubFeed, _FeedpubEntry, atom=True, rss=True)
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
    links = [
        {"href": xml_text(info.self_url), "rel": "self"},
        {"href": xml_text(info.home_url), "rel": "alternate"},
    ]
    # feedgen takes the RSS channel <link> from the last link added: the alternate one; Atom
    # readers take the first link as the site's: the alternate one first there
    for link in reversed(links) if atom else links:
        generator.link(**link)
    if info.hub_url:
        if atom:
            generator.link(href=xml_text(info.hub_url), rel="hub")
        else:
            generator.feedpub.hub = xml_text(info.hub_url)
    generator.updated(feed_updated(entries))  # also lastBuildDate; never now()
    for stored in entries:
        entry = stored.entry
        item = generator.add_entry(order="append")
        item.id(entry.id)
        item.guid(entry.id, permalink=False)
        item.title(xml_text(entry.title))
        item.link(href=entry.link, rel="alternate")
        item.published(info.local(stored, entry.published))
        item.updated(info.local(stored, max(stored.updated, entry.published)))
        if atom:
            item.summary(xml_text(entry_text(stored)), type="text")
        elif entry.summary:
            item.summary(xml_text(summary_html(entry.summary)))  # the RSS description
        if stored.content_html:
            if not atom and not entry.summary:  # content:encoded goes with a description
                item.summary(xml_text(summary_html(stand_in_text(stored))))
            item.content(xml_text(stored.content_html), type="html" if atom else None)
        for label in entry.labels:
            item.category(term=xml_text(label))
        if entry.credit:
            item.rights(xml_text(entry.credit))
            item.dc.dc_rights(xml_text(entry.credit))
        if language := info.entry_language(stored):
            item.dc.dc_language(language)
        additions = item.feedpub
        additions.image = xml_text(entry.image or "")
        additions.credit = xml_text(entry.credit or "")
        additions.language = language
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
    rss: bytes = _generator(info, entries, atom=False).rss_str(pretty=True)
    return with_stylesheet(rss, info.stylesheet_url)


def render_atom(info: FeedInfo, entries: Sequence[StoredEntry]) -> bytes:
    """The feed as Atom 1.0 (UTF-8)."""
    atom: bytes = _generator(info, entries, atom=True).atom_str(pretty=True)
    return with_stylesheet(atom, info.stylesheet_url)


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _json_item(info: FeedInfo, stored: StoredEntry) -> dict[str, object]:
    entry = stored.entry
    item: dict[str, object] = {
        "id": entry.id,
        "url": entry.link,
        "title": entry.title,
        "content_text": entry_text(stored),
        "date_published": _iso(info.local(stored, entry.published)),
        "date_modified": _iso(info.local(stored, max(stored.updated, entry.published))),
    }
    if stored.content_html:
        item["content_html"] = stored.content_html
    if entry.summary:
        item["summary"] = entry.summary
    if entry.image:
        item["image"] = entry.image
    if entry.labels:
        item["tags"] = list(entry.labels)
    if language := info.entry_language(stored):
        item["language"] = language
    extension: dict[str, object] = {"source": entry.source_id}
    if entry.date:
        extension["listing_date"] = entry.date.isoformat()
    if entry.credit:
        extension["credit"] = entry.credit
    item["_feedpub"] = extension
    return item


def render_json(info: FeedInfo, entries: Sequence[StoredEntry]) -> bytes:
    """The feed as JSON Feed 1.1 (UTF-8); the credit and source are under ``_feedpub``."""
    items = [_json_item(info, stored) for stored in entries]
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
    if info.hub_url:
        feed["hubs"] = [{"type": "WebSub", "url": info.hub_url}]
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
