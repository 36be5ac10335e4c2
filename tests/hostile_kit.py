"""Hostile items for every kind of source, the documents holding them, a server and a
configuration serving them, and what a feed reader must find in the feeds made of them."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
from feedparser import FeedParserDict
from flask.testing import FlaskClient

from feeds.config import Config, parse_config
from feeds.ledger.store import Ledger
from feeds.links import web_url
from feeds.model import TITLE_LIMIT
from feeds.serve.publish import FeedPublisher
from server import create_app
from sources import ADAPTERS
from tests.conftest import DATA
from tests.http_server import LocalServer, Route, local_server
from tests.listing_writer import WrittenItem, write_html, write_text

BASE = "https://feeds.example.org"
HUGE = "Huge " * 210_000  # a megabyte of title
#: What no published text may hold: XML-forbidden characters, C1 controls, bidi controls.
UNPUBLISHABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)
DAY = dt.date(2026, 11, 20)
#: Where a document gets a lone surrogate, as its kind can hold one (``lone_surrogates``).
SURROGATE = "SURROGATE"


def hostile_items() -> list[WrittenItem]:
    """The same hostile items for the listing pages, with one plain item first and last."""
    return [
        WrittenItem(title="Plain first item", date=DAY, summary="Intact.", link="/news/first"),
        WrittenItem(title="Control\x01 \x1bcharacters\x7f", date=DAY, link="/news/control"),
        WrittenItem(title="Bidi \u202eoverride\u2066 isolate", date=DAY, link="/news/bidi"),
        WrittenItem(title=f"Lone {SURROGATE}surrogate", date=DAY, link=f"/news/x{SURROGATE}y"),
        WrittenItem(title=HUGE, date=DAY, link="/news/huge"),
        WrittenItem(title="Budget 2025", date=DAY, link="/news/2025 budget"),
        WrittenItem(title="Plan 2025", date=DAY, link="/news/2025 plan"),
        WrittenItem(title="Control link", date=DAY, link="https://example.org/a\x01b"),
        WrittenItem(title="Script link", date=DAY, link="javascript:alert(1)"),
        WrittenItem(title="Garbage link", date=DAY, link="http://[garbage/x"),
        WrittenItem(title="Plain last item", date=DAY, summary="Intact.", link="/news/last"),
    ]


def selectors_page(items: list[WrittenItem]) -> str:
    """An HTML listing read with selectors (``kind = "html"``)."""
    parts = ["<html><body><h1>News</h1>"]
    for item in items:
        parts.append(
            f"<div class='item'><h2><a href='{item.link}'>{item.title}</a></h2>"
            f"<time datetime='{DAY.isoformat()}'>{DAY.isoformat()}</time>"
            f"<p>{item.summary}</p><span class='label'>\u202eLabel\x02</span>"
            f"<img src='/img/{item.title[:10]} x.png'></div>"
        )
    return "".join(parts) + "</body></html>"


def rss_feed(items: list[WrittenItem]) -> str:
    entries = "".join(
        f"<item><title>{item.title}</title><link>{item.link}</link>"
        f"<description>{item.summary}</description>"
        f"<pubDate>Fri, 20 Nov 2026 09:00:00 GMT</pubDate></item>"
        for item in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed</title>'
        f"<link>https://www.example.org/</link>{entries}</channel></rss>"
    )


def atom_feed(items: list[WrittenItem]) -> str:
    entries = "".join(
        f"<entry><title>{item.title}</title><link href='{item.link}'/>"
        f"<id>tag:example.org,2026:{n}\u202e</id><summary>{item.summary}</summary>"
        f"<updated>2026-11-20T09:00:00Z</updated></entry>"
        for n, item in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Feed</title><id>tag:example.org,2026:feed</id>"
        f"<updated>2026-11-20T09:00:00Z</updated>{entries}</feed>"
    )


def json_feed(items: list[WrittenItem]) -> str:
    feed_items = [
        {
            "title": item.title,
            "url": item.link,
            "summary": item.summary,
            "date_published": "2026-11-20T09:00:00Z",
            "tags": ["\u202eTag\x03"],
        }
        for item in items
    ]
    feed_items.insert(
        1,
        {
            "title": "Image surrogate",
            "url": f"https://example.org/x{SURROGATE}y",
            "image": f"https://example.org/{SURROGATE}.png",
            "date_published": "2026-11-20T09:00:00Z",
        },
    )
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Feed", "items": feed_items}
    )


def lone_surrogates(document: str, content_type: str) -> str:
    """The document with a lone surrogate where it says ``SURROGATE``: an escape in JSON, a
    character reference in HTML and XML, the character itself in text."""
    marker = {"application/feed+json": "\\ud800", "text/plain": "\ud800"}
    return document.replace(SURROGATE, marker.get(content_type, "&#xD800;"))


#: Each source: its kind, the path it is served at, its content type, and its document.
SOURCES: dict[str, tuple[str, str, str, Callable[[list[WrittenItem]], str]]] = {
    "ilo-text": ("ilo", "/ilo.txt", "text/plain", write_text),
    "ilo-html": ("ilo", "/ilo.html", "text/html", write_html),
    "selectors": ("html", "/selectors.html", "text/html", selectors_page),
    "rss": ("feed", "/feed.rss", "application/rss+xml", rss_feed),
    "atom": ("feed", "/feed.atom", "application/atom+xml", atom_feed),
    "json": ("feed", "/feed.json", "application/feed+json", json_feed),
}


def config_text(server: LocalServer) -> str:
    sources = []
    for source_id, (kind, path, _type, _write) in SOURCES.items():
        sources.append(
            f'[[sources]]\nid = "{source_id}"\ntitle = "{source_id}"\n'
            f'url = "{server.url(path)}"\nkind = "{kind}"\n'
        )
        if kind == "html":
            sources.append(
                '[sources.selectors]\nitem = "div.item"\ntitle = "h2"\nlink = "h2 a@href"\n'
                'date = "time@datetime"\nsummary = "p"\nlabel = "span.label"\n'
                'image = "img@src"\n'
            )
    return (
        '[publisher]\nname = "Hostile feeds"\n\n'
        + "\n".join(sources)
        + "".join(
            f'\n[[topics]]\nid = "{source_id}"\ntitle = "{source_id}"\nsources = ["{source_id}"]\n'
            for source_id in SOURCES
        )
    )


@contextmanager
def hostile_server() -> Iterator[LocalServer]:
    """A local server serving each source's document of hostile items."""
    with local_server() as running:
        for _kind, path, content_type, write in SOURCES.values():
            document = lone_surrogates(write(hostile_items()), content_type)
            body = document.encode(errors="surrogatepass")  # text: bytes no UTF-8 decoder reads
            running.routes[path] = Route(body, headers={"Content-Type": content_type})
        yield running


