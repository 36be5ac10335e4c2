"""Auto-detection: a listing page's items found without help, and the suggested source
configuration, once used, giving the expected entries."""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest

from sources import ADAPTERS
from sources.suggest import suggest_source, suggestion_toml
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
