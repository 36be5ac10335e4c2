"""Turns at hosts: when the next request to each host may be sent, shared by every process
on the database, so that the spacing between requests to a host holds across processes
(``Ledger.take_turn``).

A frozen copy of the change, in portable SQLAlchemy types.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("next_turn", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hosts")
