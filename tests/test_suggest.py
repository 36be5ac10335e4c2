"""Auto-detection: a listing page's items found without help, and the suggested source
configuration, once used, giving the expected entries."""

from __future__ import annotations

import datetime as dt
import json
import tomllib

import lxml.html
import pytest

from sources import ADAPTERS
from sources.suggest import Suggestion, site_id, suggest_source, suggestion_toml
from tests.conftest import DATA, make_context
from tests.test_cli_preview import feedpub

D = dt.date


def _suggested_entries(name: str, url: str) -> tuple[str, list[tuple[str, dt.date | None, str]]]:
    document = (DATA / name).read_text("utf-8")
    context = make_context(page_url=url)
    suggestion = suggest_source(document, context)
    toml = suggestion_toml(suggestion, url, "Europe/Zurich")
    source = tomllib.loads(toml)["sources"][0]
    adapter = ADAPTERS[source["kind"]](source.get("selectors", {}))
    entries = adapter(document, context).entries
    return toml, [(e.title, e.date, e.link) for e in entries]


def test_a_plain_list_of_linked_titles_and_dates_is_found_without_help() -> None:
    toml, entries = _suggested_entries("suggest/plain-list.html", "https://union.example/news/")
    assert entries == [
        (
            "Agreement reached on night-shift pay",
            D(2026, 11, 21),
            "https://union.example/news/night-shift-agreement",
        ),
        (
            "Safety walk on the container terminal",
            D(2026, 11, 14),
            "https://union.example/news/safety-walk",
        ),
        (
            "Members' meeting on the pension fund",
            D(2026, 11, 2),
            "https://union.example/news/pension-meeting",
        ),
        (
            "New forklift training courses open",
            D(2026, 10, 27),
            "https://union.example/news/training-courses",
        ),
        (
            "Results of the shop steward elections",
            D(2026, 10, 9),
            "https://union.example/news/election-results",
        ),
    ]
    assert 'kind = "html"' in toml
    assert "# read with these settings: 5 entries, 5 dated" in toml


def test_cards_get_title_date_summary_and_label_selectors() -> None:
    document = (DATA / "suggest" / "dated-cards.html").read_text("utf-8")
    suggestion = suggest_source(document, make_context(page_url="https://portellis.example/news/"))
    assert suggestion.selectors == {
        "item": "div.news-item",
        "title": "h2.news-title",
        "date": "span.news-date",
        "summary": "p.teaser",
        "label": "span.news-category",
    }
    assert suggestion.result is not None
    assert [e.labels for e in suggestion.result.entries] == [
        ("Operations",),
        ("Works",),
        ("Notice",),
    ]


def test_json_ld_articles_are_used_where_the_page_declares_them() -> None:
    toml, entries = _suggested_entries("html/json-ld.html", "https://eastvale.example/press/")
    assert 'structured = "json-ld"' in toml
    assert [e[0] for e in entries][:1] == ["Saturday opening hours from December"]


def test_an_ilo_listing_is_recognised() -> None:
    toml, entries = _suggested_entries(
        "ilo/basic-labels-credits.html", "https://www.example.org/newsroom/lang--en/index.htm"
    )
    assert 'kind = "ilo"' in toml
    assert "[sources.selectors]" not in toml
    assert entries


def test_the_page_s_own_feed_is_suggested() -> None:
    document = (DATA / "html" / "cards.html").read_text("utf-8")
    suggestion = suggest_source(
        document, make_context(page_url="https://www.portellis.example/news/")
    )
    assert (suggestion.kind, suggestion.url) == (
        "feed",
        "https://www.portellis.example/news/feed.xml",
    )


def test_preview_suggest_prints_a_config_that_the_config_loader_accepts(
    tmp_path: pytest.TempPathFactory,
) -> None:
    result = feedpub(
        "preview",
        str(DATA / "suggest" / "plain-list.html"),
        "--suggest",
        "--source-url",
        "https://union.example/news/",
    )
    assert result.returncode == 0, result.stderr
    config = tmp_path / "feedpub.toml"  # type: ignore[operator]
    config.write_text('[publisher]\nname = "x"\n\n' + result.stdout)
    from feeds.config import load_config

    loaded = load_config(config, adapter_kinds=ADAPTERS, environ={})
    assert loaded.sources[0].kind == "html"
    nothing = feedpub("preview", str(DATA / "html" / "nothing-matches.html"), "--suggest")
    assert nothing.returncode == 1
    assert "no repeated item with a linked title was found" in nothing.stderr


