"""Structured data first: a page that declares its items (its own feed, JSON-LD, microdata,
h-entry, JSON app state) is suggested in that mode, and the selector adapter in that mode gives
the golden entries of ``tests/data/html/structured-*``."""

from __future__ import annotations

import json
import tomllib

import lxml.html
import pytest

from feeds.model import entry_record
from sources import ADAPTERS
from sources.structured import advertised_feeds
from sources.suggest import suggest_source, suggestion_toml
from tests.conftest import DATA, make_context


def _case(name: str) -> tuple[str, dict[str, object]]:
    settings = tomllib.loads((DATA / "html" / f"{name}.toml").read_text("utf-8"))
    return (DATA / "html" / f"{name}.html").read_text("utf-8"), settings


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("structured-item-list", "json-ld"),
        ("structured-broken-json-ld", "json-ld"),
        ("structured-microdata", "microdata"),
        ("structured-h-entry", "h-entry"),
        ("structured-app-state", "app-state"),
    ],
)
def test_a_page_declaring_its_items_is_suggested_in_that_structured_mode(
    name: str, mode: str
) -> None:
    document, settings = _case(name)
    url, zone = str(settings["page_url"]), str(settings["timezone"])
    context = make_context(page_url=url, timezone=zone)
    suggestion = suggest_source(document, context)
    assert (suggestion.kind, suggestion.selectors) == ("html", {"structured": mode})
    source = tomllib.loads(suggestion_toml(suggestion, url, zone))["sources"][0]
    assert (source["kind"], source["selectors"]) == ("html", {"structured": mode})
    entries = ADAPTERS["html"](source["selectors"])(document, context).entries
    golden = json.loads((DATA / "html" / f"{name}.json").read_text("utf-8"))
    assert [entry_record(e) for e in entries] == golden["entries"]
    assert len(entries) >= 3


def test_item_list_entries_take_their_links_and_dates_from_list_items_and_their_articles() -> None:
    document, settings = _case("structured-item-list")
    context = make_context(page_url=str(settings["page_url"]), timezone="Europe/Berlin")
    entries = ADAPTERS["html"]({"structured": "json-ld"})(document, context).entries
    assert [(e.title, e.link, e.date and e.date.isoformat()) for e in entries] == [
        ("Boil-water notice lifted in Upper Hollin",
         "https://hollinwater.example/notices/boil-water-lifted", None),
        ("Reservoir path closed for repairs",
         "https://hollinwater.example/notices/reservoir-path", None),
        # the publisher's own day for a local time with an offset ...
        ("New tariffs from April", "https://hollinwater.example/notices/new-tariffs",
         "2026-03-01"),
        # ... and the source's day for a UTC instant (00:30 in Berlin)
        ("Night works on Mill Street", "https://hollinwater.example/notices/mill-street",
         "2026-03-04"),
    ]  # fmt: skip


def test_a_broken_json_ld_block_is_skipped_with_a_diagnostic_beside_a_good_one() -> None:
    document, settings = _case("structured-broken-json-ld")
    context = make_context(page_url=str(settings["page_url"]))
    result = ADAPTERS["html"]({"structured": "json-ld"})(document, context)
    assert len(result.entries) == 3
    (broken,) = [d for d in result.diagnostics if d.code == "broken-structured-data"]
    assert broken.message.startswith("JSON-LD block 1 is not JSON (")
    assert broken.line == 3
    suggestion = suggest_source(document, context)
    assert any(note.startswith("JSON-LD block 1 is not JSON") for note in suggestion.notes)


def test_app_state_nested_too_deeply_or_too_large_is_skipped_not_failed() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    large = '{"posts": [' + ",".join(['{"title": "x", "url": "/x"}'] * 200_000) + "]}"
    document = (
        f'<html><body><script type="application/json">{deep}</script>'
        f'<script type="application/json">{large}</script></body></html>'
    )
    result = ADAPTERS["html"]({"structured": "app-state"})(document, make_context())
    assert result.entries == ()
    messages = [d.message for d in result.diagnostics]
    assert "app state block 1 is nested too deeply: skipped" in messages
    assert any(m.startswith("app state block 2 has 5") and "skipped" in m for m in messages)


