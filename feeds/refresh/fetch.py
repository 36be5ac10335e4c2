"""Fetching documents: the only place feedpub reads from the network or the file system.

A ``Fetcher`` reads ``http(s):`` and ``file:`` URLs politely: connect and read timeouts, a size
cap, a redirect limit, an identifying User-Agent, conditional GET (ETag, Last-Modified), one
request at a time per host with a minimum spacing, and ``Retry-After`` reported back. Every
failure is a ``FetchError`` naming the URL.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from feeds import __version__
from feeds.errors import FeedpubError, FetchError

logger = logging.getLogger(__name__)

#: Refuse documents larger than this: no listing page is anywhere near it.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_REDIRECTS = 5
#: Never wait longer than this for a ``Retry-After``; a server asking for more is backed off.
MAX_RETRY_AFTER_SECONDS = 7 * 24 * 3600


def user_agent(contact: str = "") -> str:
    """The User-Agent sent with every request: feedpub's name, version and contact URL."""
    return f"feedpub/{__version__} (+{contact})" if contact else f"feedpub/{__version__}"


USER_AGENT = user_agent()


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """A fetched document: its bytes, the URL it finally came from, and its declared charset."""

    url: str
    content: bytes
    content_type: str | None = None
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    #: How long the request waited for its host's turn (``HostGate``) before it was sent.
    waited_seconds: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class NotModified:
    """The server answered 304: the document has not changed since the validators given."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    #: How long the request waited for its host's turn (``HostGate``) before it was sent.
    waited_seconds: float = 0.0


class RetryLaterError(FetchError):
    """The server asked us to come back later (429 or 503, maybe with ``Retry-After``)."""

    def __init__(self, source: str, message: str, retry_after: float | None) -> None:
        super().__init__(source, message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_SECONDS)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER_SECONDS)


#: Takes a turn at a host in a book other processes share (``Ledger.take_turn``): given the
#: host, the time now and the spacing (seconds, since the epoch), returns when the turn comes.
SharedTurns = Callable[[str, float, float], float]


@dataclass
class HostGate:
    """At most one request at a time per host, and at least ``spacing`` seconds between the
    start of one and the start of the next: in this process, or, with ``shared``, among
    every process sharing its book of turns (if the book cannot be reached, this process's
    own spacing still holds). The clocks and ``sleep`` are injectable for tests."""

    spacing: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    shared: SharedTurns | None = None
    wall_clock: Callable[[], float] = time.time
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _last_start: dict[str, float] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def hold(self, host: str) -> _HostTurn:
        """A context manager holding ``host``'s turn (waiting for the spacing first)."""
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        return _HostTurn(self, host, lock)

    def wait_for_shared_turn(self, host: str) -> bool:
        """Wait for this request's turn in the shared book; False if there is no book (or no
        spacing) or it cannot be reached."""
        if self.shared is None or self.spacing <= 0:
            return False
        try:
            turn = self.shared(host, self.wall_clock(), self.spacing)
        except FeedpubError as error:
            logger.warning("host %s: shared turns unavailable, spacing this process only: %s",
                           host, error)  # fmt: skip
            return False
        wait = turn - self.wall_clock()
        if wait > 0:
            self.sleep(wait)
        return True


class _HostTurn:
    def __init__(self, gate: HostGate, host: str, lock: threading.Lock) -> None:
        self.gate, self.host, self.lock = gate, host, lock

    def __enter__(self) -> None:
        self.lock.acquire()
        if not self.gate.wait_for_shared_turn(self.host):
            last = self.gate._last_start.get(self.host)
            if last is not None:
                wait = last + self.gate.spacing - self.gate.clock()
                if wait > 0:
                    self.gate.sleep(wait)
        self.gate._last_start[self.host] = self.gate.clock()

    def __exit__(self, *_exc: object) -> None:
        self.lock.release()


