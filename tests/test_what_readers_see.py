"""What subscribers' readers show of our feeds: the exact characters of titles and summaries
that look like markup (read back by feedparser and by the ``reader`` library, from RSS, Atom
and JSON), each feed's language and each entry's where a topic mixes them, images with their
credit, no invented summaries, the site's link first in Atom, and the listing's own day."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from lxml import etree
from reader import make_reader

from feeds.config import parse_config
from feeds.ledger.store import Ledger, Retention
from feeds.model import UTC, Entry, StoredEntry
from feeds.serve.render import render_atom, render_json, render_rss
from tests.http_server import LocalServer, Route
from tests.test_render import INFO

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
T = dt.datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
MARKUP = [
    "Fish & <i>chips</i> <script>alert(1)</script>",
    "Literally &amp; and &lt;b&gt; written out",
    "Quotes \"double\" 'single' and < 5 > 3",
    "CDATA end ]]> and a comment <!-- here -->",
]


def entry(n: int, title: str, summary: str, **fields: object) -> StoredEntry:
    values: dict[str, object] = {
        "id": f"urn:uuid:00000000-0000-5000-8000-0000000000{n:02d}",
        "source_id": "office",
        "title": title,
        "link": f"https://news.example.org/item/{n}",
        "date": dt.date(2026, 11, 20),
        "published": T - dt.timedelta(seconds=n),
        "summary": summary,
    }
    values.update(fields)
    made = Entry(**values)  # type: ignore[arg-type]  # test values, checked by Entry
    return StoredEntry(entry=made, first_seen=T, updated=made.published)


HOSTILE = [entry(n, text, f"Summary: {text}") for n, text in enumerate(MARKUP, start=1)]


def shown(detail: dict[str, str], value: str) -> str:
    """What a reader shows of a feed's text: HTML read as HTML (its text), text as is."""
    if detail.get("type") == "text/html":
        return html.unescape(value)
    return value


@pytest.mark.parametrize("render", [render_rss, render_atom], ids=["rss", "atom"])
def test_feedparser_reads_back_the_exact_characters(render: object) -> None:
    parsed = feedparser.parse(render(INFO, HOSTILE))  # type: ignore[operator]  # a renderer
    assert not parsed.bozo, parsed.get("bozo_exception")
    titles = [e.title for e in parsed.entries]  # titles are plain text, in RSS too
    summaries = [shown(e.summary_detail, e.summary) for e in parsed.entries]
    assert titles == MARKUP
    assert summaries == [f"Summary: {text}" for text in MARKUP]


def test_json_carries_the_exact_characters() -> None:
    items = json.loads(render_json(INFO, HOSTILE))["items"]
    assert [item["title"] for item in items] == MARKUP
    assert [item["summary"] for item in items] == [f"Summary: {text}" for text in MARKUP]
    assert [item["content_text"] for item in items] == [f"Summary: {text}" for text in MARKUP]


@pytest.fixture
def feeds_server(server: LocalServer) -> LocalServer:
    server.routes["/feed.rss"] = Route(
        render_rss(INFO, HOSTILE), headers={"Content-Type": "application/rss+xml"}
    )
    server.routes["/feed.atom"] = Route(
        render_atom(INFO, HOSTILE), headers={"Content-Type": "application/atom+xml"}
    )
    server.routes["/feed.json"] = Route(
        render_json(INFO, HOSTILE), headers={"Content-Type": "application/feed+json"}
    )
    return server


@pytest.mark.parametrize("path", ["/feed.rss", "/feed.atom", "/feed.json"])
def test_the_reader_library_shows_the_exact_characters(
    feeds_server: LocalServer, tmp_path: Path, path: str
) -> None:
    with make_reader(str(tmp_path / "reader.sqlite")) as feed_reader:
        feed_reader.add_feed(feeds_server.url(path))
        feed_reader.update_feeds(scheduled=False)
        seen = sorted(feed_reader.get_entries(), key=lambda e: e.id)
    assert [e.title for e in seen] == MARKUP
    # RSS descriptions are HTML (readers render them): what shows is the text
    summaries = [
        html.unescape(e.summary or "") if path.endswith("rss") else e.summary for e in seen
    ]
    assert summaries == [f"Summary: {text}" for text in MARKUP]


