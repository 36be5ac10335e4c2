"""Listing dates: reading calendar days written in several languages; turning them into instants.

A listing date is a calendar day in the publisher's time zone, with no time of day. It becomes
an instant only in ``listing_instant``, through the source's declared zone: never the server's
zone, never the clock. Contains no site knowledge; month names are English, French, Spanish,
Portuguese, German, Italian, Dutch, the Scandinavian languages, Polish and Russian.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from feeds.model import UTC, require_utc

#: Month names and common abbreviations, by number (a number may take several lines).
_MONTH_TABLE = """
1 january jan janvier janv enero ene janeiro januar janner gennaio gen januari stycznia styczen
1 января январь янв
2 february feb fevrier fevr fev febrero fevereiro februar febbraio februari lutego luty февраля
2 февраль фев
3 march mar mars marzo marco marz maerz maart mrt marts marca marzec марта март мар
4 april apr avril avr abril abr aprile kwietnia kwiecien апреля апрель апр
5 may mai mayo maio maggio mag mei maj maja мая май
6 june jun juin junio junho juni giugno giu czerwca czerwiec июня июнь июн
7 july jul juillet juil julio julho juli luglio lug lipca lipiec июля июль июл
8 august aug aout agosto ago augustus augusti sierpnia sierpien августа август авг
9 september sep sept septembre septiembre setiembre setembro set settembre wrzesnia wrzesien
9 сентября сентябрь сен сент
10 october oct octobre octubre outubro out oktober okt ottobre ott pazdziernika pazdziernik
10 октября октябрь окт
11 november nov novembre noviembre novembro listopada listopad ноября ноябрь ноя нояб
12 december dec decembre diciembre dic dezembro dez dezember dicembre desember grudnia grudzien
12 декабря декабрь дек
"""


def _fold(word: str) -> str:
    """Lower-case and strip accents and a final period: ``Févr.`` -> ``fevr``."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).rstrip(".")


_MONTHS = {
    _fold(name): int(number)
    for number, *names in (line.split() for line in _MONTH_TABLE.strip().splitlines())
    for name in names
}

#: Years outside this range are typos, not news dates.
MIN_YEAR, MAX_YEAR = 1900, 2199

_DAY = r"(\d{1,2})(?:\.|er|º|°|st|nd|rd|th)?"
_MONTH = r"([^\W\d_]{3,}\.?)"
_YEAR = r"(\d{4})"
_DE = r"(?:de\s+|del\s+)?"
_SINGLE = rf"{_DAY}\s+{_DE}{_MONTH}\s*,?\s+{_DE}{_YEAR}"
_RANGE_SEP = r"\s*(?:-|\u2013|\u2014|to|au|al|a|à|bis|y|et|and)\s*"
_DAY_FIRST = re.compile(
    rf"^(?:(?:from|du|del|de|vom|von)\s+)?"
    rf"(?:{_DAY}(?:\s+{_DE}{_MONTH}(?:\s*,?\s+{_DE}{_YEAR})?)?{_RANGE_SEP})?"
    rf"{_SINGLE}$",
    re.IGNORECASE,
)
_MONTH_FIRST = re.compile(
    rf"^{_MONTH}\s+{_DAY}(?:{_RANGE_SEP}(?:{_MONTH}\s+)?{_DAY})?\s*,?\s+{_YEAR}$", re.IGNORECASE
)
_DIGIT = re.compile(r"\d")
_MAX_DATE_LENGTH = 120
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MONTH_HEADING = re.compile(rf"^{_MONTH}\s+(?:de\s+)?{_YEAR}$", re.IGNORECASE)
_YEAR_HEADING = re.compile(r"^\d{4}$")
_PLACE = re.compile(r"^(?P<date>.*?\d{4})\s*,(?P<place>[^\d,]{0,60})$")
#: ``05 July 2022``, what most listings write: read without trying every other form (each
#: of which reads it the same).
_PLAIN_DAY = re.compile(r"(\d{1,2}) ([^\W\d_]{3,}) (\d{4})")
#: How every form a listing date is read in starts: a digit, or a word and then a digit (a
#: month, ``March 5``, or ``from``, ``du``, ``de`` before a day). Text that starts otherwise (a
#: title, a summary) is no date, and is not tried in every form.
_DATE_START = re.compile(r"\d|(?:[^\W\d_]{3,}\.?|du|de) \d", re.IGNORECASE)