def _read_file(url: str, path: Path, max_bytes: int) -> Document:
    try:
        with path.open("rb") as handle:
            content = handle.read(max_bytes + 1)
    except FileNotFoundError as error:
        raise FetchError(url, "no such file") from error
    except IsADirectoryError as error:
        raise FetchError(url, "is a directory, not a file") from error
    except OSError as error:
        raise FetchError(url, f"cannot be read: {error.strerror or error}") from error
    if len(content) > max_bytes:
        raise FetchError(url, f"larger than the {max_bytes:,}-byte limit")
    return Document(url=path.resolve().as_uri(), content=content)


class Fetcher:
    """Fetches documents politely; one per process, shared by every refresh (thread-safe)."""

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        agent: str = USER_AGENT,
        gate: HostGate | None = None,
        deadline_seconds: float = 120.0,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.max_bytes = max_bytes
        self.deadline_seconds = deadline_seconds
        self.gate = gate or HostGate(spacing=0.0)
        self.now = now
        self.client = httpx.Client(
            timeout=timeout,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": agent, "Accept-Encoding": "gzip, deflate"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def fetch(
        self, location: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Document | NotModified:
        """Fetch one document from an ``http(s):`` or ``file:`` URL, or a local path.

        With ``etag`` or ``last_modified`` from an earlier fetch, asks conditionally and may
        return ``NotModified``.
        """
        parts = urlsplit(location)
        scheme = parts.scheme.lower()
        if scheme == "file":
            return _read_file(location, Path(unquote(parts.path)), self.max_bytes)
        if scheme not in ("http", "https"):
            if len(scheme) > 1:  # "C:" is a drive, not a scheme
                raise FetchError(
                    location, f"unsupported URL scheme {scheme!r}: use http(s) or file"
                )
            return _read_file(location, Path(location), self.max_bytes)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        called = time.monotonic()
        with self.gate.hold((parts.hostname or "").lower()):
            waited = time.monotonic() - called
            return replace(self._get(location, headers), waited_seconds=waited)

    def _get(self, location: str, headers: dict[str, str]) -> Document | NotModified:
        limit = f"larger than the {self.max_bytes:,}-byte limit"
        started = time.monotonic()
        try:
            with self.client.stream("GET", location, headers=headers) as response:
                if response.status_code == 304:
                    return NotModified(
                        url=str(response.url),
                        etag=response.headers.get("ETag"),
                        last_modified=response.headers.get("Last-Modified"),
                    )
                if response.status_code in (429, 503):
                    wait = parse_retry_after(response.headers.get("Retry-After"), self.now())
                    raise RetryLaterError(
                        location, f"HTTP {response.status_code} {response.reason_phrase}", wait
                    )
                if response.status_code >= 400:
                    raise FetchError(
                        location, f"HTTP {response.status_code} {response.reason_phrase}"
                    )
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(location, limit)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(location, limit)
                    if time.monotonic() - started > self.deadline_seconds:
                        raise FetchError(
                            location, f"too slow: not read in {self.deadline_seconds:g} seconds"
                        )
                    chunks.append(chunk)
                return Document(
                    url=str(response.url),
                    content=b"".join(chunks),
                    content_type=response.headers.get("Content-Type"),
                    charset=response.charset_encoding,
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                )
        except httpx.TooManyRedirects as error:
            raise FetchError(location, f"more than {MAX_REDIRECTS} redirects") from error
        except httpx.TimeoutException as error:
            raise FetchError(location, f"timed out ({type(error).__name__})") from error
        except httpx.HTTPError as error:
            raise FetchError(location, f"{type(error).__name__}: {error}") from error


def fetch_document(
    location: str, *, max_bytes: int = DEFAULT_MAX_BYTES, timeout: httpx.Timeout = DEFAULT_TIMEOUT
) -> Document:
    """Fetch one document, unconditionally (for ``feedpub preview``)."""
    with Fetcher(max_bytes=max_bytes, timeout=timeout) as fetcher:
        document = fetcher.fetch(location)
    if not isinstance(document, Document):  # no validators were sent: a 304 is a server error
        raise FetchError(location, "HTTP 304 Not Modified to an unconditional request")
    return document
