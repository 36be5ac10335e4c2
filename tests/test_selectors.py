"""The selector adapter (``kind = "html"``): golden pairs in ``tests/data/html/`` (a page, its
``[selectors]`` beside it as TOML, and the expected entries as JSON), and option checks."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from feeds.model import ParseResult, entry_record
from sources import ADAPTERS
from sources.field_dates import FieldDate, read_field_date
from sources.selectors import SelectorSpec
from tests.conftest import DATA, make_context

CASES = sorted(path.stem for path in (DATA / "html").glob("*.toml"))


def _parse(case: str) -> tuple[ParseResult, dict[str, Any]]:
    settings = tomllib.loads((DATA / "html" / f"{case}.toml").read_text("utf-8"))
    context = make_context(page_url=settings["page_url"], timezone=settings["timezone"])
    document = (DATA / "html" / f"{case}.html").read_text("utf-8")
    return ADAPTERS["html"](settings["selectors"])(document, context), settings


@pytest.mark.parametrize("case", CASES)
def test_golden_pair(case: str, request: pytest.FixtureRequest) -> None:
    result, _ = _parse(case)
    got = {
        "entries": [entry_record(entry) for entry in result.entries],
        "diagnostics": sorted(f"{d.code}: {d.message}" for d in result.diagnostics),
    }
    golden = DATA / "html" / f"{case}.json"
    if request.config.getoption("--update-golden"):
        golden.write_text(json.dumps(got, ensure_ascii=False, indent=2) + "\n", "utf-8")
    assert got == json.loads(golden.read_text("utf-8"))


def test_cards_resolve_links_and_lazy_images_and_normalise_whitespace() -> None:
    result, _ = _parse("cards")
    first, second, third, fourth = result.entries
    assert first.title == "Harbour cranes back in service"
    assert (
        first.link
        == "https://www.portellis.example/news/2026/cranes-back-in-service?utm_source=home&utm_medium=web"
    )
    assert (
        first.image == "https://www.portellis.example/img/cranes.jpg"
    )  # data-src, not the placeholder
    assert first.labels == ("Operations", "Safety")
    assert (
        first.summary
        == "After three weeks of repairs, the four cranes on the east quay are working again."
    )
    assert third.link == "https://www.portellis.example/news/2026/ferry-timetable"
    assert (third.summary, third.image) == ("", None)
    assert fourth.date is None
    assert second.link.endswith("#top")


def test_ids_come_from_the_normalised_link() -> None:
    result, _ = _parse("cards")
    moved = ADAPTERS["html"](
        dict(tomllib.loads((DATA / "html" / "cards.toml").read_text())["selectors"])
    )(
        (DATA / "html" / "cards.html")
        .read_text()
        .replace("utm_source=home", "utm_source=newsletter")
        .replace("#top", ""),
        make_context(page_url="http://portellis.example/news/", timezone="Europe/Lisbon"),
    )
    assert [e.id for e in moved.entries] == [e.id for e in result.entries]


def test_a_date_in_another_language_and_an_impossible_one() -> None:
    result, _ = _parse("german-dates")
    assert [e.date.isoformat() if e.date else None for e in result.entries] == [
        "2026-11-03",
        "2026-10-28",
        "2026-10-01",
        None,
    ]
    codes = [d.code for d in result.diagnostics]
    assert "invalid-date" in codes
    assert any(
        "selectors.summary '.kurztext' matches nothing" in d.message for d in result.diagnostics
    )


def test_a_selector_that_matches_nothing_is_reported_by_name() -> None:
    result, _ = _parse("nothing-matches")
    assert result.entries == ()
    assert not result.is_listing
    assert any(
        d.message == "selectors.item 'article.card' matches nothing on the page"
        for d in result.diagnostics
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "item: is required"),
        ({"item": "li", "titel": "a"}, "titel: unknown selector"),
        ({"item": "li >> a"}, "item: not a CSS selector"),
        ({"item": "li", "date": "time@"}, "date: expected a CSS selector and an attribute"),
        ({"item": "li", "date": "time@1bad"}, "date: '1bad' is not an attribute name"),
        ({"item": "li", "date_format": "dd/mm"}, "date_format: expected a strptime format"),
        ({"item": "li", "date_order": "year-first"}, "date_order: expected 'dmy'"),
        ({"item": "li", "date": "+"}, "date: a sibling field is '\\+', one element selector"),
        ({"item": "li", "date": "+ tr>td"}, "date: a sibling field is '\\+'"),
        ({"item": "li", "date": "+ tr[x .age"}, "date: not a CSS selector for the sibling"),
        ({"item": "li", "date": "+ tr .age["}, "date: not a CSS selector: '.age\\['"),
        ({"item": "+ tr"}, "item: a sibling selector"),
        (
            {"structured": "rdfa"},
            "structured: expected one of 'json-ld', 'microdata', 'h-entry', 'app-state', "
            "got 'rdfa'",
        ),
        ({"item": 3}, "item: expected a CSS selector"),
    ],
)
def test_bad_selectors_are_refused_naming_the_key(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SelectorSpec.from_options(options)


def test_the_config_names_a_bad_selector_with_its_key_path(tmp_path: Path) -> None:
    from feeds.config import parse_config
    from feeds.errors import ConfigError

    text = (
        '[publisher]\nname = "x"\n[[sources]]\nid = "a"\ntitle = "A"\n'
        'url = "https://a.example/"\nkind = "html"\n[sources.selectors]\nitem = "li >> a"\n'
    )
    with pytest.raises(ConfigError, match=r"sources\[0\]\.selectors: item: not a CSS selector"):
        parse_config(text, tmp_path / "feedpub.toml", adapter_kinds=ADAPTERS, environ={})
    ilo_with_selectors = text.replace('kind = "html"', 'kind = "ilo"').replace("li >> a", "li")
    with pytest.raises(ConfigError, match=r"selectors: item: the ilo adapter takes no selectors"):
        parse_config(
            ilo_with_selectors, tmp_path / "feedpub.toml", adapter_kinds=ADAPTERS, environ={}
        )


def test_a_declared_date_order_overrides_the_page_language() -> None:
    settings = tomllib.loads((DATA / "html" / "numeric-dates-en-us.toml").read_text("utf-8"))
    document = (DATA / "html" / "numeric-dates-en-us.html").read_text("utf-8")
    context = make_context(page_url=settings["page_url"], timezone=settings["timezone"])
    result = ADAPTERS["html"]({**settings["selectors"], "date_order": "dmy"})(document, context)
    assert [e.date for e in result.entries] == [
        dt.date(2022, 2, 12),
        dt.date(2022, 11, 28),  # only one reading is a real day
        dt.date(2022, 7, 11),
    ]
    (note,) = [d.message for d in result.diagnostics if d.code == "ambiguous-date"]
    assert "read day first as 2022-02-12, by the selectors.date_order" in note


@pytest.mark.parametrize(
    ("text", "month_first", "day", "ambiguous", "other_order"),
    [
        ("2018-11-12 15:58:00", False, dt.date(2018, 11, 12), False, False),
        ("2019-10-11T08:15:28Z", False, dt.date(2019, 10, 11), False, False),
        ("2019-10-11T23:15:28-05:00", True, dt.date(2019, 10, 11), False, False),
        ("2026/03/04", True, dt.date(2026, 3, 4), False, False),
        ("2026-11-03T10:00:00.000+02", False, dt.date(2026, 11, 3), False, False),
        ("02.12.2022", False, dt.date(2022, 12, 2), True, False),
        ("12/02/2022", True, dt.date(2022, 12, 2), True, False),
        ("28/10/2026", True, dt.date(2026, 10, 28), False, True),
        ("05/05/2026", True, dt.date(2026, 5, 5), False, False),
        ("Tue, 12 Nov 2018 15:58:00 GMT", True, dt.date(2018, 11, 12), False, False),
        ("2026-13-40", False, None, False, False),
        ("31/31/2026", False, None, False, False),
    ],
)
def test_field_dates_read_year_first_as_written_and_numeric_in_the_given_order(
    text: str, month_first: bool, day: dt.date | None, ambiguous: bool, other_order: bool
) -> None:
    assert read_field_date(text, month_first=month_first) == FieldDate(
        date=day, ambiguous=ambiguous, other_order=other_order
    )


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("aprile 25, 2026 - 5:47 pm", dt.date(2026, 4, 25)),
        ("Ven 13 Déc 2024 15:36", dt.date(2024, 12, 13)),
        ("17 февраля 2026", dt.date(2026, 2, 17)),
        ("3 października 2025, 10:15", dt.date(2025, 10, 3)),
        ("Mar 09, 2026", dt.date(2026, 3, 9)),
        ("1762300800", dt.date(2025, 11, 5)),
        ("https://blog.example/2026/03/17/cranes/", dt.date(2026, 3, 17)),
        ("/notes/2026-03-17-cranes.html", dt.date(2026, 3, 17)),
        ("https://blog.example/2026/03/cranes/", None),
        ("2 days ago", None),
    ],
)
def test_field_dates_in_other_languages_with_a_time_or_weekday_in_a_link_or_in_seconds(
    text: str, day: dt.date | None
) -> None:
    assert read_field_date(text).date == day


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Publicado el 10 de marzo de 2026 por Ana", dt.date(2026, 3, 10)),
        ("Started by ann, 09-08-2025 10:23 PM", dt.date(2025, 8, 9)),
        ("Meeting on 6 May 2026", dt.date(2026, 5, 6)),
        ("2026-11-03 Sequoia", dt.date(2026, 11, 3)),
    ],
)
def test_a_short_date_field_that_says_more_gives_its_date_but_stray_text_does_not(
    text: str, day: dt.date
) -> None:
    assert read_field_date(text).date == day
    assert read_field_date(text, within=False).date is None


def test_the_pages_own_dates_override_its_language_when_they_read_only_one_way() -> None:
    settings = tomllib.loads((DATA / "html" / "numeric-dates-en-us.toml").read_text("utf-8"))
    document = (DATA / "html" / "numeric-dates-en-us.html").read_text("utf-8")
    context = make_context(page_url=settings["page_url"], timezone=settings["timezone"])
    british = document.replace('lang="en-US"', 'lang="en-GB"')
    result = ADAPTERS["html"](settings["selectors"])(british, context)
    assert [e.date for e in result.entries] == [
        dt.date(2022, 12, 2),
        dt.date(2022, 11, 28),
        dt.date(2022, 11, 7),
    ]
    (note,) = [d.message for d in result.diagnostics if d.code == "ambiguous-date"]
    assert "read month first as 2022-12-02, by the page's own dates ('11/28/2022'" in note


def test_table_cells_are_read_apart_and_a_bare_date_cell_dates_the_row() -> None:
    result, _ = _parse("table-date-cells")
    first = result.entries[0]
    assert first.summary == "macOS Tahoe · Security update · 24 Mar 2026"
    assert first.date == dt.date(2026, 3, 24)


def test_a_date_in_a_summary_is_not_taken_for_the_publication_date() -> None:
    result, _ = _parse("summary-event-date")
    assert [e.date for e in result.entries] == [None, None]
    (note,) = [d.message for d in result.diagnostics if d.code == "no-date-element"]
    assert "'6 May 2023') is not taken" in note


def test_the_link_is_the_titles_own_anchor_not_an_empty_vote_link_or_a_badge() -> None:
    forum, _ = _parse("forum-sibling-rows")
    releases, _ = _parse("release-badge")
    assert forum.entries[0].link == ("https://kettleby.example/threads/301-lathe-restoration")
    assert [e.link for e in releases.entries] == [
        "https://code.example/ferrow/releases/tag/v3.2.0",
        "https://code.example/ferrow/releases/tag/v3.1.4",
        "https://code.example/ferrow/releases/tag/v3.1.3",  # the card link around the title
    ]


def test_a_sibling_field_reads_the_next_row_only() -> None:
    result, _ = _parse("forum-sibling-rows")
    assert [e.date for e in result.entries] == [dt.date(2026, 11, 12), dt.date(2026, 11, 3), None]
    page = (DATA / "html" / "forum-sibling-rows.html").read_text("utf-8")
    context = make_context(page_url="https://kettleby.example/board/", timezone="UTC")
    for date in ("+ tr > td.sub .age@title", "+ tr.meta .age@title", "+ .meta > td > span@title"):
        options = {"item": "tr.thread", "title": "td.subject a", "date": date}
        dates = [e.date for e in ADAPTERS["html"](options)(page, context).entries]
        assert dates == [dt.date(2026, 11, 12), dt.date(2026, 11, 3), None], date
    elsewhere = {"item": "tr.thread", "title": "td.subject a", "date": "+ tr.spacer .age@title"}
    assert not any(e.date for e in ADAPTERS["html"](elsewhere)(page, context).entries)


def test_the_config_names_a_bad_sibling_field_with_its_key_path(tmp_path: Path) -> None:
    from feeds.config import parse_config
    from feeds.errors import ConfigError

    text = (
        '[publisher]\nname = "x"\n[[sources]]\nid = "a"\ntitle = "A"\n'
        'url = "https://a.example/"\nkind = "html"\n[sources.selectors]\nitem = "tr"\n'
        'date = "+ tr[ > td@title"\n'
    )
    with pytest.raises(
        ConfigError, match=r"sources\[0\]\.selectors: date: not a CSS selector for the sibling"
    ):
        parse_config(text, tmp_path / "feedpub.toml", adapter_kinds=ADAPTERS, environ={})
    accepted = parse_config(
        text.replace("+ tr[ > td@title", "+ tr > td.age@title"),
        tmp_path / "feedpub.toml",
        adapter_kinds=ADAPTERS,
        environ={},
    )
    assert accepted.source("a").selectors["date"] == "+ tr > td.age@title"


def test_a_time_of_day_alone_is_no_date_not_today() -> None:
    from sources.field_dates import read_field_date

    for text in ("10:23 PM", "Today, 10:23 PM", "Tuesday", "November", "Press release"):
        assert read_field_date(text).date is None, text
    assert read_field_date("Tue, 12 Nov 2018 15:58:00 GMT").date == dt.date(2018, 11, 12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12 Nov 2018 10:00 CEST", dt.date(2018, 11, 12)),
        ("Monday, June 3, 2019 - 10:00am EST", dt.date(2019, 6, 3)),
        ("Nov 12 2018 10:00 -0300 (BRST)", dt.date(2018, 11, 12)),
        ("December 5th, 2018 at 3pm", dt.date(2018, 12, 5)),
        ("Press release 2026", None),
        ("Youth employment report 2026 launched", None),
    ],
)
def test_a_free_form_date_is_read_unless_a_word_of_it_is_none_a_date_holds(
    text: str, expected: dt.date | None
) -> None:
    from sources.field_dates import read_field_date

    assert read_field_date(text, within=False).date == expected


def test_a_date_in_a_bylines_text_is_the_items_date() -> None:
    import lxml.html

    from sources.field_dates import dedicated_date

    item = lxml.html.fragment_fromstring(
        "<article><h2><a href='/a'>Transformación digital</a></h2>"
        "<div class='entry-meta'>Publicado el 10 de marzo de 2016 por Juan</div>"
        "<p>La reunión del 6 de mayo de 2023 trató de todo.</p></article>"
    )
    found, _node = dedicated_date(item)
    assert found.date == dt.date(2016, 3, 10)  # the byline's, never the prose's


def test_a_forums_last_post_time_is_not_the_threads_date() -> None:
    import lxml.html

    from sources.field_dates import dedicated_date

    row = lxml.html.fragment_fromstring(
        "<li class='threadbit'><h3><a href='/t/1'>How to pollinate a pitcher plant</a></h3>"
        "<dl class='threadlastpost td'><dd class='lastpostdate'>12 March 2015</dd></dl></li>"
    )
    found, _node = dedicated_date(row)
    assert found.date is None  # when someone last answered, not when the thread began
    started = lxml.html.fragment_fromstring(
        "<li class='threadbit'><h3><a href='/t/1'>How to pollinate a pitcher plant</a></h3>"
        "<span class='date'>8 September 2004</span>"
        "<dl class='threadlastpost td'><dd class='lastpostdate'>12 March 2015</dd></dl></li>"
    )
    found, _node = dedicated_date(started)
    assert found.date == dt.date(2004, 9, 8)


def test_a_stray_date_is_the_first_a_reader_meets_line_by_line() -> None:
    import lxml.html

    from sources.field_dates import dedicated_date

    item = lxml.html.fragment_fromstring(
        "<div class='preview'><h3><a href='/c/1'>Harbour guide</a></h3>"
        "<div class='user'><a href='/u/ann'>ann</a>\n    Posted 14.08.2025  14:27\n"
        "    Views: 1031\n</div>"
        "<div class='text'>The ferry added a stop on <font>9 October 2025</font>.</div></div>"
    )
    found, _node = dedicated_date(item)
    assert found.date == dt.date(2025, 8, 14)


def test_a_column_headed_last_post_holds_no_publication_date() -> None:
    import lxml.html

    from sources.field_dates import dedicated_date

    table = lxml.html.fragment_fromstring(
        "<table><tr><td>Subject</td><td>Author</td><td>LAST POST</td></tr>"
        "<tr><td><a href='/t/1'>Ferry times</a></td><td>ann</td><td>Mar 11, 2026 10:49 AM</td>"
        "</tr></table>"
    )
    found, _node = dedicated_date(table.xpath("./tr")[1])
    assert found.date is None


_NESTED_CARDS = """<html><body>
<div class="card"><h3><a href="/a">Outer</a></h3><p>Outer summary</p>
  <div class="card"><h3><a href="/b">Inner</a></h3><p>Inner summary</p>
    <span class="tag">Inner tag</span></div>