def test_a_summary_of_paragraphs_is_html_paragraphs_in_rss_and_text_elsewhere() -> None:
    summary = "First <paragraph>.\n\nSecond & last."
    rss = etree.fromstring(render_rss(INFO, [entry(1, "Title", summary)]))
    assert rss.findtext("channel/item/description") == (
        "<p>First &lt;paragraph&gt;.</p><p>Second &amp; last.</p>"
    )
    atom = etree.fromstring(render_atom(INFO, [entry(1, "Title", summary)]))
    element = atom.find(f"{ATOM}entry/{ATOM}summary")
    assert element is not None
    assert (element.get("type"), element.text) == ("text", summary)


# --- no invented summaries ------------------------------------------------------------------


def test_an_item_without_summary_has_none_in_rss_and_its_labels_and_day_elsewhere() -> None:
    bare = entry(1, "Statement on the strike", "", labels=("Statement",))
    rss = etree.fromstring(render_rss(INFO, [bare]))
    assert rss.find("channel/item/description") is None
    atom = etree.fromstring(render_atom(INFO, [bare]))
    assert atom.findtext(f"{ATOM}entry/{ATOM}summary") == "Statement · 2026-11-20"
    (item,) = json.loads(render_json(INFO, [bare]))["items"]
    assert item["content_text"] == "Statement · 2026-11-20"
    assert "summary" not in item
    undated = entry(2, "Undated and unlabelled", "", date=None)
    (item,) = json.loads(render_json(INFO, [undated]))["items"]
    assert item["content_text"] == "Undated and unlabelled"  # nothing else is true of it


# --- links, images, dates -------------------------------------------------------------------


def test_atom_names_the_site_before_itself_and_rss_keeps_the_site_as_its_link() -> None:
    atom = etree.fromstring(render_atom(INFO, HOSTILE))
    assert [link.get("rel") for link in atom.findall(f"{ATOM}link")] == ["alternate", "self"]
    assert feedparser.parse(render_rss(INFO, HOSTILE)).feed.link == INFO.home_url


def test_an_entrys_image_and_its_credit_in_every_format() -> None:
    pictured = entry(
        1,
        "Dockers at work",
        "A day on the quay.",
        image="https://news.example.org/img/quay.jpg",
        credit="© K. Holt / Dockers' Union 2026",
    )
    rss = etree.fromstring(render_rss(INFO, [pictured]))
    content = rss.find(f"channel/item/{MEDIA}content")
    assert content is not None
    assert dict(content.attrib.items()) == {
        "url": "https://news.example.org/img/quay.jpg",
        "medium": "image",
        "type": "image/jpeg",
    }
    assert content.findtext(f"{MEDIA}credit") == "© K. Holt / Dockers' Union 2026"
    atom = etree.fromstring(render_atom(INFO, [pictured]))
    (enclosure,) = [
        link for link in atom.findall(f"{ATOM}entry/{ATOM}link") if link.get("rel") == "enclosure"
    ]
    assert (enclosure.get("href"), enclosure.get("type")) == (
        "https://news.example.org/img/quay.jpg",
        "image/jpeg",
    )
    (item,) = json.loads(render_json(INFO, [pictured]))["items"]
    assert item["image"] == "https://news.example.org/img/quay.jpg"
    assert item["_feedpub"]["credit"] == "© K. Holt / Dockers' Union 2026"
    parsed = feedparser.parse(render_rss(INFO, [pictured])).entries[0]
    assert parsed.media_content[0]["url"] == "https://news.example.org/img/quay.jpg"