def hostile_config(server: LocalServer, folder: Path) -> Config:
    """A source per kind on ``server``, and a topic per source (named as it)."""
    return parse_config(
        config_text(server), folder / "feedpub.toml", adapter_kinds=set(ADAPTERS), environ={}
    )


def sqlite_ledger(folder: Path) -> Ledger:
    """A ledger on a new SQLite file in ``folder``."""
    return Ledger.open(f"sqlite:///{folder / 'ledger.db'}")


def client_for(config: Config, ledger: Ledger) -> FlaskClient:
    publisher = FeedPublisher(config, ledger, version_ttl=0)
    return create_app(config, ledger=ledger, publisher=publisher).test_client()


def served_feeds(client: FlaskClient, topic: str) -> dict[str, Any]:
    """The topic's feed in each format, read by feedparser (which must find each valid)."""
    feeds: dict[str, Any] = {}
    for feed_format in ("rss", "atom", "json"):
        response = client.get(f"/feeds/{topic}.{feed_format}", base_url=BASE)
        assert response.status_code == 200, response.data[:500]
        if feed_format == "json":  # feedparser reads no JSON: the schema judges it
            feeds[feed_format] = json_entries(response.data)
            continue
        parsed = feedparser.parse(response.data)
        assert not parsed.bozo, (feed_format, parsed.get("bozo_exception"))
        feeds[feed_format] = parsed
    return feeds


def json_entries(data: bytes) -> FeedParserDict:
    """A JSON feed checked against the JSON Feed 1.1 schema, its items as feedparser's."""
    feed = json.loads(data)
    jsonschema.validate(feed, json.loads((DATA / "jsonfeed-1.1.schema.json").read_text()))
    return FeedParserDict(
        entries=[
            FeedParserDict(
                title=item["title"],
                link=item["url"],
                tags=[FeedParserDict(term=tag) for tag in item.get("tags", [])],
            )
            for item in feed["items"]
        ]
    )


def assert_publishable(entry: Any) -> None:
    """What a feed reader reads of an entry is clean, bounded text and valid http(s) links."""
    assert not UNPUBLISHABLE.search(entry.title), entry.title
    assert 0 < len(entry.title) <= TITLE_LIMIT
    assert web_url(entry.link) == entry.link, entry.link
    for tag in entry.get("tags", []):
        assert not UNPUBLISHABLE.search(tag.term)
