"""Serving feeds over HTTP: a thin WSGI layer in front of the web app.

``FeedMiddleware`` answers ``/feeds/<topic>.<rss|atom|json>`` (filtered by its query,
``feeds.serve.filters``; a query not written canonically is redirected to the one that is)
straight from the publisher's ready representations, before any framework routing: strong
ETags, ``Last-Modified``, 304s to ``If-None-Match`` and ``If-Modified-Since``, gzip when
asked for, caching headers, and CORS on every answer (304s and errors included). A browser
opening an RSS or Atom feed gets it as ``application/xml``, so that its stylesheet shows it
as a page. Errors are never cached; while the database is unavailable, a feed that must be
read from it is a 503 at once, with ``Retry-After``. Every request to a host that is not
allowed is given the canonical host first (``feeds.serve.hosts``). Everything else is handed
to the wrapped app. Each shape of request (host, path, query, method, Accept-Encoding,
Accept) is read once and remembered, a bounded number of them: a plain request for a feed the
publisher has current is answered at the cost of one look-up. Knows no Flask: plain WSGI.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from feeds.errors import LedgerUnavailableError
from feeds.serve.filters import NO_FILTER, PARAMETERS, FeedFilter, FilterError, read_filter
from feeds.serve.hosts import BaseUrls
from feeds.serve.publish import CacheKey, FeedPublisher
from feeds.serve.representation import CORS, FeedFormat, RenderedFeed

logger = logging.getLogger(__name__)

WSGIEnvironment = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApplication = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]

FEED_PATH = re.compile(r"^/feeds/(?P<topic>[a-z0-9][a-z0-9_-]{0,63})\.(?P<format>rss|atom|json)\Z")
#: The longest path ``FEED_PATH`` matches: a longer one is not looked at.
LONGEST_FEED_PATH = len("/feeds/") + 64 + len(".atom")
_NO_STORE = ("Cache-Control", "no-store")
_ALLOWED = "GET, HEAD, OPTIONS"
#: How long a client is asked to wait while the database is unavailable.
RETRY_AFTER_SECONDS = 10
#: What is remembered of the values clients send (paths, Accept and Accept-Encoding headers),
#: so that each is read once: this many of each, the most recently used, of this many
#: characters at most (a longer one is read every time).
REMEMBERED_VALUES = 256
REMEMBERED_CHARACTERS = 256


@lru_cache(maxsize=REMEMBERED_VALUES)
def _feed_path(path: str) -> tuple[str, FeedFormat] | None:
    """The topic and format a feed's path names; ``None`` for a path that is not a feed's."""
    match = FEED_PATH.match(path)
    return None if match is None else (match["topic"], FeedFormat(match["format"]))


def _reads_gzip(header: str) -> bool:
    """True when an Accept-Encoding header takes gzip."""
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().lower()
            return not quality.startswith("q=") or quality[2:].strip() not in (
                "0",
                "0.0",
                "0.00",
                "0.000",
            )
    return False


def _asks_for_a_page(accept: str) -> bool:
    """True for a browser opening the feed as a page: it asks for HTML, not for a feed."""
    accept = accept.lower()
    return "text/html" in accept and "rss+xml" not in accept and "atom+xml" not in accept


def _reads_request(accept_encoding: str, accept: str) -> tuple[bool, bool]:
    """Whether a request takes gzip, and whether it opens the feed as a page, by its
    Accept-Encoding and Accept headers."""
    return _reads_gzip(accept_encoding), _asks_for_a_page(accept)


_remembered_readings = lru_cache(maxsize=REMEMBERED_VALUES)(_reads_request)


def _request_reading(accept_encoding: str, accept: str) -> tuple[bool, bool]:
    """``_reads_request``, remembered for the most recent pairs of headers; a header too long
    to remember is read every time."""
    if len(accept_encoding) > REMEMBERED_CHARACTERS or len(accept) > REMEMBERED_CHARACTERS:
        return _reads_request(accept_encoding, accept)
    return _remembered_readings(accept_encoding, accept)


def _not_modified(feed: RenderedFeed, environ: WSGIEnvironment) -> bool:
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        if if_none_match in feed.etags:  # as most clients send it back: no need to read it
            return True
        if if_none_match.strip() == "*":
            return True
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return bool(tags & feed.etags)
    if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return since.tzinfo is not None and feed.last_modified <= since.timestamp()
    return False


def _answer(
    environ: WSGIEnvironment,
    start_response: StartResponse,
    feed: RenderedFeed,
    *,
    gzip: bool,
    browser: bool,
    head: bool,
) -> list[bytes]:
    """Answer a request for the feed: a 304 if its validators match the feed, else a 200
    (gzipped if it takes ``gzip``, as XML to a ``browser``, without its body to a ``head``)."""
    representation = feed.gzipped if gzip else feed.plain
    if ("HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ) and _not_modified(
        feed, environ
    ):
        start_response("304 Not Modified", list(representation.not_modified_headers))
        return []
    if browser:
        start_response("200 OK", list(representation.browser_headers))
    else:
        start_response("200 OK", list(representation.ok_headers))
    return [] if head else [representation.body]


@lru_cache(maxsize=128)
def _query_filter(query: str) -> tuple[FeedFilter, bool]:
    """The filter a query string asks for, and whether the query writes it canonically (its
    filter parameters in their order, no defaults); ``FilterError`` if it cannot be used."""
    pairs = parse_qsl(query, keep_blank_values=True)
    filters = read_filter(pairs)
    return filters, [p for p in pairs if p[0] in PARAMETERS] == list(filters.pairs)


#: What a request is read by before it is answered: its Host header, the server's name and
#: port, its scheme, mount point, path, query string, method, Accept-Encoding and Accept.
RequestShape = tuple[str | None, str, str, str | None, str, str, str, str, str, str]
#: How many shapes of request a ``FeedMiddleware`` remembers the reading of (the oldest read
#: goes first), and how many characters a shape may have to be remembered.
REMEMBERED_SHAPES = 1024
REMEMBERED_SHAPE_CHARACTERS = 1024


@dataclass(frozen=True, slots=True)
class FeedRequest:
    """A plain request for a feed (GET or HEAD, its filter written canonically and without a
    time cut-off, to a host it may be answered for), read: the publisher's key for the feed,
    and how it is answered."""

    key: CacheKey
    gzip: bool
    browser: bool
    head: bool


class FeedMiddleware:
    """Answers feed URLs from the publisher; hands every other request to ``app``, with the
    canonical host if its own is not allowed (``base_urls``, by default the publisher's
    configuration's).

    A request is first looked up by its shape (``RequestShape``): a plain request for a feed
    the publisher has current (``FeedPublisher.current``) is answered from that alone, with no
    more reading; any other goes the whole way (``_answer_slowly``)."""

    def __init__(
        self, app: WSGIApplication, publisher: FeedPublisher, base_urls: BaseUrls | None = None
    ) -> None:
        self.app = app
        self.publisher = publisher
        self.base_urls = base_urls or BaseUrls(publisher.config.publisher, publisher.config.limits)
        #: Each shape of request seen last, read: a ``FeedRequest``, or ``None`` for one that
        #: is not a plain request for a feed.
        self._shapes: dict[RequestShape, FeedRequest | None] = {}
        self._shapes_lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        shape: RequestShape = (
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME", ""),
            environ.get("SERVER_PORT", ""),
            environ.get("wsgi.url_scheme"),
            environ.get("SCRIPT_NAME", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            environ.get("REQUEST_METHOD", ""),
            environ.get("HTTP_ACCEPT_ENCODING", ""),
            environ.get("HTTP_ACCEPT", ""),
        )
        try:
            request = self._shapes[shape]
        except KeyError:
            request = self._read_shape(shape)
        if request is not None:
            feed = self.publisher.current(request.key)
            if feed is not None:
                return _answer(
                    environ,
                    start_response,
                    feed,
                    gzip=request.gzip,
                    browser=request.browser,
                    head=request.head,
                )
        return self._answer_slowly(environ, start_response)

    def _read_shape(self, shape: RequestShape) -> FeedRequest | None:
        """``read_request`` for the shape, remembered if it is short enough."""
        request = self.read_request(shape)
        if sum(len(part or "") for part in shape) <= REMEMBERED_SHAPE_CHARACTERS:
            with self._shapes_lock:
                if len(self._shapes) >= REMEMBERED_SHAPES:
                    del self._shapes[next(iter(self._shapes))]
                self._shapes[shape] = request
        return request

    def read_request(self, shape: RequestShape) -> FeedRequest | None:
        """The request of this shape as a ``FeedRequest``; ``None`` for any other request
        (another path or method, a filter to redirect or refuse or with a time cut-off, a bad
        Host), which ``_answer_slowly`` answers."""
        host, server_name, port, scheme, mount, path, query, method, encodings, accept = shape
        if method not in ("GET", "HEAD") or len(path) > LONGEST_FEED_PATH:
            return None
        feed_path = _feed_path(path)
        resolved = self.base_urls.resolved((host, server_name, port, scheme, mount))
        if feed_path is None or resolved is None:
            return None
        filters = NO_FILTER
        if query:
            try:
                filters, canonical = _query_filter(query)
            except FilterError:
                return None
            if not canonical:
                return None
        key = self.publisher.key(*feed_path, resolved[0], filters)
        if key is None:
            return None
        gzip, browser = _request_reading(encodings, accept)
        return FeedRequest(key=key, gzip=gzip, browser=browser, head=method == "HEAD")

    def _answer_slowly(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Any request, read and answered the whole way."""
        base = self.base_urls.canonicalize(environ)
        path = environ.get("PATH_INFO", "")
        feed_path = _feed_path(path) if len(path) <= LONGEST_FEED_PATH else None
        if feed_path is None:
            return self.app(environ, start_response)
        topic, feed_format = feed_path
        method = environ["REQUEST_METHOD"]
        if method == "OPTIONS":
            start_response(
                "204 No Content",
                [
                    CORS,
                    ("Access-Control-Allow-Methods", _ALLOWED),
                    ("Access-Control-Allow-Headers", "If-None-Match, If-Modified-Since"),
                    ("Access-Control-Max-Age", "86400"),
                    ("Allow", _ALLOWED),
                    _NO_STORE,
                ],
            )
            return []
        if method not in ("GET", "HEAD"):
            return self._error(
                start_response,
                "405 Method Not Allowed",
                "method not allowed",
                [("Allow", _ALLOWED)],
            )
        query = environ.get("QUERY_STRING", "")
        filters = NO_FILTER
        if query:
            try:
                filters, canonical = _query_filter(query)
            except FilterError as error:
                return self._error(start_response, "400 Bad Request", str(error))
            if not canonical and base is not None:  # ?limit=01, another order...: one URL a feed
                pairs = parse_qsl(query, keep_blank_values=True)
                return self._redirect(start_response, base, environ, pairs, filters)
        if base is None:
            return self._error(start_response, "400 Bad Request", "bad Host header")
        try:
            feed = self.publisher.feed(topic, feed_format, base_url=base, filters=filters)
        except LookupError:
            return self._error(start_response, "404 Not Found", f"no topic {topic!r}")
        except LedgerUnavailableError as error:
            logger.warning("feed /feeds/%s.%s: %s", topic, feed_format, error)
            return self._error(
                start_response,
                "503 Service Unavailable",
                "the database is unavailable for a moment: try again shortly",
                [("Retry-After", str(RETRY_AFTER_SECONDS))],
            )
        use_gzip, browser = _request_reading(
            environ.get("HTTP_ACCEPT_ENCODING", ""), environ.get("HTTP_ACCEPT", "")
        )
        return _answer(
            environ, start_response, feed, gzip=use_gzip, browser=browser, head=method == "HEAD"
        )

    @staticmethod
    def _redirect(
        start_response: StartResponse,
        base: str,
        environ: WSGIEnvironment,
        pairs: list[tuple[str, str]],
        filters: FeedFilter,
    ) -> list[bytes]:
        """A permanent redirect to the feed's URL with its filter written canonically (other
        parameters kept after it)."""
        others = [pair for pair in pairs if pair[0] not in PARAMETERS]
        query = urlencode([*filters.pairs, *others])
        location = f"{base}{quote(environ.get('PATH_INFO', ''))}{'?' if query else ''}{query}"
        start_response(
            "301 Moved Permanently",
            [
                ("Location", location),
                ("Content-Length", "0"),
                ("Cache-Control", "public, max-age=86400"),
                CORS,
            ],
        )
        return []

    @staticmethod
    def _error(
        start_response: StartResponse,
        status: str,
        message: str,
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        body = f"{status[4:]}: {message}\n".encode()
        start_response(
            status,
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                _NO_STORE,
                CORS,
                *(extra or []),
            ],
        )
        return [body]
