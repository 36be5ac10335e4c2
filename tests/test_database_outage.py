"""A PostgreSQL server that goes away and comes back, under the app (Flask's test client over
the real WSGI stack) and the scheduled refresh: while it is away feeds and pages are fast
503s with ``Retry-After`` and never cached, and a refresh turn is skipped; once it is back
everything works again, without a restart (its own server, stopped and started by the
test)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from feeds.config import Config, parse_config
from feeds.ledger.store import Ledger, Retention
from feeds.model import UTC, Entry
from feeds.refresh.scheduler import run_scheduled_refresh
from feeds.serve.publish import FeedPublisher
from server import create_app
from tests.http_server import LocalServer
from tests.postgres import PostgresServer, postgres_server
from tests.refresh_kit import Clock, item, make_refresher, make_source, page

CONFIG = """
[publisher]
name = "Test feeds"

[[sources]]
id = "office"
title = "Office"
url = "https://www.example.org/news/lang--en/index.htm"

[[topics]]
id = "office"
title = "Office news"
"""
PATHS = ("/feeds/office.rss", "/feeds/office.json", "/", "/topics/office", "/status.json")
#: How long a request may take to fail while the database is away.
FAST_SECONDS = 5.0


@pytest.fixture
def own_postgres(postgres_binaries: Path) -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, to stop and start."""
    with postgres_server(postgres_binaries) as running:
        yield running


def test_while_the_database_is_away_requests_are_fast_503s_and_then_recover(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    config: Config = parse_config(
        CONFIG, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={}
    )
    ledger = Ledger.open(own_postgres.create_database(), pool_size=2)
    with ledger.transaction() as transaction:
        transaction.merge(
            "office",
            [
                Entry(
                    id="urn:uuid:00000001-0000-5000-8000-000000000000",
                    source_id="office",
                    title="Alpha",
                    link="https://www.example.org/news/1",
                    date=dt.date(2026, 11, 20),
                    published=dt.datetime(2026, 11, 20, tzinfo=UTC),
                )
            ],
            now=dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
            retention=Retention(),
        )
    publisher = FeedPublisher(config, ledger, version_ttl=0)
    client = create_app(config, ledger=ledger, publisher=publisher).test_client()
    before = {path: client.get(path).data for path in PATHS}

    own_postgres.stop()
    for path in (*PATHS, "/healthz"):
        started = time.monotonic()
        response = client.get(path)
        assert time.monotonic() - started < FAST_SECONDS, path
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] == "10"
        assert response.headers["Cache-Control"] == "no-store"
        assert b"unavailable" in response.data
    assert client.get("/feeds/office.rss").headers["Access-Control-Allow-Origin"] == "*"

    own_postgres.start()
    after = {path: client.get(path) for path in PATHS}
    assert {path: response.status_code for path, response in after.items()} == dict.fromkeys(
        PATHS, 200
    )
    assert {path: response.data for path, response in after.items() if path != "/status.json"} == {
        path: body for path, body in before.items() if path != "/status.json"
    }
    ledger.close()


def test_a_scheduled_refresh_skips_its_turn_while_the_database_is_away(
    own_postgres: PostgresServer, server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = Ledger.open(own_postgres.create_database(), pool_size=2)
    refresher = make_refresher(ledger, Clock())
    source = make_source(server)
    server.routes["/news"] = page(item("Alpha report launched", 20, "Out now."))

    own_postgres.stop()
    run_scheduled_refresh(refresher, source)  # no exception: the scheduler goes on
    assert "office: turn skipped: database" in caplog.text
    assert "is unavailable" in caplog.text

    own_postgres.start()
    run_scheduled_refresh(refresher, source)
    assert [stored.entry.title for stored in ledger.entries()] == ["Alpha report launched"]
    refresher.fetcher.close()
    ledger.close()
