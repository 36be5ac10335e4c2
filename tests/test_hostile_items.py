"""Hostile items from every kind of source (control characters, lone surrogates, bidirectional
overrides, a megabyte of title, links with spaces, control characters, ``javascript:`` and
relative garbage) are fetched, stored in a real ledger and served: every feed answers, and
reads as a valid feed with the other entries intact."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feeds.config import Config
from feeds.ledger.store import Ledger
from feeds.links import web_url
from feeds.model import TITLE_LIMIT
from feeds.refresh.outcomes import Status
from sources import ADAPTERS
from tests.conftest import make_context
from tests.hostile_kit import (
    HUGE,
    SOURCES,
    UNPUBLISHABLE,
    assert_publishable,
    client_for,
    hostile_config,
    hostile_items,
    hostile_server,
    lone_surrogates,
    served_feeds,
    sqlite_ledger,
)
from tests.http_server import LocalServer
from tests.refresh_kit import Clock, make_refresher


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with hostile_server() as running:
        yield running


@pytest.fixture
def config(server: LocalServer, tmp_path: Path) -> Config:
    return hostile_config(server, tmp_path)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = sqlite_ledger(tmp_path)
    yield opened
    opened.close()


def test_hostile_items_from_every_kind_of_source_are_refreshed_stored_and_served(
    config: Config, ledger: Ledger
) -> None:
    refresher = make_refresher(ledger, Clock())
    try:
        outcomes = {source.id: refresher.refresh(source) for source in config.sources}
    finally:
        refresher.fetcher.close()
    assert {source_id: o.status for source_id, o in outcomes.items()} == dict.fromkeys(
        SOURCES, Status.UPDATED
    ), {source_id: o.error for source_id, o in outcomes.items()}
    for source_id, outcome in outcomes.items():  # the megabyte of title is cut, and said so
        cuts = [d for d in outcome.diagnostics if d.code == "cut-text"]
        assert len(cuts) == 1, (source_id, outcome.diagnostics)
        assert f"its title of {len(HUGE.strip())} characters to {TITLE_LIMIT}" in cuts[0].message

    client = client_for(config, ledger)
    for source_id, (_kind, path, _type, _write) in SOURCES.items():
        for parsed in served_feeds(client, source_id).values():
            check_served(parsed.entries, linked=path != "/ilo.txt")


def check_served(entries: list[Any], *, linked: bool) -> None:
    """The hostile items as a feed carries them: clean, bounded, with valid links; the plain
    ones intact."""
    for entry in entries:
        assert_publishable(entry)
    by_title = {entry.title: entry for entry in entries}
    assert len(by_title) == len(entries)
    assert by_title["Plain first item"].link.endswith("/news/first") is linked
    assert by_title["Plain last item"].link.endswith("/news/last") is linked
    assert "Control characters" in by_title
    assert "Bidi override isolate" in by_title
    (huge,) = (title for title in by_title if title.startswith("Huge Huge"))
    assert huge.endswith("Huge\u2026")
    assert [title for title in by_title if title.startswith("Lone")]
    # links with spaces are encoded, not cut: two items stay two
    assert by_title["Budget 2025"].link.endswith("/news/2025%20budget") is linked
    assert by_title["Plan 2025"].link.endswith("/news/2025%20plan") is linked
    if linked:
        assert by_title["Control link"].link == "https://example.org/a%01b"
    assert by_title["Script link"].link.startswith("http://127.0.0.1:")
    assert by_title["Garbage link"].link.startswith("http://127.0.0.1:")


def test_a_lone_surrogate_in_a_json_feed_item_no_longer_fails_its_source(
    config: Config, ledger: Ledger
) -> None:
    refresher = make_refresher(ledger, Clock())
    try:
        outcome = refresher.refresh(next(s for s in config.sources if s.id == "json"))
    finally:
        refresher.fetcher.close()
    assert outcome.status is Status.UPDATED, outcome.error
    stored = {s.entry.title: s.entry for s in ledger.entries()}
    assert stored["Image surrogate"].link == "https://example.org/xy"
    assert stored["Image surrogate"].image == "https://example.org/.png"
    assert stored["Lone surrogate"].link.endswith("/news/xy")


@pytest.mark.parametrize("source_id", list(SOURCES))
def test_every_adapter_gives_clean_entries_from_a_hostile_document(source_id: str) -> None:
    kind = SOURCES[source_id][0]
    options = (
        {"item": "div.item", "title": "h2", "link": "h2 a@href", "label": "span.label"}
        if kind == "html"
        else {}
    )
    kind, _path, content_type, write = SOURCES[source_id]
    document = lone_surrogates(write(hostile_items()), content_type)
    context = make_context(page_url="https://www.example.org/news/")
    result = ADAPTERS[kind](options)(document, context)
    titles = [entry.title for entry in result.entries]
    assert titles[0] == "Plain first item"
    assert titles[-1] == "Plain last item"
    for entry in result.entries:
        for text in (entry.title, entry.summary, *entry.labels, entry.link, entry.image or ""):
            assert not UNPUBLISHABLE.search(text), (entry.id, text)
        assert len(entry.title) <= TITLE_LIMIT
        assert web_url(entry.link) == entry.link
    by_title = {entry.title: entry for entry in result.entries}
    assert by_title["Script link"].link.startswith("https://www.example.org/news/")
    assert by_title["Garbage link"].link.startswith("https://www.example.org/news/")
    if kind == "html":  # identified by their links: encoded, they stay two items
        assert by_title["Budget 2025"].id != by_title["Plan 2025"].id
        assert by_title["Budget 2025"].link == "https://www.example.org/news/2025%20budget"
        assert by_title["Plain first item"].labels == ("Label",)
