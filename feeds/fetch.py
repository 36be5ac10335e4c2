"""Fetching documents: the only place feedpub reads from the network or the file system.

``fetch_document`` reads one ``http(s):`` or ``file:`` URL (or a local path) with timeouts, a
size cap and a redirect limit, and returns its bytes with what the server said about them.
Every failure is a ``FetchError`` naming the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from feeds import __version__
from feeds.errors import FetchError

#: Refuse documents larger than this: no listing page is anywhere near it.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_REDIRECTS = 5
#: Sent when no publisher contact is configured; the configured one adds a contact URL.
USER_AGENT = f"feedpub/{__version__}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """A fetched document: its bytes, the URL it finally came from, and its declared charset."""

    url: str
    content: bytes
    content_type: str | None = None
    charset: str | None = None


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


def fetch_document(
    location: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    user_agent: str = USER_AGENT,
) -> Document:
    """Fetch one document from an ``http(s):`` or ``file:`` URL, or a local path."""
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return _read_file(location, Path(unquote(parts.path)), max_bytes)
    if scheme not in ("http", "https"):
        if len(scheme) > 1:  # "C:" is a drive, not a scheme
            raise FetchError(location, f"unsupported URL scheme {scheme!r}: use http(s) or file")
        return _read_file(location, Path(location), max_bytes)
    try:
        with (
            httpx.Client(
                timeout=timeout,
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                headers={"User-Agent": user_agent},
            ) as client,
            client.stream("GET", location) as response,
        ):
            if response.status_code >= 400:
                raise FetchError(location, f"HTTP {response.status_code} {response.reason_phrase}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(location, f"larger than the {max_bytes:,}-byte limit")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(location, f"larger than the {max_bytes:,}-byte limit")
                chunks.append(chunk)
            return Document(
                url=str(response.url),
                content=b"".join(chunks),
                content_type=response.headers.get("Content-Type"),
                charset=response.charset_encoding,
            )
    except httpx.TooManyRedirects as error:
        raise FetchError(location, f"more than {MAX_REDIRECTS} redirects") from error
    except httpx.TimeoutException as error:
        raise FetchError(location, f"timed out ({type(error).__name__})") from error
    except httpx.HTTPError as error:
        raise FetchError(location, f"{type(error).__name__}: {error}") from error