</div>
<div class="card"><h3><a href="/c">Third</a></h3><section><span class="tag">Third tag</span>
  </section></div>
<p>Outside any card</p><span class="tag">Stray tag</span>
</body></html>"""


_HELD = [("Inner tag",), ("Inner tag",), ("Third tag",)]  # the outer card holds the inner one


@pytest.mark.parametrize(
    ("label", "labels"),
    [
        (".tag", _HELD),
        ("span.tag, .none", _HELD),
        ("div .tag", _HELD),
        ("div.card > .tag, section > .tag", _HELD),
        (":scope .tag", _HELD),
        ("body .tag", [(), (), ()]),  # a selector is read from the item: no body within it
    ],
)
def test_an_item_finds_its_fields_within_itself_and_the_items_it_holds(
    label: str, labels: list[tuple[str, ...]]
) -> None:
    options = {"item": "div.card", "title": "h3", "summary": "p", "label": label}
    context = make_context(page_url="https://cards.example/news/")
    entries = ADAPTERS["html"](options)(_NESTED_CARDS, context).entries
    assert [(e.title, e.link, e.summary) for e in entries] == [
        ("Outer", "https://cards.example/a", "Outer summary"),
        ("Inner", "https://cards.example/b", "Inner summary"),
        ("Third", "https://cards.example/c", ""),
    ]
    assert [e.labels for e in entries] == labels


def test_the_text_after_a_comment_in_a_field_is_kept() -> None:
    """A comment is left out of a field's text, not what follows it."""
    document = """<html><body>
      <article class="card"><h3 class="card-title">Quay <!-- ed. --> reopens</h3>
        <p class="summary">Cranes <!-- x --><b>back</b> <!-- y --> in service.<!-- z --></p>
        <time datetime="2026-03-02">2 March</time></article>
      <article class="card"><h3 class="card-title">Ferry <?pi x?> timetable</h3>
        <time datetime="2026-03-01">1 March</time></article>
    </body></html>"""
    selectors = {
        "item": "article.card",
        "title": "h3",
        "summary": "p.summary",
        "date": "time@datetime",
    }
    context = make_context(page_url="https://www.portellis.example/news/", timezone="UTC")
    first, second = ADAPTERS["html"](selectors)(document, context).entries
    assert (first.title, first.summary) == ("Quay reopens", "Cranes back in service.")
    assert second.title == "Ferry timetable"
