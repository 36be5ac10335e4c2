"""Text hygiene shared by every adapter: decoding documents and cleaning strings.

Turns fetched bytes into text (refusing binary data with a clear error), removes what must
never reach a feed (control characters, XML-forbidden code points, bidirectional overrides, odd
whitespace) and shortens text past a bound at a word.
"""

from __future__ import annotations

import codecs
import re

from feeds.errors import ParseError

# XML 1.0 forbids C0 controls but tab/newline/return, surrogates and U+FFFE/U+FFFF; C1 controls
# and other noncharacters are discouraged: none of them is ever meant as text in a news item.
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
#: Invisible characters, and the bidirectional embeddings, overrides and isolates
#: (U+202A-U+202E, U+2066-U+2069): one left unclosed reverses the text after it where it is
#: shown (a widget on a partner's page), so none is kept.
_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad" + _BIDI_CONTROLS
_ODD_SPACES = "\t\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
#: Odd spaces become plain ones and invisible characters go, in one pass.
_PLAIN = str.maketrans(dict.fromkeys(_ODD_SPACES, " ") | dict.fromkeys(_INVISIBLE))
_NEEDS_WORK = re.compile(f"[{_INVISIBLE}{_ODD_SPACES}]")


def _scrub(text: str) -> str:
    if _FORBIDDEN.search(text):
        text = _FORBIDDEN.sub("", text)
    return text.translate(_PLAIN) if _NEEDS_WORK.search(text) else text


#: What ``clean_text`` changes, besides spaces: forbidden, invisible and odd characters, and
#: any whitespace but a space (what ``str.split`` splits at: line breaks, U+0085, U+2028...).
_UNCLEAN = re.compile(
    f"[{_FORBIDDEN.pattern[1:-1]}{_INVISIBLE}{_ODD_SPACES}\n\r\x0b\x0c\x1c-\x1f\x85\u2028\u2029]"
)


def clean_text(text: str) -> str:
    """Drop forbidden, invisible and bidirectional formatting characters and collapse all
    whitespace to single spaces."""
    if not (_UNCLEAN.search(text) or "  " in text or text[:1] == " " or text[-1:] == " "):
        return text  # clean already (most text is, and every entry's is cleaned when made)
    return " ".join(_scrub(text).split())


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def clean_paragraphs(text: str) -> str:
    """Like ``clean_text`` within each paragraph; paragraphs (text between blank lines) are
    kept, separated by one blank line."""
    if "\n" not in text:
        return clean_text(text)
    return "\n\n".join(filter(None, map(clean_text, _PARAGRAPH_BREAK.split(text))))


def shorten(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its start cut at a word (or within
    a word too long to keep whole) and ended by an ellipsis, ``limit`` characters at most."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" \n,;:.-") + "\u2026"


def clean_line(line: str) -> str:
    """Like ``clean_text`` but keeps a line's leading indentation (as plain spaces; a tab is
    four)."""
    return _scrub(line.replace("\t", "    ")).rstrip()


_META_CHARSET = re.compile(
    rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)"""
    rb"""|<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)


def _declared_charset(head: bytes) -> str | None:
    """The charset a document declares: an XML declaration's encoding, or an HTML page's
    ``<meta>`` charset."""
    match = _META_CHARSET.search(head)
    if match is None:
        return None
    return (match[1] or match[2]).decode("ascii")


def decode_document(data: bytes, *, source: str, charset: str | None = None) -> str:
    """Decode a fetched document to text.

    Honours a byte-order mark, then the declared ``charset`` (from HTTP), then an XML
    declaration's encoding or a ``<meta>`` charset in the page, then UTF-8; undecodable bytes
    become U+FFFD. Raises ``ParseError`` naming ``source`` for empty or binary data.
    """
    if not data.strip():
        raise ParseError(source, "the document is empty")
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ParseError(source, "binary data, not a text or HTML page")
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    encoding = "utf-8"
    charset = charset or _declared_charset(data[:2048])
    if charset:
        try:
            encoding = codecs.lookup(charset).name
        except LookupError:
            encoding = "utf-8"
    text = data.decode(encoding, errors="replace")
    controls = sum(1 for c in text[:4096] if c < " " and c not in "\t\n\r\f")
    if controls > len(text[:4096]) // 20:
        raise ParseError(source, "binary data, not a text or HTML page")
    return text
