"""Listing dates and month headings as ILO pages write them: the core's languages, plus the
year-first days (``2020/06/30``) and month headings (``6月 2020``) of the Japanese pages."""

from __future__ import annotations

import functools
import re

from feeds.dates import (
    DateReading,
    is_month_or_year_heading,
    read_listing_date,
    read_year_first_date,
)

_YEAR_FIRST_DAY = re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$|^\d{4}年\d{1,2}月\d{1,2}日$")
_JAPANESE_DAY = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
#: Every date the pages write holds a year: four digits (spaced, in a year-first day).
_FOUR_DIGITS = re.compile(r"\d(?:\s*\d){3}")
_NOT_A_DATE = DateReading(looks_like_date=False, date=None)
_JAPANESE_MONTH_HEADING = re.compile(r"^(?:(\d{1,2})月\s*(\d{4})(?:年)?|(\d{4})年\s*(\d{1,2})月)$")


@functools.lru_cache(maxsize=4096)
def listing_date(text: str) -> DateReading:
    """Read a whole field as a listing date: ``read_listing_date``, and ``2020/06/30`` or
    ``2020年6月30日`` (a year-first day is never ambiguous)."""
    if not _FOUR_DIGITS.search(text):  # a title, a summary: no need to read further
        return _NOT_A_DATE
    reading = read_listing_date(text)
    if reading.looks_like_date:
        return reading
    text = "".join(text.split()).rstrip(",")
    if not _YEAR_FIRST_DAY.match(text):
        return reading
    if match := _JAPANESE_DAY.match(text):
        text = f"{match[1]}/{match[2]}/{match[3]}"
    return DateReading(looks_like_date=True, date=read_year_first_date(text))


def is_group_heading(text: str) -> bool:
    """True for a month or year heading in any language the pages use (``July 2021``,
    ``junho de 2019``, ``2021``, ``6月 2020``)."""
    if is_month_or_year_heading(text):
        return True
    match = _JAPANESE_MONTH_HEADING.match(" ".join(text.split()))
    if match is None:
        return False
    month = int(match[1] or match[4])
    return 1 <= month <= 12
