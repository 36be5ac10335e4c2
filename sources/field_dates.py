"""Field dates: a calendar day read from a listing item's date field, or found in elements
made to hold one, without guessing (year-first forms as written, numeric ones in the page's
language's order, never from prose), and what is worth saying about a page's dates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import lxml.html
from dateutil import parser as date_parser
from lxml import etree

from feeds.dates import (
    MAX_YEAR,
    MIN_YEAR,
    NumericReading,
    date_text_forms,
    find_listing_date,
    find_numeric_date,
    find_year_first_date,
    read_listing_date,
    read_numeric_date,
    read_path_date,
    read_year_first_date,
)
from feeds.model import Diagnostic, Severity
from feeds.text import clean_text
from sources.selector_fields import element_text

_CELLS = frozenset({"td", "th"})
#: Classes that say an element holds a date: ``date``, ``post-time``, ``published``...
DATE_CLASS = re.compile(
    r"date|time|publi|pubblic|posted|submitted|byline|datum|fecha|meta(?!data)|\bage\b",
    re.IGNORECASE,
)
#: Classes of dates that are not when an item was published: a forum's last post or comment.
NOT_PUBLISHED_CLASS = re.compile(r"last[\s_-]*(post|comment|reply|activity)", re.IGNORECASE)


#: Column headings over dates that are not when an item was published.
LATER_HEADING = re.compile(
    r"last|latest|recent|updated|dernier|derni[eè]re|letzte|neueste|[uú]ltim|ultim|laatste"
    r"|senaste|ostatni|последн|обновл|最終|最新|最后|최근",
    re.IGNORECASE,
)


def not_published(node: lxml.html.HtmlElement, item: lxml.html.HtmlElement) -> bool:
    """Whether ``node`` (within ``item``) holds a date that is not the item's publication:
    its class or an ancestor's within the item says last post, comment, reply or activity,
    or it is in a table column headed so ("Last post", "Dernier message")."""
    for element in (node, *node.iterancestors()):
        if NOT_PUBLISHED_CLASS.search(str(element.get("class", ""))):
            return True
        if element.tag in _CELLS and LATER_HEADING.search(column_heading(element)):
            return True
        if element is item:
            return False
    return False


def column_heading(cell: lxml.html.HtmlElement) -> str:
    """The text over ``cell``'s column: the same cell of its table's first row, when that row
    is another one with as many cells; else ``""``."""
    row = cell.getparent()
    table = next(row.iterancestors("table"), None) if row is not None else None
    if row is None or table is None:
        return ""
    first = next(iter(table.xpath("./tr | ./thead/tr | ./tbody/tr")), None)
    if first is None or first is row:
        return ""
    cells = [c for c in row if c.tag in _CELLS]
    headings = [c for c in first if c.tag in _CELLS]
    if len(cells) != len(headings) or cell not in cells:
        return ""
    return clean_text(headings[cells.index(cell)].text_content())


_DATE_ATTRIBUTES = ("datetime", "content", "title")
#: A field that is a link: its path may hold the day (``https://example.org/2016/03/17/a``).
_LINK = re.compile(r"^(https?://|/)\S*$", re.IGNORECASE)
#: Seconds since 1970 in a date attribute: 1973 to 2286.
_EPOCH = re.compile(r"\d{9,10}")
#: Text this long at most may be a date field (with a word or two: "Posted 3 May 2026").
_SHORT = 80
_AROUND_A_DATE = " ()[]|\u00b7\u2022\u2013\u2014\u00ab\u00bb-,;:"
_PROSE_DATE = re.compile(
    r"\b\d{1,2}\.?\s+[^\W\d_]{3,}\.?\s*,?\s+\d{4}\b|\b[^\W\d_]{3,}\s+\d{1,2},?\s+\d{4}\b"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldDate:
    """A date read from a field, and whether the page's numeric order had to choose."""

    date: dt.date | None
    ambiguous: bool = False
    other_order: bool = False


