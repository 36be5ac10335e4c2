"""The ledger as first released: each source's refresh state, and every entry published with
its indexes (the unique ``instant`` gives each entry a second of its own).

A frozen copy of the schema, in portable SQLAlchemy types: later changes of ``feeds.ledger.tables``
come as new migrations, never as edits of this one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("last_fetch_at", sa.DateTime(timezone=False)),
        sa.Column("last_success_at", sa.DateTime(timezone=False)),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", sa.DateTime(timezone=False)),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=False)),
        sa.Column("suspect_reason", sa.Text),
        sa.Column("last_status", sa.String(16)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("source_id", sa.String(64), primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("link", sa.Text, nullable=False),
        sa.Column("listing_date", sa.Date),
        sa.Column("published", sa.DateTime(timezone=False), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=False), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=False), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("credit", sa.Text),
        sa.Column("group_heading", sa.Text),
        sa.Column("image", sa.Text),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("on_page", sa.Boolean, nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=False)),
        sa.Column("instant", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_entries_published", "entries", ["published"])
    op.create_index("ix_entries_instant", "entries", ["instant"], unique=True)
    op.create_index("ix_entries_source_removed", "entries", ["source_id", "removed_at"])


def downgrade() -> None:
    op.drop_table("entries")
    op.drop_table("sources")
