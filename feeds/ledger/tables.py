"""The ledger's tables (SQLAlchemy Core): each source's refresh state, and every entry
published, the aliases of corrected entries, entries' articles, and turns at hosts. The
migrations in ``feeds/ledger/migrations`` make them; this is what the code reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

from feeds.model import UTC, require_utc


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime, stored as a naive UTC timestamp to the second (portable)."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        require_utc(value, "stored datetime")
        return value.replace(tzinfo=None, microsecond=0)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)  # noqa: S101  (the column type guarantees it)
        return value.replace(tzinfo=UTC)


metadata = MetaData()

sources_table = Table(
    "sources",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("content_hash", String(64)),
    Column("last_fetch_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("suspect_reason", Text),
    Column("last_status", String(16)),
    Column("version", Integer, nullable=False, default=0),
    # the process refreshing the source, and until when (see ``Ledger.claim``)
    Column("lease_owner", Text),
    Column("lease_expires_at", UTCDateTime),
    # the ids the page listed at the last merge, in page order (``feeds.ledger.corrections``)
    Column("page_order", JSON),
)

entries_table = Table(
    "entries",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("id", Text, primary_key=True),  # feeds' own ids can be long IRIs
    Column("title", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("listing_date", Date),
    Column("published", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("summary", Text, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("credit", Text),
    Column("group_heading", Text),
    Column("image", Text),
    Column("content_hash", String(64), nullable=False),
    Column("on_page", Boolean, nullable=False),
    Column("removed_at", UTCDateTime),
    # the published instant in whole seconds since the epoch: no two entries share one
    Column("instant", BigInteger, nullable=False),
    # ``feeds.identity.item_key`` of its title and date: what its listings by other sources
    # share (empty only in a row written by hand)
    Column("item_key", String(32)),
    Index("ix_entries_published", "published"),
    Index("ix_entries_instant", "instant", unique=True),
    # a source's live entries, newest first; every source's, newest first; an item's live
    # listings (of some sources): each read an index search (the last one also counts a
    # topic's items without reading rows)
    Index("ix_entries_source_live", "source_id", "removed_at", "instant"),
    Index("ix_entries_live", "removed_at", "instant"),
    Index("ix_entries_item_key", "item_key", "removed_at", "source_id", "first_seen"),
)

entry_aliases_table = Table(
    "entry_aliases",
    metadata,
    Column("source_id", String(64), primary_key=True),
    # an id a corrected item arrived with, and the id of the entry it corrects, kept forever
    Column("alias", Text, primary_key=True),
    Column("entry_id", Text, nullable=False),
)

hosts_table = Table(
    "hosts",
    metadata,
    Column("host", String(255), primary_key=True),
    # when the next request to the host may be sent, in seconds since the epoch (shared by
    # every process on the database: see ``Ledger.take_turn``)
    Column("next_turn", Float, nullable=False),
)

articles_table = Table(
    "articles",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("entry_id", Text, primary_key=True),
    # the link the article was fetched from: an entry whose link changes is fetched again
    Column("url", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    # a digest of the page's bytes, and the body extracted from them (sanitised HTML); both
    # empty until a fetch succeeds
    Column("content_hash", String(64)),
    Column("content_html", Text),
    Column("fetched_at", UTCDateTime),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    # when to fetch it again: after a failure (backoff), or a correction of its entry; never
    # while it is fetched and unchanged
    Column("next_attempt_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
)

# --- the WebSub hub (``feeds.ledger.hub``): instants in seconds since the epoch, as floats,
# so that retries and leases are timed finer than the second

hub_requests_table = Table(
    "hub_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # subscribe, unsubscribe, or denied (a refusal the callback is told of)
    Column("mode", String(16), nullable=False),
    Column("topic", Text, nullable=False),
    Column("callback", Text, nullable=False),
    Column("callback_host", String(255), nullable=False),
    Column("secret", Text),
    Column("lease_seconds", Integer),
    Column("reason", Text),
    Column("requested_at", Float, nullable=False),
    # the worker verifying it, until when (another takes it over after)
    Column("claimed_by", Text),
    Column("claim_expires_at", Float),
    Index("ix_hub_requests_pair", "topic", "callback"),
)

hub_subscriptions_table = Table(
    "hub_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", Text, nullable=False),
    Column("callback", Text, nullable=False),
    Column("callback_host", String(255), nullable=False),
    Column("secret", Text),
    Column("lease_seconds", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
    # active, or dropped (its callback kept failing: no deliveries until it subscribes again)
    Column("state", String(16), nullable=False),
    Column("verified_at", Float, nullable=False),
    Column("deliveries", Integer, nullable=False, default=0),
    Column("delivered_at", Float),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("give_ups", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("last_error_at", Float),
    Index("ix_hub_subscriptions_pair", "topic", "callback", unique=True),
    Index("ix_hub_subscriptions_host", "callback_host"),
)

hub_topics_table = Table(
    "hub_topics",
    metadata,
    # a feed's URL, as subscribed to, and its content as last published to subscribers
    Column("topic", Text, primary_key=True),
    # the sum of its sources' versions it was rendered at: an older render never replaces it
    Column("version", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("content_type", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    # how many times its content changed since it was first published
    Column("sequence", Integer, nullable=False),
    Column("changed_at", Float, nullable=False),
)

hub_deliveries_table = Table(
    "hub_deliveries",
    metadata,
    # one pending delivery a subscription at most: it sends the topic's content as it is then
    Column("subscription_id", Integer, primary_key=True),
    # the topic's sequence it is for: done when a delivery of it (or a later one) succeeds
    Column("sequence", Integer, nullable=False),
    Column("due_at", Float, nullable=False),
    Column("first_due_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", Text),
    Column("claim_expires_at", Float),
    Index("ix_hub_deliveries_due", "due_at"),
)

hub_pings_table = Table(
    "hub_pings",
    metadata,
    # an external hub to tell of a change of a topic (``hub.mode=publish``)
    Column("hub", Text, primary_key=True),
    Column("topic", Text, primary_key=True),
    Column("due_at", Float, nullable=False),
    Column("first_due_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("claimed_by", Text),
    Column("claim_expires_at", Float),
)
