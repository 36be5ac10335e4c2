"""Re-identification of corrected items (``feeds.ledger.corrections``): which arrived item
corrects which departed one, on the evidence the listings give; and near-misses, different
stories that merely look alike, which must stay apart."""

from __future__ import annotations

import datetime as dt

import pytest

from feeds.ledger.corrections import Listed, near_identical, pair_corrections, similar

PAGE = "https://www.example.org/newsroom/lang--en/index.htm"
DAY = dt.date(2026, 11, 20)


def item(
    item_id: str, title: str, day: dt.date | None = DAY, link: str = PAGE, summary: str = ""
) -> Listed:
    return Listed(id=item_id, title=title, date=day, link=link, summary=summary)


NEIGHBOURS_BEFORE = [item("a", "Harbour wage talks resume", dt.date(2026, 11, 21))]
NEIGHBOURS_AFTER = [item("z", "Ferry timetable agreed", dt.date(2026, 11, 18))]


def pairs_for(old: Listed, new: Listed, *, in_place: bool = True) -> dict[str, str]:
    """Pair ``new`` (arrived) against ``old`` (departed). In place: both between the same
    neighbours; else the new one arrived at the top of the page."""
    previous = [*NEIGHBOURS_BEFORE, old, *NEIGHBOURS_AFTER]
    now = (
        [*NEIGHBOURS_BEFORE, new, *NEIGHBOURS_AFTER]
        if in_place
        else [new, *NEIGHBOURS_BEFORE, *NEIGHBOURS_AFTER]
    )
    return pair_corrections(
        now, {new.id}, [old], previous_order=[i.id for i in previous], listing_urls={PAGE}
    )


CORRECTIONS = [
    pytest.param(
        item("old", "Goverment signs decent work agreement"),
        item("new", "Government signs decent work agreement"),
        id="typo",
    ),
    pytest.param(
        item("old", "Well being at work: a new guide"),
        item("new", "Well-being at work: a new guide"),
        id="hyphen",
    ),
    pytest.param(
        item("old", "Modèle de contrat type pour les travailleurs domestiques"),
        item("new", "Modèle de contrat de travail type pour les travailleurs domestiques"),
        id="words-added",
    ),
    pytest.param(
        item("old", "Reunión regional sobre el empleo juvenil"),
        item("new", "Reunión regional sobre el empleo de los jóvenes"),
        id="words-changed-in-place",
    ),
    pytest.param(
        item("old", "Minister opens new training centre in Lusaka"),
        item("new", "Minister inaugurates new training centre in Lusaka"),
        id="one-word-in-place",
    ),
    pytest.param(
        item("old", "Safety week on the docks", dt.date(2026, 11, 19)),
        item("new", "Safety week on the docks", dt.date(2026, 11, 20)),
        id="date-plus-one-day",
    ),
    pytest.param(
        item("old", "Safety week on the docks", dt.date(2026, 11, 22)),
        item("new", "Safety Week on the Docks", dt.date(2026, 11, 20)),
        id="date-minus-two-days-and-case",
    ),
    pytest.param(
        item("old", "Goverment signs agreement", summary="Signed on Monday."),
        item("new", "Government signs agreement", summary="Signed on Monday in Geneva."),
        id="title-and-summary",
    ),
    pytest.param(
        item("old", "Statement", summary="The office condemns the attack on the union hall."),
        item(
            "new",
            "Statement by the Director",
            summary="The office condemns the attack on the union hall.",
        ),
        id="same-summary-in-place",
    ),
    pytest.param(
        item("old", "Old headline", link="https://www.example.org/news/2026/ferry"),
        item("new", "A wholly rewritten headline", link="https://www.example.org/news/2026/ferry"),
        id="same-link",
    ),
    pytest.param(
        item("old", "Goverment signs decent work agreement", None),
        item("new", "Government signs decent work agreement", None),
        id="undated-typo",
    ),
]


@pytest.mark.parametrize(("old", "new"), CORRECTIONS)
def test_a_correction_is_paired_with_the_item_it_corrects(old: Listed, new: Listed) -> None:
    assert pairs_for(old, new) == {"new": "old"}


#: Corrections whose evidence needs no place on the page.
STRONG = [case for case in CORRECTIONS if case.id in {"typo", "hyphen", "words-added", "same-link"}]


@pytest.mark.parametrize(("old", "new"), STRONG)
def test_strong_evidence_pairs_wherever_the_item_now_stands(old: Listed, new: Listed) -> None:
    assert pairs_for(old, new, in_place=False) == {"new": "old"}