@functools.lru_cache(maxsize=1024)
def month_number(word: str) -> int | None:
    """The month a name or common abbreviation stands for, in any supported language."""
    return _MONTHS.get(_fold(word))


@dataclass(frozen=True, slots=True)
class DateReading:
    """How a piece of text reads as a listing date.

    Attributes:
        looks_like_date: The text has the shape of a date (day, month name, year).
        date: The calendar day it gives (the first day of a range), or ``None`` when the text
            is not a date or names an impossible day (``31 February 2021``).
    """

    looks_like_date: bool
    date: dt.date | None


_NOT_A_DATE = DateReading(looks_like_date=False, date=None)


def _make_date(year: int, month: int | None, day: int) -> DateReading:
    if month is None:
        return _NOT_A_DATE
    try:
        value = dt.date(year, month, day)
    except ValueError:
        return DateReading(looks_like_date=True, date=None)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        return DateReading(looks_like_date=True, date=None)
    return DateReading(looks_like_date=True, date=value)


@functools.lru_cache(maxsize=4096)
def read_listing_date(text: str) -> DateReading:
    """Read a whole field as a listing date, or say it is none.

    Accepts ``05 July 2022``, ``5 July 2022``, ranges (``2 - 5 May 2006``, ``21-22 September
    2015``, ``30 June - 2 July 2019``: the first day counts), a place or a bare comma after the
    date (``24 August 2001, BANGKOK``), French ``1er mai 2021``, Spanish ``14 de febrero de
    2002``, Portuguese ``11 de Junho de 2019``, German ``18. Januar 2021``, English ``March 5,
    2021`` and ISO ``2021-03-05``. A year is required: ``10 June`` is not a date.
    """
    if len(text) > _MAX_DATE_LENGTH or not _DIGIT.search(text):
        return _NOT_A_DATE
    text = " ".join(text.split())
    if not _DATE_START.match(text):
        return _NOT_A_DATE
    if match := _PLAIN_DAY.fullmatch(text):
        return _make_date(int(match[3]), month_number(match[2]), int(match[1]))
    place = _PLACE.match(text)
    if place and (not place["place"].strip() or place["place"].strip()[0].isupper()):
        text = place["date"]
    if match := _ISO.match(text):
        iso_month = int(match[2])
        return _make_date(int(match[1]), iso_month if 1 <= iso_month <= 12 else None, int(match[3]))
    if match := _DAY_FIRST.match(text):
        day1, month1, year1, day2, month2_word, year2 = match.groups()
        month2 = month_number(month2_word)
        if day1 is None:
            return _make_date(int(year2), month2, int(day2))
        if month1 is not None and month_number(month1) is None:
            return _NOT_A_DATE
        month = month_number(month1) if month1 else month2
        year = int(year1) if year1 else int(year2)
        if month is not None and month2 is not None and not year1 and month > month2:
            year -= 1  # "30 December - 2 January 2007" starts in 2006
        return _make_date(year, month, int(day1))
    if match := _MONTH_FIRST.match(text):
        month_word, day, _month2, _day2, year_text = match.groups()
        return _make_date(int(year_text), month_number(month_word), int(day))
    return _NOT_A_DATE


_DATE_IN_TEXT = re.compile(
    rf"\b{_DAY}\s+{_DE}{_MONTH}\s*,?\s+{_DE}{_YEAR}\b"
    rf"|\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b"
    r"|\b\d{4}-\d{2}-\d{2}(?!\d)",
    re.IGNORECASE,
)


def find_listing_date(text: str) -> dt.date | None:
    """The first listing date written anywhere in a text (``Agreement reached (21 November
    2026)``), or ``None``."""
    for match in _DATE_IN_TEXT.finditer(" ".join(text.split())):
        day = read_listing_date(match.group()).date
        if day is not None:
            return day
    return None


