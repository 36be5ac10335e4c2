"""Renders and requests at once, on a real SQLite ledger: a render holds up only the requests
for its own feed, a feed being rendered again is answered with the one before, a change to a
source renders again only the topics that hold it, one render serves every first request of a
feed, and a failed render reaches the request that waited for it and is tried again."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feeds.config import Config, TopicConfig, parse_config
from feeds.ledger.store import Ledger, Retention
from feeds.model import UTC, Entry
from feeds.serve.publish import FeedPublisher
from feeds.serve.representation import FeedFormat, RenderedFeed
from tests.refresh_kit import open_ledger

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
BASE = "https://feeds.example.org"
#: How long a test waits for a thread that should be done at once (it fails, never hangs).
PATIENCE = 10.0

CONFIG = """
[publisher]
name = "Test feeds"
allowed_hosts = ["feeds.example.org"]

[[sources]]
id = "x"
title = "Source X"
url = "https://www.example.org/x/index.htm"

[[sources]]
id = "y"
title = "Source Y"
url = "https://www.example.org/y/index.htm"

[[topics]]
id = "a"
title = "Topic A"
sources = ["x"]

[[topics]]
id = "b"
title = "Topic B"
sources = ["y"]

[[topics]]
id = "all"
title = "Everything"
"""


class RenderFailedError(Exception):
    """What a failing render raises."""


class ArrivingLedger(Ledger):
    """The real ledger, saying how many requests have arrived (with ``version_ttl=0`` each
    request reads the sources' versions once, as it starts)."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(ledger.engine)
        self.arrivals = 0
        self.arrived = threading.Condition()

    def source_versions(self) -> dict[str, int]:
        versions = super().source_versions()
        with self.arrived:
            self.arrivals += 1
            self.arrived.notify_all()
        return versions

    def wait_for_arrivals(self, count: int) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: self.arrivals >= count, PATIENCE)


class GatedPublisher(FeedPublisher):
    """The real publisher, whose renders of a gated topic wait for its gate to open (saying
    they started), and fail while the topic is failing; counts renders per topic."""

    def __init__(self, config: Config, ledger: Ledger) -> None:
        super().__init__(config, ledger, version_ttl=0, now=lambda: NOW)
        self.gates: dict[str, threading.Event] = {}
        self.started: dict[str, threading.Event] = {}
        self.failing: set[str] = set()
        self.per_topic: Counter[str] = Counter()
        self._counting = threading.Lock()

    def gate(self, topic_id: str) -> threading.Event:
        """Hold the topic's renders until the returned event is set."""
        self.started[topic_id] = threading.Event()
        gate = self.gates[topic_id] = threading.Event()
        return gate

    def _render(self, topic: TopicConfig, *args: Any, **options: Any) -> RenderedFeed:
        with self._counting:
            self.per_topic[topic.id] += 1
        if topic.id in self.gates:
            self.started[topic.id].set()
            assert self.gates[topic.id].wait(PATIENCE)
        if topic.id in self.failing:
            raise RenderFailedError(f"render of {topic.id} failed")
        return super()._render(topic, *args, **options)


class Request(threading.Thread):
    """One request for a topic's RSS feed, in a thread of its own."""

    def __init__(self, publisher: FeedPublisher, topic_id: str) -> None:
        super().__init__(daemon=True)
        self.publisher, self.topic_id = publisher, topic_id
        self.feed: RenderedFeed | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.feed = self.publisher.feed(self.topic_id, FeedFormat.RSS, base_url=BASE)
        except BaseException as error:  # the test looks at what it was
            self.error = error

    def answer(self) -> RenderedFeed:
        """What the request got, once it has it (the test fails if it does not come)."""
        self.join(PATIENCE)
        assert not self.is_alive(), f"the request for {self.topic_id} is still waiting"
        assert self.error is None, self.error
        assert self.feed is not None
        return self.feed


def entry(source_id: str, n: int) -> Entry:
    return Entry(
        id=f"urn:uuid:{n:08d}-0000-5000-8000-{source_id.encode().hex():0>12}",
        source_id=source_id,
        title=f"News {n} from {source_id}",
        link=f"https://www.example.org/{source_id}/{n}",
        date=dt.date(2026, 11, 1 + n),
        published=dt.datetime(2026, 11, 1 + n, tzinfo=UTC),
        summary="Summary.",
    )