def test_fewer_than_three_declared_items_fall_through_to_the_page_s_list() -> None:
    one = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": '
        '"Agreement reached on night-shift pay", "url": "/news/night-shift-agreement"}</script>'
    )
    document = (DATA / "suggest" / "plain-list.html").read_text("utf-8")
    document = document.replace("</head>", one + "</head>")
    suggestion = suggest_source(document, make_context(page_url="https://union.example/news/"))
    assert suggestion.kind == "html"
    assert "structured" not in suggestion.selectors
    assert suggestion.result is not None
    assert len(suggestion.result.entries) == 5


def test_a_page_advertising_its_feed_is_suggested_as_that_feed() -> None:
    document = (DATA / "suggest" / "advertised-feed.html").read_text("utf-8")
    url = "https://brenninglibrary.example/whats-on/"
    suggestion = suggest_source(document, make_context(page_url=url))
    assert (suggestion.kind, suggestion.url) == (
        "feed",
        "https://brenninglibrary.example/whats-on/feed/",
    )
    source = tomllib.loads(suggestion_toml(suggestion, url, "Europe/London"))["sources"][0]
    assert (source["kind"], source["url"]) == (
        "feed",
        "https://brenninglibrary.example/whats-on/feed/",
    )
    assert "selectors" not in source
    (html,) = [
        n for n in suggestion.notes if n.startswith('or read the page itself with kind = "html"')
    ]
    assert "(4 entries;" in html
    assert "the page also advertises https://brenninglibrary.example/whats-on/atom.xml" in (
        suggestion.notes
    )
    assert "the page also advertises https://brenninglibrary.example/comments/feed/" in (
        suggestion.notes
    )


@pytest.mark.parametrize("mode", ["json-ld", "app-state", "h-entry"])
def test_breadcrumbs_menus_and_whole_entry_texts_are_not_read_as_items(mode: str) -> None:
    crumbs = ", ".join(
        f'{{"@type": "ListItem", "position": {n}, "name": "{name}", "item": "/{name.lower()}"}}'
        for n, name in enumerate(("Home", "News", "Harbour"), start=1)
    )
    menu = ", ".join(f'{{"title": "{n}", "url": "/{n.lower()}"}}' for n in ("Home", "Docs", "Blog"))
    text = "A long paragraph of an entry with no title of its own. " * 8
    entries = "".join(
        f'<div class="h-entry"><a class="u-url" href="/e/{n}">{text}</a></div>' for n in range(3)
    )
    document = (
        '<html><head><script type="application/ld+json">'
        f'{{"@type": "BreadcrumbList", "itemListElement": [{crumbs}]}}</script>'
        f'<script type="application/json" id="__NEXT_DATA__">{{"menu": [{menu}]}}</script>'
        f"</head><body>{entries}</body></html>"
    )
    assert ADAPTERS["html"]({"structured": mode})(document, make_context()).entries == ()
    assert suggest_source(document, make_context()).selectors.get("structured") is None


def test_the_feed_of_the_page_s_own_section_comes_before_the_whole_site_s() -> None:
    page = (
        "<html><head>"
        '<link rel="alternate" type="application/rss+xml" href="/feed/">'
        '<link rel="alternate" type="application/rss+xml" title="Comments" href="/comments/feed/">'
        '<link rel="alternate" type="application/atom+xml" href="/category/tools/feed/">'
        "</head><body></body></html>"
    )
    url = "https://harbourblog.example/category/tools/"
    assert advertised_feeds(lxml.html.document_fromstring(page), url) == [
        "https://harbourblog.example/category/tools/feed/",
        "https://harbourblog.example/feed/",
        "https://harbourblog.example/comments/feed/",
    ]
    # on the home page, the page's own order
    home = advertised_feeds(lxml.html.document_fromstring(page), "https://harbourblog.example/")
    assert home[0] == "https://harbourblog.example/feed/"
