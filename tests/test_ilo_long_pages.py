"""The ILO adapter reads a listing of any length: no item number is too large for the text
form, no count of list items too large for the HTML form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from sources import ilo
from tests.conftest import make_context
from tests.listing_writer import WrittenItem, write_html, write_text

COUNT = 12_000  # past 9,999: item numbers of five digits


def _items(count: int) -> list[WrittenItem]:
    return [
        WrittenItem(
            title=f"Workers and employers meet, round {number}",
            date=dt.date(2026, 11, 1) - dt.timedelta(days=number // 10),
            summary=f"The meeting of round {number} closed.",
        )
        for number in range(1, count + 1)
    ]


@pytest.mark.parametrize("write", [write_text, write_html], ids=["text", "html"])
def test_a_page_of_twelve_thousand_items_gives_twelve_thousand_distinct_entries(
    write: Callable[[list[WrittenItem]], str],
) -> None:
    items = _items(COUNT)
    result = ilo.parse(write(items), make_context())
    assert len(result.entries) == COUNT
    assert len({entry.id for entry in result.entries}) == COUNT
    assert [entry.title for entry in result.entries] == [item.title for item in items]
    assert result.entries[-1].summary == f"The meeting of round {COUNT} closed."
