"""What a page rendered in the browser may load: every request it makes is decided here.

The page's own document comes from the ``Fetcher`` (already checked); any other request is
refused unless each address its host resolves to is one the source may reach (public, the
source's own network, ``[fetch] allow_networks``: the fetcher's rules for redirects), and,
with ``render_same_site_only``, it is on the source's site; images, media and fonts are not
loaded unless asked. Allowed requests are made by Playwright without following redirects, so
that each redirect is checked as a request of its own.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from feeds.refresh.fetch import MAX_REDIRECTS, Document, same_site
from feeds.refresh.network import address_kind

if TYPE_CHECKING:
    from playwright.async_api import APIResponse, Route

logger = logging.getLogger(__name__)

#: Resource types left out unless ``render_images``: nothing a listing's text needs.
HEAVY_TYPES = frozenset({"image", "media", "font"})
#: Schemes a page may use that make no request to a host.
LOCAL_SCHEMES = frozenset({"data", "blob", "about"})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: The longest one request of the page may take.
REQUEST_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PageRules:
    """The rendered page's document, and what else it may load."""

    document: Document
    images: bool = False
    same_site_only: bool = False


class RefusedError(Exception):
    """A request of the page was not made (internal to the sentry: it aborts the request)."""


@dataclass
class Sentry:
    """The route handler of a rendered page's context: answers its document, checks and makes
    every other request; ``refused`` lists the requests not made, with why."""

    rules: PageRules
    refused: list[str] = field(default_factory=list)
    served_document: bool = False

    async def handle(self, route: Route) -> None:
        request = route.request
        url = request.url
        document = self.rules.document
        if not self.served_document and request.is_navigation_request() and url == document.url:
            self.served_document = True
            await route.fulfill(
                status=200,
                body=document.content,
                content_type=document.content_type or "text/html",
            )
            return
        try:
            await self.check(url, request.resource_type)
            response = await self._fetch(route, url, request.method)
        except RefusedError as refusal:
            self.refused.append(f"{url}: {refusal}")
            logger.info("rendering %s: refused %s: %s", document.url, url, refusal)
            await route.abort("blockedbyclient")
            return
        if response is None:
            await route.continue_()
            return
        await route.fulfill(response=response)

    async def check(self, url: str, resource_type: str = "") -> None:
        """``RefusedError`` unless the page may make this request."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in LOCAL_SCHEMES:
            return
        if scheme not in ("http", "https"):
            raise RefusedError(f"not an http(s) URL ({scheme})")
        if resource_type in HEAVY_TYPES and not self.rules.images:
            raise RefusedError(f"{resource_type} not loaded (render_images = false)")
        host = (parts.hostname or "").lower()
        if self.rules.same_site_only and not any(
            same_site(host, own) for own in self.rules.document.site
        ):
            raise RefusedError("another site's (render_same_site_only = true)")
        for address in await _addresses(host, parts.port or (443 if scheme == "https" else 80)):
            if not self.rules.document.reach.permits(address):
                raise RefusedError(
                    f"{host} is at {address}, a {address_kind(address)} address "
                    "(only the source's own URL may be at one; see [fetch] allow_networks)"
                )

    async def _fetch(self, route: Route, url: str, method: str) -> APIResponse | None:
        """The response to the request, its redirects followed here, each checked; ``None``
        for a request that is not a plain one (a WebSocket's, say): it goes on as it is."""
        if method not in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
            return None
        target: str | None = None
        for _hop in range(MAX_REDIRECTS + 1):
            options: dict[str, Any] = {
                "max_redirects": 0,
                "timeout": REQUEST_TIMEOUT_SECONDS * 1000,
            }
            if target is not None:
                options.update(url=target, method="GET")
            response = await route.fetch(**options)
            if response.status not in REDIRECTS:
                return response
            location = response.headers.get("location", "").strip()
            if not location:
                return response
            target = urljoin(target or url, location)
            await self.check(target)
        raise RefusedError(f"more than {MAX_REDIRECTS} redirects")


async def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise RefusedError(f"cannot resolve {host}: {error}") from error
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
