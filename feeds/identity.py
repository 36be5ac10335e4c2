r"""Entry identity: the one place where an entry's id is computed.

An entry id must never change once published: not across refreshes or restarts, not between
RSS, Atom and JSON, not with the host or scheme a page was fetched from, the item's number or
position, nor an image credit's year. It is therefore computed from what the item says, after
normalisation, and from the listing it belongs to:

    entry_id = "urn:uuid:" + uuid5(NAMESPACE, "\n".join([listing, title, date, (discriminator)]))

* the **listing key** (``listing_key``) is the page URL without scheme, ``www.``, default
  port, query, fragment, pagination segment (``nextRow--N``) or trailing ``index.htm``;
* the **title** is normalised by ``normalise_text`` (Unicode NFKC, case folded, typographic
  quotes and dashes made plain, whitespace collapsed, trailing punctuation dropped);
* the **date** is the listing's calendar day as ``YYYY-MM-DD``, or empty for undated items;
* the **discriminator** is empty, except for the rare different items of one listing that
  share title and date: they are told apart by their normalised summary (see the adapter).

An item that has its own link (the selector adapter's items) is identified by that link
instead, normalised by ``normalise_link`` (no scheme, ``www.``, default port, fragment or
tracking parameters; host in lower case; other query parameters sorted):

    entry_id = "urn:uuid:" + uuid5(NAMESPACE, "link\n" + normalised link)

An item of a feed offered as a source (the feed adapter's items) keeps the id its feed gives
it (RSS ``guid``, Atom ``id``, JSON Feed ``id``) when that id is an absolute IRI (it has a
scheme: ``tag:``, ``urn:``, ``https:``), stripped of surrounding whitespace and otherwise as
is. A native id that is not an IRI (``12345``) is only unique within its feed, so it is
scoped by the listing key:

    entry_id = "urn:uuid:" + uuid5(NAMESPACE, "native\n" + listing + "\n" + native id)

An item without a native id is identified by its link, else by its title and date, as above.
Precedence is therefore: native id, link, title and date.

A ``urn:uuid:`` IRI is valid as an Atom id and an RSS guid and claims no domain we do not own.

An **item key** (``item_key``) is not an id: it is what the same item listed by several
sources shares (normalised title and day), the key topics fold such listings into one by.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit

#: Fixed forever: changing it would change every entry id ever published.
NAMESPACE = uuid.UUID("000bfcb6-ef3e-46c6-ba6b-7c1764381a90")

_PAGINATION_SEGMENT = re.compile(r"/nextRow--\d+(?=/|$)", re.IGNORECASE)
_INDEX_PAGE = re.compile(r"/index\.html?$", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Typographic quotes and dashes, and what they are made plain as.
PLAIN_CHARACTERS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
    }
)
_TRAILING_PUNCTUATION = ".!?:;,\u2026 "
#: A scheme, a colon and at least one character; none of what RFC 3987 excludes from IRIs
#: (bidirectional formatting characters included), nor what XML cannot carry.
_ABSOLUTE_IRI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*:"
    '[^\\s<>"{}|\\\\^`\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]+'
)


def normalise_text(text: str) -> str:
    """Reduce a title (or summary) to what identifies it, ignoring presentation."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(PLAIN_CHARACTERS)
    text = text.casefold()
    text = " ".join(text.split())
    return text.rstrip(_TRAILING_PUNCTUATION)


def listing_key(url: str) -> str:
    """Identify a listing page independently of host variant, scheme and pagination.

    ``https://www.ilo.org/x/lang--en/nextRow--10/index.htm`` and ``http://ilo.org/x/lang--en/``
    give the same key, ``ilo.org/x/lang--en``. A string that is not an absolute URL (a source
    id, say) is returned stripped.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "file":
        return "file:" + parts.path
    if not scheme or not parts.hostname:
        return url.strip()
    host = parts.hostname.lower().rstrip(".")
    host = host.removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = _PAGINATION_SEGMENT.sub("", parts.path)
    path = _INDEX_PAGE.sub("", path).rstrip("/")
    return host + path


_TRACKING_PARAMETERS = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|igshid"
    r"|mkt_tok|oly_anon_id|oly_enc_id|vero_id|__s|_hsenc|_hsmi)$",
    re.IGNORECASE,
)


#: An http(s) URL with a plain host, no port and no query, as most items' links are: its host
#: and path are what ``urlsplit`` would give, read without taking the URL apart.
_PLAIN_LINK = re.compile(
    r"(?i:https?)://([A-Za-z0-9.-]+)(/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*)?(?:#\S*)?"
)


def normalise_link(url: str) -> str:
    """Reduce an item's URL to what identifies it: ``https://WWW.Example.org/a?utm_source=x&b=2#top``
    and ``http://example.org/a?b=2`` give ``example.org/a?b=2``."""
    url = url.strip()
    if plain := _PLAIN_LINK.fullmatch(url):
        return plain[1].lower().rstrip(".").removeprefix("www.") + (plain[2] or "/")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".").removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING_PARAMETERS.match(name)
    )
    return host + (parts.path or "/") + (f"?{urlencode(query)}" if query else "")


def is_absolute_iri(value: str) -> bool:
    """True for an absolute IRI: a scheme (``tag:``, ``urn:``, ``https:``), then something,
    with no whitespace or character an IRI never holds."""
    return _ABSOLUTE_IRI.fullmatch(value) is not None


_NAMESPACE_BYTES = NAMESPACE.bytes


def _urn_uuid5(name: str) -> str:
    """``"urn:uuid:" + str(uuid.uuid5(NAMESPACE, name))``, without making a ``UUID`` (a parse
    makes one id per item)."""
    digest = bytearray(
        hashlib.sha1(_NAMESPACE_BYTES + name.encode("utf-8"), usedforsecurity=False).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    hexa = digest.hex()
    return f"urn:uuid:{hexa[:8]}-{hexa[8:12]}-{hexa[12:16]}-{hexa[16:20]}-{hexa[20:]}"


def entry_id(
    listing: str,
    title: str,
    date: dt.date | None,
    discriminator: str = "",
    *,
    link: str | None = None,
    native_id: str | None = None,
) -> str:
    """Compute the id of an item of ``listing`` (a ``listing_key``) with this title and date.

    An item whose feed gives it its own ``native_id`` keeps it when it is an absolute IRI, else
    gets a ``urn:uuid:`` from it (scoped by ``listing``); an item with its own ``link`` is
    identified by that link alone; any other by its title and date (see the module docstring).
    """
    native = native_id.strip() if native_id else ""
    if native:
        if is_absolute_iri(native):
            return native
        return _urn_uuid5(chr(10).join(["native", listing, native]))
    if link:
        return _urn_uuid5("link\n" + normalise_link(link))
    parts = [listing, normalise_text(title), date.isoformat() if date else ""]
    if discriminator:
        parts.append(normalise_text(discriminator))
    return _urn_uuid5("\n".join(parts))


def item_key(title: str, date: dt.date | None) -> str:
    """What tells one item listed by several sources: its normalised title and listing day,
    as a digest of 32 hex digits (stored with each entry, so that a topic finds the other
    listings of an item with one indexed read). A title holding a lone surrogate, which no
    stored entry can have, still gets a key rather than stopping the feed it is read for."""
    name = normalise_text(title) + "\n" + (date.isoformat() if date else "")
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]
