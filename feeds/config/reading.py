"""Reading the configuration's TOML tables: a reader per table that tracks its key path for
error messages, and the checks of every value (URLs, hosts, languages, numbers, ids)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cssselect import GenericTranslator, SelectorError

from feeds.config.settings import (
    CHROMIUM_ENV,
    DEFAULT_CHROMIUM,
    DEFAULT_FULL_TEXT_BUDGET,
    DEFAULT_METRICS_NETWORKS,
    DEFAULT_RENDER_CACHE_BYTES,
    DEFAULT_RENDER_CACHE_ENTRIES,
    HOST_PATTERN,
    MAX_FEED_ENTRIES,
    MAX_FULL_TEXT_BUDGET,
    AdapterKinds,
    BrowserConfig,
    MetricsConfig,
    ServingLimits,
    SourceConfig,
    TopicConfig,
)
from feeds.errors import ConfigError
from feeds.text import DEFAULT_SECRET_QUERY_PARAMETERS

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
T = TypeVar("T")


class TableReader:
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

    def tables(self, key: str) -> list[TableReader]:
        values = self.get(key, list, [])
        return [TableReader(self.file, f"{key}[{i}]", v) for i, v in enumerate(values)]

    def sub(self, key: str) -> TableReader:
        self.seen.add(key)
        return TableReader(self.file, key, self.table.get(key, {}))

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


def _check_id(reader: TableReader, value: str) -> str:
    if not _ID.match(value):
        raise reader.error(f"must be lowercase letters, digits, '-' or '_', got {value!r}", "id")
    return value


def check_url(
    reader: TableReader, key: str, value: str, base: Path, *, files: bool, published: bool = False
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


def _check_host(reader: TableReader, key: str, host: str) -> None:
    if host.startswith("[") or ":" in host:  # an IPv6 literal: urlsplit has checked it
        return
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise reader.error(f"not a valid host name: {shown(host)}", key) from error
    if not _HOST.match(ascii_host.lower()):
        raise reader.error(f"not a valid host name: {shown(host)}", key)


def check_contact(reader: TableReader, value: str) -> str:
    if not value:
        return value
    if _NOT_IN_URL.search(value):
        raise reader.error(
            f"a URL may not hold spaces or control characters: {shown(value)}", "contact"
        )
    if urlsplit(value).scheme not in ("http", "https", "mailto"):
        raise reader.error(f"expected an http(s) or mailto: URL, got {shown(value)}", "contact")
    return value


def read_secret_parameters(reader: TableReader) -> tuple[str, ...]:
    if "secret_query_parameters" not in reader.table:
        return DEFAULT_SECRET_QUERY_PARAMETERS
    names = reader.strings("secret_query_parameters")
    for name in names:
        if not _QUERY_PARAMETER.match(name):
            raise reader.error(
                f"not a query parameter name: {shown(name)}", "secret_query_parameters"
            )
    return names


def _zone(reader: TableReader, key: str, default: str) -> ZoneInfo:
    name = reader.text(key, default)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise reader.error(f"unknown time zone {name!r}", key) from error


def _unique(readers: list[TableReader], ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for reader, value in zip(readers, ids, strict=True):
        if value in seen:
            raise reader.error(f"duplicate {what} id {value!r}", "id")
        seen.add(value)


def _selectors(reader: TableReader, kind: str, kinds: AdapterKinds) -> Mapping[str, Any]:
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


def _next_page_template(reader: TableReader) -> str:
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
    check_url(reader, "next_page_template", example, Path(), files=False)
    return template


def _css_selector(reader: TableReader, key: str) -> str:
    selector = reader.text(key, "")
    if selector:
        try:
            GenericTranslator().css_to_xpath(selector)
        except SelectorError as error:
            raise reader.error(f"not a CSS selector: {shown(selector)} ({error})", key) from error
    return selector


#: The adapter kinds that read a page's HTML, which a browser may render first.
RENDERED_KINDS = ("ilo", "html")
#: The keys that mean something only with ``render = "browser"``.
_RENDER_KEYS = ("wait_for", "render_timeout_seconds", "render_images", "render_same_site_only")


def _render(reader: TableReader, kind: str, default: str) -> str:
    """A source's ``render``: ``browser``, or empty (the page is read as fetched)."""
    render = reader.text("render", default)
    if render not in ("", "browser"):
        raise reader.error(f"expected 'browser' (or no render key), got {shown(render)}", "render")
    if render and kind not in RENDERED_KINDS:
        raise reader.error(
            f"a {kind!r} source is not rendered: render is for kinds reading HTML "
            f"({', '.join(RENDERED_KINDS)})",
            "render",
        )
    for key in _RENDER_KEYS:
        if key in reader.table and not render:
            raise reader.error('is used only with render = "browser"', key)
    return render


def _refresh(reader: TableReader, minutes: int, seconds: int) -> tuple[int, int]:
    """A table's refresh interval, as (minutes, seconds): ``refresh_minutes`` or
    ``refresh_seconds`` (not both), else the ones given (the defaults')."""
    if "refresh_minutes" in reader.table and "refresh_seconds" in reader.table:
        raise reader.error("give refresh_minutes or refresh_seconds, not both", "refresh_seconds")
    if "refresh_seconds" in reader.table:
        return minutes, reader.number("refresh_seconds", int, 0, 5, 7 * 24 * 3600)
    if "refresh_minutes" in reader.table:
        return reader.number("refresh_minutes", int, 60, 1, 7 * 24 * 60), 0
    return minutes, seconds


