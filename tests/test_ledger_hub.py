"""The hub's records in the ledger (``feeds.ledger.hub``), on SQLite and PostgreSQL:
requests claimed once, subscriptions made, renewed, removed and expired, a feed's changes
queued once per subscriber, deliveries done, retried, given up and dropped."""

from __future__ import annotations

import pytest

from feeds.ledger import hub
from feeds.ledger.hub import Delivery, HubRequest, RetryPolicy
from feeds.ledger.store import Ledger

TOPIC = "http://127.0.0.1:8000/feeds/all.atom"
SECRET = "s3cret"  # noqa: S105  (a test's own)
POLICY = RetryPolicy(
    retry_seconds=10, max_retry_seconds=40, give_up_seconds=100, drop_after_give_ups=2
)


def request(
    mode: str = hub.SUBSCRIBE,
    callback: str = "http://reader.test/cb/1",
    secret: str | None = None,
    topic: str = TOPIC,
) -> HubRequest:
    return HubRequest(
        mode=mode,
        topic=topic,
        callback=callback,
        callback_host="reader.test",
        lease_seconds=3600,
        secret=secret,
    )


def subscribe(
    ledger: Ledger, callback: str = "http://reader.test/cb/1", now: float = 1000.0
) -> None:
    with ledger.transaction() as t:
        hub.add_request(t.connection, request(callback=callback, secret=SECRET), now)
    with ledger.transaction() as t:
        (claimed,) = [
            r
            for r in hub.claim_requests(t.connection, "w1", now, 30, 10, baseline_wait=0)
            if r.callback == callback
        ]
        assert hub.finish_request(t.connection, claimed, "w1", verified=True, now=now)


def publish(ledger: Ledger, version: int, body: bytes, now: float = 1000.0) -> int:
    with ledger.transaction() as t:
        return hub.publish(
            t.connection,
            TOPIC,
            version=version,
            content_type="application/atom+xml",
            body=body,
            now=now,
        )


def claim(ledger: Ledger, owner: str = "w1", now: float = 1000.0) -> list[Delivery]:
    with ledger.transaction() as t:
        return hub.claim_deliveries(t.connection, owner, now, 30, 100)


def test_a_request_is_claimed_by_one_worker_until_its_claim_expires(ledger: Ledger) -> None:
    with ledger.transaction() as t:
        hub.add_request(t.connection, request(), 1000.0)
    with ledger.transaction() as t:
        assert [
            r.mode for r in hub.claim_requests(t.connection, "w1", 1000.0, 30, 10, baseline_wait=0)
        ] == ["subscribe"]
        assert hub.claim_requests(t.connection, "w2", 1010.0, 30, 10, baseline_wait=0) == []
        (taken,) = hub.claim_requests(t.connection, "w2", 1031.0, 30, 10, baseline_wait=0)
        assert not hub.finish_request(t.connection, taken, "w1", verified=True, now=1031.0)
        assert hub.finish_request(t.connection, taken, "w2", verified=True, now=1031.0)
        assert [s.state for s in hub.subscribers(t.connection)] == ["active"]


def test_a_newer_request_for_the_same_pair_replaces_the_waiting_one(ledger: Ledger) -> None:
    with ledger.transaction() as t:
        hub.add_request(t.connection, request(), 1000.0)
        hub.add_request(t.connection, request(hub.UNSUBSCRIBE), 1001.0)
        assert [
            r.mode for r in hub.claim_requests(t.connection, "w1", 1002.0, 30, 10, baseline_wait=0)
        ] == ["unsubscribe"]


def test_a_failed_verification_makes_no_subscription(ledger: Ledger) -> None:
    with ledger.transaction() as t:
        hub.add_request(t.connection, request(), 1000.0)
        (claimed,) = hub.claim_requests(t.connection, "w1", 1000.0, 30, 10, baseline_wait=0)
        assert hub.finish_request(t.connection, claimed, "w1", verified=False, now=1000.0)
        assert hub.subscribers(t.connection) == []
        assert hub.claim_requests(t.connection, "w1", 2000.0, 30, 10, baseline_wait=0) == []


def test_resubscribing_renews_the_one_subscription_and_unsubscribing_removes_it(
    ledger: Ledger,
) -> None:
    subscribe(ledger, now=1000.0)
    subscribe(ledger, now=2000.0)
    with ledger.transaction() as t:
        (only,) = hub.subscribers(t.connection)
        assert only.expires_at == 2000.0 + 3600
        assert hub.held(t.connection, "reader.test") == (1, 1)
        hub.add_request(t.connection, request(hub.UNSUBSCRIBE), 2001.0)
        (claimed,) = hub.claim_requests(t.connection, "w1", 2001.0, 30, 10, baseline_wait=0)
        hub.finish_request(t.connection, claimed, "w1", verified=True, now=2001.0)
        assert hub.subscribers(t.connection) == []


