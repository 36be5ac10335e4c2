"""The ILO adapter reads every rendition of its listings with one grammar: flat dash-separated
pages, title-less flat pages, undated home pages (numbered or bulleted), Japanese pages.

Each rendition's golden pair (``tests/data/ilo/<case>.json`` with a ``renditions`` key) must
give the entries that the indented, numbered form of the same items gives, with the same ids.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from feeds.model import entry_record
from sources import ilo
from sources.ilo.fields import title_from_summary
from tests.conftest import DATA, make_context

RENDITION_CASES = sorted(
    path.stem
    for path in (DATA / "ilo").glob("*.json")
    if "renditions" in json.loads(path.read_text("utf-8"))
)
COMPARED = ("id", "published", "title", "date", "labels", "credit", "summary", "group")


def _load(case: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "ilo" / f"{case}.json").read_text("utf-8"))
    return data


def _indented(entries: list[dict[str, Any]]) -> str:
    """The indented, numbered rendition of ``entries``: a title-less item is written with no
    title, group headings stand between the items, numbering restarts under each."""
    lines = ["Newsroom", ""]
    group: object = object()
    number = 0
    for entry in entries:
        if entry["group"] != group:
            group, number = entry["group"], 0
            lines += [entry["group"], ""] if entry["group"] else [""]
        number += 1
        day = dt.date.fromisoformat(entry["date"]) if entry["date"] else None
        titleless = day is not None and entry["title"] == title_from_summary(entry["summary"])
        fields = [
            entry["credit"],
            *entry["labels"],
            None if titleless else entry["title"],
            f"{day.day} {day:%B %Y}" if day else None,
            *entry["summary"].split("\n\n"),
        ]
        first, *rest = [field for field in fields if field]
        lines += [f"  {number}. {first}", ""]
        for field in rest:
            lines += [f"    {field}", ""]
    return "\n".join(lines)


def test_there_is_a_rendition_case_for_each_shape_and_language() -> None:
    assert {
        "flat-dash-english",
        "flat-dash-french",
        "flat-dash-spanish",
        "flat-dash-german",
        "titleless-flat",
        "titleless-flat-french",
        "titleless-flat-spanish",
        "titleless-flat-german",
        "japanese-flat",
        "bare-summaries",
        "home-page-numbered",
        "home-page-bulleted",
        "japanese-numbered",
        "not-news-numbered-french",
    } <= set(RENDITION_CASES)


@pytest.mark.parametrize("case", RENDITION_CASES)
@pytest.mark.parametrize("form", ["text", "html"])
def test_each_rendition_is_recognised_as_what_it_is(case: str, form: ilo.Form) -> None:
    expected = _load(case)
    document = (DATA / "ilo" / f"{case}.{'txt' if form == 'text' else 'html'}").read_text("utf-8")
    rendition, _ = ilo.read_page(document, make_context(**expected["context"]))
    assert rendition == expected["renditions"][form]
    assert rendition in ilo.RENDITIONS


@pytest.mark.parametrize("case", [c for c in RENDITION_CASES if _load(c)["entries"]])
def test_a_rendition_gives_the_entries_and_ids_of_the_indented_form(case: str) -> None:
    expected = _load(case)
    context = make_context(**expected["context"])
    document = (DATA / "ilo" / f"{case}.txt").read_text("utf-8")
    got = [entry_record(e) for e in ilo.parse(document, context).entries]
    indented_result = ilo.read_page(_indented(expected["entries"]), context)
    assert indented_result[0] == "numbered"
    indented = [entry_record(e) for e in indented_result[1].entries]
    assert [{k: e[k] for k in COMPARED} for e in got] == [
        {k: e[k] for k in COMPARED} for e in indented
    ]


def test_a_title_less_item_takes_the_first_sentence_of_its_summary_as_title() -> None:
    short = "Inspectors visited 40 farms. Most paid the minimum wage."
    assert title_from_summary(short) == "Inspectors visited 40 farms"
    long = (
        "The office and the employers of the harbour district signed a plan that ends unpaid "
        "overtime for dock workers by 2027, with inspections every quarter."
    )
    title = title_from_summary(long)
    assert title.endswith("\u2026")
    assert len(title) <= 101
    assert long.startswith(title.removesuffix("\u2026"))
    assert long[len(title) - 1] == " "  # cut at a word boundary
    assert (
        title_from_summary("港湾の雇用主が合意しました。詳細は後日発表します。")
        == "港湾の雇用主が合意しました"
    )


def test_a_page_of_bare_summary_lines_is_refused_as_having_nothing_to_key_entries_on() -> None:
    document = (DATA / "ilo" / "bare-summaries.txt").read_text("utf-8")
    result = ilo.parse(document, make_context())
    assert not result.entries
    assert not result.is_listing
    refusal = next(d for d in result.diagnostics if d.code == "not-a-listing")
    assert "bare summary lines" in refusal.message


def test_an_undated_home_page_is_published_with_a_diagnostic_and_skips_its_contact_item() -> None:
    document = (DATA / "ilo" / "home-page-numbered.txt").read_text("utf-8")
    result = ilo.parse(document, make_context())
    assert result.is_listing
    assert [e.title for e in result.entries] == [
        "Apprenticeships in the harbour",
        "Know your rights as a seasonal worker",
        "Labour inspection in figures",
        "Ask a labour inspector",
    ]
    assert [e.group for e in result.entries] == ["Featured", "Featured", None, None]
    contact = next(d for d in result.diagnostics if d.code == "contact-item")
    assert (contact.line, contact.item) == (20, 4)
    assert any(d.code == "undated-listing" for d in result.diagnostics)


def test_a_month_like_summary_line_is_a_heading_only_when_a_dash_follows_it() -> None:
    page = "\n".join(
        [
            "News",
            "-",
            "Registration opens for the winter courses",
            "2 November 2026",
            "May 2021",
            "-",
            "Winter courses: the timetable",
            "3 October 2026",
            "May 2021",
            "October 2026",
            "-",
            "Guide on recruitment fees",
            "1 October 2026",
        ]
    )
    entries = ilo.parse(page, make_context()).entries
    assert [(e.summary, e.group) for e in entries] == [
        ("", None),
        ("May 2021", "May 2021"),
        ("", "October 2026"),
    ]


def test_prose_with_a_single_date_line_is_not_a_title_less_listing() -> None:
    letter = "Northfield\n12 May 2026\nDear colleagues, the office will close early on Friday.\n"
    result = ilo.parse(letter, make_context())
    assert not result.entries
    assert not result.is_listing


def test_a_media_contact_numbered_as_an_item_of_a_dated_listing_is_skipped() -> None:
    page = "\n".join(
        [
            "Press releases",
            "",
            "  1. newsroom@northfield-labour.example.org",
            "",
            "  2. Tel: +41 22 555 01 99",
            "",
            "  3. Harbour employers and unions agree on overtime rules",
            "",
            "    12 November 2026",
            "",
            "  4. https://www.example.org/newsroom/contacts",
            "",
        ]
    )
    result = ilo.parse(page, make_context())
    assert [e.title for e in result.entries] == [
        "Harbour employers and unions agree on overtime rules"
    ]
    skipped = [d.item for d in result.diagnostics if d.code == "contact-item"]
    assert skipped == [1, 2, 4]


def test_the_text_after_a_comment_in_an_html_item_is_kept() -> None:
    """A comment inside an item's field is left out of its text, not what follows it."""
    document = """<html><body><ol class="item-list">
      <li><p class="item-prehead">Press <!-- kind -->release</p>
        <h5 class="item-title"><a href="/news/1">Winter <!-- ed. --> apprenticeships open</a></h5>
        <p class="item-date">29 March 2023</p>
        <p class="item-summary">Applications <!-- a --><b>open</b> <!-- b --> today.</p></li>
      <li><h5 class="item-title"><a href="/news/2">Safety week</a></h5>
        <p class="item-date">28 March 2023</p></li>
    </ol></body></html>"""
    context = make_context(page_url="https://www.example.org/newsroom/", timezone="UTC")
    first, second = ilo.parse(document, context).entries
    assert first.title == "Winter apprenticeships open"
    assert first.labels == ("Press release",)
    assert first.summary == "Applications open today."
    assert second.title == "Safety week"
