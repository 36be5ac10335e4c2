"""The ledger's schema versions: Alembic migrations (``feeds/migrations``), configured here
without an ini file. ``feedpub db upgrade`` applies them; opening the ledger applies them on
its own only to a database with no tables at all, and refuses one whose schema is behind.
Alembic is imported only to change a schema or to look into an unexpected revision: a
database already at the newest revision is checked with one small query.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, String, column, func, inspect, select, table

from feeds.errors import SchemaVersionError
from feeds.ledger.database import WRITES, shown_url

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: A migration's file name: its revision (four digits, in order) and what it does.
_MIGRATION_FILE = re.compile(r"^(\d{4})_\w+\.py$")
#: The revision of the schema feedpub made with ``create_all`` before it had migrations: a
#: database holding the ledger's tables but no revision is taken to be at it.
BASELINE_REVISION = "0001"
LEDGER_TABLES = frozenset({"sources", "entries"})
#: PostgreSQL advisory lock held while the schema is checked and changed: b"feedpub" as a
#: number, so that two processes starting at once do not both create it.
SCHEMA_LOCK_KEY = int.from_bytes(b"feedpub")
UPGRADE_HINT = "run `feedpub db upgrade`"
#: Where Alembic keeps the revision a database is at.
VERSION_TABLE = "alembic_version"


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaUpgrade:
    """What ``upgrade`` did: the revision it found (``None``: no schema), the one it left,
    and whether the database's tables predated migrations (they were then taken as
    ``BASELINE_REVISION``, the revision found)."""

    before: str | None
    after: str
    adopted: bool = False

    def report(self, shown_url: str) -> list[str]:
        """What ``feedpub db upgrade`` says it did to the database shown as ``shown_url``."""
        lines = []
        if self.adopted:
            lines.append(
                f"database {shown_url}: its tables predate migrations: "
                f"marked as at schema revision {self.before}"
            )
        if self.before == self.after:
            lines.append(
                f"database {shown_url}: schema at revision {self.after}, the newest: nothing to do"
            )
        else:
            lines.append(
                f"database {shown_url}: schema upgraded from revision "
                f"{self.before or 'none'} to {self.after}"
            )
        return lines


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic's configuration for feedpub's migrations; ``env.py`` runs them on
    ``connection``."""
    from alembic.config import Config as AlembicConfig  # noqa: PLC0415  (see the docstring)

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The revision this feedpub needs: the newest migration's, read from the names of the
    migrations' files (``NNNN_what.py``, each revising the one before; a test holds this to
    what Alembic finds)."""
    revisions = [
        match[1]
        for path in (MIGRATIONS / "versions").iterdir()
        if (match := _MIGRATION_FILE.match(path.name))
    ]
    return max(revisions)


def current_revision(connection: Connection) -> str | None:
    """The revision the database's schema is at (``None``: not marked with one)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    marks = select(column("version_num", String)).select_from(table(VERSION_TABLE))
    revisions = list(connection.execute(marks).scalars())
    if len(revisions) > 1:  # branches, which feedpub never makes: Alembic says what is wrong
        from alembic.runtime.migration import MigrationContext  # noqa: PLC0415  (seldom)

        return MigrationContext.configure(connection).get_current_revision()
    return revisions[0] if revisions else None


def _known(revision: str) -> bool:
    from alembic.script import ScriptDirectory  # noqa: PLC0415  (see the module docstring)
    from alembic.util import CommandError  # noqa: PLC0415  (see the module docstring)

    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        return False
    return True


def _empty(connection: Connection) -> bool:
    """True for a database with no tables (but, maybe, the migrations' own, emptied when
    they were all undone)."""
    return not set(inspect(connection).get_table_names()) - {VERSION_TABLE}


def _unknown_revision(engine: Engine, revision: str) -> SchemaVersionError:
    return SchemaVersionError(
        f"database {shown_url(engine.url)} is at schema revision {revision}, which this "
        "feedpub does not know (a newer feedpub's?): upgrade feedpub"
    )


def ensure_current(engine: Engine) -> None:
    """Make sure the database's schema is the one this feedpub needs: created by the
    migrations in a database with no tables at all; else ``SchemaVersionError``, saying what
    to run."""
    head = head_revision()
    with engine.connect() as connection:
        revision = current_revision(connection)
    if revision == head:
        return
    if revision is None:
        # no schema yet, or another process creating it right now: look again under the
        # lock, which that process holds until its schema is committed
        with schema_lock(engine) as connection:
            revision = current_revision(connection)
            if revision is None and _empty(connection):
                from alembic import command  # noqa: PLC0415  (see the module docstring)

                command.upgrade(alembic_config(connection), "head")
                revision = head
        if revision == head:
            return
    if revision is not None and not _known(revision):
        raise _unknown_revision(engine, revision)
    raise SchemaVersionError(
        f"database {shown_url(engine.url)} is at schema revision {revision or 'none'}, "
        f"feedpub needs {head}: {UPGRADE_HINT}"
    )


def revision_report(revision: str | None) -> str:
    """What ``feedpub db current`` says of a database at ``revision`` (``None``: no schema)."""
    head = head_revision()
    if revision == head:
        return f"{revision} (head)"
    return f"{revision or 'none'} (feedpub needs {head}: {UPGRADE_HINT})"


def upgrade(engine: Engine) -> SchemaUpgrade:
    """Apply the migrations up to the newest (``feedpub db upgrade``). A database whose
    ledger tables predate migrations is first marked as at ``BASELINE_REVISION``."""
    from alembic import command  # noqa: PLC0415  (see the module docstring)

    with schema_lock(engine) as connection:
        before = current_revision(connection)
        tables = set(inspect(connection).get_table_names())
        adopted = before is None and LEDGER_TABLES.issubset(tables)
        if adopted:
            command.stamp(alembic_config(connection), BASELINE_REVISION)
            before = BASELINE_REVISION
        if before is not None and not _known(before):
            raise _unknown_revision(engine, before)
        command.upgrade(alembic_config(connection), "head")
        return SchemaUpgrade(before=before, after=head_revision(), adopted=adopted)


@contextmanager
def schema_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction that holds the database's lock on the schema until it
    ends (committed, or rolled back on an exception): on PostgreSQL an advisory lock (its DDL
    is transactional); on SQLite the write lock (``BEGIN IMMEDIATE``: see ``feeds.ledger.database``,
    which also keeps DDL inside the transaction)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.execution_options(**{WRITES: True})  # BEGIN IMMEDIATE
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK_KEY)))
            yield connection
