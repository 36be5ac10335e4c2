"""The WebSub hub's records: subscription requests waiting to be verified, subscriptions and
their leases, each subscribed feed's content as last published, and the deliveries due.

Every decision that processes sharing the database could race on is one conditional
statement: a request or a delivery is claimed by one worker at a time (until its claim
expires), and a feed's new content is published, and its deliveries queued, by one process
only, and never replaced by an older render. A subscription has one pending delivery at
most: it carries the feed as it is when sent, and is done only once what it carries is at
least as new as the newest change. Instants are seconds since the epoch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from feeds.ledger.store import insert_if_missing
from feeds.ledger.tables import (
    hub_deliveries_table,
    hub_pings_table,
    hub_requests_table,
    hub_subscriptions_table,
    hub_topics_table,
)

SUBSCRIBE, UNSUBSCRIBE, DENIED = "subscribe", "unsubscribe", "denied"
ACTIVE, DROPPED = "active", "dropped"
#: How long a subscription waits to be verified for its topic's content to be known.
BASELINE_WAIT_SECONDS = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class HubRequest:
    """A subscriber's request (or a refusal to tell it of), as the hub took it."""

    mode: str
    topic: str
    callback: str
    callback_host: str
    secret: str | None = None
    lease_seconds: int | None = None
    reason: str | None = None
    id: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """A delivery claimed: the feed's content as it is now, for one subscriber."""

    subscription_id: int
    topic: str
    callback: str
    secret: str | None
    sequence: int
    content_type: str
    body: bytes
    attempts: int
    first_due_at: float


def _claimable(table: Any, now: float) -> Any:
    return or_(table.c.claim_expires_at.is_(None), table.c.claim_expires_at <= now)


def _claim(
    connection: Connection,
    table: Any,
    key: Any,
    ready: Any,
    order: tuple[Any, ...],
    *,
    owner: str,
    now: float,
    lease: float,
    limit: int,
) -> list[Any]:
    """Claim up to ``limit`` rows that are ``ready`` and held by no one, in ``order``, for
    ``owner`` until ``now + lease``: the rows claimed (of processes claiming at once, each
    row goes to one, the conditional UPDATE re-checking it)."""
    candidates = list(
        connection.execute(
            select(key).where(ready, _claimable(table, now)).order_by(*order).limit(limit)
        ).scalars()
    )
    if not candidates:
        return []
    return list(
        connection.execute(
            update(table)
            .where(key.in_(candidates), _claimable(table, now))
            .values(claimed_by=owner, claim_expires_at=now + lease)
            .returning(*table.c)
        )
    )


def held(connection: Connection, callback_host: str) -> tuple[int, int]:
    """How many subscriptions (dropped ones aside) and requests waiting there are in all,
    and for one callback host: what the hub's bounds are checked against."""
    subscriptions, requests = hub_subscriptions_table, hub_requests_table
    counts = []
    for where_host in (None, callback_host):
        total = 0
        for table, extra in ((subscriptions, subscriptions.c.state == ACTIVE), (requests, None)):
            query = select(func.count()).select_from(table)
            if extra is not None:
                query = query.where(extra)
            if where_host is not None:
                query = query.where(table.c.callback_host == where_host)
            total += int(connection.execute(query).scalar_one())
        counts.append(total)
    return counts[0], counts[1]


def add_request(connection: Connection, request: HubRequest, now: float) -> int:
    """Take a request to verify; one waiting for the same topic and callback is replaced (the
    subscriber's last word counts). Its id."""
    table = hub_requests_table
    connection.execute(
        delete(table).where(
            table.c.topic == request.topic,
            table.c.callback == request.callback,
            _claimable(table, now),
        )
    )
    inserted = connection.execute(
        insert(table).values(
            mode=request.mode,
            topic=request.topic,
            callback=request.callback,
            callback_host=request.callback_host,
            secret=request.secret,
            lease_seconds=request.lease_seconds,
            reason=request.reason,
            requested_at=now,
        )
    )
    key = inserted.inserted_primary_key
    return int(key[0]) if key else 0