NEAR_MISSES = [
    pytest.param(
        item("old", "Weekly brief No. 12"), item("new", "Weekly brief No. 13"), id="numbers"
    ),
    pytest.param(
        item("old", "Labour market report 2025"),
        item("new", "Labour market report 2026"),
        id="years",
    ),
    pytest.param(
        item("old", "ILO welcomes ratification of Convention 190 by Kenya"),
        item("new", "ILO welcomes ratification of Convention 190 by Ghana"),
        id="same-pattern-elsewhere-on-the-page",
    ),
    pytest.param(
        item("old", "Safety week on the docks", dt.date(2026, 11, 10)),
        item("new", "Safety week on the docks", dt.date(2026, 11, 20)),
        id="same-title-ten-days-apart",
    ),
    pytest.param(
        item("old", "Safety week on the docks", dt.date(2026, 11, 19)),
        item("new", "Safety week on the docks", dt.date(2026, 11, 20)),
        id="same-title-next-day-elsewhere",
    ),
    pytest.param(
        item("old", "Statement on the situation in Sudan"),
        item("new", "Youth employment forum opens in Dakar"),
        id="different-story-same-day",
    ),
    pytest.param(
        item("old", "Old headline", link=PAGE),
        item("new", "Another headline", link=PAGE),
        id="both-link-to-the-listing",
    ),
    pytest.param(
        item("old", "Weekly brief No. 12", link="https://www.example.org/brief/latest"),
        item("new", "Weekly brief No. 13", link="https://www.example.org/brief/latest"),
        id="a-latest-link-with-other-numbers",
    ),
    pytest.param(
        item("old", "Safety week on the docks", dt.date(2026, 11, 10), link="/n/4"),
        item("new", "ILO welcomes ratification by Zambia", link="/n/4"),
        id="a-link-by-place-on-the-page",
    ),
]


@pytest.mark.parametrize(("old", "new"), NEAR_MISSES)
def test_different_stories_that_look_alike_stay_apart(old: Listed, new: Listed) -> None:
    assert pairs_for(old, new, in_place=False) == {}


def test_a_swap_of_one_word_in_place_on_the_same_day_is_taken_as_a_correction() -> None:
    # the only evidence a listing without links gives: what stood there, that day, is gone,
    # and an item alike stands there now
    old = item("old", "ILO welcomes ratification of Convention 190 by Kenya")
    new = item("new", "ILO welcomes ratification of Convention 190 by Ghana")
    assert pairs_for(old, new) == {"new": "old"}


def test_numbers_keep_items_apart_even_in_place() -> None:
    assert pairs_for(item("old", "Weekly brief No. 12"), item("new", "Weekly brief No. 13")) == {}


def test_an_item_still_listed_is_never_paired() -> None:
    still = item("old", "Goverment signs decent work agreement")
    new = item("new", "Government signs decent work agreement")
    listed = [still, new]
    assert pair_corrections(listed, {"new"}, [], previous_order=["old"]) == {}


def test_each_departed_item_is_paired_once() -> None:
    old = item("old", "Goverment signs decent work agreement")
    first = item("new-1", "Government signs decent work agreement")
    second = item("new-2", "Government signs decent work agreement!")
    pairs = pair_corrections(
        [first, second], {"new-1", "new-2"}, [old], previous_order=["old"], listing_urls={PAGE}
    )
    assert pairs == {"new-1": "old"}


def test_two_neighbouring_corrections_find_their_places_one_after_the_other() -> None:
    before = [
        item("a", "Harbour wage talks resume"),
        item("b1", "Minister opens new training centre"),
        item("c1", "Port authority names new director"),
        item("d", "Ferry timetable agreed"),
    ]
    now = [
        before[0],
        item("b2", "Minister inaugurates new training centre"),
        item("c2", "Port authority appoints new director"),
        before[3],
    ]
    pairs = pair_corrections(
        now,
        {"b2", "c2"},
        [before[1], before[2]],
        previous_order=[i.id for i in before],
        listing_urls={PAGE},
    )
    assert pairs == {"b2": "b1", "c2": "c1"}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Goverment signs agreement", "Government signs agreement", True),
        ("Startup fund opens", "Start-up fund opens", True),
        ("Start up fund opens", "Startup fund opens", True),
        ("Décret sur la sécurité", "Decret sur la securite", True),
        ("Weekly brief No. 12", "Weekly brief No. 13", False),
        ("Youth employment forum", "Youth employment forum opens in Dakar", False),
        ("Report", "Report on wages", False),
    ],
)
def test_near_identical_titles(a: str, b: str, expected: bool) -> None:
    assert near_identical(a, b) is expected
    assert near_identical(b, a) is expected


def test_similar_titles_name_the_same_numbers() -> None:
    assert similar("Minister opens centre", "Minister inaugurates centre")
    assert not similar("Weekly brief No. 12", "Weekly brief No. 13")
    assert not similar("Statement on Sudan", "Youth employment forum opens in Dakar")
