"""The ledger's schema versions (``feeds.ledger.schema``), on SQLite and on PostgreSQL: the
migrations make exactly the ledger's tables and indexes, an empty database gets them when opened
(once, however many open it at once), a database behind is refused with what to run, and
``feedpub db upgrade`` and ``feedpub db current``."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Index, MetaData, create_engine, inspect, text

from feeds.errors import SchemaVersionError
from feeds.identity import item_key
from feeds.ledger import schema
from feeds.ledger.database import open_engine, shown_url
from feeds.ledger.store import Ledger
from feeds.ledger.tables import metadata
from tests.serving import free_port
from tests.test_cli_preview import feedpub


def test_the_migrations_make_exactly_the_ledgers_tables_and_indexes(database_url: str) -> None:
    ledger = Ledger.open(database_url)
    try:
        with ledger.engine.connect() as connection:
            assert schema.current_revision(connection) == schema.head_revision()
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            # the comparison does see a difference: an index the database does not have
            wider = MetaData()
            for table in metadata.tables.values():
                table.to_metadata(wider)
            Index("ix_entries_title", wider.tables["entries"].c.title)
            assert [change[0] for change in compare_metadata(context, wider)] == ["add_index"]
    finally:
        ledger.close()


def test_an_empty_database_opened_by_several_at_once_gets_the_schema_once(
    database_url: str,
) -> None:
    together = threading.Barrier(4)

    def open_ledger(_: int) -> Ledger:
        together.wait()
        return Ledger.open(database_url)

    with ThreadPoolExecutor(4) as pool:
        ledgers = list(pool.map(open_ledger, range(4)))
    for ledger in ledgers:
        assert ledger.version() == 0
        ledger.close()


def test_opening_waits_for_another_process_holding_a_new_databases_lock(tmp_path: Path) -> None:
    """A new database (not yet in WAL mode) whose lock another process holds for longer than
    the driver's own 5-second wait: opening the ledger waits for it rather than failing with
    "database is locked" while switching the journal mode."""
    path = tmp_path / "ledger.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE other_work (id INTEGER)")
    release = threading.Timer(6.0, holder.rollback)
    release.start()
    try:
        ledger = Ledger.open(f"sqlite:///{path}")
    finally:
        release.join()
        holder.close()
    assert ledger.version() == 0
    ledger.close()


def test_a_process_that_finds_no_schema_while_another_commits_it_waits_and_uses_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes opening a new database at once: one creates the schema under the lock;
    the other, having seen no schema a moment before that commit, must look again under the
    lock rather than take the committed tables for a schema of no revision."""
    creator, opener = open_engine(database_url), open_engine(database_url)
    creating, committed = threading.Event(), threading.Event()

    def create() -> None:
        with schema.schema_lock(creator) as connection:
            creating.set()
            command.upgrade(schema.alembic_config(connection), "head")
        committed.set()

    real_empty = schema._empty

    def empty_once_committed(connection: Connection) -> bool:
        committed.wait(timeout=30)  # the other process commits between the two looks
        return real_empty(connection)

    monkeypatch.setattr(schema, "_empty", empty_once_committed)
    thread = threading.Thread(target=create)
    thread.start()
    creating.wait(timeout=30)
    try:
        schema.ensure_current(opener)  # no SchemaVersionError: it waited, then found it
    finally:
        thread.join()
        creator.dispose()
    with opener.connect() as connection:
        assert schema.current_revision(connection) == schema.head_revision()
    opener.dispose()


def test_the_migrations_can_be_undone_down_to_an_empty_database(database_url: str) -> None:
    Ledger.open(database_url).close()
    engine = open_engine(database_url)
    with schema.schema_lock(engine) as connection:
        command.downgrade(schema.alembic_config(connection), "base")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        assert schema.current_revision(connection) is None
    engine.dispose()
    Ledger.open(database_url).close()  # and made again when next opened


def change_the_schema_and_fail(engine: Engine) -> None:
    with schema.schema_lock(engine) as connection:
        connection.execute(text("CREATE TABLE half_done (id INTEGER)"))
        raise KeyError("interrupted")


def test_a_failed_schema_change_leaves_nothing_behind(database_url: str) -> None:
    engine = open_engine(database_url)
    with pytest.raises(KeyError):
        change_the_schema_and_fail(engine)
    with engine.connect() as connection:
        assert inspect(connection).get_table_names() == []
    engine.dispose()


def test_a_database_made_before_migrations_is_refused_until_upgraded(database_url: str) -> None:
    made_before = create_engine(database_url)
    # what feedpub's ``create_all`` made before it had migrations: revision 0001's tables
    with schema.schema_lock(made_before) as connection:
        command.upgrade(schema.alembic_config(connection), schema.BASELINE_REVISION)
        connection.execute(text(f"DROP TABLE {schema.VERSION_TABLE}"))
        connection.execute(
            text("INSERT INTO sources (id, consecutive_failures, version) VALUES ('office', 0, 3)")
        )
    made_before.dispose()
    shown = shown_url(database_url)
    refusal = (
        f"database {shown} is at schema revision none, feedpub needs "
        f"{schema.head_revision()}: run `feedpub db upgrade`"
    )
    with pytest.raises(SchemaVersionError) as refused:
        Ledger.open(database_url)
    assert str(refused.value) == refusal

    env = {"FEEDPUB_DATABASE_URL": database_url}
    serve = feedpub("serve", "--port", str(free_port()), "--no-scheduler", env=env)
    assert (serve.returncode, serve.stderr.strip()) == (1, f"Error: {refusal}")
    current = feedpub("db", "current", env=env)
    assert (
        current.stdout == f"none (feedpub needs {schema.head_revision()}: {schema.UPGRADE_HINT})\n"
    )
    upgrade = feedpub("db", "upgrade", env=env)
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.splitlines() == [
        f"database {shown}: its tables predate migrations: marked as at schema revision 0001",
        f"database {shown}: schema upgraded from revision 0001 to {schema.head_revision()}",
    ]
    ledger = Ledger.open(database_url)
    assert ledger.version() == 3  # what it held is still there
    assert ledger.state("office").lease_owner is None  # and the newer columns are added
    ledger.close()


