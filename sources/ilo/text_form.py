"""The text front end of the ILO listing grammar: reads a text rendition of a listing page.

A text rendition is what a text browser shows of the page: items start with two spaces and a
number (``  1. ``) or a bullet (``  • ``, home pages), their fields are indented and separated
by blank lines, group headings and the page's heading and prelude are unindented. This module
only cuts the text into items, fields and headings; ``grammar`` decides what each field is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from feeds.model import Diagnostic, Severity
from feeds.text import clean_text
from sources.ilo.days import is_group_heading
from sources.ilo.fields import RawField, RawItem, skipped_line

_ITEM = re.compile(r"^  (?:(\d{1,9})\.|[\u2022\u25e6\u25aa])(?: (.*))?$")
_FIRST_LINE_ITEM = re.compile(r"^(?:(\d{1,9})\.|[\u2022\u25e6\u25aa]) (.*)$")
_URL_OR_CONTACT = re.compile(
    r"(?:https?://|www\.|@[\w-]+\.|^(?:tel|fax|phone|email|e-mail|t|f)\s*[.:])", re.IGNORECASE
)
_MAX_HEADING_WORDS = 10


def looks_like_heading(line: str) -> bool:
    """A group heading is a month, a year, or a short title with no final period."""
    if is_group_heading(line):
        return True
    return (
        len(line.split()) <= _MAX_HEADING_WORDS
        and not line.endswith((".", ":", ";", ","))
        and not _URL_OR_CONTACT.search(line)
        and sum(c.isdigit() for c in line) < 4
    )


@dataclass(slots=True)
class _Cutter:
    """The state of one pass over the lines of a text rendition."""

    items: list[RawItem] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    loose_lines: list[tuple[int, str]] = field(default_factory=list)
    group: str | None = None
    fields: list[list[str]] | None = None
    item_line: int = 0
    after_blank: bool = True

    def close_item(self) -> None:
        if self.fields is not None:
            # each line without its indent: most fields are then clean text already
            texts = (
                clean_text(parts[0].strip() if len(parts) == 1 else " ".join(map(str.strip, parts)))
                for parts in self.fields
            )
            self.items.append(
                RawItem(
                    fields=tuple(RawField(text) for text in texts if text),
                    group=self.group,
                    position=len(self.items) + 1,
                    line=self.item_line,
                )
            )
        self.fields = None

    def settle_loose_lines(self, number: int) -> None:
        """Decide, at the start of an item, what the unindented lines before it were."""
        loose, self.loose_lines = self.loose_lines, []
        before_first_item = not self.items
        if before_first_item and loose and loose[0][0] == 1:
            if is_group_heading(loose[0][1]):
                self.group = clean_text(loose[0][1])
                loose = loose[1:]
            else:
                loose = loose[1:]  # the page heading
        heading_at = None
        if loose and looks_like_heading(loose[-1][1]):
            heading_at = len(loose) - 1
        if heading_at is not None:
            self.group = clean_text(loose[heading_at][1])
        elif not loose and number == 1 and not before_first_item:
            self.group = None  # numbering restarts under an empty heading
        for index, (line_number, text) in enumerate(loose):
            if index == heading_at:
                continue
            where = "prelude" if before_first_item else "line between items"
            severity = Severity.INFO if before_first_item else Severity.WARNING
            self.diagnostics.append(skipped_line(line_number, text, where, severity))


def is_item_line(line: str, line_number: int) -> bool:
    """True for the first line of a numbered or bulleted item."""
    return bool(_ITEM.match(line) or (line_number == 1 and _FIRST_LINE_ITEM.match(line)))


def cut_text(lines: list[str]) -> tuple[list[RawItem], list[Diagnostic]]:
    """Cut the (clean) lines of an indented rendition into raw items, with diagnostics for
    the lines it skipped."""
    cutter = _Cutter()
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            cutter.after_blank = True
            continue
        match = _ITEM.match(line)
        if match is None and line_number == 1:
            match = _FIRST_LINE_ITEM.match(line)
        if match is not None:
            cutter.close_item()
            cutter.settle_loose_lines(int(match[1] or 0))  # a bullet: no numbering
            cutter.fields = [[match[2]]] if match[2] and match[2].strip() else []
            cutter.item_line = line_number
        elif line.startswith(" "):
            if cutter.fields is None:
                cutter.diagnostics.append(
                    skipped_line(line_number, line.strip(), "indented line outside any item")
                )
            elif cutter.after_blank or not cutter.fields:
                cutter.fields.append([line])
            else:
                cutter.fields[-1].append(line)
        else:
            cutter.close_item()
            cutter.loose_lines.append((line_number, clean_text(line)))
        cutter.after_blank = False
    cutter.close_item()
    for line_number, loose in cutter.loose_lines:
        cutter.diagnostics.append(skipped_line(line_number, loose, "line after the last item"))
    return cutter.items, cutter.diagnostics
