"""``/metrics`` and structured logs, for operators: off unless enabled, shown only to allowed
addresses, read back by prometheus_client's own parser after a refresh and some requests;
summed over ``feedpub serve``'s processes (its worker refreshes, its servers answer);
``--log-format json`` writes one JSON object a line with each refresh's fields."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from feeds.config import Config, bundled_config_path, parse_config
from feeds.errors import ConfigError
from feeds.ledger.store import Ledger
from feeds.serve.monitoring import route_class
from feeds.serve.publish import FeedPublisher
from server import create_app
from tests.http_server import LocalServer, Route
from tests.refresh_kit import Clock, item, make_refresher, make_source, open_ledger, page
from tests.serving import feedpub_serving
from tests.test_cli_preview import feedpub

BASE = "https://feeds.example.org"
#: Source ids of this module's own, so that counts of other tests in the process never mix in.
SOURCE = "metered"
BROKEN = "metered-broken"
CONFIG = """
[publisher]
name = "Test feeds"
allowed_hosts = ["feeds.example.org"]

[metrics]
enabled = true
{allow}

[[sources]]
id = "metered"
title = "Metered"
url = "https://www.example.org/news/lang--en/index.htm"

[[sources]]
id = "metered-broken"
title = "Broken"
url = "https://www.example.org/broken/lang--en/index.htm"

