"""The configuration: publisher, fetch politeness, sources and topics, read from a TOML file.

Everything is validated on load; an error names the file, the key path and what is wrong
(``feedpub.toml: sources[2].timezone: unknown time zone 'Mars/Olympus'``). Adapter kinds are
passed in by the caller, so this module knows no site. Deployment settings (the database) come
from the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from feeds.config.hub import DEFAULT_LEASE_SECONDS, MAX_SECRET_BYTES, WebSubConfig
from feeds.config.reading import (
    TableReader,
    check_contact,
    check_url,
    read_browser,
    read_metrics,
    read_reach_networks,
    read_secret_parameters,
    read_serving_limits,
    read_sources,
    read_topics,
)
from feeds.config.settings import (
    CONFIG_ENV,
    CONFIG_FILE_NAME,
    DATABASE_ENV,
    DEFAULT_DATABASE_URL,
    HOST_PATTERN,
    MAX_FEED_ENTRIES,
    AdapterKinds,
    BrowserConfig,
    Config,
    FetchConfig,
    MetricsConfig,
    PublisherConfig,
    SchedulerConfig,
    ServingLimits,
    SourceConfig,
    TopicConfig,
)
from feeds.errors import ConfigError

#: What the rest of feedpub reads of the configuration.
__all__ = [
    "CONFIG_ENV",
    "CONFIG_FILE_NAME",
    "DATABASE_ENV",
    "DEFAULT_DATABASE_URL",
    "HOST_PATTERN",
    "MAX_FEED_ENTRIES",
    "MAX_SECRET_BYTES",
    "AdapterKinds",
    "BrowserConfig",
    "Config",
    "FetchConfig",
    "MetricsConfig",
    "PublisherConfig",
    "SchedulerConfig",
    "ServingLimits",
    "SourceConfig",
    "TopicConfig",
    "WebSubConfig",
    "bundled_config_path",
    "find_config_path",
    "load_config",
    "parse_config",
]


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
    root = TableReader(path, "", document)
    publisher_reader = root.sub("publisher")
    base_url = publisher_reader.text("base_url", "")
    contact = publisher_reader.text("contact", "")
    publisher = PublisherConfig(
        name=publisher_reader.text("name", empty_ok=False),
        base_url=check_url(
            publisher_reader, "base_url", base_url, Path(), files=False, published=True
        ).rstrip("/")
        if base_url
        else "",
        contact=check_contact(publisher_reader, contact),
        language=publisher_reader.language("language", "en"),
    )
    limits = read_serving_limits(publisher_reader)
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
        secret_query_parameters=read_secret_parameters(fetch_reader),
        allow_networks=read_reach_networks(fetch_reader),
        next_pages_off_site=fetch_reader.get("next_pages_off_site", bool, False),
    )
    fetch_reader.finish()
    scheduler_reader = root.sub("scheduler")
    scheduler = SchedulerConfig(
        threads=scheduler_reader.number("threads", int, 4, 1, 64),
        lease_seconds=scheduler_reader.number("lease_seconds", int, 120, 3, 24 * 3600),
    )
    scheduler_reader.finish()
    metrics = read_metrics(root)
    browser = read_browser(root, environ)
    websub = read_websub(root)
    sources = read_sources(
        root, path.resolve().parent, adapter_kinds, fetch.secret_query_parameters
    )
    topics = read_topics(root, {s.id for s in sources})
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
        metrics=metrics,
        browser=browser,
        websub=websub,
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


def read_websub(root: TableReader) -> WebSubConfig:
    """``[websub]``: every key optional; numbers within their ranges, the lease bounds in
    order, the external hubs http(s) URLs."""
    reader = root.sub("websub")
    number = reader.number
    minimum = number("min_lease_seconds", int, 3600, 1, 365 * 24 * 3600)
    maximum = number("max_lease_seconds", int, 30 * 24 * 3600, 1, 365 * 24 * 3600)
    if maximum < minimum:
        raise reader.error(
            f"must be at least min_lease_seconds ({minimum}), got {maximum}", "max_lease_seconds"
        )
    default = number("default_lease_seconds", int, DEFAULT_LEASE_SECONDS, 1, 365 * 24 * 3600)
    if not minimum <= default <= maximum:
        raise reader.error(
            f"must be between min_lease_seconds ({minimum}) and max_lease_seconds "
            f"({maximum}), got {default}",
            "default_lease_seconds",
        )
    hubs = reader.strings("external_hubs")
    checked = tuple(
        check_url(reader, f"external_hubs[{index}]", hub, Path(), files=False)
        for index, hub in enumerate(hubs)
    )
    config = WebSubConfig(
        enabled=reader.get("enabled", bool, True),
        default_lease_seconds=default,
        min_lease_seconds=minimum,
        max_lease_seconds=maximum,
        allow_private_callbacks=reader.get("allow_private_callbacks", bool, False),
        max_subscriptions=number("max_subscriptions", int, 100_000, 1, 10_000_000),
        max_subscriptions_per_host=number("max_subscriptions_per_host", int, 1000, 1, 10_000_000),
        requests_per_minute=number("requests_per_minute", int, 60, 1, 1_000_000),
        timeout_seconds=number("timeout_seconds", float, 10.0, 0.1, 300),
        max_response_bytes=number("max_response_bytes", int, 64 * 1024, 256, 16 * 1024 * 1024),
        retry_seconds=number("retry_seconds", float, 30.0, 0.01, 24 * 3600),
        max_retry_seconds=number("max_retry_seconds", float, 3600.0, 0.01, 7 * 24 * 3600),
        give_up_seconds=number("give_up_seconds", float, 24 * 3600.0, 0.1, 30 * 24 * 3600),
        drop_after_give_ups=number("drop_after_give_ups", int, 3, 1, 1000),
        poll_seconds=number("poll_seconds", float, 1.0, 0.01, 600),
        delivery_threads=number("delivery_threads", int, 16, 1, 256),
        external_hubs=checked,
    )
    reader.finish()
    return config
