"""The flat text front ends of the ILO listing grammar: renditions with no indentation.

Dash-separated pages put one field per line and start each item after a line holding only
``-``; title-less pages (no dash) start each item at its date line (``27 June 2013`` then a
summary line, or label, date and summary). Both only cut lines into items and group headings;
``grammar`` decides what each field is, as it does for the indented rendition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from feeds.model import Diagnostic
from sources.ilo.days import is_group_heading
from sources.ilo.fields import (
    RawField,
    RawItem,
    drop_cut_item,
    is_date,
    is_short_label,
    skipped_line,
)

SEPARATOR = "-"
#: A flat page with fewer date lines than this is prose with a date in it, not a listing.
MIN_DATE_LINES = 2


@dataclass(slots=True)
class _Page:
    """Items as they are cut, and what was skipped."""

    items: list[RawItem] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def add(self, texts: list[str], group: str | None, line: int) -> None:
        self.items.append(
            RawItem(
                fields=tuple(RawField(text) for text in texts),
                group=group,
                position=len(self.items) + 1,
                line=line,
            )
        )

    def skip(self, line: int, text: str, where: str) -> None:
        self.diagnostics.append(skipped_line(line, text, where))


def _numbered(lines: list[str]) -> list[tuple[int, str]]:
    return [(number, text) for number, text in enumerate(lines, start=1) if text]


def is_dash_separated(lines: list[str]) -> bool:
    """True for a page with at least one line holding only ``-``."""
    return any(line == SEPARATOR for line in lines)


def cut_dash_separated(lines: list[str]) -> tuple[list[RawItem], list[Diagnostic]]:
    """Cut the (clean, stripped) lines of a dash-separated rendition into raw items.

    A month or year line counts as a group heading only just before a ``-``; everything else
    between two ``-`` lines is one item, one field per line.
    """
    page = _Page()
    group = page_group = None
    current: list[tuple[int, str]] | None = None  # ``None`` before the first ``-``
    item_line = 0
    pending: list[tuple[int, str]] = []
    for number, text in _numbered(lines):
        if text != SEPARATOR:
            pending.append((number, text))
            continue
        if pending and is_group_heading(pending[-1][1]):
            group = pending.pop()[1]
        if current is None:
            for line, skipped in pending:
                page.skip(line, skipped, "page heading" if line == 1 else "prelude")
        else:
            current.extend(pending)
            page.add([t for _, t in current], page_group, item_line)
        pending, current, item_line, page_group = [], [], number + 1, group
    if current is not None:
        current.extend(pending)
        if current:
            page.add([t for _, t in current], page_group, item_line)
        if (cut := drop_cut_item(page.items)) is not None:
            page.diagnostics.append(cut)
    else:
        for line, skipped in pending:
            page.skip(line, skipped, "line outside any item")
    return page.items, page.diagnostics


def cut_date_led(lines: list[str]) -> tuple[list[RawItem], list[Diagnostic]]:
    """Cut the (clean, stripped) lines of a flat page with no separators into raw items.

    Each item starts at its date line, or at a label line just before it: the line after a
    date is the summary, so a label is a short line that is not the one right after the
    previous date. With fewer than ``MIN_DATE_LINES`` date lines, each line is an item of one
    field (the grammar tells whether they are news). A month or year line before an item is
    its group heading.
    """
    numbered = _numbered(lines)
    page = _Page()
    if numbered and numbered[0][0] == 1 and not is_date(numbered[0][1]):
        page.skip(1, numbered.pop(0)[1], "page heading")
    dates = [i for i, (_, text) in enumerate(numbered) if is_date(text)]
    if len(dates) < MIN_DATE_LINES:
        for line, text in numbered:
            if is_group_heading(text):
                page.skip(line, text, "heading")
            else:
                page.add([text], None, line)
        return page.items, page.diagnostics
    starts: list[int] = []
    headings: dict[int, str] = {}
    for k, at in enumerate(dates):
        floor = dates[k - 1] + 2 if k else 0
        start = at
        before = numbered[start - 1][1] if start - 1 >= floor else None
        if before is not None and is_short_label(before) and not is_group_heading(before):
            start -= 1
        if start - 1 >= floor and is_group_heading(numbered[start - 1][1]):
            headings[start] = numbered[start - 1][1]
        starts.append(start)
    group: str | None = None
    for k, start in enumerate(starts):
        group = headings.get(start, group)
        end = starts[k + 1] - (starts[k + 1] in headings) if k + 1 < len(starts) else len(numbered)
        page.add([text for _, text in numbered[start:end]], group, numbered[start][0])
    first = starts[0] - (starts[0] in headings)
    for line, text in numbered[:first]:
        page.skip(line, text, "prelude")
    return page.items, page.diagnostics