def _golden(name: str, url: str) -> tuple[Suggestion, list[tuple[str, dt.date | None, str]]]:
    """The suggestion for a page, and the entries its printed configuration reads; the item
    selector matches exactly the items it reads."""
    document = (DATA / "suggest" / name).read_text("utf-8")
    context = make_context(page_url=url)
    suggestion = suggest_source(document, context)
    source = tomllib.loads(suggestion_toml(suggestion, url, "Europe/Zurich"))["sources"][0]
    result = ADAPTERS[source["kind"]](source["selectors"])(document, context)
    root = lxml.html.document_fromstring(document)
    assert len(root.cssselect(source["selectors"]["item"])) == len(result.entries)
    for alternative in suggestion.alternatives:
        if "item" not in alternative.selectors:  # read from structured data: no item selector
            continue
        matched = root.cssselect(alternative.selectors["item"])
        assert len(matched) == int(alternative.label.split()[0])
    return suggestion, [(e.title, e.date, e.link) for e in result.entries]


def test_a_wordpress_list_is_one_list_despite_per_post_classes() -> None:
    suggestion, entries = _golden("wordpress.html", "https://harbourworkers.example/")
    assert suggestion.selectors == {
        "item": "article.post.entry",
        "title": "h2.entry-title",
        "date": "time.entry-date.published@datetime",
        "summary": "div.entry-summary",
        "image": "img.attachment-post-thumbnail.size-post-thumbnail",
    }
    base = "https://harbourworkers.example/2026/11/"
    assert entries == [
        ("Harbour cranes back in service after repairs", D(2026, 11, 12), base + "harbour-cranes/"),
        (
            "Dredging of the west channel starts on Monday",
            D(2026, 11, 10),
            base + "dredging-west-channel/",
        ),
        (
            "Winter ferry timetable published for the islands",
            D(2026, 11, 2),
            base + "winter-ferry-timetable/",
        ),
        ("Two new pilot boats join the harbour fleet", D(2026, 10, 27), base + "new-pilot-boats/"),
    ]
    assert suggestion.result is not None
    assert [e.image for e in suggestion.result.entries][:1] == [
        "https://harbourworkers.example/wp-content/uploads/2026/11/harbour-cranes.jpg"
    ]
    assert suggestion.source_id == "harbour-workers-news"
    assert suggestion.timezone == "Etc/GMT-1"
    assert "+01:00" in suggestion.timezone_reason
    assert [a.selectors["item"] for a in suggestion.alternatives] == [
        "section.widget.widget_recent_entries li",
        "li.menu-item.menu-item-type-post_type",
    ]
    assert "penalised: inside an element named 'widget'" in suggestion.alternatives[0].reasons


def test_a_card_wrapped_in_one_link_takes_its_heading_s_link_and_title() -> None:
    suggestion, entries = _golden("card-link.html", "https://stories.example/port/")
    assert suggestion.selectors == {
        "item": "div.card",
        "title": "h3.card__title",
        "date": "span.card__date",
        "summary": "span.card__teaser",
        "label": "span.card__kicker",
    }
    assert entries == [
        ("Harbour cranes back in service", D(2026, 11, 14), "https://stories.example/stories/harbour-cranes"),
        ("Dredging of the west channel starts", D(2026, 11, 10), "https://stories.example/stories/west-channel"),
        ("Winter ferry timetable published", D(2026, 11, 2), "https://stories.example/stories/winter-ferry"),
    ]  # fmt: skip


def test_a_footer_with_more_links_than_the_news_list_is_only_an_alternative() -> None:
    suggestion, entries = _golden("footer-links.html", "https://union.example/news/")
    assert suggestion.selectors == {
        "item": "div.news-entry",
        "title": "h3",
        "date": "span.news-entry__date",
    }
    assert entries == [
        ("Agreement reached on night-shift pay", D(2026, 11, 21), "https://union.example/news/2026/night-shift-pay"),
        ("Safety walk on the container terminal", D(2026, 11, 14), "https://union.example/news/2026/safety-walk"),
        ("Members' meeting on the pension fund", D(2026, 11, 2), "https://union.example/news/2026/pension-meeting"),
    ]  # fmt: skip
    footer, menu = suggestion.alternatives
    assert footer.selectors["item"] == "#footer > div > ul > li"
    assert "penalised: inside an element named 'menu'" in menu.reasons
    assert len(footer.result.entries) == 21
    assert "penalised: inside an element named 'footer'" in footer.reasons


