"""Pages that declare the wrong charset: a codec that is no text encoding (``hex``, ``rot13``)
is ignored and the bytes detected; a page declared Latin-1 whose bytes are UTF-8 is read as
UTF-8 and the mismatch reported; genuine Latin-1 stays Latin-1. Directly and through a refresh
from a local server."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from feeds.ledger.store import Ledger
from feeds.model import Severity
from feeds.refresh.outcomes import Status
from feeds.refresh.refresher import Refresher
from feeds.text import read_document
from tests.http_server import LocalServer, Route
from tests.listing_writer import WrittenItem, write_html
from tests.refresh_kit import make_source

PAGE = "<html><body><p>Actualités : la réunion à Genève</p></body></html>"


@pytest.mark.parametrize("declared", ["hex", "rot13", "base64", "zlib", "utf-7", "no-such"])
def test_a_declared_codec_that_is_no_text_encoding_is_ignored_and_noted(declared: str) -> None:
    read = read_document(PAGE.encode(), source="s", charset=declared)
    assert read.text == PAGE
    assert read.encoding == "utf-8"
    assert read.notes == (f"declared charset {declared!r} is not a text encoding: ignored",)


def test_an_unusable_http_charset_gives_way_to_the_pages_own_declaration() -> None:
    page = '<meta charset="iso-8859-1"><p>Actualités</p>'.encode("latin-1")
    read = read_document(page, source="s", charset="hex")
    assert read.text == '<meta charset="iso-8859-1"><p>Actualités</p>'
    assert read.encoding == "iso8859-1"


@pytest.mark.parametrize("declared", ["iso-8859-1", "latin-1", "windows-1252", "us-ascii"])
def test_utf8_bytes_declared_latin1_are_read_as_utf8_and_reported(declared: str) -> None:
    read = read_document(PAGE.encode(), source="s", charset=declared)
    assert read.text == PAGE  # not "ActualitÃ©s"
    assert read.encoding == "utf-8"
    assert len(read.notes) == 1
    assert read.notes[0].endswith("but the bytes are UTF-8: read as UTF-8")


def test_genuine_latin1_and_plain_ascii_are_read_as_declared_without_a_note() -> None:
    latin = read_document(PAGE.encode("latin-1"), source="s", charset="iso-8859-1")
    assert (latin.text, latin.encoding, latin.notes) == (PAGE, "iso8859-1", ())
    ascii_page = read_document(b"<p>News</p>", source="s", charset="iso-8859-1")
    assert ascii_page.notes == ()


def test_undeclared_legacy_bytes_are_read_as_windows_1252() -> None:
    read = read_document("Actualités – Genève".encode("cp1252"), source="s")
    assert read.text == "Actualités – Genève"
    assert read.encoding == "cp1252"


def test_undeclared_utf8_with_one_broken_byte_stays_utf8() -> None:
    data = "Actualités à Genève, réunion".encode() + b"\xff"
    read = read_document(data, source="s")
    assert read.text == "Actualités à Genève, réunion\ufffd"


def listing_route(charset: str, body_encoding: str) -> Route:
    items = [WrittenItem(title="Réunion à Genève", date=dt.date(2026, 11, 20), summary="Été.")]
    return Route(
        write_html(items).encode(body_encoding),
        headers={"Content-Type": f"text/html; charset={charset}"},
    )


def test_a_refresh_of_a_page_declaring_hex_publishes_its_items(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    server.routes["/news"] = listing_route("hex", "utf-8")
    outcome = refresher.refresh(make_source(server))
    assert outcome.status == Status.UPDATED, outcome.error
    assert [stored.entry.title for stored in ledger.entries()] == ["Réunion à Genève"]


def test_a_refresh_of_utf8_declared_latin1_publishes_clean_titles_and_warns(
    server: LocalServer,
    refresher: Refresher,
    ledger: Ledger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.routes["/news"] = listing_route("iso-8859-1", "utf-8")
    with caplog.at_level(logging.WARNING, logger="feeds.refresh.refresher"):
        outcome = refresher.refresh(make_source(server))
    assert outcome.status == Status.UPDATED, outcome.error
    assert [stored.entry.title for stored in ledger.entries()] == ["Réunion à Genève"]
    assert [stored.entry.summary for stored in ledger.entries()] == ["Été."]
    warned = [r.getMessage() for r in caplog.records if "UTF-8" in r.getMessage()]
    assert warned == [
        f"source office: {server.url('/news')}: declared iso8859-1 but the bytes are UTF-8: "
        "read as UTF-8"
    ]
    charset_notes = [d for d in outcome.diagnostics if d.code == "charset"]
    assert [d.severity for d in charset_notes] == [Severity.WARNING]
