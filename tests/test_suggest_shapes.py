"""Auto-detection on the shapes real listings take: a list cut into month groups, rows of
cards, a forum's pinned threads, dates in bylines, in other languages or only in the links,
markup that declares items without dates, and articles that hold lists of their own."""

from __future__ import annotations

import datetime as dt

import lxml.html
import pytest

from sources.suggest import suggest_source
from sources.suggest_zone import guess_timezone
from tests.conftest import DATA, make_context
from tests.test_suggest import _golden

D = dt.date


def test_a_list_cut_into_month_groups_is_one_list_with_dates_in_italian() -> None:
    suggestion, entries = _golden("month-groups.html", "https://porto.example/notizie/")
    assert suggestion.selectors == {"item": "li.news-item", "title": "h3", "date": "span.post-date"}
    assert entries == [
        ("Accordo raggiunto sui turni di notte", D(2026, 11, 21), "https://porto.example/notizie/2026/turni-di-notte"),
        ("Sopralluogo sulla sicurezza al terminal container", D(2026, 11, 14), "https://porto.example/notizie/2026/sicurezza-terminal"),
        ("Assemblea degli iscritti sul fondo pensione", D(2026, 11, 2), "https://porto.example/notizie/2026/fondo-pensione"),
        ("Aperti i nuovi corsi per carrellisti", D(2026, 10, 27), "https://porto.example/notizie/2026/corsi-carrellisti"),
        ("I risultati delle elezioni dei delegati", D(2026, 10, 9), "https://porto.example/notizie/2026/elezioni-delegati"),
    ]  # fmt: skip
    assert [a.selectors["item"] for a in suggestion.alternatives] == [
        "aside.sidebar li",
        "nav.main-menu li",
    ]
    assert suggestion.timezone == "Europe/Rome"
    assert suggestion.timezone_reason == (
        "a guess from the page's language 'it': the page's dates carry no UTC offset"
    )


def test_a_forum_s_pinned_threads_join_the_others_titles_without_their_prefix() -> None:
    suggestion, entries = _golden(
        "forum-pinned.html", "https://growers.example/forums/conservation/"
    )
    # the thread list's form has only hidden fields: it is no search or sign-in furniture
    assert suggestion.selectors == {"item": "li.threadbit", "title": "a.title"}
    # the day each thread was started (month first: en-US), never its last post's
    assert entries == [
        ("How to pollinate a pitcher plant flower", D(2024, 9, 8), "https://growers.example/forums/conservation/901-how-to-pollinate.html"),
        ("Mission statement of the conservancy", D(2024, 5, 11), "https://growers.example/forums/conservation/902-mission.html"),
        ("Money raised at the auction may be redirected", D(2026, 3, 6), "https://growers.example/forums/conservation/931-auction-money.html"),
        ("Rare plants up for auction this spring", D(2026, 2, 22), "https://growers.example/forums/conservation/932-rare-plants.html"),
        ("Volunteers needed for the bog rescue", D(2026, 1, 26), "https://growers.example/forums/conservation/933-volunteers.html"),
        ("Does the seed bank still take donations?", D(2025, 12, 4), "https://growers.example/forums/conservation/934-seed-bank.html"),
    ]  # fmt: skip


def test_rows_of_two_cards_are_one_list_with_dates_in_russian() -> None:
    suggestion, entries = _golden("rows-of-cards.html", "https://trader.example/category/")
    # 'autopagerize_page_element' holds the word 'pager' but names no pager
    assert suggestion.selectors == {
        "item": "article.post.hentry",
        "title": "h2.post-title",
        "date": "div.date",
        "summary": "p",
    }
    assert [(title, day) for title, day, _link in entries] == [
        ("Стратегия «Денежный поток» для начинающих", D(2026, 2, 17)),
        ("Индикаторная стратегия «Тремор»", D(2026, 2, 3)),
        ("Система мартингейла: за и против", D(2025, 12, 14)),
        ("Стратегия «Три свечи» на часовом графике", D(2025, 12, 1)),
        ("Пробой уровня: стратегия выходного дня", D(2025, 11, 20)),
    ]


def test_a_byline_s_date_is_read_and_the_summary_is_the_paragraph_after_it() -> None:
    suggestion, entries = _golden("byline-dates.html", "https://ana.example/")
    assert suggestion.selectors == {
        "item": "div.item",
        "title": "h2",
        "date": "p.publicado",
        "summary": "p:nth-of-type(2)",
    }
    # the third summary's "6 de mayo de 2025" is an event in prose, not the item's date
    assert [(title, day) for title, day, _link in entries] == [
        ("La transformación digital no es estar en las redes", D(2026, 3, 10)),
        ("Especial congreso de Toronto: novedades en marketing", D(2026, 3, 8)),
        ("El factor humano aplicado al marketing en la empresa", D(2026, 3, 3)),
    ]
    assert suggestion.result is not None
    assert suggestion.result.entries[2].summary.startswith("Una reunión el 6 de mayo de 2025")


