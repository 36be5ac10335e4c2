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

A ``urn:uuid:`` IRI is valid as an Atom id and an RSS guid and claims no domain we do not own.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from urllib.parse import urlsplit

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


def entry_id(listing: str, title: str, date: dt.date | None, discriminator: str = "") -> str:
    """Compute the id of an item of ``listing`` (a ``listing_key``) with this title and date."""
    parts = [listing, normalise_text(title), date.isoformat() if date else ""]
    if discriminator:
        parts.append(normalise_text(discriminator))
    name = "\n".join(parts)
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, name)}"
