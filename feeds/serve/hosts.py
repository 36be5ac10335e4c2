"""Which base URL a request's links are made from: its own Host's when that host is allowed,
the canonical one otherwise. So a client cannot make the app render a feed per Host value it
invents, nor put a host of its choosing into the links, stylesheet, scripts and redirects.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from feeds.config import HOST_PATTERN, PublisherConfig, ServingLimits

logger = logging.getLogger(__name__)

#: The hosts allowed when the configuration names none (nor a base URL), on the port the
#: server listens on; the first is canonical.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _without_default_port(host: str, scheme: str) -> str:
    return host.removesuffix(f":{_DEFAULT_PORTS.get(scheme, '')}")


class BaseUrls:
    """Finds the base URL (``scheme://host[:port][mount point]``, no slash) of each request.

    A request to an allowed host gets its own; any other gets the canonical base URL:
    ``base_url`` when configured, else the first allowed host, else ``127.0.0.1`` on the
    server's port. With ``base_url`` set and no ``allowed_hosts``, every request gets it.
    """

    def __init__(self, publisher: PublisherConfig, limits: ServingLimits) -> None:
        self.canonical = publisher.base_url
        self.allowed = frozenset(limits.allowed_hosts)
        self.first_allowed = limits.allowed_hosts[0] if limits.allowed_hosts else ""
        self._told = False

    def _allowed_hosts(self, environ: Mapping[str, Any], scheme: str) -> frozenset[str]:
        if self.allowed or self.canonical:
            return self.allowed
        port = environ.get("SERVER_PORT", "")
        return frozenset(
            _without_default_port(f"{name}:{port}" if port else name, scheme)
            for name in LOOPBACK_HOSTS
        )

    def _canonical(self, environ: Mapping[str, Any], scheme: str, mount: str) -> str:
        if self.canonical:
            return self.canonical
        if self.first_allowed:
            return f"{scheme}://{_without_default_port(self.first_allowed, scheme)}{mount}"
        port = environ.get("SERVER_PORT", "")
        host = f"{LOOPBACK_HOSTS[0]}:{port}" if port else LOOPBACK_HOSTS[0]
        return f"{scheme}://{_without_default_port(host, scheme)}{mount}"

    def __call__(self, environ: Mapping[str, Any]) -> str | None:
        """The request's base URL; ``None`` for a Host header that is not a host at all."""
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
        )
        if not HOST_PATTERN.match(host):
            return None
        scheme = "https" if environ.get("wsgi.url_scheme") == "https" else "http"
        mount = environ.get("SCRIPT_NAME", "")
        host = _without_default_port(host.lower(), scheme)
        if host in self._allowed_hosts(environ, scheme):
            return f"{scheme}://{host}{mount}"
        canonical = self._canonical(environ, scheme, mount)
        if not self._told and not self.canonical:
            self._told = True  # once per process: every request to a host of its own would
            logger.warning(
                "a request to host %r, which is not allowed: its links are made from %s "
                "(name the app's public hosts in [publisher] allowed_hosts, or set base_url)",
                host,
                canonical,
            )
        return canonical

    def canonicalize(self, environ: dict[str, Any]) -> str | None:
        """The request's base URL, as ``__call__``; a request to a host that is not allowed
        is given the canonical host (and scheme), so that whatever the wrapped app builds
        from them (redirects) is canonical too."""
        base = self(environ)
        if base is not None:
            parts = urlsplit(base)
            environ["HTTP_HOST"] = parts.netloc
            environ["wsgi.url_scheme"] = parts.scheme
        return base
