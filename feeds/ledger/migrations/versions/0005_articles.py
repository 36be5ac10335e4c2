"""Full text: each entry's article, as fetched from its own page (``articles``): the URL it
was fetched from, its validators for conditional GET, its sanitised body, and the state of
fetching it (failures in a row, when to try again, the last error).

A frozen copy of the change, in portable SQLAlchemy types.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("source_id", sa.String(64), primary_key=True),
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("content_html", sa.Text),
        sa.Column("fetched_at", sa.DateTime(timezone=False)),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, default=0),
        sa.Column("next_attempt_at", sa.DateTime(timezone=False)),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", sa.DateTime(timezone=False)),
    )


def downgrade() -> None:
    op.drop_table("articles")