[[topics]]
id = "metered"
title = "Metered news"
"""

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, by name and labels, read by prometheus_client."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def make_config(tmp_path: Path, allow: str = "") -> Config:
    text = CONFIG.format(allow=allow)
    return parse_config(text, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    opened = open_ledger(database_url)
    yield opened
    opened.close()


def app_client(config: Config, ledger: Ledger) -> FlaskClient:
    publisher = FeedPublisher(config, ledger, version_ttl=0)
    return create_app(config, ledger=ledger, publisher=publisher).test_client()


def scrape(client: FlaskClient) -> Samples:
    response = client.get("/metrics", base_url=BASE)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert response.headers["Cache-Control"] == "no-store"
    return samples(response.get_data(as_text=True))


def test_metrics_count_refreshes_requests_and_renders_and_show_each_sources_health(
    tmp_path: Path, server: LocalServer, ledger: Ledger
) -> None:
    config = make_config(tmp_path)
    client = app_client(config, ledger)
    before = scrape(client)
    server.routes["/news"] = page(item("Alpha", 20, "One."), item("Beta", 19, "Two."))
    server.routes["/broken"] = Route(b"oops", status=500)
    refresher = make_refresher(ledger, Clock())
    refresher.refresh(make_source(server, "/news", id=SOURCE))
    refresher.refresh(make_source(server, "/news", id=SOURCE))  # the same bytes
    refresher.refresh(make_source(server, "/broken", id=BROKEN))
    feed = client.get("/feeds/metered.rss", base_url=BASE)
    again = client.get(
        "/feeds/metered.rss", base_url=BASE, headers={"If-None-Match": feed.headers["ETag"]}
    )
    assert again.status_code == 304
    client.get("/feeds/metered.json?filter=alpha", base_url=BASE)
    client.get("/topics/metered", base_url=BASE)
    client.get("/no/such/page", base_url=BASE)
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    refreshes = "feedpub_refreshes_total"
    assert grew(refreshes, source=SOURCE, outcome="updated") == 1
    assert grew(refreshes, source=SOURCE, outcome="unchanged") == 1
    assert grew(refreshes, source=BROKEN, outcome="failed") == 1
    assert grew("feedpub_fetch_seconds_count", source=SOURCE) == 2
    assert grew("feedpub_fetch_bytes_total", source=SOURCE) == 2 * len(server.routes["/news"].body)
    assert grew("feedpub_refresh_seconds_count", source=BROKEN) == 1
    requests = "feedpub_http_requests_total"
    assert grew(requests, route="feed", status="200") == 2
    assert grew(requests, route="feed", status="304") == 1
    assert grew(requests, route="page", status="200") == 1
    assert grew(requests, route="other", status="404") == 1
    assert grew(requests, route="metrics", status="200") == 1  # the first scrape
    assert grew("feedpub_http_response_bytes_total", route="feed") == len(feed.data) + len(
        client.get("/feeds/metered.json?filter=alpha", base_url=BASE).data
    )
    renders = "feedpub_feed_render_seconds_count"
    assert grew(renders, format="rss", filtered="false") >= 1
    assert grew(renders, format="json", filtered="true") >= 1
    assert value(after, "feedpub_render_cache_entries") >= 2
    assert value(after, "feedpub_render_cache_bytes") > len(feed.data)
    # each source's health, from the ledger
    assert value(after, "feedpub_source_entries", source=SOURCE) == 2
    assert value(after, "feedpub_source_consecutive_failures", source=SOURCE) == 0
    assert value(after, "feedpub_source_consecutive_failures", source=BROKEN) == 1
    assert value(after, "feedpub_source_suspect", source=SOURCE) == 0
    assert value(after, "feedpub_source_refresh_interval_seconds", source=SOURCE) == 3600
    assert value(after, "feedpub_source_last_success_timestamp_seconds", source=SOURCE) > 0
    assert value(after, "feedpub_source_next_refresh_timestamp_seconds", source=BROKEN) > 0


def test_metrics_are_off_by_default_and_shown_only_to_allowed_addresses(
    tmp_path: Path, ledger: Ledger
) -> None:
    text = CONFIG.format(allow="").replace("[metrics]\nenabled = true\n", "")
    config = parse_config(text, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})
    assert app_client(config, ledger).get("/metrics", base_url=BASE).status_code == 404
    client = app_client(make_config(tmp_path), ledger)
    outside = client.get("/metrics", base_url=BASE, environ_overrides={"REMOTE_ADDR": "10.0.0.7"})
    assert outside.status_code == 403
    assert b"feedpub" not in outside.data
    client = app_client(make_config(tmp_path, 'allow = ["10.0.0.0/24"]'), ledger)
    inside = client.get("/metrics", base_url=BASE, environ_overrides={"REMOTE_ADDR": "10.0.0.7"})
    assert inside.status_code == 200
    assert client.get("/metrics", base_url=BASE).status_code == 403  # 127.0.0.1 is not listed


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("enabled = 'yes'", "metrics.enabled: expected bool, got 'yes'"),
        ("allow = ['10.0.0.1/8']", "metrics.allow[0]: expected an address or a network like"),
        ("allow = ['127.0.0.1', 'localhost']", "metrics.allow[1]: expected an address or"),
        ("allow = []", "metrics.allow: must name at least one network"),
        ("port = 9100", "metrics.port: unknown key"),
    ],
)
def test_a_wrong_metrics_table_is_a_precise_config_error(
    tmp_path: Path, table: str, message: str
) -> None:
    text = CONFIG.replace("enabled = true\n{allow}", table)
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(text, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/feeds/all-news.rss", "feed"),
        ("/feeds/feed.xsl", "static"),
        ("/", "page"),
        ("/topics/x", "page"),
        ("/embed/x.js", "embed"),
        ("/status.json", "status"),
        ("/metrics", "metrics"),
        ("/wp-admin/setup.php", "other"),
    ],
)
def test_requests_are_counted_by_a_few_route_classes(path: str, route: str) -> None:
    assert route_class(path) == route


def test_feedpub_serve_sums_its_workers_refreshes_and_its_servers_requests(
    tmp_path: Path,
) -> None:
    samples_folder = bundled_config_path().parent
    text = bundled_config_path().read_text(encoding="utf-8")
    text = text.replace('url = "file:', f'url = "file://{samples_folder}/')
    config = tmp_path / "metered.toml"
    config.write_text(text + "\n[metrics]\nenabled = true\n", encoding="utf-8")
    with feedpub_serving(
        tmp_path, f"sqlite:///{tmp_path / 'feeds.db'}", arguments=["--config", str(config)]
    ) as served:
        for _ in range(6):  # spread over both server processes
            assert served.get("/feeds/all-news.atom").status == 200
        found = samples(served.get("/metrics").body.decode())
    refreshed = {
        labels: n for (name, labels), n in found.items() if name == "feedpub_refreshes_total"
    }
    assert refreshed  # counted by the worker, shown by a server process
    assert all(dict(labels)["outcome"] == "updated" for labels in refreshed)
    assert {dict(labels)["source"] for labels in refreshed} == {"newsroom", "dakar", "lima"}
    assert value(found, "feedpub_http_requests_total", route="feed", status="200") >= 6
    assert value(found, "feedpub_source_entries", source="newsroom") > 0


def test_json_logs_are_one_object_a_line_with_each_refreshs_fields(
    tmp_path: Path, server: LocalServer
) -> None:
    config = tmp_path / "feedpub.toml"
    config.write_text(
        '[publisher]\nname = "Test feeds"\n[fetch]\nhost_spacing_seconds = 0\n'
        f'[[sources]]\nid = "office"\ntitle = "Office"\nurl = "{server.base_url}/news"\n'
        '[[sources]]\nid = "locked"\ntitle = "Locked"\n'
        f'url = "http://reader:s3cret@{server.base_url.removeprefix("http://")}/locked"\n',
        encoding="utf-8",
    )
    server.routes["/news"] = page(item("Alpha", 20, "One."))
    server.routes["/locked"] = Route(b"no", status=403)
    env = {"FEEDPUB_DATABASE_URL": f"sqlite:///{tmp_path / 'feeds.db'}"}
    result = feedpub("--log-format", "json", "refresh", "--config", str(config), env=env)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    outcomes = {line["source"]: line for line in lines if "outcome" in line}
    assert outcomes["office"]["outcome"] == "updated"
    assert outcomes["office"]["url"] == f"{server.base_url}/news"
    assert isinstance(outcomes["office"]["duration"], float)
    assert outcomes["office"]["level"] == "info"
    assert outcomes["locked"]["outcome"] == "failed"
    assert "s3cret" not in result.stderr
    assert outcomes["locked"]["url"] == f"{server.base_url}/locked"
    assert "HTTP 403" in outcomes["locked"]["error"]