def claim_requests(
    connection: Connection,
    owner: str,
    now: float,
    lease: float,
    limit: int,
    *,
    baseline_wait: float = BASELINE_WAIT_SECONDS,
) -> list[HubRequest]:
    """Up to ``limit`` waiting requests, claimed for ``owner`` until ``now + lease``, oldest
    first; none that another holds. A subscription is verified once its topic's content is
    known (``publish``), so that every change after it is verified reaches it; one whose
    topic has none after ``baseline_wait`` seconds is verified all the same."""
    table = hub_requests_table
    ready = or_(
        table.c.mode != SUBSCRIBE,
        table.c.topic.in_(select(hub_topics_table.c.topic)),
        table.c.requested_at <= now - baseline_wait,
    )
    claimed = _claim(
        connection, table, table.c.id, ready, (table.c.requested_at, table.c.id),
        owner=owner, now=now, lease=lease, limit=limit,
    )  # fmt: skip
    return sorted(
        (
            HubRequest(
                id=row.id,
                mode=row.mode,
                topic=row.topic,
                callback=row.callback,
                callback_host=row.callback_host,
                secret=row.secret,
                lease_seconds=row.lease_seconds,
                reason=row.reason,
            )
            for row in claimed
        ),
        key=lambda request: request.id,
    )


def finish_request(
    connection: Connection, request: HubRequest, owner: str, *, verified: bool, now: float
) -> bool:
    """The end of a claimed request: verified, a subscription is made or renewed (lease from
    ``now``; a dropped one becomes active again) or removed; in any case the request is gone.
    False when ``owner`` no longer held it (it expired and was taken over: nothing done)."""
    requests, subscriptions = hub_requests_table, hub_subscriptions_table
    gone = connection.execute(
        delete(requests).where(requests.c.id == request.id, requests.c.claimed_by == owner)
    )
    if gone.rowcount != 1:
        return False
    if not verified or request.mode == DENIED:
        return True
    pair = and_(
        subscriptions.c.topic == request.topic, subscriptions.c.callback == request.callback
    )
    if request.mode == UNSUBSCRIBE:
        ids = select(subscriptions.c.id).where(pair).scalar_subquery()
        connection.execute(
            delete(hub_deliveries_table).where(hub_deliveries_table.c.subscription_id == ids)
        )
        connection.execute(delete(subscriptions).where(pair))
        return True
    lease = int(request.lease_seconds or 0)
    values = {
        "secret": request.secret,
        "lease_seconds": lease,
        "expires_at": now + lease,
        "state": ACTIVE,
        "verified_at": now,
        "consecutive_failures": 0,
        "give_ups": 0,
    }
    renewed = connection.execute(update(subscriptions).where(pair).values(**values))
    if renewed.rowcount == 0:
        connection.execute(
            insert(subscriptions).values(
                topic=request.topic,
                callback=request.callback,
                callback_host=request.callback_host,
                deliveries=0,
                **values,
            )
        )
    return True


def expire(connection: Connection, now: float) -> int:
    """Remove the subscriptions whose lease has ended (and their deliveries); how many."""
    subscriptions, deliveries = hub_subscriptions_table, hub_deliveries_table
    ended = select(subscriptions.c.id).where(subscriptions.c.expires_at <= now)
    connection.execute(delete(deliveries).where(deliveries.c.subscription_id.in_(ended)))
    return int(
        connection.execute(delete(subscriptions).where(subscriptions.c.expires_at <= now)).rowcount
    )


def subscribed_topics(connection: Connection) -> list[str]:
    """The topics whose content is watched: those with an active subscription, or a
    subscription request waiting (its topic's content is known before it is verified)."""
    subscriptions, requests = hub_subscriptions_table, hub_requests_table
    active = select(subscriptions.c.topic).where(subscriptions.c.state == ACTIVE)
    waiting = select(requests.c.topic).where(requests.c.mode == SUBSCRIBE)
    query = select(active.union(waiting).subquery().c.topic).order_by("topic")
    return [str(topic) for topic in connection.execute(query).scalars()]