def test_instants_are_written_in_the_sources_zone_so_the_listing_day_shows() -> None:
    geneva = dataclasses.replace(INFO, source_zones={"office": ZoneInfo("Europe/Zurich")})
    midnight = entry(1, "Geneva news", "Text.", published=dt.datetime(2026, 11, 12, 23, tzinfo=UTC))
    rss = etree.fromstring(render_rss(geneva, [midnight]))
    assert rss.findtext("channel/item/pubDate") == "Fri, 13 Nov 2026 00:00:00 +0100"
    atom = etree.fromstring(render_atom(geneva, [midnight]))
    assert atom.findtext(f"{ATOM}entry/{ATOM}published") == "2026-11-13T00:00:00+01:00"
    # the same instant for every reader
    parsed = feedparser.parse(render_atom(geneva, [midnight])).entries[0]
    year, month, day, hour, minute, second = parsed.published_parsed[:6]
    read = dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    assert read == midnight.entry.published


# --- languages, through the publisher -----------------------------------------------------------

CONFIG = """
[publisher]
name = "Offices"
base_url = "https://feeds.example.org"
language = "en"
[[sources]]
id = "dakar"
title = "Dakar"
url = "https://www.example.org/dakar/lang--fr/index.htm"
language = "fr"
[[sources]]
id = "abidjan"
title = "Abidjan"
url = "https://www.example.org/abidjan/lang--fr/index.htm"
language = "fr"
[[sources]]
id = "lima"
title = "Lima"
url = "https://www.example.org/lima/lang--es/index.htm"
language = "es"
[[topics]]
id = "afrique"
title = "Afrique"
sources = ["dakar", "abidjan"]
[[topics]]
id = "everything"
title = "Everything"
[[topics]]
id = "lima-en"
title = "Lima, said in English"
sources = ["lima"]
language = "en"
"""


@pytest.fixture
def client(tmp_path: Path) -> Iterator[object]:
    from server import create_app

    config = parse_config(CONFIG, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    for n, source_id in enumerate(("dakar", "abidjan", "lima"), start=1):
        with ledger.transaction() as transaction:
            made = entry(n, f"Nouvelle {n}", "Texte.", source_id=source_id).entry
            transaction.merge(source_id, [made], now=T, retention=Retention())
    yield create_app(config, ledger=ledger).test_client()
    ledger.close()


def test_a_topic_of_french_sources_is_french_in_every_format(client: object) -> None:
    rss = etree.fromstring(client.get("/feeds/afrique.rss").data)  # type: ignore[attr-defined]
    assert rss.findtext("channel/language") == "fr"
    atom = etree.fromstring(client.get("/feeds/afrique.atom").data)  # type: ignore[attr-defined]
    assert atom.get(XML_LANG) == "fr"
    assert all(e.get(XML_LANG) is None for e in atom.findall(f"{ATOM}entry"))  # as the feed's
    feed = json.loads(client.get("/feeds/afrique.json").data)  # type: ignore[attr-defined]
    assert feed["language"] == "fr"
    assert all("language" not in item for item in feed["items"])


def test_a_topic_mixing_languages_says_each_entrys(client: object) -> None:
    atom = etree.fromstring(client.get("/feeds/everything.atom").data)  # type: ignore[attr-defined]
    assert atom.get(XML_LANG) == "en"  # the publisher's: the sources share none
    languages = {e.findtext(f"{ATOM}title"): e.get(XML_LANG) for e in atom.findall(f"{ATOM}entry")}
    assert languages == {"Nouvelle 1": "fr", "Nouvelle 2": "fr", "Nouvelle 3": "es"}
    feed = json.loads(client.get("/feeds/everything.json").data)  # type: ignore[attr-defined]
    assert {item["title"]: item["language"] for item in feed["items"]} == languages
    parsed = feedparser.parse(client.get("/feeds/everything.atom").data)  # type: ignore[attr-defined]
    assert {e.title: e.title_detail.language for e in parsed.entries} == languages


def test_a_topics_own_language_wins_and_entries_in_another_say_theirs(client: object) -> None:
    feed = json.loads(client.get("/feeds/lima-en.json").data)  # type: ignore[attr-defined]
    assert feed["language"] == "en"
    assert [item["language"] for item in feed["items"]] == ["es"]
