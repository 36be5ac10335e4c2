"""Property-based tests of the ILO adapter: it never fails on arbitrary input except with its
own parse error, and a listing written from known items reads back as those items in either
form."""

from __future__ import annotations

import contextlib
import datetime as dt

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from feeds.errors import ParseError
from feeds.identity import normalise_text
from sources import ilo
from tests.conftest import make_context
from tests.listing_writer import (
    WrittenItem,
    write_html,
    write_html_blocks,
    write_text,
    write_text_bulleted,
    write_text_flat,
)

CONTEXT = make_context()


@given(st.text())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_text_never_raises_anything_but_a_parse_error(text: str) -> None:
    try:
        result = ilo.parse(text, CONTEXT)
    except ParseError:
        return
    assert result.is_listing == bool(result.entries)
    assert all(entry.title for entry in result.entries)


@given(st.binary(max_size=2000))
@settings(max_examples=200)
def test_arbitrary_bytes_never_raise_anything_but_a_parse_error(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        ilo.parse(data, CONTEXT)


_LINE = st.text(
    alphabet=st.characters(
        min_codepoint=32, max_codepoint=0x2FF, exclude_characters="<>&©\u00a0\x7f"
    ),
    min_size=1,
    max_size=40,
).map(lambda s: " ".join(s.split()))
_ITEM_LINES = st.lists(
    st.one_of(_LINE, st.sampled_from(["  1. Point", "    12 May 2020", "2021", "  3.", ""])),
    max_size=30,
)


@given(_ITEM_LINES)
@settings(max_examples=300)
def test_listing_shaped_text_never_raises(lines: list[str]) -> None:
    text = "\n".join(lines)
    assume(text.strip())
    result = ilo.parse(text, CONTEXT)
    assert len({entry.id for entry in result.entries}) == len(result.entries)


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzAEIOU", min_size=2, max_size=9)
_TITLE = st.lists(_WORD, min_size=2, max_size=12).map(lambda ws: " ".join(ws).capitalize())
_SUMMARY = st.lists(_WORD, min_size=10, max_size=40).map(lambda ws: " ".join(ws).capitalize() + ".")
_ITEM = st.builds(
    WrittenItem,
    title=_TITLE,
    date=st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 12, 31)),
    label=st.one_of(st.none(), st.sampled_from(["Press release", "News", "Social protection"])),
    summary=st.one_of(st.just(""), _SUMMARY),
    credit=st.one_of(st.none(), st.sampled_from(["© NLO 2024", "© A. Person / NLO"])),
)


@given(
    st.lists(_ITEM, min_size=1, max_size=12, unique_by=lambda i: (normalise_text(i.title), i.date))
)
@settings(max_examples=150)
def test_written_items_read_back_identically_from_text_and_html(items: list[WrittenItem]) -> None:
    from_text = ilo.parse(write_text(items), CONTEXT)
    from_html = ilo.parse(write_html(items), CONTEXT)
    for result in (from_text, from_html):
        read = [
            WrittenItem(
                title=e.title,
                date=e.date,
                label=e.labels[0] if e.labels else None,
                summary=e.summary,
                credit=e.credit,
            )
            for e in result.entries
        ]
        assert read == items
    assert [e.id for e in from_text.entries] == [e.id for e in from_html.entries]
    assert [e.published for e in from_text.entries] == [e.published for e in from_html.entries]
    assert [e.link for e in from_html.entries] == [
        f"https://www.example.org/n/{n}" for n in range(1, len(items) + 1)
    ]


_FLAT_LINES = st.lists(
    st.one_of(
        _LINE,
        st.sampled_from(
            ["-", "May 2021", "12 May 2020", "2020/06/30", "6月 2020", "Press release", "  • Point"]
        ),
    ),
    max_size=30,
)


@given(_FLAT_LINES)
@settings(max_examples=300)
def test_flat_shaped_text_never_raises(lines: list[str]) -> None:
    text = "\n".join(lines)
    assume(text.strip())
    result = ilo.parse(text, CONTEXT)
    assert len({entry.id for entry in result.entries}) == len(result.entries)
    assert all(entry.title for entry in result.entries)


@given(
    st.lists(_ITEM, min_size=2, max_size=12, unique_by=lambda i: (normalise_text(i.title), i.date))
)
@settings(max_examples=100)
def test_written_items_read_back_with_the_same_ids_from_every_rendition(
    items: list[WrittenItem],
) -> None:
    indented = ilo.parse(write_text(items), CONTEXT).entries
    for write in (write_text_flat, write_text_bulleted, write_html_blocks):
        entries = ilo.parse(write(items), CONTEXT).entries
        assert [(e.id, e.published, e.title, e.summary, e.labels, e.credit) for e in entries] == [
            (e.id, e.published, e.title, e.summary, e.labels, e.credit) for e in indented
        ], write.__name__
