"""feedpub as the WebSub hub of its own feeds, end to end on a real ledger and a real
subscriber over HTTP: the cases of the websub.rocks hub suite (100-106), verification,
deliveries and their signatures, leases, failures and the hub's bounds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import feedparser
import pytest

from feeds.ledger import hub as records
from feeds.ledger.store import Ledger
from feeds.refresh.hub import HubWorker
from feeds.serve.hub import ChangeWatcher
from feeds.serve.publish import FeedPublisher
from tests.refresh_kit import open_ledger
from tests.websub_kit import (
    BASE,
    HUB,
    HUB_SETTINGS,
    Hub,
    Subscriber,
    entry,
    running_hub,
    signed,
    store,
    subscriber,
)

ATOM = f"{BASE}/feeds/all.atom"
SECRET = "a shared secret"  # noqa: S105  (a test's)


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    opened = open_ledger(database_url)
    store(opened, "office", entry(1), entry(2))
    store(opened, "region", entry(1, "region", "Regional news 1"))
    yield opened
    opened.close()


@pytest.fixture
def callback() -> Iterator[Subscriber]:
    with subscriber() as running:
        yield running


@pytest.fixture
def hub(tmp_path: Path, ledger: Ledger) -> Iterator[Hub]:
    with running_hub(tmp_path, ledger) as running:
        yield running


def subscribed(hub: Hub, callback: Subscriber, topic: str = ATOM, **more: str) -> None:
    status, said = hub.request("subscribe", topic, callback.url(), **more)
    assert status == 202, said
    hub.settle()


def active(hub: Hub) -> list[records.Subscriber]:
    with hub.ledger.transaction() as transaction:
        return [s for s in records.subscribers(transaction.connection) if s.state == "active"]


def test_100_a_typical_subscription_is_verified_then_gets_each_change(
    hub: Hub, callback: Subscriber
) -> None:
    status, said = hub.request("subscribe", ATOM, callback.url())
    assert status == 202
    assert "verified" in said
    assert callback.received == []  # verified later, by the worker
    hub.settle()
    (check,) = callback.of("GET")
    assert check.query["hub.mode"] == "subscribe"
    assert check.query["hub.topic"] == ATOM
    assert len(check.query["hub.challenge"]) >= 32
    assert check.query["hub.lease_seconds"] == str(10 * 24 * 3600)
    assert [s.topic for s in active(hub)] == [ATOM]
    assert callback.of("POST") == []  # nothing has changed yet

    store(hub.ledger, "office", entry(1), entry(2), entry(3, title="A new item"))
    hub.settle()
    (delivery,) = callback.of("POST")
    assert delivery.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    served = hub.client.get("/feeds/all.atom")
    assert delivery.body == served.data
    assert "X-Hub-Signature" not in delivery.headers
    links = delivery.headers["Link"]
    assert f'<{HUB}>; rel="hub"' in links
    assert f'<{ATOM}>; rel="self"' in links
    parsed = feedparser.parse(delivery.body)
    assert not parsed.bozo
    assert parsed.entries[0].title == "A new item"


def test_101_a_subscriber_with_a_secret_gets_signed_deliveries(
    hub: Hub, callback: Subscriber
) -> None:
    subscribed(hub, callback, secret=SECRET)
    store(hub.ledger, "office", entry(1), entry(2), entry(3))
    hub.settle()
    (delivery,) = callback.of("POST")
    assert delivery.headers["X-Hub-Signature"] == signed(SECRET, delivery.body)
    assert delivery.headers["X-Hub-Signature"] != signed("another secret", delivery.body)


def test_102_more_parameters_are_ignored_and_the_callbacks_query_kept(
    hub: Hub, callback: Subscriber
) -> None:
    form = {
        "hub.mode": "subscribe",
        "hub.topic": ATOM,
        "hub.callback": callback.url("/callback?subscriber=7&x=%C3%A9"),
        "foo": "bar",
        "hub.unknown": "ignored",
    }
    assert hub.client.post("/websub", data=form).status_code == 202
    hub.settle()
    (check,) = callback.of("GET")
    assert check.query["subscriber"] == "7"
    assert check.query["x"] == "é"
    assert check.query["hub.mode"] == "subscribe"
    assert "foo" not in check.query


def test_103_a_subscription_requested_again_is_renewed_not_doubled(
    hub: Hub, callback: Subscriber
) -> None:
    subscribed(hub, callback, lease_seconds="3600")
    (first,) = active(hub)
    hub.advance(600)
    subscribed(hub, callback, lease_seconds="7200")
    (renewed,) = active(hub)
    assert renewed.expires_at == pytest.approx(first.expires_at - 3600 + 600 + 7200)
    store(hub.ledger, "office", entry(1), entry(2), entry(3))
    hub.settle()
    assert len(callback.of("POST")) == 1


def test_104_an_unsubscription_is_verified_and_ends_deliveries(
    hub: Hub, callback: Subscriber
) -> None:
    subscribed(hub, callback)
    status, _said = hub.request("unsubscribe", ATOM, callback.url())
    assert status == 202
    hub.settle()
    (check,) = callback.of("GET", "unsubscribe")
    assert check.query["hub.topic"] == ATOM
    assert "hub.lease_seconds" not in check.query
    assert active(hub) == []
    store(hub.ledger, "office", entry(1), entry(2), entry(3))
    hub.settle()
    assert callback.of("POST") == []


def test_an_unsubscription_the_callback_does_not_confirm_changes_nothing(
    hub: Hub, callback: Subscriber
) -> None:
    subscribed(hub, callback)
    callback.verify = "refuse"  # someone else asks to unsubscribe it
    assert hub.request("unsubscribe", ATOM, callback.url())[0] == 202
    hub.settle()
    assert len(active(hub)) == 1


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/feeds/office.json", "application/feed+json; charset=utf-8"),
        ("/feeds/office.rss", "application/rss+xml; charset=utf-8"),
    ],
)
def test_105_106_each_format_is_delivered_as_served(
    hub: Hub, callback: Subscriber, path: str, content_type: str
) -> None:
    subscribed(hub, callback, f"{BASE}{path}")
    store(hub.ledger, "office", entry(1), entry(2), entry(4))
    hub.settle()
    (delivery,) = callback.of("POST")
    assert delivery.headers["Content-Type"] == content_type
    assert delivery.body == hub.client.get(path).data


def test_a_filtered_feed_is_a_topic_of_its_own(hub: Hub, callback: Subscriber) -> None:
    topic = f"{BASE}/feeds/all.atom?filter_title=Special"
    subscribed(hub, callback, topic)
    store(hub.ledger, "office", entry(1), entry(2), entry(5))  # not kept by the filter
    hub.settle()
    assert callback.of("POST") == []
    store(hub.ledger, "office", entry(1), entry(2), entry(5), entry(6, title="Special news"))
    hub.settle()
    (delivery,) = callback.of("POST")
    assert delivery.body == hub.client.get("/feeds/all.atom?filter_title=Special").data


def test_a_change_reaches_only_the_topics_holding_its_source(
    hub: Hub, callback: Subscriber
) -> None:
    subscribed(hub, callback, f"{BASE}/feeds/region.atom")
    store(hub.ledger, "office", entry(1), entry(2), entry(3))
    hub.settle()
    assert callback.of("POST") == []
    store(hub.ledger, "region", entry(1, "region", "Regional news 1"), entry(2, "region"))
    hub.settle()
    assert len(callback.of("POST")) == 1


def test_a_lease_is_granted_within_bounds_and_expires(hub: Hub, callback: Subscriber) -> None:
    subscribed(hub, callback, lease_seconds="10")  # below the 60-second minimum
    (check,) = callback.of("GET")
    assert check.query["hub.lease_seconds"] == "60"
    hub.advance(61)
    hub.settle()
    assert active(hub) == []
    store(hub.ledger, "office", entry(1), entry(2), entry(3))
    hub.settle()
    assert callback.of("POST") == []


def test_an_unknown_topic_is_refused_and_the_callback_told(hub: Hub, callback: Subscriber) -> None:
    status, said = hub.request("subscribe", f"{BASE}/feeds/nothing.atom", callback.url())
    assert status == 404
    assert "no topic 'nothing'" in said
    hub.settle()
    (denial,) = callback.of("GET")
    assert denial.query["hub.mode"] == "denied"
    assert denial.query["hub.topic"] == f"{BASE}/feeds/nothing.atom"
    assert "no topic" in denial.query["hub.reason"]
    assert "hub.challenge" not in denial.query
    assert active(hub) == []


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"hub.topic": ATOM, "hub.callback": "http://127.0.0.1/c"}, "hub.mode must be"),
        ({"hub.mode": "publish", "hub.topic": ATOM}, "publishes only its own feeds"),
        ({"hub.mode": "subscribe", "hub.topic": ATOM}, "hub.callback is missing"),
        ({"hub.mode": "subscribe", "hub.topic": ATOM, "hub.callback": "ftp://h/c"}, "http(s)"),
        ({"hub.mode": "subscribe", "hub.topic": ATOM, "hub.callback": "http://"}, "http(s)"),
        (
            {"hub.mode": "subscribe", "hub.topic": ATOM, "hub.callback": "http://u:p@h/c"},
            "user name",
        ),
        (
            {"hub.mode": "subscribe", "hub.topic": ATOM, "hub.callback": "http://h/c\td"},
            "control characters",
        ),
        (
            {"hub.mode": "subscribe", "hub.topic": ATOM,
             "hub.callback": "http://h/" + "c" * 2000},
            "longer than 2000",
        ),
        ({"hub.mode": "subscribe", "hub.callback": "http://h/c"}, "hub.topic is missing"),
        (
            {"hub.mode": "subscribe", "hub.topic": ATOM, "hub.callback": "http://h/c",
             "hub.secret": "s" * 201},
            "longer than 200 bytes",
        ),
        (
            {"hub.mode": "subscribe", "hub.topic": ATOM, "hub.callback": "http://h/c",
             "hub.lease_seconds": "ten"},
            "whole number",
        ),
        (
            {"hub.mode": "subscribe", "hub.topic": "https://elsewhere.example/feeds/all.atom",
             "hub.callback": "http://h/c"},
            "its feeds are at http://localhost/feeds/",
        ),
        (
            {"hub.mode": "subscribe", "hub.topic": f"{BASE}/topics/all",
             "hub.callback": "http://h/c"},
            "not a feed URL",
        ),
        (
            {"hub.mode": "subscribe", "hub.topic": f"{ATOM}?limit=05",
             "hub.callback": "http://h/c"},
            f"subscribe to {ATOM}?limit=5",
        ),
    ],
)  # fmt: skip
def test_a_bad_request_is_refused_with_its_reason(
    hub: Hub, form: dict[str, str], reason: str
) -> None:
    answer = hub.client.post("/websub", data=form)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert reason in answer.get_data(as_text=True)
    assert answer.headers["Cache-Control"] == "no-store"


def test_a_field_given_twice_and_a_request_that_is_no_form_are_refused(hub: Hub) -> None:
    twice = f"hub.mode=subscribe&hub.topic={ATOM}&hub.callback=http://a/&hub.callback=http://b/"
    answer = hub.client.post(
        "/websub", data=twice, content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code == 400
    assert b"more than once" in answer.data
    assert hub.client.post("/websub", json={"hub.mode": "subscribe"}).status_code == 415
    huge = hub.client.post("/websub", data={"hub.mode": "subscribe", "x": "y" * 20_000})
    assert huge.status_code == 413


def test_a_callback_that_does_not_echo_the_challenge_is_not_subscribed(
    hub: Hub, callback: Subscriber
) -> None:
    callback.verify = "wrong"
    subscribed(hub, callback)
    assert active(hub) == []
    callback.verify = "refuse"
    subscribed(hub, callback)
    assert active(hub) == []


def test_a_subscriber_that_fails_is_retried_with_backoff_and_recovers(
    hub: Hub, callback: Subscriber
) -> None:
    subscribed(hub, callback)
    callback.statuses = [500, 503]
    store(hub.ledger, "office", entry(1), entry(2), entry(3))
    hub.settle()
    assert len(callback.of("POST")) == 1  # failed; due again in a second
    hub.settle()
    assert len(callback.of("POST")) == 1
    hub.advance(1.1)
    hub.settle()
    assert len(callback.of("POST")) == 2  # failed again: now two seconds
    hub.advance(1.1)
    hub.settle()
    assert len(callback.of("POST")) == 2
    hub.advance(1.0)
    hub.settle()
    assert len(callback.of("POST")) == 3  # taken
    (subscription,) = active(hub)
    assert subscription.deliveries == 1
    assert subscription.consecutive_failures == 0


def test_changes_while_a_subscriber_is_down_reach_it_as_one_delivery_of_the_newest(
    hub: Hub, callback: Subscriber
) -> None:
    subscribed(hub, callback)
    callback.statuses = [500]
    store(hub.ledger, "office", entry(1), entry(2), entry(3))
    hub.settle()
    store(hub.ledger, "office", entry(1), entry(2), entry(3), entry(4, title="Newest"))
    hub.settle()
    hub.advance(1.1)
    hub.settle()
    deliveries = callback.of("POST")
    assert len(deliveries) == 2
    assert feedparser.parse(deliveries[-1].body).entries[0].title == "Newest"


def test_a_callback_that_never_answers_is_given_up_on_then_dropped(
    tmp_path: Path, ledger: Ledger, callback: Subscriber
) -> None:
    settings = HUB_SETTINGS.replace("timeout_seconds = 2", "timeout_seconds = 0.3")
    with running_hub(tmp_path, ledger, settings) as hub:
        subscribed(hub, callback)
        callback.delay = 1.0  # longer than the hub waits
        for change in range(2):
            store(hub.ledger, "office", entry(1), entry(2), entry(10 + change))
            for _ in range(6):  # 1 + 2 + 4 + 4 seconds of backoff: past the 10 to give up
                hub.settle()
                hub.advance(4.1)
            hub.settle()
        with hub.ledger.transaction() as transaction:
            (subscription,) = records.subscribers(transaction.connection)
        assert subscription.state == "dropped"
        assert "too slow" in (subscription.last_error or "")
        assert subscription.callback_host == "127.0.0.1"
        time.sleep(1.2)  # the subscriber's last handlers are done
        tried = len(callback.of("POST"))
        store(hub.ledger, "office", entry(1), entry(2), entry(20))
        hub.settle()
        with hub.ledger.transaction() as transaction:
            assert records.claim_deliveries(transaction.connection, "t", hub.wall(), 1, 9) == []
        assert len(callback.of("POST")) == tried  # a dropped subscriber gets nothing more
        callback.delay = 0.0
        subscribed(hub, callback)  # until it subscribes again
        assert [s.state for s in active(hub)] == ["active"]


def test_private_callbacks_are_refused_unless_allowed(
    tmp_path: Path, ledger: Ledger, callback: Subscriber
) -> None:
    settings = HUB_SETTINGS.replace("allow_private_callbacks = true", "")
    with running_hub(tmp_path, ledger, settings) as hub:
        subscribed(hub, callback)
        assert callback.received == []  # never called: 127.0.0.1 is loopback
        assert active(hub) == []


def test_requests_beyond_the_rate_are_answered_429(
    tmp_path: Path, ledger: Ledger, callback: Subscriber
) -> None:
    with running_hub(tmp_path, ledger, HUB_SETTINGS + "requests_per_minute = 2\n") as hub:
        assert hub.request("subscribe", ATOM, callback.url("/a"))[0] == 202
        assert hub.request("subscribe", ATOM, callback.url("/b"))[0] == 202
        status, said = hub.request("subscribe", ATOM, callback.url("/c"))
        assert status == 429
        assert "2 a minute" in said
        hub.client.environ_base["REMOTE_ADDR"] = "127.0.0.2"  # another client is not held
        assert hub.request("subscribe", ATOM, callback.url("/d"))[0] == 202


def test_the_bounds_on_subscriptions_refuse_new_ones_not_renewals(
    tmp_path: Path, ledger: Ledger, callback: Subscriber
) -> None:
    with running_hub(tmp_path, ledger, HUB_SETTINGS + "max_subscriptions_per_host = 1\n") as hub:
        subscribed(hub, callback)
        status, said = hub.request("subscribe", f"{BASE}/feeds/office.atom", callback.url())
        assert status == 429
        assert "127.0.0.1 holds as many subscriptions" in said
        assert hub.request("subscribe", ATOM, callback.url())[0] == 202  # a renewal
        assert hub.request("unsubscribe", ATOM, callback.url())[0] == 202


def test_processes_publishing_the_same_change_queue_one_delivery(
    hub: Hub, callback: Subscriber
) -> None:
    subscribed(hub, callback)
    others = [
        ChangeWatcher(FeedPublisher(hub.config, hub.ledger, version_ttl=0), hub.config.websub,
                      wall=hub.wall)
        for _ in range(3)
    ]  # fmt: skip
    store(hub.ledger, "office", entry(1), entry(2), entry(3))
    threads = [threading.Thread(target=watcher.watch_once) for watcher in [*others, hub.watcher]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    hub.settle()
    assert len(callback.of("POST")) == 1


def test_the_hub_is_a_thread_of_the_worker_that_delivers_within_seconds(
    hub: Hub, callback: Subscriber
) -> None:
    subscribed(hub, callback)
    hub.worker.wall = hub.watcher.wall = time.time
    watcher = threading.Thread(target=hub.watcher.run, daemon=True)
    worker = threading.Thread(target=hub.worker.run, daemon=True)
    watcher.start()
    worker.start()
    try:
        store(hub.ledger, "office", entry(1), entry(2), entry(3))
        (delivery,) = callback.wait_for("POST", 1, timeout=5)
        assert delivery.body == hub.client.get("/feeds/all.atom").data
    finally:
        hub.watcher.stop()
        hub.worker.stop()
        watcher.join(5)
        worker.join(5)


@pytest.mark.parametrize("feed_format", ["rss", "atom"])
def test_every_feed_advertises_the_hub_and_its_own_url(hub: Hub, feed_format: str) -> None:
    served = hub.client.get(f"/feeds/office.{feed_format}?limit=1")
    topic = f"{BASE}/feeds/office.{feed_format}?limit=1"
    assert served.headers["Link"] == f'<{HUB}>; rel="hub", <{topic}>; rel="self"'
    parsed = feedparser.parse(served.data)
    assert not parsed.bozo
    links = {(link.rel, link.href) for link in parsed.feed.links}
    assert ("hub", HUB) in links
    assert ("self", topic) in links
    assert parsed.feed.link == f"{BASE}/topics/office"  # the channel's own link is kept
    assert served.data.count(b'rel="hub"') == 1
    not_modified = hub.client.get(
        f"/feeds/office.{feed_format}?limit=1", headers={"If-None-Match": served.headers["ETag"]}
    )
    assert not_modified.status_code == 304
    assert not_modified.headers["Link"] == served.headers["Link"]


def test_json_feeds_name_the_hub(hub: Hub) -> None:
    served = hub.client.get("/feeds/office.json")
    assert served.json is not None
    assert served.json["hubs"] == [{"type": "WebSub", "url": HUB}]


def test_with_the_hub_disabled_nothing_advertises_it(tmp_path: Path, ledger: Ledger) -> None:
    with running_hub(tmp_path, ledger, "[websub]\nenabled = false\n") as hub:
        for feed_format in ("rss", "atom", "json"):
            served = hub.client.get(f"/feeds/office.{feed_format}")
            assert "Link" not in served.headers
            assert b"websub" not in served.data
        assert hub.client.post("/websub", data={"hub.mode": "subscribe"}).status_code == 404


def test_the_status_page_shows_subscribers_and_delivery_failures(
    hub: Hub, callback: Subscriber
) -> None:
    assert b"No one subscribes through the hub yet" in hub.client.get("/status").data
    subscribed(
        hub,
        callback,
        f"{BASE}/feeds/office.atom",
    )
    callback_path = "/secret-capability-7f3a"
    status, _said = hub.request("subscribe", ATOM, callback.url(callback_path))
    assert status == 202
    hub.settle()
    callback.statuses = [500]
    store(hub.ledger, "office", entry(1), entry(2), entry(3))
    hub.settle()
    page = hub.client.get("/status").get_data(as_text=True)
    assert "Subscribers (WebSub)" in page
    assert f"<code>{ATOM}</code>" in page
    assert "answered HTTP 500" in page
    assert "127.0.0.1" in page
    assert callback_path not in page
    document = hub.client.get("/status.json").json
    assert document is not None
    topics = {t["topic"]: t for t in document["websub"]["topics"]}
    assert topics[ATOM]["active"] == 1
    assert topics[f"{BASE}/feeds/office.atom"]["active"] == 1
    assert sum(t["failing"] for t in topics.values()) == 1
    (failing,) = document["websub"]["failing"]
    assert failing["failures_in_a_row"] == 1
    assert failing["last_error_at"].endswith("Z")
    assert callback_path not in str(document)


def test_external_hubs_are_told_of_each_change_of_the_canonical_feeds(
    tmp_path: Path, ledger: Ledger, callback: Subscriber
) -> None:
    settings = HUB_SETTINGS + f'external_hubs = ["{callback.url("/hub")}"]\n'
    with running_hub(tmp_path, ledger, settings) as hub:
        watcher = ChangeWatcher(
            FeedPublisher(hub.config, hub.ledger, version_ttl=0), hub.config.websub,
            canonical_base="https://feeds.example.org", wall=hub.wall,
        )  # fmt: skip
        watcher.watch_once()
        hub.settle()
        assert callback.of("POST") == []  # nothing changed yet
        callback.statuses = [503]
        store(hub.ledger, "region", entry(1, "region", "Regional news 1"), entry(2, "region"))
        watcher.watch_once()
        hub.settle()
        hub.advance(1.1)
        hub.settle()
        pings = [dict(parse_qsl(p.body.decode())) for p in callback.of("POST")]
        told = sorted(p["hub.url"] for p in pings[1:])  # the first answer was a 503: again
        assert told == sorted(
            f"https://feeds.example.org/feeds/{topic}.{feed_format}"
            for topic in ("all", "region")
            for feed_format in ("rss", "atom", "json")
        )
        assert all(p["hub.mode"] == "publish" and p["hub.topic"] == p["hub.url"] for p in pings)
        assert pings[0] in pings[1:]


def test_only_the_first_bytes_of_a_callbacks_answer_are_read(
    hub: Hub, callback: Subscriber
) -> None:
    callback.verify = "huge"
    answer = hub.worker.call("GET", callback.url("/?hub.challenge=abc"))
    assert answer.status == 200
    assert len(answer.body) == hub.config.websub.max_response_bytes
    subscribed(hub, callback)
    assert active(hub) == []  # a challenge echoed among megabytes is not echoed exactly


def test_subscriptions_and_waiting_deliveries_survive_a_restart_and_nothing_is_sent_twice(
    hub: Hub, callback: Subscriber
) -> None:
    subscribed(hub, callback)
    store(hub.ledger, "office", entry(1), entry(2), entry(3))
    hub.settle()
    assert len(callback.of("POST")) == 1
    callback.statuses = [500]
    store(hub.ledger, "office", entry(1), entry(2), entry(3), entry(4))
    hub.settle()  # failed: waits for its retry
    hub.worker.close()
    # a new worker process: a watcher and a worker that remember nothing but the ledger
    hub.worker = HubWorker(hub.ledger, hub.config.websub, wall=hub.wall)
    hub.watcher = ChangeWatcher(
        FeedPublisher(hub.config, hub.ledger, version_ttl=0), hub.config.websub, wall=hub.wall
    )
    hub.settle()
    assert len(callback.of("POST")) == 2  # the same feed rendered again is no change
    hub.advance(1.1)
    hub.settle()
    deliveries = callback.of("POST")
    assert len(deliveries) == 3
    assert deliveries[-1].body == hub.client.get("/feeds/all.atom").data
    hub.advance(10)
    hub.settle()
    assert len(callback.of("POST")) == 3
