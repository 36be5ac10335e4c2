"""The render cache's bounds, through the app: it keeps no more feeds and no more bytes than
configured, drops the least recently used first, keeps no feed larger than the whole bound,
and puts a feed rendered after a change in the place of the one before it; between checks of
the sources' versions as well, when kept feeds are answered with at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from feeds.config import parse_config
from feeds.ledger.store import Ledger, Retention
from feeds.model import UTC, Entry
from feeds.serve.publish import FeedPublisher
from feeds.serve.representation import KEPT_OVERHEAD_BYTES, FeedFormat
from server import create_app
from tests.refresh_kit import open_ledger

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
MIB = 1024 * 1024
FORMATS = ("rss", "atom", "json")


def entry(n: int, summary: str = "Summary.") -> Entry:
    return Entry(
        id=f"urn:uuid:{n:08d}-0000-5000-8000-000000000000",
        source_id="office",
        title=f"News {n}",
        link=f"https://www.example.org/news/{n}",
        date=dt.date(2026, 11, 1 + n % 20),
        published=dt.datetime(2026, 11, 1 + n % 20, tzinfo=UTC) + dt.timedelta(seconds=n),
        summary=summary,
    )


def store(ledger: Ledger, *entries: Entry) -> None:
    with ledger.transaction() as transaction:
        transaction.merge("office", entries, now=NOW, retention=Retention())


def build(
    tmp_path: Path,
    ledger: Ledger,
    topics: int,
    limits: str,
    *,
    clock: Callable[[], float] | None = None,
) -> FlaskClient:
    """The app over ``topics`` topics of the one source; with ``clock``, sources' versions
    are checked once a second by it (else on every request)."""
    text = (
        f'[publisher]\nname = "Test feeds"\nallowed_hosts = ["feeds.example.org"]\n{limits}\n'
        '[[sources]]\nid = "office"\ntitle = "Office"\n'
        'url = "https://www.example.org/news/lang--en/index.htm"\n'
    )
    text += "".join(
        f'[[topics]]\nid = "t{n}"\ntitle = "Topic {n}"\nlimit = 500\n' for n in range(topics)
    )
    config = parse_config(text, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})
    if clock is None:
        publisher = FeedPublisher(config, ledger, version_ttl=0)
    else:
        publisher = FeedPublisher(config, ledger, version_ttl=1.0, clock=clock)
    return create_app(config, ledger=ledger, publisher=publisher).test_client()


def publisher_of(client: FlaskClient) -> FeedPublisher:
    publisher = client.application.extensions["feedpub"]
    assert isinstance(publisher, FeedPublisher)
    return publisher


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    opened = open_ledger(database_url)
    store(opened, *(entry(n) for n in range(3)))
    yield opened
    opened.close()


def test_the_cache_stays_within_its_byte_bound_with_many_topics(
    tmp_path: Path, ledger: Ledger
) -> None:
    client = build(tmp_path, ledger, 150, f"render_cache_bytes = {MIB}")
    publisher = publisher_of(client)
    for n in range(150):
        for feed_format in FORMATS:
            assert client.get(f"/feeds/t{n}.{feed_format}").status_code == 200
            assert publisher.cached[1] <= MIB
    kept, kept_bytes = publisher.cached
    assert publisher.renders == 450
    assert 100 < kept < 450  # each feed takes a few kilobytes
    assert kept_bytes > MIB - 10 * 1024
    client.get("/feeds/t149.json")  # the newest is kept
    assert publisher.renders == 450
    client.get("/feeds/t0.rss")  # the oldest is not
    assert publisher.renders == 451


def test_the_cache_keeps_no_more_feeds_than_its_count_bound(tmp_path: Path, ledger: Ledger) -> None:
    client = build(tmp_path, ledger, 10, "render_cache_entries = 4")
    for n in range(10):
        client.get(f"/feeds/t{n}.rss")
    assert publisher_of(client).cached[0] == 4


def test_the_least_recently_used_feed_is_dropped_first(tmp_path: Path, ledger: Ledger) -> None:
    client = build(tmp_path, ledger, 4, "render_cache_entries = 3")
    publisher = publisher_of(client)
    for topic in ("t0", "t1", "t2", "t0"):
        client.get(f"/feeds/{topic}.rss")
    assert publisher.renders == 3
    client.get("/feeds/t3.rss")  # drops t1: t0 was used since
    client.get("/feeds/t0.rss")
    assert publisher.renders == 4
    client.get("/feeds/t1.rss")
    assert publisher.renders == 5


def test_a_feed_larger_than_the_whole_bound_is_served_and_never_kept(
    tmp_path: Path, ledger: Ledger
) -> None:
    store(ledger, *(entry(n, f"Summary {n}: " + "word " * 600) for n in range(3, 500)))
    client = build(tmp_path, ledger, 1, f"render_cache_bytes = {MIB}")
    publisher = publisher_of(client)
    for _ in range(2):
        response = client.get("/feeds/t0.rss")
        assert response.status_code == 200
        assert len(response.data) > MIB
    assert publisher.renders == 2
    assert publisher.cached == (0, 0)
    client.get("/feeds/t0.rss?limit=3")  # a small one is kept
    assert publisher.cached[0] == 1


def test_a_feed_rendered_after_a_change_takes_the_place_and_bytes_of_the_one_before(
    tmp_path: Path, ledger: Ledger
) -> None:
    client = build(tmp_path, ledger, 3, "")
    publisher = publisher_of(client)
    for n in range(3):
        client.get(f"/feeds/t{n}.atom")
    assert publisher.cached[0] == 3
    store(ledger, entry(3, "A longer summary. " * 50))
    client.get("/feeds/t0.atom")
    assert publisher.renders == 4
    assert publisher.cached[0] == 3  # the others' last feeds are kept until rendered again
    for n in range(3):
        client.get(f"/feeds/t{n}.atom")
    assert publisher.renders == 6
    kept, kept_bytes = publisher.cached
    assert kept == 3
    feeds = [
        publisher.feed(f"t{n}", FeedFormat.ATOM, base_url="http://feeds.example.org")
        for n in range(3)
    ]
    assert kept_bytes == sum(feed.size for feed in feeds)  # the last ones', each once
    bodies = sum(
        len(client.get(f"/feeds/t{n}.atom").data)
        + len(client.get(f"/feeds/t{n}.atom", headers={"Accept-Encoding": "gzip"}).data)
        for n in range(3)
    )
    # with their headers: a few kilobytes a feed
    assert bodies + 3 * (KEPT_OVERHEAD_BYTES + 2048) < kept_bytes < bodies + 3 * 10_240
    assert publisher.renders == 6


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.time = 0.0

    def __call__(self) -> float:
        return self.time


def test_a_feed_dropped_between_version_checks_is_rendered_again(
    tmp_path: Path, ledger: Ledger
) -> None:
    client = build(tmp_path, ledger, 3, "render_cache_entries = 2", clock=Clock())
    publisher = publisher_of(client)
    for topic in ("t0", "t0", "t0", "t1", "t1"):  # t0 answered at once after its first two
        assert client.get(f"/feeds/{topic}.rss").status_code == 200
    assert publisher.renders == 2
    client.get("/feeds/t2.rss")  # drops t0, the least recently used
    assert publisher.cached[0] == 2
    client.get("/feeds/t0.rss")
    assert publisher.renders == 4


def test_feeds_used_since_a_version_check_are_dropped_after_those_that_were_not(
    tmp_path: Path, ledger: Ledger
) -> None:
    clock = Clock()
    client = build(tmp_path, ledger, 4, "render_cache_entries = 3", clock=clock)
    publisher = publisher_of(client)
    for topic in ("t0", "t1", "t2", "t0", "t1", "t2", "t0"):
        client.get(f"/feeds/{topic}.rss")
    assert publisher.renders == 3
    clock.time = 1.5  # the next request checks the versions again
    client.get("/feeds/t0.rss")
    client.get("/feeds/t0.rss")
    client.get("/feeds/t3.rss")  # drops t1: t0 was used since the check, t1 not since t2
    assert publisher.renders == 4
    client.get("/feeds/t0.rss")
    client.get("/feeds/t2.rss")
    assert publisher.renders == 4
    client.get("/feeds/t1.rss")
    assert publisher.renders == 5


def test_a_change_is_served_from_the_first_version_check_after_it(
    tmp_path: Path, ledger: Ledger
) -> None:
    clock = Clock()
    client = build(tmp_path, ledger, 1, "", clock=clock)
    first = {f: client.get(f"/feeds/t0.{f}").headers["ETag"] for f in FORMATS}
    for feed_format in FORMATS:  # now answered at once
        assert client.get(f"/feeds/t0.{feed_format}").headers["ETag"] == first[feed_format]
    store(ledger, entry(3))
    clock.time = 0.9
    for feed_format in FORMATS:  # as of the check at 0.0
        assert client.get(f"/feeds/t0.{feed_format}").headers["ETag"] == first[feed_format]
    clock.time = 1.0
    for feed_format in FORMATS:  # the first of them checks again, for all
        changed = client.get(f"/feeds/t0.{feed_format}")
        assert changed.headers["ETag"] != first[feed_format]
        assert b"News 3" in changed.data
        again = client.get(f"/feeds/t0.{feed_format}")
        assert again.headers["ETag"] == changed.headers["ETag"]
