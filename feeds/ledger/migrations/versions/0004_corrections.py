"""Corrections keep their entry: the ids a listing's corrected items arrive with, each an
alias of the entry it corrects (``entry_aliases``), and the order of the ids on each source's
page at its last merge (``sources.page_order``), which tells an item's place on the page.

A frozen copy of the change, in portable SQLAlchemy types.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("page_order", sa.JSON))
    op.create_table(
        "entry_aliases",
        sa.Column("source_id", sa.String(64), primary_key=True),
        sa.Column("alias", sa.Text, primary_key=True),
        sa.Column("entry_id", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("entry_aliases")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("page_order")