def store(ledger: Ledger, source_id: str, count: int) -> None:
    with ledger.transaction() as transaction:
        transaction.merge(
            source_id,
            [entry(source_id, n) for n in range(count)],
            now=NOW,
            retention=Retention(),
        )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[ArrivingLedger]:
    opened = ArrivingLedger(open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}"))
    store(opened, "x", 2)
    store(opened, "y", 2)
    yield opened
    opened.close()


@pytest.fixture
def publisher(tmp_path: Path, ledger: Ledger) -> GatedPublisher:
    config = parse_config(CONFIG, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})
    return GatedPublisher(config, ledger)


def rss(publisher: FeedPublisher, topic_id: str) -> RenderedFeed:
    return publisher.feed(topic_id, FeedFormat.RSS, base_url=BASE)


def started(publisher: GatedPublisher, topic_id: str) -> Request:
    """A request for the topic whose render has started (and waits at its gate)."""
    request = Request(publisher, topic_id)
    request.start()
    assert publisher.started[topic_id].wait(PATIENCE)
    return request


def test_a_render_under_way_for_one_topic_holds_up_no_request_for_another(
    publisher: GatedPublisher,
) -> None:
    gate = publisher.gate("a")
    slow = started(publisher, "a")
    other = Request(publisher, "b")
    other.start()
    assert b"News 1 from y" in other.answer().plain.body
    assert slow.is_alive()  # still rendering
    gate.set()
    assert b"News 1 from x" in slow.answer().plain.body


def test_a_feed_rendered_again_after_a_change_is_answered_with_the_one_before_meanwhile(
    publisher: GatedPublisher, ledger: Ledger
) -> None:
    before = rss(publisher, "a")
    store(ledger, "x", 3)
    gate = publisher.gate("a")
    rendering = started(publisher, "a")
    meanwhile = Request(publisher, "a")
    meanwhile.start()
    assert meanwhile.answer() is before
    assert publisher.per_topic["a"] == 2  # the request answered meanwhile rendered nothing
    gate.set()
    after = rendering.answer()
    assert after.plain.etag != before.plain.etag
    assert b"News 2 from x" in after.plain.body
    assert rss(publisher, "a") is after
    assert publisher.renders == 2


def test_a_change_to_a_source_renders_again_only_the_topics_that_hold_it(
    publisher: GatedPublisher, ledger: Ledger
) -> None:
    first = {topic_id: rss(publisher, topic_id) for topic_id in ("a", "b", "all")}
    store(ledger, "x", 3)
    second = {topic_id: rss(publisher, topic_id) for topic_id in ("a", "b", "all")}
    assert publisher.per_topic == Counter({"a": 2, "b": 1, "all": 2})
    assert second["b"] is first["b"]
    assert second["a"].plain.etag != first["a"].plain.etag
    assert b"News 2 from x" in second["all"].plain.body
    store(ledger, "y", 3)
    rss(publisher, "a")
    rss(publisher, "b")
    assert publisher.per_topic == Counter({"a": 2, "b": 2, "all": 2})


def test_first_requests_for_one_feed_at_once_are_answered_by_one_render(
    publisher: GatedPublisher, ledger: ArrivingLedger
) -> None:
    gate = publisher.gate("a")
    first = started(publisher, "a")
    others = [Request(publisher, "a") for _ in range(3)]
    for request in others:
        request.start()
    ledger.wait_for_arrivals(4)  # the first's and the others' (which then wait for it)
    gate.set()
    feed = first.answer()
    assert all(request.answer() is feed for request in others)
    assert publisher.per_topic["a"] == 1
    assert publisher.renders == 1


def test_a_failed_render_reaches_the_request_waiting_for_it_and_the_next_renders_again(
    publisher: GatedPublisher, ledger: ArrivingLedger
) -> None:
    publisher.failing.add("a")
    gate = publisher.gate("a")
    first = started(publisher, "a")
    waiting = Request(publisher, "a")
    waiting.start()
    ledger.wait_for_arrivals(2)  # the first's and this one's (which then waits for it)
    gate.set()
    for request in (first, waiting):
        request.join(PATIENCE)
        assert not request.is_alive()
        assert isinstance(request.error, RenderFailedError)
    assert publisher.renders == 0
    assert publisher.cached == (0, 0)
    publisher.failing.clear()
    del publisher.gates["a"]
    assert b"News 1 from x" in rss(publisher, "a").plain.body
    assert publisher.renders == 1
    assert rss(publisher, "b") is rss(publisher, "b")  # the others were never held up
