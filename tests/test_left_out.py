"""What the model refuses never stops a feed: rows stored before the model checked them are
served clean, or left out when nothing clean is left of them; an entry a feed cannot be
rendered with is left out; both are logged and counted per source on the status page."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from feeds.config import Config
from feeds.ledger.store import Ledger
from feeds.ledger.tables import entries_table
from feeds.model import TITLE_LIMIT, UTC, StoredEntry
from feeds.text import shorten
from tests.hostile_kit import (
    BASE,
    HUGE,
    assert_publishable,
    client_for,
    hostile_config,
    served_feeds,
    sqlite_ledger,
)
from tests.http_server import LocalServer
from tests.refresh_kit import ObservedLedger


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The hostile sources' configuration (their server is not needed: rows are written)."""
    return hostile_config(LocalServer(base_url="http://127.0.0.1:9"), tmp_path)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = sqlite_ledger(tmp_path)
    yield opened
    opened.close()


def insert_row(ledger: Ledger, n: int, **values: object) -> None:
    """A row written straight into the entries table: what an earlier version (or a hand)
    may have stored, never checked by the model."""
    published = dt.datetime(2026, 11, 20, 9, 0, n, tzinfo=UTC)
    row: dict[str, object] = {
        "source_id": "rss",
        "id": f"urn:uuid:00000000-0000-5000-8000-{n:012d}",
        "title": f"Row {n}",
        "link": f"https://www.example.org/rows/{n}",
        "listing_date": None,
        "published": published,
        "updated": published,
        "first_seen": published,
        "summary": "",
        "labels": [],
        "credit": None,
        "group_heading": None,
        "image": None,
        "content_hash": "0" * 32,
        "on_page": True,
        "removed_at": None,
        "instant": int(published.timestamp()),
    }
    row.update(values)
    with ledger.engine.begin() as connection:
        connection.execute(entries_table.insert().values(row))


def test_rows_stored_before_the_model_checked_them_are_served_clean_or_left_out(
    config: Config, ledger: Ledger
) -> None:
    insert_row(ledger, 1, title="Plain row")
    insert_row(ledger, 2, title="Control\x01 row \u202ereversed", link="https://example.org/a\x01b")
    insert_row(ledger, 3, title=HUGE, summary="\x00" + "word " * 5000, labels=["\u202eL\x01"])
    insert_row(ledger, 4, title="\x01\x02")  # nothing left of its title
    insert_row(ledger, 5, title="Script row", link="javascript:alert(1)")
    insert_row(ledger, 6, title="Image row", image="https://example.org/i mg.png\x01")
    client = client_for(config, ledger)

    for parsed in served_feeds(client, "rss").values():
        for entry in parsed.entries:
            assert_publishable(entry)
        by_title = {entry.title: entry for entry in parsed.entries}
        assert set(by_title) == {
            "Plain row", "Control row reversed", "Image row", shorten(HUGE.strip(), TITLE_LIMIT),
        }  # fmt: skip
        assert by_title["Control row reversed"].link == "https://example.org/a%01b"
    status = json.loads(client.get("/status.json", base_url=BASE).data)
    rss = next(source for source in status["sources"] if source["id"] == "rss")
    assert rss["left_out_of_feeds"] == 2
    assert rss["healthy"] is False
    # read newest first: the row without a title was the last one left out
    assert rss["left_out_last_entry"] == "urn:uuid:00000000-0000-5000-8000-000000000004"
    assert "an entry needs a title" in rss["left_out_last_reason"]
    assert status["healthy"] is False
    page = client.get("/status", base_url=BASE).data.decode()
    assert "2 entries" in page


def tamper(found: Iterable[StoredEntry]) -> None:
    """Give the entry titled "Tampered row" a link and a title no XML can hold."""
    for stored in found:
        if stored.entry.title == "Tampered row":
            object.__setattr__(stored.entry, "link", "https://example.org/a\x01b")
            object.__setattr__(stored.entry, "title", "Tampered \ud800row")


class TamperingLedger(ObservedLedger):
    """The real ledger, handing out one entry with a link no XML can hold, as if the model
    had let it through (in every read of entries: all of them, or a batch of the newest):
    the renderer's own guard must leave it out."""

    def observe(self, found: Sequence[StoredEntry], *, first: bool) -> None:
        tamper(found)


def test_an_entry_a_feed_cannot_be_rendered_with_is_left_out_and_shown_on_the_status_page(
    config: Config, tmp_path: Path
) -> None:
    ledger = TamperingLedger(Ledger.open(f"sqlite:///{tmp_path / 'tampered.db'}").engine)
    try:
        insert_row(ledger, 1, title="Plain row")
        insert_row(ledger, 2, title="Tampered row")
        client = client_for(config, ledger)
        for parsed in served_feeds(client, "rss").values():
            assert [entry.title for entry in parsed.entries] == ["Plain row"]
        status = json.loads(client.get("/status.json", base_url=BASE).data)
        rss = next(source for source in status["sources"] if source["id"] == "rss")
        assert rss["left_out_of_feeds"] == 1
        assert rss["left_out_last_entry"] == "urn:uuid:00000000-0000-5000-8000-000000000002"
        assert "the feed cannot be rendered with it" in rss["left_out_last_reason"]
        assert "rss" in client.get("/status", base_url=BASE).data.decode()
    finally:
        ledger.close()
