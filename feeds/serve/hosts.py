"""Which base URL a request's links are made from: its own Host's when that host is allowed,
the canonical one otherwise. So a client cannot make the app render a feed per Host value it
invents, nor put a host of its choosing into the links, stylesheet, scripts and redirects.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from feeds.config import HOST_PATTERN, PublisherConfig, ServingLimits

logger = logging.getLogger(__name__)

#: The hosts allowed when the configuration names none (nor a base URL), on the port the
#: server listens on; the first is canonical.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
#: What a ``BaseUrls`` remembers of the requests it has seen: the answers for this many
#: distinct Host headers (with their server's name, port, scheme and mount point), the most
#: recently used, each of this many characters at most (a longer one is worked out every time;
#: a Host header is the client's to choose, a host name is 253 characters at most).
REMEMBERED_HOSTS = 256
REMEMBERED_HOST_CHARACTERS = 300

#: What a request's base URL depends on: its ``HTTP_HOST``, ``SERVER_NAME``, ``SERVER_PORT``,
#: ``wsgi.url_scheme`` and ``SCRIPT_NAME`` (its mount point).
RequestKey = tuple[str | None, str, str, str | None, str]
#: A request's base URL, and the Host and scheme it is given (``None`` for a bad Host).
Resolved = tuple[str, str, str] | None


def _without_default_port(host: str, scheme: str) -> str:
    return host.removesuffix(f":{_DEFAULT_PORTS.get(scheme, '')}")


class BaseUrls:
    """Finds the base URL (``scheme://host[:port][mount point]``, no slash) of each request.

    A request to an allowed host gets its own; any other gets the canonical base URL:
    ``base_url`` when configured, else the first allowed host, else ``127.0.0.1`` on the
    server's port. With ``base_url`` set and no ``allowed_hosts``, every request gets it.
    The answer is remembered for the Hosts seen last (``REMEMBERED_HOSTS``), so that a
    request to one of them costs a look-up.
    """

    def __init__(self, publisher: PublisherConfig, limits: ServingLimits) -> None:
        self.canonical = publisher.base_url
        self.allowed = frozenset(limits.allowed_hosts)
        self.first_allowed = limits.allowed_hosts[0] if limits.allowed_hosts else ""
        self._told = False
        self._remembered = lru_cache(maxsize=REMEMBERED_HOSTS)(self._resolve)

    def _allowed_hosts(self, port: str, scheme: str) -> frozenset[str]:
        if self.allowed or self.canonical:
            return self.allowed
        return frozenset(
            _without_default_port(f"{name}:{port}" if port else name, scheme)
            for name in LOOPBACK_HOSTS
        )

    def _canonical(self, port: str, scheme: str, mount: str) -> str:
        if self.canonical:
            return self.canonical
        if self.first_allowed:
            return f"{scheme}://{_without_default_port(self.first_allowed, scheme)}{mount}"
        host = f"{LOOPBACK_HOSTS[0]}:{port}" if port else LOOPBACK_HOSTS[0]
        return f"{scheme}://{_without_default_port(host, scheme)}{mount}"

    def __call__(self, environ: Mapping[str, Any]) -> str | None:
        """The request's base URL; ``None`` for a Host header that is not a host at all."""
        resolved = self._resolved(environ)
        return None if resolved is None else resolved[0]

    def canonicalize(self, environ: dict[str, Any]) -> str | None:
        """The request's base URL, as ``__call__``; a request to a host that is not allowed
        is given the canonical host (and scheme), so that whatever the wrapped app builds
        from them (redirects) is canonical too."""
        resolved = self._resolved(environ)
        if resolved is None:
            return None
        base, environ["HTTP_HOST"], environ["wsgi.url_scheme"] = resolved
        return base

    def _resolved(self, environ: Mapping[str, Any]) -> Resolved:
        """``resolved`` for the request."""
        return self.resolved(
            (
                environ.get("HTTP_HOST"),
                environ.get("SERVER_NAME", ""),
                environ.get("SERVER_PORT", ""),
                environ.get("wsgi.url_scheme"),
                environ.get("SCRIPT_NAME", ""),
            )
        )

    def resolved(self, key: RequestKey) -> Resolved:
        """The base URL of a request (``RequestKey``), and the Host and scheme it is given;
        remembered for the ``REMEMBERED_HOSTS`` seen last."""
        if key[0] is not None and len(key[0]) > REMEMBERED_HOST_CHARACTERS:
            return self._resolve(key)
        return self._remembered(key)

    def _resolve(self, key: RequestKey) -> Resolved:
        """The base URL of a request (``RequestKey``), and the Host and scheme it is given:
        its base URL's."""
        host_header, server_name, port, url_scheme, mount = key
        host = host_header or f"{server_name}:{port}"
        if not HOST_PATTERN.match(host):
            return None
        scheme = "https" if url_scheme == "https" else "http"
        host = _without_default_port(host.lower(), scheme)
        if host in self._allowed_hosts(port, scheme):
            base = f"{scheme}://{host}{mount}"
        else:
            base = self._canonical(port, scheme, mount)
            if not self._told and not self.canonical:
                self._told = True  # once per process: every request to a host of its own would
                logger.warning(
                    "a request to host %r, which is not allowed: its links are made from %s "
                    "(name the app's public hosts in [publisher] allowed_hosts, or set "
                    "base_url)",
                    host,
                    base,
                )
        parts = urlsplit(base)
        return base, parts.netloc, parts.scheme
