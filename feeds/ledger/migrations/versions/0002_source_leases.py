"""Leases on sources: which process is refreshing a source, and until when, so that several
processes sharing one database refresh each due source once (``Ledger.claim``).

A frozen copy of the change, in portable SQLAlchemy types.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as sources:
        sources.add_column(sa.Column("lease_owner", sa.Text, nullable=True))
        sources.add_column(
            sa.Column("lease_expires_at", sa.DateTime(timezone=False), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("sources") as sources:
        sources.drop_column("lease_expires_at")
        sources.drop_column("lease_owner")
