"""Listing dates: five languages, ranges, places; instants only through the declared zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from feeds.dates import (
    first_seen_instant,
    is_month_or_year_heading,
    listing_instant,
    read_listing_date,
    start_of_day,
)

D = dt.date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05 July 2022", D(2022, 7, 5)),
        ("5 July 2022", D(2022, 7, 5)),
        ("  5   July\u00a02022 ", D(2022, 7, 5)),
        ("2 - 5 May 2006", D(2006, 5, 2)),
        ("21-22 September 2015", D(2015, 9, 21)),
        ("21–22 September 2015", D(2015, 9, 21)),
        ("30 June - 2 July 2019", D(2019, 6, 30)),
        ("30 December - 2 January 2007", D(2006, 12, 30)),
        ("24 August 2001, BANGKOK", D(2001, 8, 24)),
        ("15 January 2001,", D(2001, 1, 15)),
        ("4 mai 2021", D(2021, 5, 4)),
        ("1er mai 2021", D(2021, 5, 1)),
        ("12 février 2020", D(2020, 2, 12)),
        ("14 de febrero de 2002", D(2002, 2, 14)),
        ("11 de Junho de 2019", D(2019, 6, 11)),
        ("3 de março de 2020", D(2020, 3, 3)),
        ("18. Januar 2021", D(2021, 1, 18)),
        ("1. März 2012", D(2012, 3, 1)),
        ("March 5, 2021", D(2021, 3, 5)),
        ("2021-03-05", D(2021, 3, 5)),
    ],
)
def test_listing_dates_in_every_known_shape(text: str, expected: dt.date) -> None:
    reading = read_listing_date(text)
    assert reading.looks_like_date
    assert reading.date == expected


@pytest.mark.parametrize(
    "text",
    [
        "10 June",
        "June 2021",
        "8 March 2012 : International Women's Day",
        "5 May 2020, a day to remember",
        "Press release",
        "12 Floreal 2021",
        "",
        "2021",
    ],
)
def test_text_that_is_not_a_date(text: str) -> None:
    assert read_listing_date(text).looks_like_date is False


@pytest.mark.parametrize(
    ("plain", "written"),
    [
        ("05 julio 2022", "05 de julio de 2022"),
        ("5 Mai 2021", "5. Mai 2021"),
        ("1 mai 2021", "1er mai 2021, GENÈVE"),
        ("31 February 2021", "31 February 2021,"),
        ("12 Floreal 2021", "12 de Floreal de 2021"),
        ("10 del 2020", "10  del  2020"),
    ],
)
def test_a_plain_day_reads_as_its_other_written_forms_do(plain: str, written: str) -> None:
    assert read_listing_date(plain) == read_listing_date(written)


@pytest.mark.parametrize("text", ["31 February 2021", "1 January 0001", "5 May 9999"])
def test_impossible_dates_look_like_dates_but_give_none(text: str) -> None:
    reading = read_listing_date(text)
    assert reading.looks_like_date
    assert reading.date is None


@pytest.mark.parametrize(
    ("text", "is_heading"),
    [
        ("July 2021", True),
        ("Avril 2020", True),
        ("Febrero 2002", True),
        ("Januar 2021", True),
        ("junho 2019", True),
        ("2021", True),
        ("What's new", False),
        ("Statements and speeches", False),
        ("1234", False),
    ],
)
def test_month_and_year_headings(text: str, is_heading: bool) -> None:
    assert is_month_or_year_heading(text) is is_heading


def test_start_of_day_is_read_in_the_declared_zone() -> None:
    day = D(2023, 3, 29)
    assert start_of_day(day, ZoneInfo("Europe/Zurich")) == dt.datetime(
        2023, 3, 28, 22, tzinfo=dt.UTC
    )
    assert start_of_day(day, ZoneInfo("America/Lima")) == dt.datetime(2023, 3, 29, 5, tzinfo=dt.UTC)
    winter = start_of_day(D(2023, 1, 10), ZoneInfo("Europe/Zurich"))
    assert winter == dt.datetime(2023, 1, 9, 23, tzinfo=dt.UTC)
    assert winter.tzinfo is dt.UTC


def test_listing_instants_keep_page_order_within_a_day() -> None:
    zone = ZoneInfo("Europe/Zurich")
    day = D(2023, 3, 29)
    top, middle, bottom = (listing_instant(day, zone, n) for n in (2, 1, 0))
    assert top > middle > bottom == start_of_day(day, zone)


def test_first_seen_instants_keep_page_order_and_drop_microseconds() -> None:
    seen = dt.datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=dt.UTC)
    assert first_seen_instant(seen) == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert first_seen_instant(seen, 2) == dt.datetime(2026, 1, 2, 3, 4, 3, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="aware UTC"):
        first_seen_instant(dt.datetime(2026, 1, 2))  # noqa: DTZ001  (the naive value is the point)