def is_month_or_year_heading(text: str) -> bool:
    """True for ``July 2021``, ``Avril 2020``, ``junho de 2019`` or a bare year ``2021``."""
    text = " ".join(text.split())
    if _YEAR_HEADING.match(text):
        return MIN_YEAR <= int(text) <= MAX_YEAR
    match = _MONTH_HEADING.match(text)
    return match is not None and month_number(match[1]) is not None


def start_of_day(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first instant of ``day`` in ``zone``, in UTC."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(UTC)


def listing_instant(day: dt.date, zone: ZoneInfo, later_same_day: int = 0) -> dt.datetime:
    """The publication instant of an item dated ``day`` in a listing read in ``zone``.

    The start of the day, plus one second for each item of the same day listed *below* it on
    the page (``later_same_day``), so that sorting by date keeps the page's order and no two
    entries share an instant.
    """
    return start_of_day(day, zone) + dt.timedelta(seconds=later_same_day)


def first_seen_instant(seen_at: dt.datetime, rank: int = 0) -> dt.datetime:
    """The provisional publication instant of the ``rank``-th undated item of a page fetched at
    ``seen_at``: one second earlier per rank, so that the page's order is kept."""
    require_utc(seen_at, "seen_at")
    return seen_at.replace(microsecond=0) - dt.timedelta(seconds=rank)


def page_order_instants(
    days: Sequence[dt.date | None], zone: ZoneInfo, seen_at: dt.datetime
) -> list[dt.datetime]:
    """The publication instants of a page's items, given their listing days in page order.

    A dated item gets ``listing_instant`` with one second per item of the same day below it;
    the n-th undated item gets ``first_seen_instant(seen_at, n)``. Sorting by instant then
    keeps the page's order within each day, and no two items share an instant.
    """
    remaining = Counter(day for day in days if day is not None)
    undated_rank = 0
    instants = []
    for day in days:
        if day is None:
            instants.append(first_seen_instant(seen_at, undated_rank))
            undated_rank += 1
        else:
            remaining[day] -= 1
            instants.append(listing_instant(day, zone, remaining[day]))
    return instants


#: ``2018-11-12``, ``2018/11/12``, ``2018.11.12``, then nothing or a time of day in any form
#: (``2018-11-12 15:58:00``, ``2019-10-11T08:15:28Z``, ``2019-10-11T08:15:00.000+0200``).
_YEAR_FIRST = re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:$|[T\s]+\d{1,2}[:h.]?\d{2}\b)")
#: ``02.12.2022``, ``12/02/2022``, ``2-12-2022``, with an optional time of day.
_NUMERIC = re.compile(
    r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4})"
    r"(?:[,\s]+\d{1,2}[:.h]\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?)?$",
    re.IGNORECASE,
)
#: Languages whose numeric dates put the month first; every other writes the day first.
MONTH_FIRST_LANGUAGES = frozenset({"en-us", "en-ph", "en-fm", "en-mh", "en-pw", "en-as"})


@dataclass(frozen=True, slots=True)
class NumericReading:
    """How a field reads as an all-digit date.

    Attributes:
        date: The calendar day taken, or ``None`` when the field is no such date.
        ambiguous: Both readings (day first, month first) were valid days and differ; the
            declared order chose.
        other_order: Only the other order gives a valid day (``11/28/2022`` read day first).
    """

    date: dt.date | None
    ambiguous: bool = False
    other_order: bool = False


def read_year_first_date(text: str) -> dt.date | None:
    """The day of an ISO 8601 or other year-first date, time and offset allowed; these are
    never ambiguous, whatever the page's language. The day is the one written: an offset
    does not move it."""
    match = _YEAR_FIRST.match(" ".join(text.split()))
    if match is None:
        return None
    return _make_date(int(match[1]), _month_or_none(int(match[3])), int(match[4])).date


def _month_or_none(month: int) -> int | None:
    return month if 1 <= month <= 12 else None


def month_first_for(language: str | None) -> bool:
    """True when numeric dates in ``language`` (an ``html lang`` value such as ``en-US``) put
    the month first."""
    return (language or "").strip().replace("_", "-").casefold() in MONTH_FIRST_LANGUAGES


