"""Shared test fixtures: where the shared samples are, a fixed clock, page contexts, a local
HTTP server, ledger databases (a SQLite file, and a database on a throwaway PostgreSQL
server), and ``feedpub serve`` running on the bundled configuration on each."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings

from feeds.ledger.store import Ledger
from feeds.model import UTC, PageContext
from feeds.refresh.refresher import Refresher
from tests.http_server import LocalServer, local_server
from tests.postgres import (
    DEBIAN_POSTGRES,
    PostgresServer,
    find_postgres_binaries,
    postgres_server,
)
from tests.refresh_kit import Clock, make_refresher, open_ledger
from tests.serving import Served, feedpub_serving

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
#: The shared third-party samples live beside the checkout, never inside it.
SHARED_LISTINGS = ROOT.parent / "shared" / "listings"
#: The fixed "now" of every test that needs one.
FIXED_NOW = dt.datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
#: The databases the ledger, refresh and serving tests run on.
DATABASES = ("sqlite", "postgresql")

# The property tests check what is read back, not how fast: no deadline, whatever else runs
# beside them; on CI the same examples every run, so that a red run can be run again.
settings.register_profile(
    "feedpub",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
settings.load_profile("feedpub")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the ids and instants pinned in golden files from the current code",
    )


def make_context(
    page_url: str = "https://www.example.org/newsroom/lang--en/index.htm",
    timezone: str = "Europe/Zurich",
    source_id: str = "test",
    seen_at: dt.datetime = FIXED_NOW,
) -> PageContext:
    """A page context with the fixed clock."""
    return PageContext(
        source_id=source_id, page_url=page_url, timezone=ZoneInfo(timezone), seen_at=seen_at
    )


def shared_sample(name: str) -> Path:
    """The path of a shared sample listing, or skip the test with the reason."""
    path = SHARED_LISTINGS / name
    if not path.is_file():
        pytest.skip(
            f"shared sample {name} not found in {SHARED_LISTINGS} (it is beside CI's clone)"
        )
    return path


@pytest.fixture
def server() -> Iterator[LocalServer]:
    """A real HTTP server on 127.0.0.1, running for the test."""
    with local_server() as running:
        yield running


@pytest.fixture(scope="session")
def postgres_binaries() -> Path:
    """The installed PostgreSQL server's programs. Where there are none the test is skipped,
    saying so, except on CI (``$CI``), whose ``.ci/run`` installs them: there it fails."""
    binaries = find_postgres_binaries()
    if binaries is None:
        reason = (
            f"PostgreSQL's server is not installed (no {DEBIAN_POSTGRES}/*/bin/postgres: "
            "apt-get install postgresql)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return binaries


@pytest.fixture(scope="session")
def postgres(postgres_binaries: Path) -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session (tests get a database each: ``database_url``)."""
    with postgres_server(postgres_binaries) as server:
        yield server


def new_database(request: pytest.FixtureRequest, kind: str, folder: Path) -> str:
    """The URL of a new, empty database of a kind: a SQLite file in ``folder``, or a
    database on the session's PostgreSQL server."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'ledger.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty ledger database, for the test: SQLite, then PostgreSQL."""
    return new_database(request, request.param, tmp_path)


@pytest.fixture(scope="module", params=DATABASES)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """``feedpub serve`` on the bundled configuration, once it has published the sample feeds
    (one per test module and database)."""
    folder = tmp_path_factory.mktemp("serve")
    with feedpub_serving(folder, new_database(request, request.param, folder)) as running:
        yield running


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    """A ledger on a new database of the test's kind (SQLite file or PostgreSQL)."""
    opened = open_ledger(database_url)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Clock:
    """A clock the test moves by hand."""
    return Clock()


@pytest.fixture
def refresher(ledger: Ledger, clock: Clock) -> Iterator[Refresher]:
    """A refresher on ``ledger`` with the test's clock and a real fetcher."""
    made = make_refresher(ledger, clock)
    yield made
    made.fetcher.close()
