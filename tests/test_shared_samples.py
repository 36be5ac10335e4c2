"""Golden tests on the two real listing samples, read from ../shared/listings/.

The samples are third-party text: they are read where they are, never copied. The expected
values below name each item by the first words of its title and summary only.
"""

from __future__ import annotations

import datetime as dt

import pytest

from feeds.model import Entry
from sources import ilo
from tests.conftest import FIXED_NOW, make_context, shared_sample

JAKARTA = "https://www.ilo.org/jakarta/whatwedo/publications/lang--en/index.htm"

# (title starts with, date, labels, credit, summary starts with ("" = none), group)
NEWS_ARTICLES_EVENTS = [
    ("Indonesia shares progress", "2023-03-29", ("Social protection",), None, "Indonesia together with", None),
    ("Bangladesh government launches", "2022-06-21", ("Social protection",), None, "A transformative approach", None),
    ("Only six per cent of domestic", "2022-06-16", ("International Domestic Workers Day",), "© Kate Holt / Solidarity Center 2023", "Domestic workers make", None),
    ("ILO reaches ratification target", "2021-11-08", ("Social protection",), "© Vitor Marinho 2023", "Paraguay has become", None),
    ("The UNGC and the ILO have identified", "2021-09-30", ("News",), None, "On September 30, 2021", None),
    ("Building employment injury protection", "2021-04-27", ("Press release",), None, "The ILO Country Office in Beijing", None),
    ("Research Seminar on Employment Injury", None, ("Event",), None, "Worldwide, only 35.4%", None),
]  # fmt: skip

NEWS_AND_FEATURES = [
    ("ILO: Employment Insurance (JKP)", "2021-07-19", None, "The implementation of", "July 2021"),
    ("Extending social protection to Indonesian", "2021-05-11", None, "Digital and gig economies", "May 2021"),
    ("Launching of a web portal", "2021-04-21", None, "ADDIS ABABA, Ethiopia (ILO News)", "April 2021"),
    ("COVID-19 strategies must invest", "2021-04-09", None, "Economic and social recovery", "April 2021"),
    ("Indonesia to learn from the United Kingdom", "2021-04-01", None, "Following the release", "April 2021"),
    ("Actuary or actor?", "2021-03-30", None, "Behind the scenes", "March 2021"),
    ("Engaging journalists", "2021-03-12", None, "The Government of Indonesia", "March 2021"),
    ("Social security and COVID-19:", "2021-03-11", None, "The recent ILO report", "March 2021"),
    ("Indonesia enhances its human resources", "2021-03-02", None, "Since the reform", "March 2021"),
    ("Income support to help 17,000", "2021-02-23", None, "The Lao Social Security", "February 2021"),
    ("ILO joins partnership to promote", "2021-02-09", "© Pathumporn Thongking/UN Women 2022", "The ILO has joined", "February 2021"),
    ("Supporting Burkina Faso and Senegal", "2020-12-16", None, "The Government of Belgium", "December 2020"),
    ("COVID-19 crisis, a wake-up call", "2020-12-11", None, "Workers’ Organizations exchange", "December 2020"),
    ("ILO discussed trade unions’ concerns", "2020-12-01", None, "Despite ongoing protest", "December 2020"),
    ("The Global Coalition for Social Protection Floors", "2020-12-01", None, "Joint programme on improving", "December 2020"),
    ("The European Union and ILO joins forces", "2020-11-09", None, "", "November 2020"),
    ("Universal social protection floors", "2020-10-26", None, "Building back better", "October 2020"),
    ("Critical gaps in social protection", "2020-10-15", "© ILO 2022", "Despite their rapid", "October 2020"),
    ("ILO: Developing countries should invest", "2020-09-17", "© Asian Development Bank 2022", "Closing the coverage gap", "September 2020"),
    ("ILO/Germany programme to protect", "2020-09-08", None, "The German Federal Ministry", "September 2020"),
]  # fmt: skip