def read_numeric_date(text: str, *, month_first: bool = False) -> NumericReading:
    """The day of ``02.12.2022`` or ``12/02/2022`` in the given order. A field that only one
    order makes a valid day (``28/10/2026``) is read that way; when both orders give
    different valid days the reading is marked ``ambiguous``."""
    match = _NUMERIC.match(" ".join(text.split()))
    if match is None:
        return NumericReading(date=None)
    first, second, year = int(match[1]), int(match[3]), int(match[4])
    day_first = _make_date(year, _month_or_none(second), first).date
    month_first_day = _make_date(year, _month_or_none(first), second).date
    preferred, other = (month_first_day, day_first) if month_first else (day_first, month_first_day)
    if preferred is None:
        return NumericReading(date=other, other_order=other is not None)
    return NumericReading(date=preferred, ambiguous=other is not None and other != preferred)


#: A numeric date inside a longer text: ``Started by ann, 09-08-2004 10:23 PM``.
_NUMERIC_IN_TEXT = re.compile(r"(?<![\d./-])\d{1,2}([./-])\d{1,2}\1\d{4}(?![\d/-])")
#: A time of day (``15:36``, ``5:47 pm``, ``15.02 Uhr``, ``10h30``) and what may surround it.
_TIME_OF_DAY = re.compile(
    r"(?:\b(?:at|um|à|a las|alle|в)\s+)?(?<![\d.])\d{1,2}[:.h]\d{2}(?![.\d])(?::\d{2})?"
    r"\s*(?:[ap]\.?m\.?|uhr|h)?(?!\w)",
    re.IGNORECASE,
)
_EDGES = " ()[]|,;:-\u00b7\u2022\u2013\u2014\u00bb\u00ab"
#: A day in a URL's path: ``/2016/03/17/slug``, ``/2016-03-17-slug``.
_PATH_DAY = re.compile(r"/((?:19|20|21)\d{2})([/-])(\d{1,2})\2(\d{1,2})(?=[/._-]|$)")


#: A year-first date inside a longer text: ``2014.03.31 UP``, ``Posted 2026/03/04``.
_YEAR_FIRST_IN_TEXT = re.compile(r"(?<![\d./-])(\d{4})([./-])(\d{1,2})\2(\d{1,2})(?![\d/-])")


def find_year_first_date(text: str) -> dt.date | None:
    """The first year-first date written in a text, or ``None``."""
    for match in _YEAR_FIRST_IN_TEXT.finditer(text):
        day = _make_date(int(match[1]), _month_or_none(int(match[3])), int(match[4])).date
        if day is not None:
            return day
    return None


def find_numeric_date(text: str, *, month_first: bool = False) -> NumericReading:
    """The first numeric date written in a text, in the given order."""
    match = _NUMERIC_IN_TEXT.search(text)
    if match is None:
        return NumericReading(date=None)
    return read_numeric_date(match.group(), month_first=month_first)


def date_text_forms(text: str) -> Iterator[tuple[str, bool]]:
    """A date field and its trimmed forms, to be read in turn, each with whether a word was cut
    from it: as written; without a time of day (``aprile 25, 2016 - 5:47 pm``); then without a
    first word such as a weekday (``Ven 13 Déc 2013 15:36``). Only a form that reads whole as
    a date counts. Each form is made only when the one before it was not a date."""
    yield text, False
    last = text
    without_time = _TIME_OF_DAY.sub(" ", text).strip(_EDGES)
    if without_time and without_time != text:
        last = " ".join(without_time.split())
        yield last, False
    first, _, rest = last.partition(" ")
    if rest and first.rstrip(".,").isalpha():
        yield rest.strip(_EDGES), True


def read_path_date(url: str) -> dt.date | None:
    """The day written in a URL's path (``https://example.org/2016/03/17/a-title/``), or
    ``None``: many sites put the publication day there."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    match = _PATH_DAY.search(path)
    if match is None:
        return None
    return _make_date(int(match[1]), _month_or_none(int(match[3])), int(match[4])).date
