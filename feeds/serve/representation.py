"""A rendered feed as it is answered with: its bytes, plain and gzipped, its validators, and the
complete header lists of its answers, made once per render so that a request only picks one.
"""

from __future__ import annotations

import gzip
import hashlib
import sys
from dataclasses import dataclass
from enum import StrEnum

#: What a kept feed is counted as beyond the objects it holds (``RenderedFeed.held_bytes``):
#: its key, its place in the render cache, the feed's own objects, roughly.
KEPT_OVERHEAD_BYTES = 1024


class FeedFormat(StrEnum):
    """The formats every topic is served in, by file extension."""

    RSS = "rss"
    ATOM = "atom"
    JSON = "json"

    @property
    def content_type(self) -> str:
        return {
            FeedFormat.RSS: "application/rss+xml; charset=utf-8",
            FeedFormat.ATOM: "application/atom+xml; charset=utf-8",
            FeedFormat.JSON: "application/feed+json; charset=utf-8",
        }[self]


#: On every answer to a feed request (304s and errors included): any page may read a feed,
#: and its validators.
CORS = ("Access-Control-Allow-Origin", "*")
CORS_EXPOSE = ("Access-Control-Expose-Headers", "ETag, Last-Modified")
#: What a browser is given an RSS or Atom feed as: browsers apply the feed's XSL stylesheet
#: (and show a readable page) only to XML served as such, never to the feed types.
BROWSER_CONTENT_TYPE = "application/xml; charset=utf-8"
#: The headers of a representation a 304 leaves out: they describe a body it has not.
_BODY_HEADERS = ("Content-Length", "Content-Type", "Content-Encoding")

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Representation:
    """One encoding of a rendered feed, with the headers to send it with.

    ``headers`` are its own; the complete lists a request is answered with are made from them
    once, when the feed is rendered, and kept beside its bytes (so that they live and go with
    the feed in the render cache, and a request only picks one): a 200's (``ok_headers``), a
    browser's 200 (``browser_headers``: RSS and Atom as XML; the JSON feed as it is), and a
    304's (``not_modified_headers``), CORS appended to each.
    """

    body: bytes
    etag: str
    headers: Headers
    ok_headers: Headers
    browser_headers: Headers
    not_modified_headers: Headers


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    """A rendered feed: plain and gzipped, with its validators."""

    plain: Representation
    gzipped: Representation
    last_modified: float  # seconds since the epoch, whole
    etags: frozenset[str]  # both representations' tags, for If-None-Match
    #: What the representations hold takes: bodies, header lists and their strings.
    held_bytes: int

    @property
    def size(self) -> int:
        """The bytes it takes in the render cache: what it holds, and an overhead."""
        return self.held_bytes + KEPT_OVERHEAD_BYTES


def ready_feed(
    body: bytes,
    common: list[tuple[str, str]],
    feed_format: FeedFormat,
    *,
    last_modified: float,
) -> RenderedFeed:
    """A feed's bytes ready to answer with: plain and gzipped, each with its strong ETag and
    ``common`` headers (``Content-Type`` first among them), ``last_modified`` whole seconds
    since the epoch."""
    digest = hashlib.sha256(body).hexdigest()[:32]
    plain = _representation(body, f'"{digest}"', common, None, feed_format=feed_format)
    gzipped = _representation(
        gzip.compress(body, compresslevel=6, mtime=0),
        f'"{digest}-gzip"',
        common,
        "gzip",
        feed_format=feed_format,
    )
    return RenderedFeed(
        plain=plain,
        gzipped=gzipped,
        last_modified=last_modified,
        etags=frozenset((plain.etag, gzipped.etag)),
        held_bytes=_held_bytes(plain, gzipped),
    )


def _held_bytes(*representations: Representation) -> int:
    """What the representations' bodies, header lists, headers and strings take in memory,
    each object counted once (the lists share most of their headers)."""
    counted: set[int] = set()
    total = 0
    for representation in representations:
        parts: list[object] = [representation.body, representation.etag]
        for headers in (
            representation.headers,
            representation.ok_headers,
            representation.browser_headers,
            representation.not_modified_headers,
        ):
            parts.append(headers)
            for header in headers:
                parts.extend((header, *header))
        for part in parts:
            if id(part) not in counted:
                counted.add(id(part))
                total += sys.getsizeof(part)
    return total


def _representation(
    body: bytes,
    etag: str,
    common: list[tuple[str, str]],
    encoding: str | None,
    *,
    feed_format: FeedFormat,
) -> Representation:
    headers = [*common, ("ETag", etag), ("Content-Length", str(len(body)))]
    if encoding:
        headers.append(("Content-Encoding", encoding))
    browser = (
        headers
        if feed_format is FeedFormat.JSON
        else [(k, BROWSER_CONTENT_TYPE if k == "Content-Type" else v) for k, v in headers]
    )
    return Representation(
        body=body,
        etag=etag,
        headers=tuple(headers),
        ok_headers=(*headers, CORS, CORS_EXPOSE),
        browser_headers=(*browser, CORS, CORS_EXPOSE),
        not_modified_headers=(
            *((k, v) for k, v in headers if k not in _BODY_HEADERS),
            CORS,
            CORS_EXPOSE,
        ),
    )