_YEAR_FIRST_START = re.compile(r"^\d{4}\D")
_ALL_NUMERIC = re.compile(r"[\d\s./-]+")
#: Two defaults for dateutil that differ in year, month and day: what a text leaves out
#: shows as a difference between the two readings.
_TELLING_DEFAULTS = (dt.datetime(1901, 1, 1), dt.datetime(1902, 2, 2))  # noqa: DTZ001  (days)


def read_field_date(
    text: str, *, date_format: str | None = None, month_first: bool = False, within: bool = True
) -> FieldDate:
    """A calendar day from a date field: the source's format; else a link's path day
    (``/2016/03/17/``); seconds since 1970 (a ``datetime`` attribute's ``1342797581``, the
    day in UTC); a year-first form (ISO 8601, with time and offset: never ambiguous); a date
    with a month name; a numeric date in the given order (``month_first`` for ``en-US``);
    other common forms (``Tue, 12 Nov 2018 15:58:00 GMT``), each also without a time of day
    or a weekday. With ``within``, a short field may say more than its date (``Started by ann,
    09-08-2004``, ``Publicado el 10 de marzo de 2016 por ...``): its first date is taken."""
    text = clean_text(text)
    if not text:
        return FieldDate(date=None)
    if date_format:
        try:
            return FieldDate(date=dt.datetime.strptime(text, date_format).date())  # noqa: DTZ007  (a day)
        except ValueError:
            return FieldDate(date=None)
    if within and _LINK.match(text):
        return FieldDate(date=read_path_date(text))
    if within and _EPOCH.fullmatch(text):
        day = dt.datetime.fromtimestamp(int(text), tz=dt.UTC).date()
        return FieldDate(date=day if MIN_YEAR <= day.year <= MAX_YEAR else None)
    for form, cut in date_text_forms(text):
        # a form without its first word is read only in the forms dates are written in
        found = _read_whole(form, month_first=month_first, free=not cut)
        if found is not None:
            return found
    if within and len(text) <= _SHORT:
        if (written := find_listing_date(text) or find_year_first_date(text)) is not None:
            return FieldDate(date=written)
        numeric = find_numeric_date(text, month_first=month_first)
        if numeric.date is not None:
            return FieldDate(
                date=numeric.date, ambiguous=numeric.ambiguous, other_order=numeric.other_order
            )
    return FieldDate(date=None)


def _read_whole(text: str, *, month_first: bool, free: bool = True) -> FieldDate | None:
    """``text`` read whole as a date, or ``None`` when it has no date's shape; ``free`` lets
    dateutil try the forms this module does not know (``Tue, 12 Nov 2018 15:58:00 GMT``)."""
    if (year_first := read_year_first_date(text)) is not None:
        return FieldDate(date=year_first)
    reading = read_listing_date(text)
    if reading.looks_like_date:
        return FieldDate(date=reading.date)
    numeric: NumericReading = read_numeric_date(text, month_first=month_first)
    if numeric.date is not None:
        return FieldDate(
            date=numeric.date, ambiguous=numeric.ambiguous, other_order=numeric.other_order
        )
    if not free or _YEAR_FIRST_START.match(text) or _ALL_NUMERIC.fullmatch(text):
        return None  # a year-first or numeric form that names no real day
    if not any(character.isdigit() for character in text):
        return None  # no year or day of its own: dateutil reads both from digits only
    if _has_word_dateutil_refuses(text):
        return None
    # parsed against two defaults: a text that names no year, month or day (``10:23 PM``,
    # ``Today``) would otherwise be given the default's, today's, and is no date at all
    try:
        parsed, again = (
            date_parser.parse(
                text, dayfirst=not month_first, fuzzy=False, default=default, ignoretz=True
            )
            for default in _TELLING_DEFAULTS
        )
    except (ValueError, OverflowError):
        return None
    if parsed.date() != again.date() or not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None
    return FieldDate(date=parsed.date())


#: dateutil's own vocabulary (the default parser's).
_DATEUTIL_WORDS = date_parser.parserinfo()
_LETTERS = re.compile(r"[^\W\d_]+")
_TIME_ZONE_NAME_LENGTH = 5