def publish(
    connection: Connection,
    topic: str,
    *,
    version: int,
    content_type: str,
    body: bytes,
    now: float,
) -> int:
    """Record a feed's content as rendered at ``version`` (the sum of its sources' versions
    read before rendering). The first content of a topic is its baseline (nothing is
    delivered); a later one that differs, rendered at a newer version than the stored one,
    replaces it and queues a delivery to each active subscriber (coalescing with one not yet
    sent). How many deliveries were queued: of processes publishing the same change at
    once, one queues them."""
    topics = hub_topics_table
    digest = hashlib.sha256(body).hexdigest()
    baseline = connection.execute(
        insert_if_missing(
            connection,
            topics,
            topic=topic,
            version=version,
            digest=digest,
            content_type=content_type,
            body=body,
            sequence=0,
            changed_at=now,
        )
    )
    if baseline.rowcount == 1:  # the topic's first content (another process's, if not)
        return 0
    changed = connection.execute(
        update(topics)
        .where(topics.c.topic == topic, topics.c.version < version, topics.c.digest != digest)
        .values(
            version=version,
            digest=digest,
            content_type=content_type,
            body=body,
            sequence=topics.c.sequence + 1,
            changed_at=now,
        )
        .returning(topics.c.sequence)
    ).first()
    if changed is None:
        connection.execute(
            update(topics)
            .where(topics.c.topic == topic, topics.c.version < version)
            .values(version=version)
        )
        return 0
    return _queue(connection, topic, int(changed.sequence), now)


def _queue(connection: Connection, topic: str, sequence: int, now: float) -> int:
    subscriptions, deliveries = hub_subscriptions_table, hub_deliveries_table
    ids = list(
        connection.execute(
            select(subscriptions.c.id).where(
                subscriptions.c.topic == topic, subscriptions.c.state == ACTIVE
            )
        ).scalars()
    )
    if not ids:
        return 0
    waiting = set(
        connection.execute(
            select(deliveries.c.subscription_id).where(deliveries.c.subscription_id.in_(ids))
        ).scalars()
    )
    if waiting:
        connection.execute(
            update(deliveries)
            .where(deliveries.c.subscription_id.in_(waiting))
            .values(sequence=sequence)
        )
    fresh = [
        {
            "subscription_id": subscription_id,
            "sequence": sequence,
            "due_at": now,
            "first_due_at": now,
            "attempts": 0,
        }
        for subscription_id in ids
        if subscription_id not in waiting
    ]
    if fresh:
        connection.execute(insert(deliveries), fresh)
    return len(ids)


def claim_deliveries(
    connection: Connection, owner: str, now: float, lease: float, limit: int
) -> list[Delivery]:
    """Up to ``limit`` due deliveries, claimed for ``owner`` until ``now + lease``, with the
    feed's content as it is now."""
    deliveries, subscriptions, topics = (
        hub_deliveries_table,
        hub_subscriptions_table,
        hub_topics_table,
    )
    claimed = _claim(
        connection, deliveries, deliveries.c.subscription_id, deliveries.c.due_at <= now,
        (deliveries.c.due_at,), owner=owner, now=now, lease=lease, limit=limit,
    )  # fmt: skip
    if not claimed:
        return []
    rows = {
        row.id: row
        for row in connection.execute(
            select(
                subscriptions.c.id,
                subscriptions.c.topic,
                subscriptions.c.callback,
                subscriptions.c.secret,
                topics.c.sequence,
                topics.c.content_type,
                topics.c.body,
            )
            .join(topics, topics.c.topic == subscriptions.c.topic)
            .where(subscriptions.c.id.in_([row.subscription_id for row in claimed]))
        )
    }
    return [
        Delivery(
            subscription_id=claim.subscription_id,
            topic=rows[claim.subscription_id].topic,
            callback=rows[claim.subscription_id].callback,
            secret=rows[claim.subscription_id].secret,
            sequence=int(rows[claim.subscription_id].sequence),
            content_type=rows[claim.subscription_id].content_type,
            body=bytes(rows[claim.subscription_id].body),
            attempts=int(claim.attempts),
            first_due_at=float(claim.first_due_at),
        )
        for claim in sorted(claimed, key=lambda claim: claim.subscription_id)
        if claim.subscription_id in rows
    ]