Expected = tuple[str, str | None, tuple[str, ...], str | None, str, str | None]


def _check_entry(entry: Entry, expected: Expected) -> None:
    title, date, labels, credit, summary, group = expected
    assert entry.title.startswith(title)
    assert entry.title == " ".join(entry.title.split())
    assert entry.date == (dt.date.fromisoformat(date) if date else None)
    assert entry.labels == labels
    assert entry.credit == credit
    assert entry.group == group
    if summary:
        assert entry.summary.startswith(summary)
    else:
        assert entry.summary == ""
    assert entry.link == JAKARTA  # a text rendition has no per-item links
    assert entry.source_id == "jakarta"
    assert entry.id.startswith("urn:uuid:")


def _parse(name: str, timezone: str = "Asia/Jakarta") -> ilo.ParseResult:
    text = shared_sample(name).read_text(encoding="utf-8")
    return ilo.parse(text, make_context(JAKARTA, timezone, source_id="jakarta"))


def test_news_articles_events_gives_seven_entries_the_last_an_undated_event() -> None:
    result = _parse("news-articles-events.txt")
    assert len(result.entries) == 7
    for entry, expected in zip(result.entries, NEWS_ARTICLES_EVENTS, strict=True):
        _check_entry(entry, expected)
    undated = result.entries[-1]
    assert undated.published == FIXED_NOW.replace(microsecond=0)
    assert [d.code for d in result.diagnostics] == ["undated-item"]
    assert result.is_listing


def test_news_and_features_gives_twenty_entries_from_twenty_one_items() -> None:
    result = _parse("news-and-features.txt")
    assert len(result.entries) == 20
    for entry, (title, date, credit, summary, group) in zip(
        result.entries, NEWS_AND_FEATURES, strict=True
    ):
        _check_entry(entry, (title, date, (), credit, summary, group))
    assert [d.code for d in result.diagnostics] == ["duplicate-item"]
    duplicate = result.diagnostics[0]
    assert (duplicate.item, duplicate.line) == (16, 107)
    assert len({entry.id for entry in result.entries}) == 20


def test_sample_dates_are_the_start_of_the_day_in_the_declared_zone() -> None:
    jakarta = _parse("news-articles-events.txt").entries[0]
    # 29 March 2023 00:00 in Jakarta (UTC+7) is 28 March 17:00 UTC.
    assert jakarta.published == dt.datetime(2023, 3, 28, 17, 0, tzinfo=dt.UTC)
    geneva = _parse("news-articles-events.txt", "Europe/Zurich").entries[0]
    # ... and 22:00 UTC the day before in Geneva (summer time, UTC+2).
    assert geneva.published == dt.datetime(2023, 3, 28, 22, 0, tzinfo=dt.UTC)
    assert geneva.id == jakarta.id  # the zone is not part of identity


def test_sorting_the_sample_by_date_keeps_the_page_order() -> None:
    entries = [e for e in _parse("news-and-features.txt").entries if e.date]
    by_date = sorted(entries, key=lambda e: e.published, reverse=True)
    assert by_date == entries
    assert len({e.published for e in entries}) == len(entries)  # same-day items: distinct


@pytest.mark.parametrize("name", ["news-articles-events.txt", "news-and-features.txt"])
def test_sample_ids_do_not_depend_on_host_or_scheme(name: str) -> None:
    text = shared_sample(name).read_text(encoding="utf-8")
    variants = [
        "https://www.ilo.org/jakarta/whatwedo/publications/lang--en/index.htm",
        "http://ilo.org/jakarta/whatwedo/publications/lang--en/index.htm",
        "https://ILO.org/jakarta/whatwedo/publications/lang--en/nextRow--0/index.htm",
    ]
    ids = {tuple(e.id for e in ilo.parse(text, make_context(url)).entries) for url in variants}
    assert len(ids) == 1
