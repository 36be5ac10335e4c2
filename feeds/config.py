"""The configuration: publisher, fetch politeness, sources and topics, read from a TOML file.

Everything is validated on load; an error names the file, the key path and what is wrong
(``feedpub.toml: sources[2].timezone: unknown time zone 'Mars/Olympus'``). Adapter kinds are
passed in by the caller, so this module knows no site. Deployment settings (the database) come
from the environment.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.errors import ConfigError
from feeds.text import DEFAULT_SECRET_QUERY_PARAMETERS, public_url, redact_credentials

#: The file looked for in the working directory when no config is named.
CONFIG_FILE_NAME = "feedpub.toml"
CONFIG_ENV = "FEEDPUB_CONFIG"
DATABASE_ENV = "FEEDPUB_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///feedpub.db"

#: The most entries a feed holds (a topic's ``limit``, or ``?limit=`` on its feeds).
MAX_FEED_ENTRIES = 500
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: A BCP 47 language tag's shape (``en``, ``pt-BR``, ``zh-Hant-TW``).
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,4}$")
#: Spaces, controls (C0, DEL, C1) and other characters that may not stand in a URL as written.
_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_HOST = re.compile(
    r"^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*\.?$"
)
_QUERY_PARAMETER = re.compile(r"^[A-Za-z0-9_.~\[\]-]{1,64}$")
#: Values longer than this are cut in error messages.
_SHOWN_VALUE_CHARACTERS = 60
#: The adapter kinds a configuration may name: their names, or a mapping from each name to a
#: function that checks a source's selectors (raising ``ValueError("key: what is wrong")``).
AdapterKinds = Collection[str] | Mapping[str, Callable[[Mapping[str, Any]], object]]
T = TypeVar("T")


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
    # where redirects and next pages may go: read by _fetch_reach_networks below
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


# --- Serving limits: which Host names a request's links may be made from, how much the render
# cache keeps. Read from the [publisher] table; see ``_serving_limits``.

#: A Host header's value, or an allowed host: a name or an IPv4 address, or a bracketed IPv6
#: address, with an optional port.
HOST_PATTERN = re.compile(r"^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$")
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


def bundled_config_path() -> Path:
    """The default configuration shipped with feedpub: sample listings, no network needed."""
    return Path(str(resources.files("sources") / "samples" / CONFIG_FILE_NAME))


def find_config_path(explicit: str | None = None, environ: Mapping[str, str] = os.environ) -> Path:
    """The config to load: ``--config``, else ``$FEEDPUB_CONFIG``, else ``./feedpub.toml``,
    else the bundled default."""
    if explicit:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    local = Path(CONFIG_FILE_NAME)
    return local if local.is_file() else bundled_config_path()


class _Reader:
    """Reads one table of the TOML document, tracking the key path for error messages."""

    def __init__(self, file: Path, path: str, table: object) -> None:
        self.file = file
        self.path = path
        if not isinstance(table, dict):
            raise self.error(f"expected a table, got {type(table).__name__}")
        self.table: dict[str, Any] = table
        self.seen: set[str] = set()

    def error(self, message: str, key: str | None = None) -> ConfigError:
        where = f"{self.path}.{key}" if key and self.path else (key or self.path)
        return ConfigError(
            f"{self.file}: {where}: {message}" if where else f"{self.file}: {message}"
        )

    def get(self, key: str, kind: type[T], default: T | None = None) -> T:
        self.seen.add(key)
        if key not in self.table:
            if default is None:
                raise self.error("is required", key)
            return default
        value = self.table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:  # a whole number beyond any float: out of every range
                return value  # type: ignore[no-any-return]  # refused by its range check
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(f"expected {kind.__name__}, got {shown(value)}", key)
        return value

    def text(self, key: str, default: str | None = None, *, empty_ok: bool = True) -> str:
        value = self.get(key, str, default).strip()
        if not value and not empty_ok:
            raise self.error("must not be empty", key)
        return value

    def number(self, key: str, kind: type[T], default: T, low: float, high: float) -> T:
        value = self.get(key, kind, default)
        # compared as they are: a 400-digit integer does not fit a float
        if not low <= value <= high:  # type: ignore[operator]  # int or float
            raise self.error(f"must be between {low:g} and {high:g}, got {shown(value)}", key)
        return value

    def language(self, key: str, default: str) -> str:
        value = self.text(key, default, empty_ok=False)
        if not _LANGUAGE.match(value):
            raise self.error(f"not a language tag (such as en, fr or pt-BR): {shown(value)}", key)
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list, [])
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise self.error("expected a list of non-empty strings", key)
        return tuple(v.strip() for v in values)

    def tables(self, key: str) -> list[_Reader]:
        values = self.get(key, list, [])
        return [_Reader(self.file, f"{key}[{i}]", v) for i, v in enumerate(values)]

    def sub(self, key: str) -> _Reader:
        self.seen.add(key)
        return _Reader(self.file, key, self.table.get(key, {}))

    def finish(self) -> None:
        unknown = sorted(set(self.table) - self.seen)
        if unknown:
            raise self.error("unknown key", unknown[0])


def shown(value: object) -> str:
    """A value as error messages show it: its repr, cut when long."""
    text = repr(value)
    if len(text) <= _SHOWN_VALUE_CHARACTERS:
        return text
    return f"{text[:_SHOWN_VALUE_CHARACTERS]}... ({len(text):,} characters)"


def _check_id(reader: _Reader, value: str) -> str:
    if not _ID.match(value):
        raise reader.error(f"must be lowercase letters, digits, '-' or '_', got {value!r}", "id")
    return value


def _check_url(
    reader: _Reader, key: str, value: str, base: Path, *, files: bool, published: bool = False
) -> str:
    """``value`` if it is a usable URL (``files``: ``file:`` URLs too, made absolute against
    ``base``); ``published``: one shown to readers, so it may hold no credentials."""
    if _NOT_IN_URL.search(value):
        raise reader.error(f"a URL may not hold spaces or control characters: {shown(value)}", key)
    try:
        parts = urlsplit(value)
        _port = parts.port  # reading it refuses a port out of range
    except ValueError as error:
        raise reader.error(f"not a valid URL ({error}): {shown(value)}", key) from error
    scheme = parts.scheme.lower()
    if scheme in ("http", "https") and parts.hostname:
        _check_host(reader, key, parts.hostname)
        if published and (parts.username is not None or parts.password is not None):
            masked = value.replace(f":{parts.password}@", ":***@") if parts.password else value
            raise reader.error(
                f"must not hold a user name or password (it is published): {shown(masked)}",
                key,
            )
        return value
    if scheme == "file" and files:
        path = Path(unquote(parts.path)) if parts.netloc in ("", "localhost") else None
        if path is None or not parts.path:
            raise reader.error(f"not a usable file: URL: {value!r}", key)
        if not path.is_absolute():
            path = (base / path).resolve()
        return path.as_uri()
    allowed = "an http(s) or file: URL" if files else "an http(s) URL"
    raise reader.error(f"not {allowed}: {value!r}", key)


def _check_host(reader: _Reader, key: str, host: str) -> None:
    if host.startswith("[") or ":" in host:  # an IPv6 literal: urlsplit has checked it
        return
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise reader.error(f"not a valid host name: {shown(host)}", key) from error
    if not _HOST.match(ascii_host.lower()):
        raise reader.error(f"not a valid host name: {shown(host)}", key)


def _check_contact(reader: _Reader, value: str) -> str:
    if not value:
        return value
    if _NOT_IN_URL.search(value):
        raise reader.error(
            f"a URL may not hold spaces or control characters: {shown(value)}", "contact"
        )
    if urlsplit(value).scheme not in ("http", "https", "mailto"):
        raise reader.error(f"expected an http(s) or mailto: URL, got {shown(value)}", "contact")
    return value


def _secret_parameters(reader: _Reader) -> tuple[str, ...]:
    if "secret_query_parameters" not in reader.table:
        return DEFAULT_SECRET_QUERY_PARAMETERS
    names = reader.strings("secret_query_parameters")
    for name in names:
        if not _QUERY_PARAMETER.match(name):
            raise reader.error(
                f"not a query parameter name: {shown(name)}", "secret_query_parameters"
            )
    return names


def _zone(reader: _Reader, key: str, default: str) -> ZoneInfo:
    name = reader.text(key, default)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise reader.error(f"unknown time zone {name!r}", key) from error


def _unique(readers: list[_Reader], ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for reader, value in zip(readers, ids, strict=True):
        if value in seen:
            raise reader.error(f"duplicate {what} id {value!r}", "id")
        seen.add(value)


def _selectors(reader: _Reader, kind: str, kinds: AdapterKinds) -> Mapping[str, Any]:
    reader.seen.add("selectors")
    options = reader.table.get("selectors", {})
    if not isinstance(options, dict):
        raise reader.error(f"expected a table, got {options!r}", "selectors")
    factory = kinds.get(kind) if isinstance(kinds, Mapping) else None
    if factory is not None:
        try:
            factory(options)
        except ValueError as error:
            raise reader.error(str(error), "selectors") from error
    return MappingProxyType(options)


def _next_page_template(reader: _Reader) -> str:
    template = reader.text("next_page_template", "")
    if not template:
        return ""
    if "{offset}" not in template and "{page}" not in template:
        raise reader.error("must hold {offset} or {page}", "next_page_template")
    try:
        example = template.format(offset=10, page=2)
    except (KeyError, IndexError, ValueError) as error:
        raise reader.error(
            f"only {{offset}} and {{page}} may be used: {error}", "next_page_template"
        ) from error
    _check_url(reader, "next_page_template", example, Path(), files=False)
    return template


def _refresh(reader: _Reader, minutes: int, seconds: int) -> tuple[int, int]:
    """A table's refresh interval, as (minutes, seconds): ``refresh_minutes`` or
    ``refresh_seconds`` (not both), else the ones given (the defaults')."""
    if "refresh_minutes" in reader.table and "refresh_seconds" in reader.table:
        raise reader.error("give refresh_minutes or refresh_seconds, not both", "refresh_seconds")
    if "refresh_seconds" in reader.table:
        return minutes, reader.number("refresh_seconds", int, 0, 5, 7 * 24 * 3600)
    if "refresh_minutes" in reader.table:
        return reader.number("refresh_minutes", int, 60, 1, 7 * 24 * 60), 0
    return minutes, seconds


def _sources(
    root: _Reader, base: Path, kinds: AdapterKinds, secret_parameters: tuple[str, ...]
) -> tuple[SourceConfig, ...]:
    defaults = root.sub("defaults")
    default_zone = defaults.text("timezone", "Europe/Zurich")
    _zone(defaults, "timezone", default_zone)
    default_minutes, default_seconds = _refresh(defaults, 60, 0)
    default_pages = defaults.number("page_limit", int, 1, 1, 100)
    default_keep = defaults.number("keep_at_least", int, 100, 0, 100_000)
    default_age = defaults.number("max_age_days", int, 365, 1, 36_500)
    default_kind = defaults.text("kind", "ilo")
    if "kind" in defaults.table and default_kind not in kinds:
        known = ", ".join(sorted(kinds))
        raise defaults.error(f"unknown adapter kind {default_kind!r} (known: {known})", "kind")
    defaults.finish()
    readers = root.tables("sources")
    sources = []
    for reader in readers:
        kind = reader.text("kind", default_kind)
        if kind not in kinds:
            known = ", ".join(sorted(kinds))
            raise reader.error(f"unknown adapter kind {kind!r} (known: {known})", "kind")
        public_url = reader.text("public_url", "")
        refresh_minutes, refresh_seconds = _refresh(reader, default_minutes, default_seconds)
        source = SourceConfig(
            id=_check_id(reader, reader.text("id")),
            title=reader.text("title", empty_ok=False),
            url=_check_url(reader, "url", reader.text("url", empty_ok=False), base, files=True),
            public_url=_check_url(
                reader, "public_url", public_url, base, files=False, published=True
            )
            if public_url
            else "",
            kind=kind,
            timezone=_zone(reader, "timezone", default_zone),
            refresh_minutes=refresh_minutes,
            refresh_seconds=refresh_seconds,
            page_limit=reader.number("page_limit", int, default_pages, 1, 100),
            keep_at_least=reader.number("keep_at_least", int, default_keep, 0, 100_000),
            max_age_days=reader.number("max_age_days", int, default_age, 1, 36_500),
            language=reader.language("language", "en"),
            selectors=_selectors(reader, kind, kinds),
            next_page_template=_next_page_template(reader),
            secret_parameters=secret_parameters,
        )
        reader.finish()
        sources.append(source)
    _unique(readers, [s.id for s in sources], "source")
    return tuple(sources)


def _topics(root: _Reader, source_ids: set[str]) -> tuple[TopicConfig, ...]:
    readers = root.tables("topics")
    topics = []
    for reader in readers:
        sources = reader.strings("sources")
        for source_id in sources:
            if source_id not in source_ids:
                raise reader.error(f"unknown source {source_id!r}", "sources")
        image = reader.text("image", "")
        topics.append(
            TopicConfig(
                id=_check_id(reader, reader.text("id")),
                title=reader.text("title", empty_ok=False),
                description=reader.text("description", ""),
                sources=sources,
                labels=reader.strings("labels"),
                exclude_labels=reader.strings("exclude_labels"),
                keywords=reader.strings("keywords"),
                limit=reader.number("limit", int, 50, 1, MAX_FEED_ENTRIES),
                image=_check_url(reader, "image", image, Path(), files=False) if image else "",
                language=reader.language("language", "") if "language" in reader.table else "",
            )
        )
        reader.finish()
    _unique(readers, [t.id for t in topics], "topic")
    return tuple(topics)


# --- Serving limits, read from the [publisher] table


def _serving_limits(publisher: _Reader) -> ServingLimits:
    hosts = []
    for index, host in enumerate(publisher.strings("allowed_hosts")):
        port = host.rpartition(":")[2] if ":" in host.rpartition("]")[2] else ""
        if not HOST_PATTERN.match(host) or (port and not 1 <= int(port) <= 65535):
            raise publisher.error(
                "expected a host with an optional port (feeds.example.org, 127.0.0.1:8000), "
                f"got {host!r}",
                f"allowed_hosts[{index}]",
            )
        if host.lower() not in hosts:
            hosts.append(host.lower())
    return ServingLimits(
        allowed_hosts=tuple(hosts),
        render_cache_bytes=_large_number(
            publisher, "render_cache_bytes", DEFAULT_RENDER_CACHE_BYTES, 1024**2, 64 * 1024**3
        ),
        render_cache_entries=_large_number(
            publisher, "render_cache_entries", DEFAULT_RENDER_CACHE_ENTRIES, 1, 1_000_000
        ),
    )


def _large_number(reader: _Reader, key: str, default: int, low: int, high: int) -> int:
    """A whole number whose bounds are written out in full (``1_048_576``), as in TOML."""
    value = reader.get(key, int, default)
    if not low <= value <= high:
        raise reader.error(f"must be between {low:_} and {high:_}, got {value!r}", key)
    return value


# --- end of serving limits


def parse_config(
    text: str,
    path: Path,
    *,
    adapter_kinds: AdapterKinds,
    environ: Mapping[str, str] = os.environ,
) -> Config:
    """Validate a configuration document read from ``path`` (relative ``file:`` URLs in it
    are resolved against the file's folder)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    except RecursionError as error:  # arrays or tables nested thousands deep
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from error
    root = _Reader(path, "", document)
    publisher_reader = root.sub("publisher")
    base_url = publisher_reader.text("base_url", "")
    contact = publisher_reader.text("contact", "")
    publisher = PublisherConfig(
        name=publisher_reader.text("name", empty_ok=False),
        base_url=_check_url(
            publisher_reader, "base_url", base_url, Path(), files=False, published=True
        ).rstrip("/")
        if base_url
        else "",
        contact=_check_contact(publisher_reader, contact),
        language=publisher_reader.language("language", "en"),
    )
    limits = _serving_limits(publisher_reader)
    publisher_reader.finish()
    fetch_reader = root.sub("fetch")
    fetch = FetchConfig(
        timeout_seconds=fetch_reader.number("timeout_seconds", float, 30.0, 0.1, 600),
        connect_timeout_seconds=fetch_reader.number(
            "connect_timeout_seconds", float, 10.0, 0.1, 600
        ),
        max_bytes=fetch_reader.number("max_bytes", int, 5 * 1024 * 1024, 1024, 1024**3),
        host_spacing_seconds=fetch_reader.number("host_spacing_seconds", float, 2.0, 0, 3600),
        max_backoff_minutes=fetch_reader.number(
            "max_backoff_minutes", int, 24 * 60, 1, 30 * 24 * 60
        ),
        secret_query_parameters=_secret_parameters(fetch_reader),
        allow_networks=_fetch_reach_networks(fetch_reader),
        next_pages_off_site=fetch_reader.get("next_pages_off_site", bool, False),
    )
    fetch_reader.finish()
    scheduler_reader = root.sub("scheduler")
    scheduler = SchedulerConfig(
        threads=scheduler_reader.number("threads", int, 4, 1, 64),
        lease_seconds=scheduler_reader.number("lease_seconds", int, 120, 3, 24 * 3600),
    )
    scheduler_reader.finish()
    sources = _sources(root, path.resolve().parent, adapter_kinds, fetch.secret_query_parameters)
    topics = _topics(root, {s.id for s in sources})
    root.finish()
    return Config(
        path=path,
        publisher=publisher,
        fetch=fetch,
        sources=sources,
        topics=topics,
        scheduler=scheduler,
        database_url=environ.get(DATABASE_ENV) or DEFAULT_DATABASE_URL,
        limits=limits,
    )


def load_config(
    path: Path,
    *,
    adapter_kinds: AdapterKinds,
    environ: Mapping[str, str] = os.environ,
) -> Config:
    """Read and validate the configuration file at ``path`` (UTF-8, with or without a
    byte-order mark)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no such file") from error
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read: {error.strerror or error}") from error
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigError(
            f"{path}: not UTF-8 text: byte 0x{data[error.start]:02x} at line {line}, "
            f"column {column} (save the file as UTF-8)"
        ) from error
    return parse_config(text, path, adapter_kinds=adapter_kinds, environ=environ)


# --- [fetch] where redirects and next pages may go -------------------------------------------


def _fetch_reach_networks(
    reader: _Reader,
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``[fetch] allow_networks``: a list of networks in CIDR form (``10.1.0.0/16``)."""
    networks = []
    for value in reader.strings("allow_networks"):
        try:
            networks.append(ipaddress.ip_network(value))
        except ValueError as error:
            raise reader.error(
                f"expected networks like '10.1.0.0/16' (host bits zero), got {value!r}",
                "allow_networks",
            ) from error
    return tuple(networks)