def read_sources(
    root: TableReader, base: Path, kinds: AdapterKinds, secret_parameters: tuple[str, ...]
) -> tuple[SourceConfig, ...]:
    defaults = root.sub("defaults")
    default_zone = defaults.text("timezone", "Europe/Zurich")
    _zone(defaults, "timezone", default_zone)
    default_minutes, default_seconds = _refresh(defaults, 60, 0)
    default_pages = defaults.number("page_limit", int, 1, 1, 100)
    default_keep = defaults.number("keep_at_least", int, 100, 0, 100_000)
    default_age = defaults.number("max_age_days", int, 365, 1, 36_500)
    default_full_text = defaults.get("full_text", bool, False)
    default_budget = defaults.number(
        "full_text_budget", int, DEFAULT_FULL_TEXT_BUDGET, 0, MAX_FULL_TEXT_BUDGET
    )
    default_kind = defaults.text("kind", "ilo")
    default_render = defaults.text("render", "")
    if default_render not in ("", "browser"):
        raise defaults.error(
            f"expected 'browser' (or no render key), got {shown(default_render)}", "render"
        )
    default_render_timeout = defaults.number("render_timeout_seconds", float, 30.0, 1, 600)
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
            url=check_url(reader, "url", reader.text("url", empty_ok=False), base, files=True),
            public_url=check_url(
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
            full_text=reader.get("full_text", bool, default_full_text),
            full_text_budget=reader.number(
                "full_text_budget", int, default_budget, 0, MAX_FULL_TEXT_BUDGET
            ),
            full_text_selector=_css_selector(reader, "full_text_selector"),
            render=_render(reader, kind, default_render),
            wait_for=_css_selector(reader, "wait_for"),
            render_timeout_seconds=reader.number(
                "render_timeout_seconds", float, default_render_timeout, 1, 600
            ),
            render_images=reader.get("render_images", bool, False),
            render_same_site_only=reader.get("render_same_site_only", bool, False),
        )
        if source.full_text_selector and not source.full_text:
            raise reader.error(
                "is used only with full_text = true (in the source or [defaults])",
                "full_text_selector",
            )
        reader.finish()
        sources.append(source)
    _unique(readers, [s.id for s in sources], "source")
    return tuple(sources)


def read_topics(root: TableReader, source_ids: set[str]) -> tuple[TopicConfig, ...]:
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
                image=check_url(reader, "image", image, Path(), files=False) if image else "",
                language=reader.language("language", "") if "language" in reader.table else "",
            )
        )
        reader.finish()
    _unique(readers, [t.id for t in topics], "topic")
    return tuple(topics)


# --- Serving limits, read from the [publisher] table


def read_serving_limits(publisher: TableReader) -> ServingLimits:
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


def _large_number(reader: TableReader, key: str, default: int, low: int, high: int) -> int:
    """A whole number whose bounds are written out in full (``1_048_576``), as in TOML."""
    value = reader.get(key, int, default)
    if not low <= value <= high:
        raise reader.error(f"must be between {low:_} and {high:_}, got {value!r}", key)
    return value


# --- end of serving limits


def read_browser(root: TableReader, environ: Mapping[str, str]) -> BrowserConfig:
    """``[browser]``: the Chromium to run (``executable``, else ``$FEEDPUB_CHROMIUM``, else
    the system's), how many pages at a time (``max_pages``) and the memory bound."""
    reader = root.sub("browser")
    executable = reader.text("executable", environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM)
    if not executable:
        raise reader.error("must not be empty", "executable")
    config = BrowserConfig(
        executable=executable,
        max_pages=reader.number("max_pages", int, 4, 1, 64),
        max_memory_mb=reader.number("max_memory_mb", int, 1024, 128, 64 * 1024),
    )
    reader.finish()
    return config


# --- [fetch] where redirects and next pages may go -------------------------------------------


def read_metrics(root: TableReader) -> MetricsConfig:
    """``[metrics]``: ``enabled`` (false by default) and ``allow``, the networks whose
    clients may read ``/metrics`` (this machine's by default)."""
    reader = root.sub("metrics")
    enabled = reader.get("enabled", bool, False)
    networks = []
    for index, value in enumerate(reader.strings("allow")):
        try:
            networks.append(ipaddress.ip_network(value))
        except ValueError as error:
            raise reader.error(
                "expected an address or a network like '10.1.0.0/16' (host bits zero), "
                f"got {shown(value)}",
                f"allow[{index}]",
            ) from error
    if "allow" in reader.table and not networks:
        raise reader.error(
            "must name at least one network (leave it out for this machine's)", "allow"
        )
    reader.finish()
    return MetricsConfig(
        enabled=enabled, allow=tuple(networks) if networks else DEFAULT_METRICS_NETWORKS
    )


def read_reach_networks(
    reader: TableReader,
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
