"""Rendering feeds: golden bytes for a fixed set of entries, determinism, what feed readers
(feedparser) and the RFC 4287 rules make of the output, and hostile text."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
from collections.abc import Sequence
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from feeds.model import UTC, Entry, StoredEntry
from feeds.serve.render import (
    FeedInfo,
    Rendered,
    entry_text,
    feed_updated,
    language_tag,
    render_atom,
    render_feed,
    render_json,
    render_rss,
    with_stylesheet,
)
from tests.conftest import DATA

ATOM = "{http://www.w3.org/2005/Atom}"
T = dt.datetime(2026, 11, 20, 23, 0, tzinfo=UTC)

INFO = FeedInfo(
    topic_id="newsroom",
    title="Newsroom & friends",
    description="News from the <office>.",
    self_url="https://feeds.example.org/feeds/newsroom.rss",
    home_url="https://feeds.example.org/topics/newsroom",
    language="en",
    publisher="Northfield Labour Office",
    ttl_minutes=30,
    image="https://feeds.example.org/logo.png",
    stylesheet_url="https://feeds.example.org/feeds/feed.xsl",
)


def stored(n: int, **fields: object) -> StoredEntry:
    values: dict[str, object] = {
        "id": f"urn:uuid:00000000-0000-5000-8000-00000000000{n}",
        "source_id": "newsroom",
        "title": f"Item {n}",
        "link": f"https://news.example.org/item/{n}",
        "date": dt.date(2026, 11, 21 - n),
        "published": T - dt.timedelta(days=n),
    }
    values.update(fields)
    entry = Entry(**values)  # type: ignore[arg-type]  # test values, checked by Entry
    return StoredEntry(entry=entry, first_seen=T + dt.timedelta(hours=9), updated=entry.published)


ENTRIES = [
    stored(
        1,
        summary="A summary with <b>markup</b> & an ampersand.",
        labels=("Press release", "Youth"),
        credit="© A. Photographer / NLO 2026",
    ),
    stored(2, summary="", labels=("Statement",)),
    stored(3, title="Undated event", date=None, summary="An event.", labels=("Event",)),
]
ENTRIES[1] = StoredEntry(
    entry=ENTRIES[1].entry, first_seen=ENTRIES[1].first_seen, updated=T + dt.timedelta(days=1)
)

RENDERERS = {"rss": render_rss, "atom": render_atom, "json": render_json}


@pytest.mark.parametrize("feed_format", ["rss", "atom", "json"])
def test_rendered_bytes_are_pinned(feed_format: str, request: pytest.FixtureRequest) -> None:
    body = RENDERERS[feed_format](INFO, ENTRIES)
    golden = DATA / "render" / f"newsroom.{feed_format}"
    if request.config.getoption("--update-golden"):
        golden.write_bytes(body)
    assert body == golden.read_bytes()


@pytest.mark.parametrize("feed_format", ["rss", "atom", "json"])
def test_the_same_entries_give_the_same_bytes(feed_format: str) -> None:
    render = RENDERERS[feed_format]
    copies = [
        StoredEntry(entry=s.entry, first_seen=s.first_seen, updated=s.updated) for s in ENTRIES
    ]
    assert render(INFO, ENTRIES) == render(INFO, copies)


def test_feed_readers_see_the_same_ids_and_dates_in_every_format() -> None:
    rss = feedparser.parse(render_rss(INFO, ENTRIES))
    atom = feedparser.parse(render_atom(INFO, ENTRIES))
    data = json.loads(render_json(INFO, ENTRIES))
    assert rss.bozo is False
    assert atom.bozo is False
    ids = [s.entry.id for s in ENTRIES]
    assert [e.id for e in rss.entries] == ids
    assert [e.id for e in atom.entries] == ids
    assert [i["id"] for i in data["items"]] == ids
    for parsed in (rss, atom):
        assert [e.published_parsed[:6] for e in parsed.entries] == [
            s.entry.published.timetuple()[:6] for s in ENTRIES
        ]
        assert [e.title for e in parsed.entries] == [s.entry.title for s in ENTRIES]
        assert [t.term for t in parsed.entries[0].tags] == ["Press release", "Youth"]
    assert [i["date_published"] for i in data["items"]] == [
        "2026-11-19T23:00:00Z",
        "2026-11-18T23:00:00Z",
        "2026-11-17T23:00:00Z",
    ]
    assert data["items"][0]["_feedpub"] == {
        "source": "newsroom",
        "listing_date": "2026-11-20",
        "credit": "© A. Photographer / NLO 2026",
    }


def test_rss_links_guids_and_channel() -> None:
    rss = feedparser.parse(render_rss(INFO, ENTRIES))
    channel = rss.feed
    assert channel.link == INFO.home_url  # the channel <link> is the alternate link
    assert [link.href for link in channel.links if link.rel == "self"] == [INFO.self_url]
    assert channel.ttl == "30"
    assert channel.title == "Newsroom & friends"
    for entry in rss.entries:
        assert entry.guidislink is False  # a urn:uuid guid is never a permalink
    # plain text, escaped as HTML: a reader showing the HTML shows the very characters
    assert rss.entries[0].summary_detail.type == "text/html"
    assert html.unescape(rss.entries[0].summary) == "A summary with <b>markup</b> & an ampersand."
    assert rss.entries[0].rights == "© A. Photographer / NLO 2026"
    assert "summary" not in rss.entries[1]  # no summary: RSS gives none


def test_feed_updated_comes_from_the_entries_never_the_clock() -> None:
    atom = etree.fromstring(render_atom(INFO, ENTRIES))
    assert atom.findtext(f"{ATOM}updated") == "2026-11-21T23:00:00+00:00"  # item 2's update
    assert feed_updated(ENTRIES) == T + dt.timedelta(days=1)
    empty = etree.fromstring(render_atom(INFO, []))
    assert empty.findtext(f"{ATOM}updated") == "2000-01-01T00:00:00+00:00"
    assert render_atom(INFO, []) == render_atom(INFO, [])


def test_atom_follows_the_rules_of_rfc_4287() -> None:
    feed = etree.fromstring(render_atom(INFO, ENTRIES))
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{required}")) == 1
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None  # so entries need no author
    assert {(link.get("rel"), link.get("href")) for link in feed.findall(f"{ATOM}link")} == {
        ("self", INFO.self_url),
        ("alternate", INFO.home_url),
    }
    updated = []
    for entry in feed.findall(f"{ATOM}entry"):
        for required in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{required}")) == 1
        assert (entry.findtext(f"{ATOM}id") or "").startswith("urn:uuid:")
        links = entry.findall(f"{ATOM}link")
        # no content, so an alternate link (a link without rel is one)
        assert [link.get("rel", "alternate") for link in links] == ["alternate"]
        assert entry.findtext(f"{ATOM}summary")
        summary = entry.find(f"{ATOM}summary")
        assert summary is not None
        assert summary.get("type") in (None, "text")
        for stamp in ("updated", "published"):
            dt.datetime.fromisoformat(entry.findtext(f"{ATOM}{stamp}") or "")  # RFC 3339
        updated.append(entry.findtext(f"{ATOM}updated") or "")
    assert len(set(updated)) == len(updated)
    assert max(updated) <= (feed.findtext(f"{ATOM}updated") or "")


def test_text_xml_forbids_is_removed_and_markup_is_escaped() -> None:
    hostile = stored(
        4,
        title="<script>alert(1)</script> \x0b\x1bTitle\ufffe",
        summary="]]> <![CDATA[ & \x00 end",
        labels=("<b>label</b>",),
        credit="© \x07Someone",
    )
    for render in (render_rss, render_atom):
        body = render(INFO, [hostile])
        parsed = feedparser.parse(body)
        assert parsed.bozo is False
        assert b"<script>" not in body
        assert parsed.entries[0].title == "<script>alert(1)</script> Title"
    data = json.loads(render_json(INFO, [hostile]))
    assert data["items"][0]["title"].startswith("<script>")


def test_entries_without_summary_get_their_labels_and_day_as_text() -> None:
    assert entry_text(ENTRIES[1]) == "Statement · 2026-11-19"
    undated = stored(5, summary="", labels=(), date=None)
    assert entry_text(undated) == "Item 5"


def test_rss_and_atom_name_their_stylesheet_right_after_the_xml_declaration() -> None:
    plain_info = dataclasses.replace(INFO, stylesheet_url="")
    for render in (render_rss, render_atom):
        body = render(INFO, ENTRIES)
        declaration, instruction, _ = body.split(b"\n", 2)
        assert declaration == b"<?xml version='1.0' encoding='UTF-8'?>"
        assert instruction == (
            b'<?xml-stylesheet type="text/xsl" href="https://feeds.example.org/feeds/feed.xsl"?>'
        )
        assert feedparser.parse(body).bozo is False
        plain = render(plain_info, ENTRIES)
        assert b"xml-stylesheet" not in plain
        assert body == plain.replace(b"?>\n", b"?>\n" + instruction + b"\n", 1)  # only that
    assert render_json(INFO, ENTRIES) == render_json(plain_info, ENTRIES)


def test_a_stylesheet_url_cannot_end_its_instruction() -> None:
    document = with_stylesheet(b"<?xml version='1.0'?>\n<a/>", 'https://x.example/?q="b"&c=<d>?>')
    root = etree.fromstring(document)
    assert root.tag == "a"
    instruction = root.getprevious()
    assert instruction is not None
    assert etree.tostring(instruction) == (
        b'<?xml-stylesheet type="text/xsl" href=\'https://x.example/?q="b"&amp;c=&lt;d&gt;?&gt;\'?>'
    )
    assert with_stylesheet(b"<a/>", "/s.xsl") == (
        b'<?xml-stylesheet type="text/xsl" href="/s.xsl"?>\n<a/>'
    )


def test_golden_files_are_where_the_tests_expect(tmp_path: Path) -> None:
    assert sorted(p.name for p in (DATA / "render").iterdir()) == [
        "newsroom.atom",
        "newsroom.json",
        "newsroom.rss",
    ]


def forced(stored_entry: StoredEntry, **fields: object) -> StoredEntry:
    """The entry with values the model would never let through (as if a bug had)."""
    for name, value in fields.items():
        object.__setattr__(stored_entry.entry, name, value)
    return stored_entry


@pytest.mark.parametrize("feed_format", ["rss", "atom", "json"])
def test_an_entry_a_feed_cannot_be_rendered_with_is_left_out_and_reported(
    feed_format: str, caplog: pytest.LogCaptureFixture
) -> None:
    bad = forced(stored(4), link="https://example.org/a\x01b", title="Item \ud800four")
    rendered = render_feed(RENDERERS[feed_format], INFO, [ENTRIES[0], bad, ENTRIES[2]])
    assert rendered.body == RENDERERS[feed_format](INFO, [ENTRIES[0], ENTRIES[2]])
    (left_out,) = rendered.left_out
    assert left_out.source_id == "newsroom"
    assert left_out.entry_id == bad.entry.id
    assert left_out.reason.startswith("the feed cannot be rendered with it: ")
    assert f"entry {bad.entry.id} of source newsroom left out" in caplog.text


def test_a_feed_of_clean_entries_is_rendered_whole() -> None:
    for render in RENDERERS.values():
        assert render_feed(render, INFO, ENTRIES) == Rendered(render(INFO, ENTRIES))


def test_a_feed_that_fails_without_any_entry_raises_its_own_error() -> None:
    def broken(info: FeedInfo, entries: Sequence[StoredEntry]) -> bytes:
        raise RuntimeError("the feed itself is broken")

    with pytest.raises(RuntimeError, match="the feed itself is broken"):
        render_feed(broken, INFO, ENTRIES)


@pytest.mark.parametrize("language", ["en\x01", "en us", "<en>", "\ud800", ""])
def test_a_language_that_is_no_language_tag_is_left_out_of_the_feed(language: str) -> None:
    info = dataclasses.replace(INFO, language=language)
    for render in (render_rss, render_atom):
        parsed = feedparser.parse(render(info, ENTRIES))
        assert parsed.bozo is False
        assert "language" not in parsed.feed
    assert "language" not in json.loads(render_json(info, ENTRIES))
    assert language_tag("fr-CH") == "fr-CH"
