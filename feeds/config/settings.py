"""The configuration's values: the publisher, fetching, scheduling, serving limits, sources
and topics, as frozen dataclasses with the defaults a file may leave out. Read and validated
by ``feeds.config``."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from feeds.config.hub import WebSubConfig
from feeds.text import DEFAULT_SECRET_QUERY_PARAMETERS, public_url, redact_credentials

#: The file looked for in the working directory when no config is named.
CONFIG_FILE_NAME = "feedpub.toml"
CONFIG_ENV = "FEEDPUB_CONFIG"
DATABASE_ENV = "FEEDPUB_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///feedpub.db"

#: The most entries a feed holds (a topic's ``limit``, or ``?limit=`` on its feeds).
MAX_FEED_ENTRIES = 500
#: The adapter kinds a configuration may name: their names, or a mapping from each name to a
#: function that checks a source's selectors (raising ``ValueError("key: what is wrong")``).
AdapterKinds = Collection[str] | Mapping[str, Callable[[Mapping[str, Any]], object]]


@dataclass(frozen=True, slots=True, kw_only=True)
class PublisherConfig:
    """Who publishes the feeds.

    Attributes:
        name: Shown in feeds and pages.
        base_url: The public URL the app is served at (for self links); empty to build links
            from each request's host when it is allowed (see ``ServingLimits``).
        contact: A URL (``mailto:`` or ``https:``) sources' operators can reach us at; sent in
            the User-Agent of every request.
        language: The default language of feeds (``en``).
    """

    name: str
    base_url: str = ""
    contact: str = ""
    language: str = "en"


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchConfig:
    """How politely sources are fetched.

    Attributes:
        timeout_seconds: The longest wait for any read, and for a whole document.
        connect_timeout_seconds: The longest wait for a connection.
        max_bytes: Documents larger than this are refused.
        host_spacing_seconds: The least time between two requests to one host, from any
            process sharing the database.
        max_backoff_minutes: The longest wait before retrying a failing source.
        secret_query_parameters: Query parameters of source URLs that carry secrets (compared
            ignoring case): kept for fetching, removed wherever the URL is published.
        allow_networks: Non-public networks (CIDR) every source's redirects and next pages
            may reach, besides public addresses and the network of the source's own address.
        next_pages_off_site: Follow next-page links to other sites than the source's.
    """

    timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 10.0
    max_bytes: int = 5 * 1024 * 1024
    host_spacing_seconds: float = 2.0
    max_backoff_minutes: int = 24 * 60
    secret_query_parameters: tuple[str, ...] = DEFAULT_SECRET_QUERY_PARAMETERS
    # where redirects and next pages may go (see ``feeds.config.reading.read_reach_networks``)
    allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    next_pages_off_site: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerConfig:
    """How a worker (``feedpub worker``, or the one ``feedpub serve`` starts) refreshes.

    Attributes:
        threads: How many sources one worker refreshes at a time.
        lease_seconds: How long a worker's claim on the source it is refreshing lasts unless
            renewed (it renews its claims every third of this): the sources of a worker that
            crashed are taken over by another after this.
    """

    threads: int = 4
    lease_seconds: int = 120


#: Where the system's Chromium is looked for (Debian's ``chromium`` package), unless
#: ``[browser] executable`` or ``$FEEDPUB_CHROMIUM`` says otherwise.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ENV = "FEEDPUB_CHROMIUM"


@dataclass(frozen=True, slots=True, kw_only=True)
class BrowserConfig:
    """The headless browser that renders ``render = "browser"`` sources: one per worker
    process, started when the first such source is refreshed.

    Attributes:
        executable: The Chromium to run (the system's; never a downloaded build).
        max_pages: How many pages it renders at a time; more wait their turn.
        max_memory_mb: When the browser's processes together hold more memory than this
            (resident, read from /proc), it is killed and started again.
    """

    executable: str = DEFAULT_CHROMIUM
    max_pages: int = 4
    max_memory_mb: int = 1024


#: Who may read ``/metrics`` by default: this machine only.
DEFAULT_METRICS_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsConfig:
    """``/metrics``, for Prometheus: off unless enabled, and then only for some addresses
    (source names and their failures may be private).

    Attributes:
        enabled: Serve ``/metrics``.
        allow: The networks (CIDR) whose clients may read it; others get a 403. The address
            is the connection's own: behind a proxy, the proxy's.
    """

    enabled: bool = False
    allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = DEFAULT_METRICS_NETWORKS

    def allows(self, address: str) -> bool:
        """True when a client at ``address`` (an IP address, as the server gives it) may read
        the metrics."""
        try:
            ip = ipaddress.ip_address(address.partition("%")[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.allow)


# --- Serving limits: which Host names a request's links may be made from, how much the render
# cache keeps. Read from the [publisher] table (``feeds.config.reading.read_serving_limits``).

#: A Host header's value, or an allowed host: a name or an IPv4 address, or a bracketed IPv6
#: address, with an optional port.
HOST_PATTERN = re.compile(r"^[A-Za-z0-9.-]+(?::\d{1,5})?\Z|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?\Z")
DEFAULT_RENDER_CACHE_BYTES = 64 * 1024 * 1024
DEFAULT_RENDER_CACHE_ENTRIES = 512


@dataclass(frozen=True, slots=True, kw_only=True)
class ServingLimits:
    """What clients cannot change: the URLs the app's links are made from, and how much memory
    ready feeds take.

    Attributes:
        allowed_hosts: Hosts (``feeds.example.org``, ``127.0.0.1:8000``; lowercase) whose
            requests get links made from their own Host. A request to any other host gets the
            canonical links: ``publisher.base_url``, else the first allowed host. With neither
            set, the loopback names on the port the server listens on are allowed and
            ``127.0.0.1`` on that port is canonical.
        render_cache_bytes: The most bytes of rendered feeds (plain and gzipped) kept in each
            server process; the least recently used are dropped first.
        render_cache_entries: The most rendered feeds kept in each server process.
    """

    allowed_hosts: tuple[str, ...] = ()
    render_cache_bytes: int = DEFAULT_RENDER_CACHE_BYTES
    render_cache_entries: int = DEFAULT_RENDER_CACHE_ENTRIES


# --- end of serving limits

#: How many article pages one refresh of a source fetches at most, unless configured.
DEFAULT_FULL_TEXT_BUDGET = 10
MAX_FULL_TEXT_BUDGET = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceConfig:
    """One listing to refresh.

    Attributes:
        id: A short stable name (``[a-z0-9_-]``): entries and state are stored under it.
        title: A human name for status pages.
        url: Where the page is fetched from: ``http(s):`` or ``file:``; it may hold
            credentials (a user name and password, an API key), used for fetching only.
        public_url: The page's public URL (entries' fallback link, base of relative links,
            and identity); when empty, the ``url`` without its credentials.
        kind: The adapter that reads the page (``ilo``).
        timezone: The zone the listing's dates are read in.
        refresh_minutes: How often the page is fetched.
        refresh_seconds: When not 0, how often the page is fetched in seconds instead (five at
            least): for pages on one's own network, and tests.
        page_limit: How many pages of a paginated listing are read.
        keep_at_least: Retention: never remove entries while the source has no more than this.
        max_age_days: Retention: entries that left the page and are older than this are removed.
        language: The language of the listing (``en``, ``fr``, ...).
        selectors: The adapter's options (``[sources.selectors]``): CSS selectors and date
            settings for ``kind = "html"``; empty for the others.
        next_page_template: A URL for page n+1 of a paginated listing, with ``{offset}`` (the
            items shown so far) or ``{page}`` (the page's number, from 2); used when a page
            does not link its next page itself.
        secret_parameters: The query parameters that ``public_form`` removes.
        full_text: Fetch each entry's own page and publish its article's body as the entry's
            content (``feeds.refresh.articles``).
        full_text_budget: The most article pages fetched in one refresh of the source: a
            large listing's first refresh is spread over several.
        full_text_selector: A CSS selector of the article's body on the source's pages, for a
            site the extractor gets wrong; empty to let it find the body.
        render: ``browser`` to read the listing as a headless browser shows it once its
            scripts have run (``feeds.refresh.browser``); empty to read the page as fetched.
        wait_for: With ``render``: a CSS selector the rendered page must show before it is
            read; empty to wait for the network to settle.
        render_timeout_seconds: With ``render``: the longest a page may take to render.
        render_images: With ``render``: load images, media and fonts (not loaded by default).
        render_same_site_only: With ``render``: refuse every request to another site than
            the source's.
    """

    id: str
    title: str
    url: str
    public_url: str = ""
    kind: str = "ilo"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Zurich"))
    refresh_minutes: int = 60
    refresh_seconds: int = 0
    page_limit: int = 1
    keep_at_least: int = 100
    max_age_days: int = 365
    language: str = "en"
    selectors: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    next_page_template: str = ""
    secret_parameters: tuple[str, ...] = DEFAULT_SECRET_QUERY_PARAMETERS
    full_text: bool = False
    full_text_budget: int = DEFAULT_FULL_TEXT_BUDGET
    full_text_selector: str = ""
    render: str = ""
    wait_for: str = ""
    render_timeout_seconds: float = 30.0
    render_images: bool = False
    render_same_site_only: bool = False

    @property
    def page_url(self) -> str:
        """The URL that stands for the page wherever it is shown: its public one if given,
        else its own without credentials."""
        return self.public_url or self.public_form(self.url)

    def public_form(self, url: str) -> str:
        """A URL fetched for this source (its own, a redirect's, a next page's) as it may be
        published: without user name, password or secret query parameters."""
        return public_url(url, self.secret_parameters)

    def fetch_form(self, url: str) -> str:
        """A URL found in one of this source's pages (a next page), as it is fetched: on the
        source's own site it gets back the credentials its public form left out."""
        own, found = urlsplit(self.url), urlsplit(url)
        if (found.scheme, found.netloc) != (own.scheme, own.netloc.rpartition("@")[2]):
            return url
        netloc = own.netloc
        secrets = {name.lower() for name in self.secret_parameters}
        present = {pair.partition("=")[0].lower() for pair in found.query.split("&") if pair}
        restored = [
            pair
            for pair in own.query.split("&")
            if pair
            and pair.partition("=")[0].lower() in secrets
            and pair.partition("=")[0].lower() not in present
        ]
        query = "&".join([*filter(None, [found.query]), *restored])
        return urlunsplit((found.scheme, netloc, found.path, query, found.fragment))

    def redact(self, text: str) -> str:
        """``text`` (an error message) with every URL in it in its public form."""
        return redact_credentials(text, self.secret_parameters)

    @property
    def refresh_interval(self) -> dt.timedelta:
        """How often the page is fetched."""
        if self.refresh_seconds:
            return dt.timedelta(seconds=self.refresh_seconds)
        return dt.timedelta(minutes=self.refresh_minutes)


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicConfig:
    """A feed: which entries it holds.

    Attributes:
        id: Its name in feed URLs (``/feeds/<id>.rss``).
        title: The feed's title.
        description: The feed's description.
        sources: Source ids it draws on; empty for all sources.
        labels: Only entries with one of these labels (case-insensitive); empty for any.
        exclude_labels: Never entries with one of these labels.
        keywords: Only entries whose title or summary holds one of these words
            (whole words, case- and accent-insensitive); empty for any.
        limit: How many entries the feed holds by default.
        image: A URL of an image for the feed, or empty.
        language: The feed's language; when empty, the one its sources share, else the
            publisher's (see ``Config.topic_language``).
    """

    id: str
    title: str
    description: str = ""
    sources: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    exclude_labels: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    limit: int = 50
    image: str = ""
    language: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """A whole, validated configuration."""

    path: Path
    publisher: PublisherConfig
    fetch: FetchConfig
    sources: tuple[SourceConfig, ...]
    topics: tuple[TopicConfig, ...]
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    database_url: str = DEFAULT_DATABASE_URL
    limits: ServingLimits = field(default_factory=ServingLimits)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    browser: BrowserConfig = field(default_factory=BrowserConfig)
    websub: WebSubConfig = field(default_factory=WebSubConfig)

    def topic_sources(self, topic: TopicConfig) -> tuple[SourceConfig, ...]:
        """The sources a topic draws on (all of them when it names none)."""
        return tuple(s for s in self.sources if not topic.sources or s.id in topic.sources)

    def topic_language(self, topic: TopicConfig) -> str:
        """A topic's language: its own, else the one its sources share, else the
        publisher's."""
        shared = {source.language for source in self.topic_sources(topic)}
        if topic.language:
            return topic.language
        return shared.pop() if len(shared) == 1 else self.publisher.language

    def source(self, source_id: str) -> SourceConfig:
        """The source with this id; ``LookupError`` if there is none."""
        for source in self.sources:
            if source.id == source_id:
                return source
        raise LookupError(f"no source {source_id!r} in {self.path}")
