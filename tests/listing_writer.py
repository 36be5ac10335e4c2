"""Writes listing pages in both forms from known items, for round-trip tests and benchmarks."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class WrittenItem:
    """An item to write: what the parser should read back."""

    title: str
    date: dt.date | None
    label: str | None = None
    summary: str = ""
    credit: str | None = None
    link: str | None = None  # the item's href in HTML; ``/n/<position>`` when not given


def _date_text(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _fields(item: WrittenItem) -> list[str]:
    date = _date_text(item.date) if item.date else None
    return [f for f in (item.credit, item.label, item.title, date, item.summary) if f]


def write_text(items: list[WrittenItem], heading: str = "Newsroom") -> str:
    """A text rendition of a listing page holding ``items``."""
    lines = [heading, ""]
    for number, item in enumerate(items, start=1):
        fields = _fields(item)
        lines += [f"  {number}. {fields[0]}", ""]
        for field in fields[1:]:
            lines += [f"    {field}", ""]
    return "\n".join(lines)


def write_html(items: list[WrittenItem], heading: str = "Newsroom") -> str:
    """The HTML of a listing page holding ``items``; item N links to its ``link`` or ``/n/N``."""
    parts = [f"<html><body><h1>{html.escape(heading)}</h1><ol class='item-list'>"]
    for number, item in enumerate(items, start=1):
        parts.append("<li>")
        if item.credit:
            parts.append(f"<span class='caption'>{html.escape(item.credit)}</span>")
        if item.label:
            parts.append(f"<p class='item-prehead'>{html.escape(item.label)}</p>")
        parts.append(
            f"<h5 class='item-title'><a href='{html.escape(item.link or f'/n/{number}')}'>"
            f"{html.escape(item.title)}</a></h5>"
        )
        if item.date:
            parts.append(f"<p class='item-date'>{_date_text(item.date)}</p>")
        if item.summary:
            parts.append(f"<p class='item-summary'>{html.escape(item.summary)}</p>")
        parts.append("</li>")
    parts.append("</ol></body></html>")
    return "".join(parts)


def write_text_bulleted(items: list[WrittenItem], heading: str = "Newsroom") -> str:
    """A text rendition of a home page: ``items`` bulleted (``  • ``) instead of numbered."""
    lines = [heading, ""]
    for item in items:
        fields = _fields(item)
        lines += [f"  \u2022 {fields[0]}", ""]
        for field in fields[1:]:
            lines += [f"    {field}", ""]
    return "\n".join(lines)


def write_text_flat(items: list[WrittenItem], heading: str = "Newsroom") -> str:
    """A flat, dash-separated text rendition: one field per line, ``-`` before each item."""
    lines = [heading]
    for item in items:
        lines += ["-", *_fields(item)]
    return "\n".join(lines) + "\n"


def write_text_date_led(items: list[WrittenItem], heading: str = "Newsroom") -> str:
    """A title-less flat rendition: each item's label, date and summary (no title); every
    item needs a date and a one-line summary."""
    lines = [heading]
    for item in items:
        if item.date is None or not item.summary:
            raise ValueError(f"{item.title!r}: a title-less item needs a date and a summary")
        lines += [line for line in (item.label, _date_text(item.date), item.summary) if line]
    return "\n".join(lines) + "\n"


def write_html_blocks(items: list[WrittenItem], heading: str = "Newsroom") -> str:
    """The HTML of a listing marked up as repeated blocks (no list); item N links to its
    ``link`` or ``/n/N``."""
    parts = [f"<html><body><h1>{html.escape(heading)}</h1><div class='view-content'>"]
    for number, item in enumerate(items, start=1):
        parts.append("<div class='views-row'>")
        if item.credit:
            parts.append(f"<span class='credit'>{html.escape(item.credit)}</span>")
        if item.label:
            parts.append(f"<div class='field-label'>{html.escape(item.label)}</div>")
        parts.append(
            f"<h4><a href='{html.escape(item.link or f'/n/{number}')}'>"
            f"{html.escape(item.title)}</a></h4>"
        )
        if item.date:
            parts.append(f"<div class='field-date'>{_date_text(item.date)}</div>")
        if item.summary:
            parts.append(f"<div class='field-summary'>{html.escape(item.summary)}</div>")
        parts.append("</div>")
    parts.append("</div></body></html>")
    return "".join(parts)
