"""Entries clean and bound what they hold when they are made, however they are made (an
adapter, the ledger reading a row, ``dataclasses.replace``); parse results say what was cut."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from feeds.model import (
    CREDIT_LIMIT,
    LABEL_LIMIT,
    MAX_LABELS,
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    UTC,
    Cut,
    Entry,
    ParseResult,
)

PAGE = "https://www.example.org/news/"
PUBLISHED = dt.datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def entry(**fields: object) -> Entry:
    values: dict[str, object] = {
        "id": "urn:uuid:00000000-0000-5000-8000-000000000001",
        "source_id": "office",
        "title": "Title",
        "link": "https://www.example.org/news/1",
        "date": None,
        "published": PUBLISHED,
    }
    values.update(fields)
    return Entry(**values)  # type: ignore[arg-type]  # test values, checked by Entry


def test_every_text_of_an_entry_is_cleaned() -> None:
    made = entry(
        title=" Bidi\u202e \x01title\u2066 ",
        summary="First\x00 paragraph\u202d.\n\n  Second\u00a0one. ",
        labels=("\u202eLabel\x02", " ", "Other"),
        credit="\u00a9 \x07Someone",
        group="\u2067March\u2069 2026",
    )
    assert made.title == "Bidi title"
    assert made.summary == "First paragraph.\n\nSecond one."
    assert made.labels == ("Label", "Other")
    assert made.credit == "\u00a9 Someone"
    assert made.group == "March 2026"
    assert made.cuts == ()


def test_texts_past_their_bounds_are_cut_at_a_word_and_recorded() -> None:
    made = entry(
        title="Huge " * 210_000,
        summary="word " * 5_000,
        labels=tuple(f"label {n} " + "x" * (LABEL_LIMIT if n == 0 else 0) for n in range(25)),
        credit="c " * 1_000,
    )
    assert len(made.title) <= TITLE_LIMIT
    assert made.title.endswith("Huge\u2026")
    assert len(made.summary) <= SUMMARY_LIMIT
    assert len(made.labels) == MAX_LABELS
    assert len(made.labels[0]) <= LABEL_LIMIT
    assert made.credit is not None
    assert len(made.credit) <= CREDIT_LIMIT
    assert made.cuts == (
        Cut("title", 1_049_999),
        Cut("label", LABEL_LIMIT + 8),
        Cut("labels", 25),
        Cut("summary", 24_999),
        Cut("credit", 1_999),
    )


def test_a_link_that_is_no_web_link_falls_back_to_the_listing_page() -> None:
    for link in ("javascript:alert(1)", "http://[garbage", "", "/relative"):
        assert entry(link=link, page_url=PAGE).link == PAGE
    assert entry(link="https://example.org/a b\x01c", page_url=PAGE).link == (
        "https://example.org/a%20b%01c"
    )
    with pytest.raises(ValueError, match=r"not an http\(s\) URL: 'javascript:alert\(1\)'"):
        entry(link="javascript:alert(1)")


def test_an_image_that_is_no_web_link_is_none() -> None:
    assert entry(image="javascript:alert(1)").image is None
    assert entry(image="https://example.org/a b.png").image == "https://example.org/a%20b.png"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "\x01\u202e "}, "needs a title"),
        ({"id": ""}, "needs an id"),
        ({"id": "urn:x:\x01"}, "needs an id XML can carry"),
        ({"labels": (1,)}, "label is not text"),
    ],
)
def test_an_entry_refuses_what_cannot_be_made_clean(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        entry(**fields)


def test_replace_makes_a_clean_entry_too_and_keeps_what_was_cut() -> None:
    made = entry(title="Huge " * 300)
    changed = dataclasses.replace(made, title="New\x01 title\u202e", published=PUBLISHED)
    assert changed.title == "New title"
    assert changed.cuts == made.cuts == (Cut("title", 1_499),)
    assert changed == dataclasses.replace(changed, cuts=())  # cuts are not compared


def test_a_parse_result_says_once_what_its_entries_cut() -> None:
    result = ParseResult(entries=(entry(title="Huge " * 300), entry(id="urn:x:2")))
    (cut,) = result.diagnostics
    assert cut.code == "cut-text"
    assert cut.severity == "warning"
    assert "(urn:uuid:00000000-0000-5000-8000-000000000001)" in cut.message
    assert f"its title of 1499 characters to {TITLE_LIMIT}" in cut.message
    again = dataclasses.replace(result, next_page="https://www.example.org/news/2")
    assert again.diagnostics == result.diagnostics
