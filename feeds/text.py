"""Text hygiene shared by every adapter: decoding documents and cleaning strings.

Turns fetched bytes into text (refusing binary data with a clear error), removes what must
never reach a feed (control characters, XML-forbidden code points, bidirectional overrides, odd
whitespace) and shortens text past a bound at a word.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

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
    # nothing to scrub (in ASCII, what ``_UNCLEAN`` finds is what is not printable: checked
    # far quicker than by the pattern)
    if (text.isascii() and text.isprintable()) or _UNCLEAN.search(text) is None:
        if "  " not in text and text[:1] != " " and text[-1:] != " ":
            return text  # clean already (most text is, and every entry's is cleaned when made)
        return " ".join(text.split())  # only spaces to collapse
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


def clean_lines(text: str) -> list[str]:
    """The lines of ``text``, each made clean by ``clean_line``."""
    if "\t" in text or _FORBIDDEN.search(text) or _NEEDS_WORK.search(text):
        return [clean_line(line) for line in text.splitlines()]
    return [line.rstrip() for line in text.splitlines()]  # no line has anything to scrub


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


#: Charsets pages declare by habit on bytes that are often UTF-8 in truth (editors and
#: templates that never changed their declaration).
_HABITUAL_CHARSETS = frozenset({"ascii", "iso8859-1", "cp1252", "latin-1"})
#: Text codecs Python knows that no web page is read with (UTF-7 hides markup).
_NEVER_FOR_PAGES = frozenset({"utf-7"})


@dataclass(frozen=True, slots=True)
class DecodedText:
    """A document's text, the encoding it was read with, and what the reading noticed (a
    declared charset that was wrong or unusable)."""

    text: str
    encoding: str
    notes: tuple[str, ...] = ()


def _text_encoding(name: str) -> str | None:
    """The codec's name if ``name`` is a text encoding a page may be read with, else None
    (unknown names, and codecs such as ``hex`` or ``rot13`` that are not bytes-to-text)."""
    try:
        codec = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # the flag ``bytes.decode`` itself checks before refusing a codec such as ``hex``
    if not getattr(codec, "_is_text_encoding", True) or codec.name in _NEVER_FOR_PAGES:
        return None
    return codec.name


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_document(data: bytes, *, source: str, charset: str | None = None) -> DecodedText:
    """Decode a fetched document to text, saying how.

    Honours a byte-order mark, then the declared ``charset`` (from HTTP), then an XML
    declaration's encoding or a ``<meta>`` charset in the page; a declared charset that is no
    text encoding is noted and ignored. Without a usable one, UTF-8 if the bytes are UTF-8,
    else Windows-1252 (the web's legacy default). A page declared Latin-1 or Windows-1252
    whose bytes are UTF-8 holding non-ASCII text is read as UTF-8, with a note (it would be
    mojibake). Undecodable bytes become U+FFFD. Raises ``ParseError`` naming ``source`` for
    empty or binary data.
    """
    if not data.strip():
        raise ParseError(source, "the document is empty")
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ParseError(source, "binary data, not a text or HTML page")
    for bom, marked in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return DecodedText(data.decode(marked, errors="replace"), marked)
    notes: list[str] = []
    encoding: str | None = None
    for declared in (charset, _declared_charset(data[:2048])):
        if declared and encoding is None:
            encoding = _text_encoding(declared)
            if encoding is None:
                notes.append(f"declared charset {declared[:40]!r} is not a text encoding: ignored")
    if encoding in _HABITUAL_CHARSETS and not data.isascii() and _is_utf8(data):
        notes.append(f"declared {encoding} but the bytes are UTF-8: read as UTF-8")
        encoding = "utf-8"
    if encoding is None:
        encoding = "utf-8" if _is_utf8(data) else _fallback_encoding(data)
    text = data.decode(encoding, errors="replace")
    controls = sum(1 for c in text[:4096] if c < " " and c not in "\t\n\r\f")
    if controls > len(text[:4096]) // 20:
        raise ParseError(source, "binary data, not a text or HTML page")
    return DecodedText(text, encoding, tuple(notes))


#: A multi-byte UTF-8 sequence (lead byte and continuation bytes).
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _fallback_encoding(data: bytes) -> str:
    """For bytes that are not all UTF-8: UTF-8 still if they hold at least as many UTF-8
    sequences as stray non-ASCII bytes (a page with a few broken bytes), else Windows-1252,
    whose text almost never forms a UTF-8 sequence by chance."""
    sequences = _UTF8_SEQUENCE.findall(data)
    stray = sum(1 for byte in data if byte >= 0x80) - sum(len(found) for found in sequences)
    return "utf-8" if sequences and len(sequences) >= stray else "cp1252"


def decode_document(data: bytes, *, source: str, charset: str | None = None) -> str:
    """The text of a fetched document (see ``read_document``)."""
    return read_document(data, source=source, charset=charset).text


# --- credentials: kept for fetching, never published ---------------------------------------------

#: Query parameters that carry secrets in URLs by common convention (compared ignoring case);
#: ``[fetch] secret_query_parameters`` replaces the list.
DEFAULT_SECRET_QUERY_PARAMETERS = (
    "api_key", "apikey", "api-key", "key", "access_token", "auth_token", "token", "auth",
    "password", "passwd", "secret", "client_secret", "signature", "sig",
)  # fmt: skip
#: A URL within a sentence: punctuation after it (``url: error``, ``(url)``) is not its own.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*[^\s'\"<>.,:;!?)\]]")


def public_url(url: str, secret_parameters: tuple[str, ...]) -> str:
    """``url`` as it may be published: without a user name or password, and without the
    query parameters named in ``secret_parameters`` (the rest of the URL as written)."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    end = len(rest)
    for mark in "/?#":
        found = rest.find(mark)
        if found != -1:
            end = min(end, found)
    authority, tail = rest[:end], rest[end:]
    authority = authority.rpartition("@")[2]
    path, question, query_and_fragment = tail.partition("?")
    if question:
        query, hash_mark, fragment = query_and_fragment.partition("#")
        secrets = {name.lower() for name in secret_parameters}
        kept = [
            pair
            for pair in query.split("&")
            if pair and unquote_plus(pair.partition("=")[0]).lower() not in secrets
        ]
        tail = path + ("?" + "&".join(kept) if kept else "") + hash_mark + fragment
    return f"{scheme}://{authority}{tail}"


def redact_credentials(text: str, secret_parameters: tuple[str, ...]) -> str:
    """``text`` (an error message, say) with every URL in it in its public form."""
    return _URL_IN_TEXT.sub(lambda match: public_url(match[0], secret_parameters), text)
