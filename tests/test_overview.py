"""Source health on a clock the test moves: a source whose refresh is well past due (no
scheduler refreshing it) is overdue, so unhealthy, on ``/status`` and ``/status.json``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from feeds.config import Config, parse_config
from feeds.ledger.store import Ledger, SourceState
from feeds.serve.overview import Overview
from feeds.serve.publish import FeedPublisher
from server import create_app
from tests.refresh_kit import Clock, open_ledger
from tests.test_pages import parse, texts

CONFIG = """
[publisher]
name = "Test feeds"
base_url = "https://feeds.example.org"

[[sources]]
id = "hourly"
title = "Hourly"
url = "https://www.example.org/hourly/lang--en/index.htm"
refresh_minutes = 60

[[sources]]
id = "quick"
title = "Quick"
url = "https://www.example.org/quick/lang--en/index.htm"
refresh_seconds = 30

[[sources]]
id = "never"
title = "Never refreshed"
url = "https://www.example.org/never/lang--en/index.htm"

[[topics]]
id = "all"
title = "Everything"
"""


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return parse_config(CONFIG, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})


@pytest.fixture
def ledger(tmp_path: Path, clock: Clock) -> Iterator[Ledger]:
    opened = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    with opened.transaction() as transaction:
        for source_id in ("hourly", "quick"):  # both due now, refreshed fine until now
            transaction.save_state(
                SourceState(
                    source_id=source_id,
                    last_fetch_at=clock.now - dt.timedelta(minutes=1),
                    last_success_at=clock.now - dt.timedelta(minutes=1),
                    next_attempt_at=clock.now,
                    last_status="ok",
                )
            )
    yield opened
    opened.close()


@pytest.fixture
def overview(config: Config, ledger: Ledger, clock: Clock) -> Overview:
    return Overview(FeedPublisher(config, ledger, version_ttl=0), clock=clock)


@pytest.fixture
def client(config: Config, ledger: Ledger, clock: Clock) -> FlaskClient:
    publisher = FeedPublisher(config, ledger, version_ttl=0)
    return create_app(config, ledger=ledger, publisher=publisher, clock=clock).test_client()


def overdue(overview: Overview) -> dict[str, bool]:
    return {health.source.id: health.overdue for health in overview.sources()}


def test_a_source_is_overdue_once_a_whole_interval_past_its_due_time(
    overview: Overview, clock: Clock
) -> None:
    clock.advance(minutes=60)
    assert overdue(overview)["hourly"] is False
    clock.advance(seconds=1)
    assert overdue(overview)["hourly"] is True
    health = {h.source.id: h for h in overview.sources()}
    assert health["hourly"].healthy is False
    assert health["hourly"].state.consecutive_failures == 0  # nothing failed: nothing ran


def test_a_short_interval_is_overdue_only_five_minutes_past_due(
    overview: Overview, clock: Clock
) -> None:
    clock.advance(minutes=5)
    assert overdue(overview)["quick"] is False  # many intervals late, but within the floor
    clock.advance(seconds=1)
    assert overdue(overview)["quick"] is True


def test_a_source_never_scheduled_is_not_overdue(overview: Overview, clock: Clock) -> None:
    clock.advance(days=30)
    assert overdue(overview) == {"hourly": True, "quick": True, "never": False}


def test_an_overdue_source_makes_the_status_unhealthy(client: FlaskClient, clock: Clock) -> None:
    report = json.loads(client.get("/status.json").data)
    assert report["healthy"] is True
    assert [s["overdue"] for s in report["sources"]] == [False, False, False]

    clock.advance(minutes=6)  # the quick source is overdue, the hourly one not yet
    report = json.loads(client.get("/status.json").data)
    assert report["healthy"] is False
    assert [(s["id"], s["healthy"], s["overdue"]) for s in report["sources"]] == [
        ("hourly", True, False),
        ("quick", False, True),
        ("never", True, False),
    ]
    page = parse(client.get("/status").data)
    assert "1 with problems" in page.text_content()
    quick = page.findall(".//tbody/tr")[1]  # its next refresh, before the left-out and
    # full-text columns
    assert texts(quick.findall("td"))[-3] == "overdue since 22 November 2026, 09:00 UTC"
