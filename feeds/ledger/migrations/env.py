"""Alembic's environment for feedpub's migrations: run on the connection that
``feeds.ledger.schema`` hands over (inside its transaction and schema lock), never from an ini
file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from feeds.ledger.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("feedpub's migrations run through feeds.ledger.schema, on a connection")
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters a table by copying it: migrations that change one use batch operations
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
