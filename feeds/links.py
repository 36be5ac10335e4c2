"""Cleaning links: the one function every URL an entry holds (its link, its image) goes through.

``web_url`` resolves a link against its page and makes it a valid absolute http(s) URL, or
refuses it; it is the identity on a link that is one already, so ids computed from links stay.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urljoin, urlsplit

#: Removed wherever they are: ASCII tab and line breaks (as browsers do), lone surrogates.
_REMOVED = re.compile("[\t\n\r\ud800-\udfff]")
#: Stripped from both ends: whitespace, and C0 controls (as browsers do).
_ENDS = "".join(map(chr, range(0x21))) + "\x7f\u0085\u00a0\u1680\u2000\u2001\u2002\u2003"
_ENDS += "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
#: What no URL holds as is and is percent-encoded (as UTF-8): controls, spaces, the ASCII
#: characters RFC 3986 excludes (``"<>\\^`{|}``), a ``%`` that starts no escape, the
#: invisible and bidirectional formatting characters and the noncharacters RFC 3987 excludes
#: from IRIs. Letters of any script are kept: a link is an IRI, as the page gave it.
_ENCODED = re.compile(
    '[\x00-\x20\x7f-\xa0"<>\\\\^`{|}\u00ad\u061c\u1680\u180e\u2000-\u200f\u2028-\u202f'
    "\u205f-\u206f\u3000\ufdd0-\ufdef\ufeff\ufff0-\ufffc\ufffe\uffff]|%(?![0-9A-Fa-f]{2})"
)
#: Brackets, encoded outside the host (where they enclose an IPv6 address).
_BRACKETS = re.compile(r"[\[\]]")
_AUTHORITY = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//[^/?#]*")
#: What a host name never holds (an IPv6 address is checked by ``urlsplit``).
_BAD_HOST = re.compile(r"[\x00-\x20%/<>\\^|\[\]\x7f]")


#: An absolute http(s) URL that is plainly valid already (ASCII, no port, no brackets, no
#: stray ``%``, one ``#`` at most, no empty host label): what ``web_url`` gives back unchanged,
#: recognised without taking it apart.
_PLAIN_URL = re.compile(r"(?i:https?)://[A-Za-z0-9.-]+(?:[/?#][A-Za-z0-9\-._~!$&'()*+,;=:@/?#%]*)?")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _plainly_valid(url: str) -> bool:
    if not _PLAIN_URL.fullmatch(url) or url.count("#") > 1:
        return False
    if "%" in url and _STRAY_PERCENT.search(url):
        return False
    host = url[url.index("//") + 2 :].partition("/")[0].partition("?")[0].partition("#")[0]
    return ".." not in host


def _encoded(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match[0].encode())


def _encode(url: str) -> str:
    authority = _AUTHORITY.match(url)
    start = authority.end() if authority else 0
    head, rest = url[:start], url[start:]
    rest = _BRACKETS.sub(_encoded, rest)
    fragment = rest.find("#")
    if fragment >= 0:  # a second '#' is part of the fragment
        rest = rest[: fragment + 1] + rest[fragment + 1 :].replace("#", "%23")
    return _ENCODED.sub(_encoded, head) + _ENCODED.sub(_encoded, rest)


def _valid_host(hostname: str) -> bool:
    if hostname.startswith("[") or ":" in hostname:  # IPv6: urlsplit has checked the brackets
        return True
    if not hostname or _BAD_HOST.search(hostname) or ".." in hostname:
        return False
    if hostname.isascii():
        return True
    try:
        hostname.encode("idna")  # an internationalised name: each label must have an IDNA form
    except UnicodeError:
        return False
    return True


def web_url(href: str, base: str | None = None) -> str | None:
    """``href`` (resolved against ``base``) as a valid absolute http(s) URL, else ``None``.

    Surrounding whitespace is stripped; tabs, line breaks and lone surrogates are removed;
    spaces, controls and the other characters a URL never holds are percent-encoded (existing
    ``%XX`` escapes are kept, an international host name is kept as is when it has an IDNA
    form). A ``javascript:``, ``data:`` or ``mailto:`` link, one without a host and one that
    cannot be read as a URL give ``None``. A valid http(s) URL comes back unchanged.
    The function is pure, and the recent (``href``, ``base``) pairs are resolved once each.
    """
    if type(href) is str and (base is None or type(base) is str):
        if base and _PLAIN_PATH.fullmatch(href) and "/." not in href:
            origin = _origin(base)  # what urljoin gives: the path as is, after the origin
            if origin is not None:
                return origin + href
        return _recently_resolved(href, base)
    return _resolve(href, base)  # a str subclass (lxml's) is not kept: it holds its document


def _resolve(href: str, base: str | None) -> str | None:
    if base is None and _plainly_valid(href):
        return href
    text = _REMOVED.sub("", href).strip(_ENDS)
    if not text:
        return None
    if _ENCODED.search(text) or _BRACKETS.search(text) or text.count("#") > 1:
        text = _encode(text)
    try:
        url = urljoin(base, text) if base else text
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
    except ValueError:  # an unbalanced IPv6 bracket, an impossible port
        return None
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        return None
    if not _valid_host(hostname):
        return None
    return url


_recently_resolved = functools.lru_cache(maxsize=8192)(_resolve)

#: A path from the root that no step of ``_resolve`` changes: no character to encode, no
#: query, fragment or parameters, no ``//`` (a host). Without ``/.`` it has no dot segment.
_PLAIN_PATH = re.compile(r"/(?!/)[A-Za-z0-9\-._~!$&'()*+,=:@/]*")


@functools.lru_cache(maxsize=256)
def _origin(base: str) -> str | None:
    """``scheme://host`` of a valid ``base``, to which a plain path is appended, else ``None``."""
    root = _resolve("/", base)
    return None if root is None else root[:-1]


def forget_resolved() -> None:
    """Forget the recent resolutions of ``web_url`` (for timing it on pages it has not seen)."""
    _recently_resolved.cache_clear()
    _origin.cache_clear()
