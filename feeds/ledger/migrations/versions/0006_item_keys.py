"""Reads proportional to what a feed shows: each entry's item key (``entries.item_key``,
``feeds.identity.item_key``, computed for the rows already stored), indexed, and indexes for
a source's live entries and every source's, newest first (replacing the one on
``source_id, removed_at``, a prefix of the first).

The key comes from ``feeds.identity``, whose normalisation is fixed forever (ids depend on it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from feeds.identity import item_key

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

#: Rows given their key per statement.
BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("item_key", sa.String(32)))
    entries = sa.table(
        "entries",
        sa.column("source_id", sa.String),
        sa.column("id", sa.Text),
        sa.column("title", sa.Text),
        sa.column("listing_date", sa.Date),
        sa.column("item_key", sa.String),
    )
    connection = op.get_bind()
    setting = (
        sa.update(entries)
        .where(
            entries.c.source_id == sa.bindparam("b_source_id"),
            entries.c.id == sa.bindparam("b_id"),
        )
        .values(item_key=sa.bindparam("b_item_key"))
    )
    reading = (
        sa.select(entries.c.source_id, entries.c.id, entries.c.title, entries.c.listing_date)
        .order_by(entries.c.source_id, entries.c.id)
        .limit(BATCH)
    )
    after: tuple[str, str] | None = None
    while True:  # in batches of the primary key's order, each read after the last
        batch_rows = connection.execute(
            reading
            if after is None
            else reading.where(sa.tuple_(entries.c.source_id, entries.c.id) > sa.tuple_(*after))
        ).all()
        if not batch_rows:
            break
        connection.execute(
            setting,
            [
                {
                    "b_source_id": row.source_id,
                    "b_id": row.id,
                    "b_item_key": item_key(row.title, row.listing_date),
                }
                for row in batch_rows
            ],
        )
        after = (batch_rows[-1].source_id, batch_rows[-1].id)
    op.create_index("ix_entries_item_key", "entries", ["item_key"])
    op.create_index("ix_entries_source_live", "entries", ["source_id", "removed_at", "instant"])
    op.create_index("ix_entries_live", "entries", ["removed_at", "instant"])
    op.drop_index("ix_entries_source_removed", "entries")


def downgrade() -> None:
    op.create_index("ix_entries_source_removed", "entries", ["source_id", "removed_at"])
    op.drop_index("ix_entries_live", "entries")
    op.drop_index("ix_entries_source_live", "entries")
    op.drop_index("ix_entries_item_key", "entries")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("item_key")
