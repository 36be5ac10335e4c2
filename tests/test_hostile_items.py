"""Hostile items from every kind of source (control characters, lone surrogates, bidirectional
overrides, a megabyte of title, links with spaces, control characters, ``javascript:`` and
relative garbage) are fetched, stored in a real ledger and served: every feed answers, and
reads as a valid feed with the other entries intact."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
import pytest
from feedparser import FeedParserDict
from flask.testing import FlaskClient

from feeds.config import Config, parse_config
from feeds.ledger.store import Ledger
from feeds.ledger.tables import entries_table
from feeds.links import web_url
from feeds.model import TITLE_LIMIT, UTC, LeftOut, StoredEntry
from feeds.refresh.refresher import Status
from feeds.serve.publish import FeedPublisher
from server import create_app
from sources import ADAPTERS
from tests.conftest import DATA, make_context
from tests.http_server import LocalServer, Route, local_server
from tests.listing_writer import WrittenItem, write_html, write_text
from tests.refresh_kit import Clock, make_refresher

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


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        for _kind, path, content_type, write in SOURCES.values():
            document = lone_surrogates(write(hostile_items()), content_type)
            body = document.encode(errors="surrogatepass")  # text: bytes no UTF-8 decoder reads
            running.routes[path] = Route(body, headers={"Content-Type": content_type})
        yield running


@pytest.fixture
def config(server: LocalServer, tmp_path: Path) -> Config:
    return parse_config(
        config_text(server), tmp_path / "feedpub.toml", adapter_kinds=set(ADAPTERS), environ={}
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    opened.close()


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


def test_hostile_items_from_every_kind_of_source_are_refreshed_stored_and_served(
    config: Config, ledger: Ledger
) -> None:
    refresher = make_refresher(ledger, Clock())
    try:
        outcomes = {source.id: refresher.refresh(source) for source in config.sources}
    finally:
        refresher.fetcher.close()
    assert {source_id: o.status for source_id, o in outcomes.items()} == dict.fromkeys(
        SOURCES, Status.UPDATED
    ), {source_id: o.error for source_id, o in outcomes.items()}
    for source_id, outcome in outcomes.items():  # the megabyte of title is cut, and said so
        cuts = [d for d in outcome.diagnostics if d.code == "cut-text"]
        assert len(cuts) == 1, (source_id, outcome.diagnostics)
        assert f"its title of {len(HUGE.strip())} characters to {TITLE_LIMIT}" in cuts[0].message

    client = client_for(config, ledger)
    for source_id, (_kind, path, _type, _write) in SOURCES.items():
        for parsed in served_feeds(client, source_id).values():
            check_served(parsed.entries, linked=path != "/ilo.txt")


def check_served(entries: list[Any], *, linked: bool) -> None:
    """The hostile items as a feed carries them: clean, bounded, with valid links; the plain
    ones intact."""
    for entry in entries:
        assert_publishable(entry)
    by_title = {entry.title: entry for entry in entries}
    assert len(by_title) == len(entries)
    assert by_title["Plain first item"].link.endswith("/news/first") is linked
    assert by_title["Plain last item"].link.endswith("/news/last") is linked
    assert "Control characters" in by_title
    assert "Bidi override isolate" in by_title
    (huge,) = (title for title in by_title if title.startswith("Huge Huge"))
    assert huge.endswith("Huge\u2026")
    assert [title for title in by_title if title.startswith("Lone")]
    # links with spaces are encoded, not cut: two items stay two
    assert by_title["Budget 2025"].link.endswith("/news/2025%20budget") is linked
    assert by_title["Plan 2025"].link.endswith("/news/2025%20plan") is linked
    if linked:
        assert by_title["Control link"].link == "https://example.org/a%01b"
    assert by_title["Script link"].link.startswith("http://127.0.0.1:")
    assert by_title["Garbage link"].link.startswith("http://127.0.0.1:")


def test_a_lone_surrogate_in_a_json_feed_item_no_longer_fails_its_source(
    config: Config, ledger: Ledger
) -> None:
    refresher = make_refresher(ledger, Clock())
    try:
        outcome = refresher.refresh(next(s for s in config.sources if s.id == "json"))
    finally:
        refresher.fetcher.close()
    assert outcome.status is Status.UPDATED, outcome.error
    stored = {s.entry.title: s.entry for s in ledger.entries()}
    assert stored["Image surrogate"].link == "https://example.org/xy"
    assert stored["Image surrogate"].image == "https://example.org/.png"
    assert stored["Lone surrogate"].link.endswith("/news/xy")


@pytest.mark.parametrize("source_id", list(SOURCES))
def test_every_adapter_gives_clean_entries_from_a_hostile_document(source_id: str) -> None:
    kind = SOURCES[source_id][0]
    options = (
        {"item": "div.item", "title": "h2", "link": "h2 a@href", "label": "span.label"}
        if kind == "html"
        else {}
    )
    kind, _path, content_type, write = SOURCES[source_id]
    document = lone_surrogates(write(hostile_items()), content_type)
    context = make_context(page_url="https://www.example.org/news/")
    result = ADAPTERS[kind](options)(document, context)
    titles = [entry.title for entry in result.entries]
    assert titles[0] == "Plain first item"
    assert titles[-1] == "Plain last item"
    for entry in result.entries:
        for text in (entry.title, entry.summary, *entry.labels, entry.link, entry.image or ""):
            assert not UNPUBLISHABLE.search(text), (entry.id, text)
        assert len(entry.title) <= TITLE_LIMIT
        assert web_url(entry.link) == entry.link
    by_title = {entry.title: entry for entry in result.entries}
    assert by_title["Script link"].link.startswith("https://www.example.org/news/")
    assert by_title["Garbage link"].link.startswith("https://www.example.org/news/")
    if kind == "html":  # identified by their links: encoded, they stay two items
        assert by_title["Budget 2025"].id != by_title["Plan 2025"].id
        assert by_title["Budget 2025"].link == "https://www.example.org/news/2025%20budget"
        assert by_title["Plain first item"].labels == ("Label",)


def insert_row(ledger: Ledger, n: int, **values: object) -> None:
    """A row written straight into the entries table: what an earlier version (or a hand)
    may have stored, never checked by the model."""
    published = dt.datetime(2026, 11, 20, 9, 0, n, tzinfo=UTC)
    row: dict[str, object] = {
        "source_id": "rss",
        "id": f"urn:uuid:00000000-0000-5000-8000-{n:012d}",
        "title": f"Row {n}",
        "link": f"https://www.example.org/rows/{n}",
        "listing_date": None,
        "published": published,
        "updated": published,
        "first_seen": published,
        "summary": "",
        "labels": [],
        "credit": None,
        "group_heading": None,
        "image": None,
        "content_hash": "0" * 32,
        "on_page": True,
        "removed_at": None,
        "instant": int(published.timestamp()),
    }
    row.update(values)
    with ledger.engine.begin() as connection:
        connection.execute(entries_table.insert().values(row))


def test_rows_stored_before_the_model_checked_them_are_served_clean_or_left_out(
    config: Config, ledger: Ledger
) -> None:
    insert_row(ledger, 1, title="Plain row")
    insert_row(ledger, 2, title="Control\x01 row \u202ereversed", link="https://example.org/a\x01b")
    insert_row(ledger, 3, title=HUGE, summary="\x00" + "word " * 5000, labels=["\u202eL\x01"])
    insert_row(ledger, 4, title="\x01\x02")  # nothing left of its title
    insert_row(ledger, 5, title="Script row", link="javascript:alert(1)")
    insert_row(ledger, 6, title="Image row", image="https://example.org/i mg.png\x01")
    client = client_for(config, ledger)

    for parsed in served_feeds(client, "rss").values():
        for entry in parsed.entries:
            assert_publishable(entry)
        by_title = {entry.title: entry for entry in parsed.entries}
        assert set(by_title) == {
            "Plain row", "Control row reversed", "Image row", shorten_huge(),
        }  # fmt: skip
        assert by_title["Control row reversed"].link == "https://example.org/a%01b"
    status = json.loads(client.get("/status.json", base_url=BASE).data)
    rss = next(source for source in status["sources"] if source["id"] == "rss")
    assert rss["left_out_of_feeds"] == 2
    assert rss["healthy"] is False
    # read newest first: the row without a title was the last one left out
    assert rss["left_out_last_entry"] == "urn:uuid:00000000-0000-5000-8000-000000000004"
    assert "an entry needs a title" in rss["left_out_last_reason"]
    assert status["healthy"] is False
    page = client.get("/status", base_url=BASE).data.decode()
    assert "2 entries" in page


def shorten_huge() -> str:
    from feeds.text import shorten

    return shorten(HUGE.strip(), TITLE_LIMIT)


class TamperingLedger(Ledger):
    """The real ledger, handing out one entry with a link no XML can hold, as if the model
    had let it through: the renderer's own guard must leave it out."""

    def entries(
        self,
        source_ids: Sequence[str] | None = None,
        *,
        limit: int | None = None,
        left_out: Callable[[LeftOut], object] = lambda _left_out: None,
    ) -> list[StoredEntry]:
        found = super().entries(source_ids, limit=limit, left_out=left_out)
        for stored in found:
            if stored.entry.title == "Tampered row":
                object.__setattr__(stored.entry, "link", "https://example.org/a\x01b")
                object.__setattr__(stored.entry, "title", "Tampered \ud800row")
        return found


def test_an_entry_a_feed_cannot_be_rendered_with_is_left_out_and_shown_on_the_status_page(
    config: Config, tmp_path: Path
) -> None:
    ledger = TamperingLedger(Ledger.open(f"sqlite:///{tmp_path / 'tampered.db'}").engine)
    try:
        insert_row(ledger, 1, title="Plain row")
        insert_row(ledger, 2, title="Tampered row")
        client = client_for(config, ledger)
        for parsed in served_feeds(client, "rss").values():
            assert [entry.title for entry in parsed.entries] == ["Plain row"]
        status = json.loads(client.get("/status.json", base_url=BASE).data)
        rss = next(source for source in status["sources"] if source["id"] == "rss")
        assert rss["left_out_of_feeds"] == 1
        assert rss["left_out_last_entry"] == "urn:uuid:00000000-0000-5000-8000-000000000002"
        assert "the feed cannot be rendered with it" in rss["left_out_last_reason"]
        assert "rss" in client.get("/status", base_url=BASE).data.decode()
    finally:
        ledger.close()