def test_a_lease_ends_and_the_subscription_with_it(ledger: Ledger) -> None:
    subscribe(ledger, now=1000.0)
    with ledger.transaction() as t:
        assert hub.expire(t.connection, 1000.0 + 3599) == 0
        assert hub.expire(t.connection, 1000.0 + 3600) == 1
        assert hub.subscribed_topics(t.connection) == []


def test_the_first_content_is_a_baseline_and_each_change_is_queued_once(ledger: Ledger) -> None:
    subscribe(ledger, "http://reader.test/cb/1")
    subscribe(ledger, "http://reader.test/cb/2")
    assert publish(ledger, 5, b"<feed>1</feed>") == 0
    assert claim(ledger) == []
    assert publish(ledger, 6, b"<feed>2</feed>") == 2
    assert publish(ledger, 6, b"<feed>2</feed>") == 0  # a second process, the same change
    assert publish(ledger, 4, b"<feed>old</feed>") == 0  # an older render never wins
    assert publish(ledger, 7, b"<feed>2</feed>") == 0  # a version with the same content
    claimed = claim(ledger)
    assert [(d.callback, d.body, d.secret) for d in claimed] == [
        ("http://reader.test/cb/1", b"<feed>2</feed>", SECRET),
        ("http://reader.test/cb/2", b"<feed>2</feed>", SECRET),
    ]
    assert claim(ledger, "w2") == []


def test_a_change_while_a_delivery_is_under_way_is_delivered_after_it(ledger: Ledger) -> None:
    subscribe(ledger)
    publish(ledger, 1, b"a")
    publish(ledger, 2, b"b")
    (first,) = claim(ledger)
    publish(ledger, 3, b"c")
    with ledger.transaction() as t:
        hub.delivered(t.connection, first, "w1", 1001.0)
    (second,) = claim(ledger, now=1001.0)
    assert second.body == b"c"
    with ledger.transaction() as t:
        hub.delivered(t.connection, second, "w1", 1002.0)
        assert hub.subscribers(t.connection)[0].deliveries == 2
    assert claim(ledger, now=5000.0) == []


def test_failures_back_off_then_give_up_then_drop_the_subscription(ledger: Ledger) -> None:
    subscribe(ledger)
    publish(ledger, 1, b"a")
    outcomes, now = [], 1000.0
    for version in (2, 3):
        publish(ledger, version, b"x%d" % version, now=now)
        while True:
            (due,) = claim(ledger, now=now)
            with ledger.transaction() as t:
                outcome = hub.delivery_failed(
                    t.connection, due, "w1", now, error="HTTP 500", policy=POLICY
                )
            outcomes.append((outcome, now))
            if outcome != "retry":
                break
            assert claim(ledger, now=now) == []  # not due until its backoff has passed
            now += POLICY.wait(due.attempts + 1)
    assert outcomes == [
        ("retry", 1000.0), ("retry", 1010.0), ("retry", 1030.0), ("given up", 1070.0),
        ("retry", 1070.0), ("retry", 1080.0), ("retry", 1100.0), ("dropped", 1140.0),
    ]  # fmt: skip
    with ledger.transaction() as t:
        (dropped,) = hub.subscribers(t.connection)
        assert (dropped.state, dropped.last_error) == ("dropped", "HTTP 500")
    assert publish(ledger, 9, b"new") == 0  # a dropped subscriber gets nothing
    subscribe(ledger, now=2000.0)  # until it subscribes again
    assert publish(ledger, 10, b"newer") == 1


@pytest.mark.parametrize("attempts", [1, 2, 3, 10, 100])
def test_the_backoff_doubles_up_to_its_bound(attempts: int) -> None:
    assert POLICY.wait(attempts) == min(40, 10 * 2 ** (attempts - 1))


def test_a_subscription_is_verified_once_its_topics_content_is_known(ledger: Ledger) -> None:
    with ledger.transaction() as t:
        hub.add_request(t.connection, request(), 1000.0)
        assert hub.subscribed_topics(t.connection) == [TOPIC]  # watched while it waits
        assert hub.claim_requests(t.connection, "w1", 1001.0, 30, 10, baseline_wait=60) == []
    publish(ledger, 1, b"<feed/>")
    with ledger.transaction() as t:
        (ready,) = hub.claim_requests(t.connection, "w1", 1001.0, 30, 10, baseline_wait=60)
        assert hub.finish_request(t.connection, ready, "w1", verified=True, now=1001.0)
        hub.add_request(t.connection, request(topic="https://feeds.test/feeds/b.atom"), 1000.0)
        assert hub.claim_requests(t.connection, "w1", 1059.0, 30, 10, baseline_wait=60) == []
        (late,) = hub.claim_requests(t.connection, "w1", 1060.0, 30, 10, baseline_wait=60)
        assert late.topic == "https://feeds.test/feeds/b.atom"  # its content never came