def test_db_upgrade_creates_the_schema_in_an_empty_database_once(database_url: str) -> None:
    env = {"FEEDPUB_DATABASE_URL": database_url}
    shown = shown_url(database_url)
    first = feedpub("db", "upgrade", env=env)
    head = schema.head_revision()
    assert first.stdout == f"database {shown}: schema upgraded from revision none to {head}\n"
    assert feedpub("db", "current", env=env).stdout == f"{head} (head)\n"
    engine = open_engine(database_url)
    assert schema.upgrade(engine) == schema.SchemaUpgrade(before=head, after=head)
    engine.dispose()


def test_a_revision_this_feedpub_does_not_know_is_refused(database_url: str) -> None:
    Ledger.open(database_url).close()
    engine = open_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    refusal = (
        f"database {shown_url(database_url)} is at schema revision 9999, which this "
        "feedpub does not know (a newer feedpub's?): upgrade feedpub"
    )
    with pytest.raises(SchemaVersionError) as refused:
        Ledger.open(database_url)
    assert str(refused.value) == refusal
    with pytest.raises(SchemaVersionError) as not_upgraded:
        schema.upgrade(engine)
    assert str(not_upgraded.value) == refusal
    engine.dispose()


def test_messages_show_database_urls_without_their_password() -> None:
    assert shown_url("postgresql+psycopg://feeds:s3cret@db.example:5432/feeds") == (
        "postgresql+psycopg://feeds:***@db.example:5432/feeds"
    )
    assert shown_url("sqlite:///feedpub.db") == "sqlite:///feedpub.db"
    assert shown_url("not a url") == "not a url"


def test_switching_a_new_database_to_wal_asks_again_while_it_is_locked() -> None:
    """SQLite answers "database is locked" at once, without its busy timeout, when connections
    opening a new database together would wait for each other: the switch is asked again."""
    from feeds.ledger import database

    class LockedTwice:
        def __init__(self) -> None:
            self.asked = 0

        def execute(self, statement: str) -> None:
            assert statement == "PRAGMA journal_mode=WAL"
            self.asked += 1
            if self.asked <= 2:
                raise sqlite3.OperationalError("database is locked")

    cursor = LockedTwice()
    database._switch_to_wal(cursor)
    assert cursor.asked == 3

    class Broken:
        def execute(self, statement: str) -> None:
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        database._switch_to_wal(Broken())


def test_upgrading_gives_stored_entries_their_item_keys(database_url: str) -> None:
    """Revision 0006 computes the item key of every entry stored before it (in batches)."""
    engine = create_engine(database_url)
    with schema.schema_lock(engine) as connection:
        command.upgrade(schema.alembic_config(connection), "0005")
        for n, (title, day) in enumerate(
            [("Budget \u201cdraft\u201d.", "2026-11-20"), ("Budget \"draft\"", "2026-11-20"),
             ("Undated note", None)] * 2
        ):  # fmt: skip
            connection.execute(
                text(
                    "INSERT INTO entries (source_id, id, title, link, listing_date, published,"
                    " updated, first_seen, summary, labels, content_hash, on_page, instant)"
                    " VALUES (:source, :id, :title, 'https://example.org/', :day,"
                    " '2026-11-20 09:00:00', '2026-11-20 09:00:00', '2026-11-20 09:00:00',"
                    " '', '[]', '', true, :instant)"
                ),
                {"source": f"s{n % 2}", "id": f"e{n}", "title": title, "day": day, "instant": n},
            )
    with schema.schema_lock(engine) as connection:
        command.upgrade(schema.alembic_config(connection), "head")
    with engine.connect() as connection:
        keys: dict[str, str] = dict(
            connection.execute(text("SELECT id, item_key FROM entries")).all()
        )
    engine.dispose()
    assert (
        keys["e0"] == keys["e1"] == keys["e3"] == item_key('budget "draft"', dt.date(2026, 11, 20))
    )
    assert keys["e2"] == keys["e5"] == item_key("Undated note", None)
    assert len(set(keys.values())) == 2


def test_the_newest_revision_is_the_one_alembic_finds_at_the_head() -> None:
    script = ScriptDirectory.from_config(schema.alembic_config())
    assert schema.head_revision() == script.get_current_head()


def test_opening_a_current_ledger_does_not_import_alembic(tmp_path: Path) -> None:
    """Alembic is for changing schemas: a start on a database at the newest revision (every
    start but the first) checks it with a query and leaves Alembic unimported."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger.open(url).close()  # the schema is made (by Alembic) here
    program = (
        "import sys\n"
        "from feeds.ledger.store import Ledger\n"
        f"ledger = Ledger.open({url!r})\n"
        "print(ledger.live_count('office'), 'alembic' in sys.modules)\n"
        "ledger.close()\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert run.stdout == "0 False\n"
