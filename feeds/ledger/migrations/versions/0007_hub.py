"""The WebSub hub: subscription requests waiting to be verified (``hub_requests``), the
subscriptions (``hub_subscriptions``), each subscribed feed's content as last published
(``hub_topics``), the deliveries due (``hub_deliveries``) and the external hubs to tell of
changes (``hub_pings``).

A frozen copy of the change, in portable SQLAlchemy types.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "hub_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("callback", sa.Text, nullable=False),
        sa.Column("callback_host", sa.String(255), nullable=False),
        sa.Column("secret", sa.Text),
        sa.Column("lease_seconds", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.Column("requested_at", sa.Float, nullable=False),
        sa.Column("claimed_by", sa.Text),
        sa.Column("claim_expires_at", sa.Float),
    )
    op.create_index("ix_hub_requests_pair", "hub_requests", ["topic", "callback"])
    op.create_table(
        "hub_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("callback", sa.Text, nullable=False),
        sa.Column("callback_host", sa.String(255), nullable=False),
        sa.Column("secret", sa.Text),
        sa.Column("lease_seconds", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("verified_at", sa.Float, nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False, default=0),
        sa.Column("delivered_at", sa.Float),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, default=0),
        sa.Column("give_ups", sa.Integer, nullable=False, default=0),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", sa.Float),
    )
    op.create_index(
        "ix_hub_subscriptions_pair", "hub_subscriptions", ["topic", "callback"], unique=True
    )
    op.create_index("ix_hub_subscriptions_host", "hub_subscriptions", ["callback_host"])
    op.create_table(
        "hub_topics",
        sa.Column("topic", sa.Text, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("changed_at", sa.Float, nullable=False),
    )
    op.create_table(
        "hub_deliveries",
        sa.Column("subscription_id", sa.Integer, primary_key=True),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("first_due_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("claimed_by", sa.Text),
        sa.Column("claim_expires_at", sa.Float),
    )
    op.create_index("ix_hub_deliveries_due", "hub_deliveries", ["due_at"])
    op.create_table(
        "hub_pings",
        sa.Column("hub", sa.Text, primary_key=True),
        sa.Column("topic", sa.Text, primary_key=True),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("first_due_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("last_error", sa.Text),
        sa.Column("claimed_by", sa.Text),
        sa.Column("claim_expires_at", sa.Float),
    )


def downgrade() -> None:
    for table in ("hub_pings", "hub_deliveries", "hub_topics", "hub_subscriptions"):
        op.drop_table(table)
    op.drop_table("hub_requests")
