"""Fetching documents: the only place feedpub reads from the network or the file system.

A ``Fetcher`` reads ``http(s):`` and ``file:`` URLs politely and safely: a deadline on the whole
fetch besides connect and read timeouts, a size cap, redirects followed hop by hop (a limit,
each hop taking its host's turn, none to a non-public address the source is not on), an
identifying User-Agent, conditional GET, one request at a time per host with a minimum
spacing, and ``Retry-After`` reported back. Every failure is a ``FetchError`` naming the URL
(and the one redirected from); ``stop`` abandons fetches with ``StoppedError``.
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
from urllib.parse import unquote, urljoin, urlsplit

import httpcore
import httpx

from feeds import __version__
from feeds.config import FetchConfig
from feeds.errors import FetchError
from feeds.refresh.gate import HostGate, SharedTurns
from feeds.refresh.network import (
    ANYWHERE,
    AddressRefusedError,
    Attempt,
    DeadlineExceededError,
    GuardedBackend,
    IPNetwork,
    OwnNetworks,
    Reach,
    enter,
    leave,
    own_networks,
)

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
    #: Where the links this document gives may lead (``Fetcher.fetch(..., follows=)``): the
    #: addresses its source may reach, and the hosts of its source's site.
    reach: Reach = field(default_factory=Reach)
    site: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NotModified:
    """The server answered 304: the document has not changed since the validators given."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    #: How long the request waited for its host's turn (``HostGate``) before it was sent.
    waited_seconds: float = 0.0
    reach: Reach = field(default_factory=Reach)
    site: tuple[str, ...] = ()


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


class _Redirect:
    def __init__(self, location: str) -> None:
        self.location = location


def site_of(host: str) -> str:
    """A host as ``same_site`` compares it: lower case, without a leading ``www.``."""
    host = host.lower().rstrip(".")
    return host.removeprefix("www.")


def same_site(host: str, other: str) -> bool:
    """True when two hosts are one site: the same host, or one a subdomain of the other, once
    a leading ``www.`` is dropped (``www.example.org``, ``example.org`` and
    ``news.example.org`` are one site; ``a.example.org`` and ``b.example.org`` are not)."""
    one, two = site_of(host), site_of(other)
    if not one or not two:
        return False
    return one == two or one.endswith("." + two) or two.endswith("." + one)