def delivered(connection: Connection, delivery: Delivery, owner: str, now: float) -> None:
    """A delivery succeeded: done, unless a newer change came meanwhile (then it is due
    again at once); its subscriber's failures are forgotten."""
    deliveries, subscriptions = hub_deliveries_table, hub_subscriptions_table
    mine = and_(
        deliveries.c.subscription_id == delivery.subscription_id,
        deliveries.c.claimed_by == owner,
    )
    connection.execute(delete(deliveries).where(mine, deliveries.c.sequence <= delivery.sequence))
    connection.execute(
        update(deliveries)
        .where(mine)
        .values(claimed_by=None, claim_expires_at=None, due_at=now, first_due_at=now, attempts=0)
    )
    connection.execute(
        update(subscriptions)
        .where(subscriptions.c.id == delivery.subscription_id)
        .values(
            deliveries=subscriptions.c.deliveries + 1,
            delivered_at=now,
            consecutive_failures=0,
            give_ups=0,
        )
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """When a failed delivery is tried again, given up, and its subscription dropped."""

    retry_seconds: float
    max_retry_seconds: float
    give_up_seconds: float
    drop_after_give_ups: int

    def wait(self, attempts: int) -> float:
        """The wait after the ``attempts``-th failed try in a row."""
        return float(min(self.max_retry_seconds, self.retry_seconds * 2 ** min(attempts - 1, 60)))


def delivery_failed(
    connection: Connection,
    delivery: Delivery,
    owner: str,
    now: float,
    *,
    error: str,
    policy: RetryPolicy,
) -> str:
    """A delivery failed: tried again after a backoff, or given up once it has failed for
    ``give_up_seconds``; a subscription given up on ``drop_after_give_ups`` times in a row is
    dropped. Says which: ``retry``, ``given up`` or ``dropped``."""
    deliveries, subscriptions = hub_deliveries_table, hub_subscriptions_table
    attempts = delivery.attempts + 1
    mine = and_(
        deliveries.c.subscription_id == delivery.subscription_id,
        deliveries.c.claimed_by == owner,
    )
    connection.execute(
        update(subscriptions)
        .where(subscriptions.c.id == delivery.subscription_id)
        .values(
            consecutive_failures=subscriptions.c.consecutive_failures + 1,
            last_error=error[:500],
            last_error_at=now,
        )
    )
    retry_at = now + policy.wait(attempts)
    if retry_at - delivery.first_due_at <= policy.give_up_seconds:
        connection.execute(
            update(deliveries)
            .where(mine)
            .values(attempts=attempts, due_at=retry_at, claimed_by=None, claim_expires_at=None)
        )
        return "retry"
    connection.execute(delete(deliveries).where(mine))
    give_ups = connection.execute(
        update(subscriptions)
        .where(subscriptions.c.id == delivery.subscription_id)
        .values(give_ups=subscriptions.c.give_ups + 1)
        .returning(subscriptions.c.give_ups)
    ).scalar()
    if give_ups is not None and give_ups >= policy.drop_after_give_ups:
        connection.execute(
            update(subscriptions)
            .where(subscriptions.c.id == delivery.subscription_id)
            .values(state=DROPPED)
        )
        return "dropped"
    return "given up"


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscriber:
    """One subscription as the status page shows it (the callback's host only: its path
    may be a capability)."""

    topic: str
    callback_host: str
    state: str
    expires_at: float
    deliveries: int
    consecutive_failures: int
    last_error: str | None
    last_error_at: float | None = None


def subscribers(connection: Connection, topics: Sequence[str] | None = None) -> list[Subscriber]:
    """Every subscription (of some topics), by topic and callback host."""
    table = hub_subscriptions_table
    query = select(table).order_by(table.c.topic, table.c.callback_host, table.c.id)
    if topics is not None:
        query = query.where(table.c.topic.in_(list(topics)))
    return [_subscriber(row) for row in connection.execute(query)]


def _subscriber(row: Any) -> Subscriber:
    return Subscriber(
        topic=row.topic,
        callback_host=row.callback_host,
        state=row.state,
        expires_at=row.expires_at,
        deliveries=row.deliveries,
        consecutive_failures=row.consecutive_failures,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
    )


def is_subscribed(connection: Connection, topic: str, callback: str) -> bool:
    """Whether the callback holds a subscription to the topic (dropped or not): a renewal,
    which the hub's bounds do not refuse."""
    table = hub_subscriptions_table
    query = select(table.c.id).where(table.c.topic == topic, table.c.callback == callback)
    return connection.execute(query.limit(1)).first() is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Ping:
    """An external hub to tell of a change of a topic (``hub.mode=publish``)."""

    hub: str
    topic: str
    attempts: int
    first_due_at: float


def queue_pings(connection: Connection, hubs: Sequence[str], topic: str, now: float) -> int:
    """Tell each hub of a change of the topic (once, however many changes come before it is
    told); how many pings are newly due."""
    table = hub_pings_table
    queued = 0
    for hub_url in hubs:
        added = connection.execute(
            insert_if_missing(
                connection, table, hub=hub_url, topic=topic, due_at=now, first_due_at=now,
                attempts=0,
            )
        )  # fmt: skip
        if added.rowcount == 1:
            queued += 1
            continue
        # one being told now may have missed this change: it is told again after
        connection.execute(
            update(table)
            .where(table.c.hub == hub_url, table.c.topic == topic, table.c.claimed_by.is_not(None))
            .values(first_due_at=now, due_at=now, attempts=0)
        )
    return queued


def claim_pings(
    connection: Connection, owner: str, now: float, lease: float, limit: int
) -> list[Ping]:
    """Up to ``limit`` due pings, claimed for ``owner`` until ``now + lease``."""
    table = hub_pings_table
    key = table.c.hub + " " + table.c.topic
    claimed = _claim(
        connection, table, key, table.c.due_at <= now, (table.c.due_at,),
        owner=owner, now=now, lease=lease, limit=limit,
    )  # fmt: skip
    return sorted(
        (
            Ping(hub=row.hub, topic=row.topic, attempts=row.attempts, first_due_at=row.first_due_at)
            for row in claimed
        ),
        key=lambda ping: (ping.hub, ping.topic),
    )


def ping_done(
    connection: Connection, ping: Ping, owner: str, now: float, *, error: str | None,
    policy: RetryPolicy,
) -> str:  # fmt: skip
    """The end of a claimed ping: ``done``, ``retry`` (after a backoff) or ``given up``."""
    table = hub_pings_table
    mine = and_(table.c.hub == ping.hub, table.c.topic == ping.topic, table.c.claimed_by == owner)
    attempts = ping.attempts + 1
    retry_at = now + policy.wait(attempts)
    if error is not None and retry_at - ping.first_due_at <= policy.give_up_seconds:
        connection.execute(
            update(table)
            .where(mine)
            .values(
                attempts=attempts,
                due_at=retry_at,
                last_error=error[:500],
                claimed_by=None,
                claim_expires_at=None,
            )
        )
        return "retry"
    connection.execute(delete(table).where(mine, table.c.first_due_at == ping.first_due_at))
    # a change came while it was being told: due again
    connection.execute(update(table).where(mine).values(claimed_by=None, claim_expires_at=None))
    return "done" if error is None else "given up"


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicSubscriptions:
    """One topic's subscriptions, counted for the status page."""

    topic: str
    active: int
    dropped: int
    failing: int  # active, and whose last delivery failed
    deliveries: int  # made to them in all


def topic_subscriptions(connection: Connection) -> list[TopicSubscriptions]:
    """Each subscribed topic's subscriptions, counted (one query)."""
    table = hub_subscriptions_table
    is_active = table.c.state == ACTIVE
    query = (
        select(
            table.c.topic,
            func.count().filter(is_active),
            func.count().filter(table.c.state == DROPPED),
            func.count().filter(is_active, table.c.consecutive_failures > 0),
            func.coalesce(func.sum(table.c.deliveries), 0),
        )
        .group_by(table.c.topic)
        .order_by(table.c.topic)
    )
    return [
        TopicSubscriptions(
            topic=str(topic), active=int(active), dropped=int(dropped), failing=int(failing),
            deliveries=int(deliveries),
        )
        for topic, active, dropped, failing, deliveries in connection.execute(query)
    ]  # fmt: skip


def failing_subscribers(connection: Connection, limit: int) -> list[Subscriber]:
    """The subscriptions whose last delivery failed, or that were dropped: the most recent
    failures first, ``limit`` at most."""
    table = hub_subscriptions_table
    query = (
        select(table)
        .where(or_(table.c.consecutive_failures > 0, table.c.state == DROPPED))
        .order_by(table.c.last_error_at.desc(), table.c.id)
        .limit(limit)
    )
    return [_subscriber(row) for row in connection.execute(query)]
