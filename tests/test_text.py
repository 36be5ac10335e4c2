"""Text hygiene: decoding fetched bytes and cleaning strings."""

from __future__ import annotations

import pytest

from feeds.errors import FeedpubError, ParseError
from feeds.text import (
    clean_line,
    clean_lines,
    clean_paragraphs,
    clean_text,
    decode_document,
    shorten,
)


def test_clean_text_drops_forbidden_and_invisible_characters() -> None:
    assert clean_text(" a\x00b\u200b c\u00a0\u00a0d\x1b\ufffe \n") == "ab c d"


def test_clean_line_keeps_indentation_as_spaces() -> None:
    assert clean_line("\u00a0\u00a0 1. Title \t ") == "   1. Title"
    assert clean_line("\tfield") == "    field"


def test_decode_honours_bom_charset_and_meta() -> None:
    assert decode_document("\ufeffcafé".encode(), source="s") == "café"
    assert decode_document("café".encode("utf-16"), source="s") == "café"
    assert decode_document("café".encode("latin-1"), source="s", charset="iso-8859-1") == "café"
    page = '<meta charset="windows-1252"><p>caf\xe9</p>'.encode("latin-1")
    assert "café" in decode_document(page, source="s")
    assert decode_document(b"caf\xe9", source="s", charset="no-such-charset") == "café"


@pytest.mark.parametrize(
    "data", [b"", b"   \n", b"\x89PNG\r\n\x1a\n\x00\x00", bytes(range(1, 32)) * 20]
)
def test_decode_refuses_empty_and_binary_documents_naming_the_source(data: bytes) -> None:
    with pytest.raises(ParseError, match=r"^pages/x\.txt: ") as caught:
        decode_document(data, source="pages/x.txt")
    assert isinstance(caught.value, FeedpubError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.source == "pages/x.txt"


def test_decode_honours_an_xml_declaration_s_encoding() -> None:
    feed = "<?xml version='1.0' encoding='ISO-8859-1'?><rss><title>Actualités</title></rss>"
    assert "Actualités" in decode_document(feed.encode("latin-1"), source="s")


def test_clean_text_removes_bidirectional_overrides_and_isolates() -> None:
    controls = "".join(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
    assert clean_text(f"Price\u202e 01$ {controls}end\u2069") == "Price 01$ end"


def test_clean_paragraphs_keeps_paragraphs_and_cleans_each() -> None:
    assert clean_paragraphs("a\x01  b\n \n\n c\u202e\nd") == "a b\n\nc d"
    assert clean_paragraphs("one line") == "one line"


def test_shorten_cuts_at_a_word_with_an_ellipsis_within_the_limit() -> None:
    assert shorten("short", 10) == "short"
    assert shorten("alpha beta gamma delta", 15) == "alpha beta\u2026"
    assert shorten("x" * 50, 10) == "x" * 9 + "\u2026"  # no word to cut at
    assert len(shorten("word " * 300_000, 1_000)) <= 1_000


def test_clean_lines_cleans_each_line_as_clean_line_does() -> None:
    for text in ("a\n  b \n\n c", "a\tb\n\u00a0 c\x00d\n", "x\x0by\r\nz\u2028w", ""):
        assert clean_lines(text) == [clean_line(line) for line in text.splitlines()]