def _has_word_dateutil_refuses(text: str) -> bool:
    """True when ``text`` holds a word dateutil (not fuzzy) cannot place in a date, so that it
    would refuse the whole text (``Press release 2026``): a word its parser splits off as
    such (a run of letters) that is no month, weekday, am/pm, unit, connective or time zone
    (``UTC``, or up to five capitals: ``CEST``)."""
    info = _DATEUTIL_WORDS
    for word in _LETTERS.findall(text):
        if not word.isalpha():
            return False  # not a plain run of letters: dateutil decides
        if (len(word) <= _TIME_ZONE_NAME_LENGTH and word.isascii() and word.isupper()) or (
            info.jump(word)
            or info.weekday(word) is not None
            or info.month(word) is not None
            or info.ampm(word) is not None
            or info.hms(word) is not None
            or info.pertain(word)
            or info.utczone(word)
        ):
            continue
        return True
    return False


def published_elements(item: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """Elements that say they hold the publication date: ``itemprop="datePublished"`` (often a
    ``meta`` or an empty ``time`` with ``content``), then every ``time``."""
    marked = [
        e
        for e in item.iter()
        if (prop := e.get("itemprop")) is not None and str(prop).strip() == "datePublished"
    ]
    return marked + [t for t in item.iter("time") if t not in marked]


def _reading_order(item: lxml.html.HtmlElement) -> Iterator[tuple[str, lxml.html.HtmlElement]]:
    """The item's elements (their whole text) and every line of text between them (``»
    13 May 2026``), in the order a reader meets them, each with the element it belongs to."""
    for event, node in etree.iterwalk(item, events=("start", "end")):
        if not isinstance(node, lxml.html.HtmlElement):
            continue
        if event == "start":
            if node is not item:
                yield element_text(node), node
            texts, owner = node.text or "", node
        else:
            if node is item:
                continue
            parent = node.getparent()
            texts, owner = node.tail or "", parent if parent is not None else item
        for line in texts.splitlines():
            if line.strip():
                yield line, owner


def dedicated_date(
    item: lxml.html.HtmlElement, *, month_first: bool = False
) -> tuple[FieldDate, lxml.html.HtmlElement | None]:
    """The date of an item that has no date selector, from elements made to hold one only:
    ``datePublished`` and ``time`` (their ``datetime`` or ``content``, else their text),
    elements whose class says date or time, table cells, then any element or bit of the
    item's text that is a date and nothing else (``(21 November 2026)``, ``» Fri 13 Dec
    2013 15:36``). Never from prose (a summary's "the meeting on 6 May 2023")."""
    for node in published_elements(item):
        if not_published(node, item):
            continue
        for name in ("datetime", "content"):
            if (value := node.get(name)) is None:
                continue  # (an absent attribute holds no date)
            found = read_field_date(str(value), month_first=month_first)
            if found.date is not None:
                return found, node
        found = read_field_date(element_text(node), month_first=month_first, within=False)
        if found.date is not None:
            return found, node
    for node in item.iter():
        if not isinstance(node, lxml.html.HtmlElement):
            continue
        if DATE_CLASS.search(str(node.get("class", ""))):
            texts = [str(node.get(name, "")) for name in _DATE_ATTRIBUTES]
        elif node.tag in _CELLS:
            texts = []
        else:
            continue
        if not_published(node, item):  # asked only of the elements that may hold the date
            continue
        texts.append(element_text(node))
        for text in texts:
            if not text:
                continue  # an absent attribute, an empty element: no date
            found = read_field_date(text, month_first=month_first, within=node.tag not in _CELLS)
            if found.date is not None:
                return found, node
    for text, node in _reading_order(item):
        if len(text) <= _SHORT and not not_published(node, item):
            found = read_field_date(
                text.strip(_AROUND_A_DATE), month_first=month_first, within=False
            )
            if found.date is not None:
                return found, node
    return FieldDate(date=None), None


class DateNotes:
    """Reads an item's date and gathers, for the page, what is worth saying about dates."""

    def __init__(self, *, date_format: str | None, month_first: bool, declared: bool) -> None:
        self.date_format, self.month_first, self.declared = date_format, month_first, declared
        self.invalid: list[Diagnostic] = []
        self.ambiguous: list[tuple[int, str, dt.date]] = []
        self.prose: list[tuple[int, str]] = []
        self.undated: list[int] = []
        self.other_order: list[tuple[int, str]] = []
        self.settled = False

    def read(self, text: str, position: int) -> dt.date | None:
        found = read_field_date(text, date_format=self.date_format, month_first=self.month_first)
        if found.date is None:
            self.invalid.append(
                Diagnostic(
                    code="invalid-date",
                    severity=Severity.WARNING,
                    message=f"item {position}: {text!r} is not a date it can read",
                    item=position,
                )
            )
        self._note(found, position, text)
        return found.date

    def _note(self, found: FieldDate, position: int, text: str) -> None:
        if found.ambiguous and found.date is not None:
            self.ambiguous.append((position, text, found.date))
        elif found.other_order:
            self.other_order.append((position, text))

    def dedicated(self, item: lxml.html.HtmlElement, position: int) -> dt.date | None:
        found, node = dedicated_date(item, month_first=self.month_first)
        if found.date is None:
            self.undated.append(position)
            written = _PROSE_DATE.search(element_text(item))
            if written and find_listing_date(written.group()):
                self.prose.append((position, written.group()))
        elif node is not None:
            self._note(found, position, element_text(node))
        return found.date

    def settle(self) -> dict[int, dt.date]:
        """The days of ambiguous dates re-read in the other order, when the page's own dates
        show it (``11/28/2022`` on a page whose language writes the day first) and the
        source declares no order; by item position."""
        if self.declared or not self.other_order or not self.ambiguous:
            return {}
        self.month_first, self.settled = not self.month_first, True
        fixed: dict[int, dt.date] = {}
        for index, (position, text, day) in enumerate(self.ambiguous):
            fixed[position] = read_field_date(text, month_first=self.month_first).date or day
            self.ambiguous[index] = (position, text, fixed[position])
        return fixed

    def diagnostics(self) -> list[Diagnostic]:
        notes = list(self.invalid)
        if self.ambiguous:
            position, text, day = self.ambiguous[0]
            month_first = self.month_first
            why = "selectors.date_order" if self.declared else "page's language"
            if self.settled:
                shown, where = self.other_order[0][1], self.other_order[0][0]
                why = f"page's own dates ({shown!r}, item {where}, reads only so), not its language"
            notes.append(
                Diagnostic(
                    code="ambiguous-date",
                    severity=Severity.INFO,
                    message=f"{len(self.ambiguous)} numeric date(s) can be read day first or "
                    f"month first, such as {text!r} (item {position}): read "
                    f"{'month' if month_first else 'day'} first as {day.isoformat()}, by the "
                    f"{why} (set selectors.date_order = 'dmy' or 'mdy' to choose)",
                    item=position,
                )
            )
        if self.declared and self.other_order:
            position, text = self.other_order[0]
            notes.append(
                Diagnostic(
                    code="date-order-mismatch",
                    severity=Severity.WARNING,
                    message=f"{len(self.other_order)} numeric date(s) such as {text!r} (item "
                    f"{position}) are no day in the order selectors.date_order declares: read "
                    "the other way",
                    item=position,
                )
            )
        if self.undated:
            shown = ", ".join(str(p) for p in self.undated[:10])
            prose = (
                f"; a date in the text of item {self.prose[0][0]} ({self.prose[0][1]!r}) is not "
                "taken: it is not in a date element"
                if self.prose
                else ""
            )
            notes.append(
                Diagnostic(
                    code="no-date-element",
                    severity=Severity.INFO,
                    message=f"{len(self.undated)} item(s) ({shown}) have no date element "
                    f"(time, a date class, a date cell) and there is no selectors.date: "
                    f"undated{prose}",
                    item=self.undated[0],
                )
            )
        return notes
