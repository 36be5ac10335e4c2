"""An item's live listings found by its key alone: the item-key index also holds
``removed_at``, ``source_id`` and ``first_seen``, so that a read of some items' live
listings (of some sources) is an index search on SQLite, whose planner without statistics
preferred the index of every live entry and read all of them; and counting a topic's items
(``feeds.ledger.items.item_count``) reads the index alone, not the entries' rows.

A frozen copy of the change, in portable SQLAlchemy types.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.drop_index("ix_entries_item_key", "entries")
    op.create_index(
        "ix_entries_item_key", "entries", ["item_key", "removed_at", "source_id", "first_seen"]
    )


def downgrade() -> None:
    op.drop_index("ix_entries_item_key", "entries")
    op.create_index("ix_entries_item_key", "entries", ["item_key"])
