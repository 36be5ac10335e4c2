"""Shared test fixtures: where the shared samples are, a fixed clock, page contexts, a local
HTTP server, and ``feedpub serve`` running on the bundled configuration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.model import UTC, PageContext
from tests.http_server import LocalServer, local_server
from tests.serving import Served, feedpub_serving

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
#: The shared third-party samples live beside the checkout, never inside it.
SHARED_LISTINGS = ROOT.parent / "shared" / "listings"
#: The fixed "now" of every test that needs one.
FIXED_NOW = dt.datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


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


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``feedpub serve`` on the bundled configuration, once it has published the sample feeds
    (one per test module)."""
    with feedpub_serving(tmp_path_factory.mktemp("serve")) as running:
        yield running