def test_relative_dates_give_way_to_the_day_in_each_link_s_path() -> None:
    suggestion, entries = _golden("path-dates.html", "https://harbourgames.example/")
    assert suggestion.selectors == {
        "item": "article.post",
        "title": "h2.entry-title",
        "date": "a@href",
    }
    assert [day for _title, day, _link in entries] == [
        D(2026, 3, 17),
        D(2026, 3, 16),
        D(2026, 3, 12),
    ]


def test_markup_that_declares_the_items_but_not_their_dates_yields_to_the_page_s_list() -> None:
    suggestion, entries = _golden("microdata-undated.html", "https://harbourmail.example/blog/")
    assert suggestion.selectors == {
        "item": "div.blog-index-post",
        "title": "h2.title",
        "date": "span.date",
        "summary": "p",
    }
    assert [day for _title, day, _link in entries] == [D(2026, 3, 9), D(2026, 3, 2), D(2026, 2, 23)]
    (markup,) = suggestion.alternatives
    assert markup.selectors == {"structured": "microdata"}
    assert "(without their dates)" in markup.label
    assert markup.result is not None
    assert [e.date for e in markup.result.entries] == [None, None, None]


def test_an_article_inside_a_content_and_sidebar_wrapper_with_many_comments_is_no_listing() -> None:
    document = (DATA / "suggest" / "article-commented.html").read_text("utf-8")
    url = "https://portnews.example/news/2026/harbour-cranes"
    suggestion = suggest_source(document, make_context(page_url=url))
    assert suggestion.kind == ""
    assert suggestion.notes[0].startswith("not a listing: a single article (og:type is article")


def test_an_article_whose_lists_are_its_own_off_site_links_is_no_listing() -> None:
    document = (DATA / "suggest" / "article-own-lists.html").read_text("utf-8")
    url = "https://browserblog.example/2026/11/issue-12/"
    suggestion = suggest_source(document, make_context(page_url=url))
    assert suggestion.kind == ""
    assert suggestion.notes[0] == (
        "not a listing: a single article (its lists are inside the <article> that holds its "
        "title and link away from the site)"
    )


@pytest.mark.parametrize(
    ("page", "url", "zone", "reason"),
    [
        (
            '<html lang="de"><time datetime="2026-07-01T10:00:00+02:00">1. Juli</time>'
            '<time datetime="2026-01-05T10:00:00+01:00">5. Januar</time></html>',
            "https://hafen.example/",
            "Europe/Berlin",
            "from the +02:00 offset of the page's dates, in the zone of the page's language 'de'",
        ),
        (
            '<html lang="de"><time datetime="2026-07-01T10:00:00+05:00">1. Juli</time></html>',
            "https://hafen.example/",
            "Etc/GMT-5",
            "from the +05:00 offset of the page's dates (a fixed offset",
        ),
        (
            "<html><p>2026年3月18日</p></html>",
            "https://minato.example.jp/",
            "Asia/Tokyo",
            "a guess from the host's country '.jp'",
        ),
        (
            '<html lang="en-US"><p>March 18, 2026</p></html>',
            "https://harbor.example/",
            "America/New_York",
            "a guess from the page's language 'en-US'",
        ),
        ("<html><p>18 March 2026</p></html>", "https://harbour.example/", None, "a guess"),
    ],
)
def test_the_time_zone_comes_from_the_dates_offsets_named_by_the_page_s_region(
    page: str, url: str, zone: str | None, reason: str
) -> None:
    guessed, why = guess_timezone(lxml.html.document_fromstring(page), url)
    assert (guessed, why.startswith(reason)) == (zone, True)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "article-in-divs.html",
            "its 3374 characters of text outside lists are over 6 times its best list's 83",
        ),
        (
            "article-json-ld.html",
            "its JSON-LD declares an article and its body has 895 characters of paragraphs",
        ),
    ],
)
def test_an_article_in_divs_or_declared_by_json_ld_is_no_listing(name: str, reason: str) -> None:
    document = (DATA / "suggest" / name).read_text("utf-8")
    suggestion = suggest_source(document, make_context(page_url="https://portnews.example/a/"))
    assert suggestion.kind == ""
    assert suggestion.notes[0] == f"not a listing: a single article ({reason})"
    (related,) = suggestion.alternatives
    assert related.label.startswith("not the page's list, only related links")