def test_a_sidebar_and_a_blogroll_beside_the_list_do_not_win() -> None:
    suggestion, entries = _golden("sidebar.html", "https://harbourblog.example/")
    assert suggestion.selectors == {"item": "ul.posts li", "title": "a", "date": "span.post-date"}
    assert entries == [
        ("Harbour cranes back in service", D(2026, 11, 14), "https://harbourblog.example/posts/cranes"),
        ("Dredging of the west channel starts", D(2026, 11, 10), "https://harbourblog.example/posts/channel"),
        ("Winter ferry timetable published", D(2026, 11, 2), "https://harbourblog.example/posts/ferry"),
        ("Two new pilot boats join the fleet", D(2026, 10, 27), "https://harbourblog.example/posts/boats"),
    ]  # fmt: skip
    assert [a.selectors["item"] for a in suggestion.alternatives] == [
        "div.widget li",
        "ul.blogroll li",
    ]


def test_a_single_article_is_not_a_listing_and_its_related_links_are_only_offered() -> None:
    document = (DATA / "suggest" / "article.html").read_text("utf-8")
    url = "https://portnews.example/news/2026/harbour-cranes"
    suggestion = suggest_source(document, make_context(page_url=url))
    assert suggestion.kind == ""
    assert suggestion.selectors == {}
    assert suggestion.notes[0].startswith("not a listing: a single article (og:type is article")
    (related,) = suggestion.alternatives
    assert related.label.startswith("not the page's list, only related links")
    assert related.selectors["item"] == "section.more-stories li"
    assert len(related.result.entries) == 4
    printed = feedpub("preview", str(DATA / "suggest" / "article.html"), "--suggest")
    assert printed.returncode == 1
    assert "not a listing: a single article" in printed.stderr
    assert "only related links" in printed.stderr


def test_suggest_prints_the_alternatives_and_why_each_scored() -> None:
    printed = feedpub(
        "preview",
        str(DATA / "suggest" / "sidebar.html"),
        "--suggest",
        "--source-url",
        "https://harbourblog.example/",
    )
    assert printed.returncode == 0, printed.stderr
    assert "# why: 4 items; own links (4/4); same-site links (4/4)" in printed.stdout
    assert "# alternative 2: 8 repeated items" in printed.stdout
    assert '#   item = "div.widget li"' in printed.stdout
    assert (
        'timezone = "Europe/Zurich"  # a guess: the page\'s dates carry no UTC offset'
        in printed.stdout
    )
    assert 'id = "harbourblog"' in printed.stdout
    as_json = json.loads(
        feedpub(
            "preview",
            str(DATA / "suggest" / "sidebar.html"),
            "--suggest",
            "--format",
            "json",
            "--source-url",
            "https://harbourblog.example/",
        ).stdout
    )
    assert [a["selectors"]["item"] for a in as_json["alternatives"]] == [
        "div.widget li",
        "ul.blogroll li",
    ]
    assert as_json["alternatives"][0]["reasons"][0] == "8 items"


@pytest.mark.parametrize(
    ("url", "site_name", "expected"),
    [
        ("https://en.westport.co.uk/news/", None, "westport"),
        ("https://news.harbour.example/news/", None, "harbour"),
        ("https://www.uk.example/", "Port News", "port-news"),
        ("https://example/", "en", "example"),
    ],
)
def test_the_id_comes_from_the_site_s_name_never_from_a_language_or_section(
    url: str, site_name: str | None, expected: str
) -> None:
    meta = f'<meta property="og:site_name" content="{site_name}">' if site_name else ""
    root = lxml.html.document_fromstring(f"<html><head>{meta}</head><body></body></html>")
    assert site_id(root, url) == expected


def test_a_page_that_only_looks_like_an_ilo_listing_gets_selectors_for_its_items() -> None:
    items = "".join(
        f'<li><div class="product"><a href="/products/chair-{n}"><img src="/img/chair-{n}.jpg">'
        f'</a><p class="name"><a href="/products/chair-{n}">Garden chair model number {n}</a>'
        f'</p><time datetime="2026-03-0{n}">new</time></div></li>'
        for n in range(1, 5)
    )
    document = f'<html><body><main><ol class="item-list">{items}</ol></main></body></html>'
    suggestion = suggest_source(document, make_context(page_url="https://shop.example/new/"))
    assert suggestion.kind == "html"
    assert suggestion.selectors == {
        "item": "li",
        "title": "p.name > a",
        "date": "time@datetime",
        "image": "img",
    }
    assert suggestion.result is not None
    assert [(e.link, e.date) for e in suggestion.result.entries][:2] == [
        ("https://shop.example/products/chair-1", D(2026, 3, 1)),
        ("https://shop.example/products/chair-2", D(2026, 3, 2)),
    ]