class Fetcher:
    """Fetches documents politely; one per process, shared by every refresh (thread-safe).

    Redirects are followed here, hop by hop, each taking its host's turn (``HostGate``); the
    source's own URL may be at any address, but its redirects, and the next pages its pages
    link to (``fetch(..., follows=document)``), reach only public addresses, the non-public
    networks its own address is on (``own_networks``) and ``allow_networks``. Next pages also
    stay on the source's site (``same_site``) unless ``next_pages_off_site``. The deadline
    bounds each fetch as a whole (every hop's connect, headers and body, not the waits for
    turns); ``stop`` abandons every fetch under way with ``StoppedError``.
    """

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        agent: str = USER_AGENT,
        gate: HostGate | None = None,
        deadline_seconds: float = 120.0,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        own_networks: OwnNetworks = own_networks,
        allow_networks: tuple[IPNetwork, ...] = (),
        next_pages_off_site: bool = False,
    ) -> None:
        self.max_bytes = max_bytes
        self.deadline_seconds = deadline_seconds
        self.gate = gate or HostGate(spacing=0.0)
        self.now = now
        self.own_networks = own_networks
        self.allow_networks = allow_networks
        self.next_pages_off_site = next_pages_off_site
        self.stopping = threading.Event()
        self.client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": agent, "Accept-Encoding": "gzip, deflate"},
            transport=_GuardedTransport(),
            trust_env=False,  # a proxy would hide the address connected to
        )

    @classmethod
    def configured(
        cls, fetch: FetchConfig, *, contact: str, shared: SharedTurns | None = None
    ) -> Fetcher:
        """A fetcher as the configuration's ``[fetch]`` table says, naming ``contact`` in its
        User-Agent; with ``shared``, host spacing holds across every process sharing it."""
        return cls(
            max_bytes=fetch.max_bytes,
            timeout=httpx.Timeout(fetch.timeout_seconds, connect=fetch.connect_timeout_seconds),
            agent=user_agent(contact),
            gate=HostGate(spacing=fetch.host_spacing_seconds, shared=shared),
            deadline_seconds=fetch.timeout_seconds,
            allow_networks=fetch.allow_networks,
            next_pages_off_site=fetch.next_pages_off_site,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def stop(self) -> None:
        """Abandon every fetch under way, and every one asked for from now on, with
        ``StoppedError`` (within a fraction of a second)."""
        self.stopping.set()
        self.gate.stop()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def fetch(
        self,
        location: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        follows: Document | NotModified | None = None,
        any_site: bool = False,
    ) -> Document | NotModified:
        """Fetch one document from an ``http(s):`` or ``file:`` URL, or a local path.

        With ``etag`` or ``last_modified`` from an earlier fetch, asks conditionally and may
        return ``NotModified``. With ``follows``, the URL is a link the document ``follows``
        gave (its next page, an entry's article): it is held to the rules of that document's
        source; with ``any_site`` (an article), to its address rules only, on any site.
        """
        parts = urlsplit(location)
        scheme = parts.scheme.lower()
        if follows is not None:
            if scheme not in ("http", "https"):
                raise FetchError(location, "a page's link is not an http(s) URL")
            if not (self.next_pages_off_site or any_site) and not any(
                same_site(parts.hostname or "", host) for host in follows.site
            ):
                raise FetchError(
                    location,
                    f"not on the source's site ({', '.join(follows.site) or 'none'}): "
                    "next pages stay there unless [fetch] next_pages_off_site is set",
                )
        elif scheme == "file":
            return _read_file(location, Path(unquote(parts.path)), self.max_bytes)
        elif scheme not in ("http", "https"):
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
        reach = follows.reach if follows is not None else ANYWHERE
        attempt = Attempt(reach=reach, deadline_seconds=self.deadline_seconds,
                          stopping=self.stopping)  # fmt: skip
        url, first_wait = location, 0.0
        for hop in range(MAX_REDIRECTS + 1):
            named = url if hop == 0 else f"{url} (redirected from {location})"
            host = (urlsplit(url).hostname or "").lower()
            called = time.monotonic()
            with self.gate.hold(host):
                waited = time.monotonic() - called
                first_wait = waited if hop == 0 else first_wait
                attempt.extend(waited)
                answer = self._get(url, named, headers, attempt)
            if hop == 0 and follows is None:
                attempt.reach = Reach(networks=self.allow_networks + self._own(attempt))
            if isinstance(answer, _Redirect):
                url = answer.location
                continue
            site = follows.site if follows is not None else (host,)
            if follows is None and hop > 0 and host not in site:
                site = (*site, host)
            return replace(answer, waited_seconds=first_wait, reach=attempt.reach, site=site)
        raise FetchError(
            f"{url} (redirected from {location})", f"more than {MAX_REDIRECTS} redirects"
        )

    def _own(self, attempt: Attempt) -> tuple[IPNetwork, ...]:
        return self.own_networks(attempt.peer) if attempt.peer is not None else ()

    def _get(
        self, url: str, named: str, headers: dict[str, str], attempt: Attempt
    ) -> Document | NotModified | _Redirect:
        token = enter(attempt)
        try:
            return self._send(url, named, headers)
        except DeadlineExceededError as error:
            raise FetchError(
                named, f"too slow: not read in {self.deadline_seconds:g} seconds"
            ) from error
        except AddressRefusedError as error:
            raise FetchError(named, str(error)) from error
        except httpx.TimeoutException as error:
            raise FetchError(named, f"timed out ({type(error).__name__})") from error
        except httpx.HTTPError as error:
            raise FetchError(named, f"{type(error).__name__}: {error}") from error
        finally:
            leave(token)

    def _send(
        self, url: str, named: str, headers: dict[str, str]
    ) -> Document | NotModified | _Redirect:
        limit = f"larger than the {self.max_bytes:,}-byte limit"
        with self.client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return NotModified(
                    url=str(response.url),
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                )
            if response.status_code in (301, 302, 303, 307, 308):
                target = response.headers.get("Location", "").strip()
                if not target:
                    raise FetchError(named, f"HTTP {response.status_code} without a Location")
                target = urljoin(str(response.url), target)
                if urlsplit(target).scheme.lower() not in ("http", "https"):
                    raise FetchError(named, f"redirected to a non-http(s) URL: {target!r}")
                return _Redirect(target)
            if response.status_code in (429, 503):
                wait = parse_retry_after(response.headers.get("Retry-After"), self.now())
                raise RetryLaterError(
                    named, f"HTTP {response.status_code} {response.reason_phrase}", wait
                )
            if response.status_code >= 400:
                raise FetchError(named, f"HTTP {response.status_code} {response.reason_phrase}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(named, limit)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(named, limit)
                chunks.append(chunk)
            return Document(
                url=str(response.url),
                content=b"".join(chunks),
                content_type=response.headers.get("Content-Type"),
                charset=response.charset_encoding,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
            )


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport over ``GuardedBackend`` (no proxy, no Unix socket)."""

    def __init__(self) -> None:
        super().__init__()
        # the pool httpx would build, on our backend (httpx has no argument for it)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(),
        )


def fetch_document(
    location: str, *, max_bytes: int = DEFAULT_MAX_BYTES, timeout: httpx.Timeout = DEFAULT_TIMEOUT
) -> Document:
    """Fetch one document, unconditionally (for ``feedpub preview``)."""
    with Fetcher(max_bytes=max_bytes, timeout=timeout) as fetcher:
        document = fetcher.fetch(location)
    if not isinstance(document, Document):  # no validators were sent: a 304 is a server error
        raise FetchError(location, "HTTP 304 Not Modified to an unconditional request")
    return document
