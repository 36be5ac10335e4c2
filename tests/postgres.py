"""A throwaway PostgreSQL server for tests (``postgres`` fixture in ``conftest.py``): Debian's
server binaries, a temporary folder, a free port on 127.0.0.1, trust authentication, one
fresh database per test; run as the ``postgres`` system user when the tests run as root
(``initdb`` refuses root)."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from tests.serving import free_port

#: Where Debian installs each PostgreSQL version's server programs.
DEBIAN_POSTGRES = Path("/usr/lib/postgresql")
SYSTEM_USER = "postgres"
#: A test server keeps nothing after a crash: durability costs time here and buys nothing.
TEST_SETTINGS = (
    "-c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off "
    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
)


def find_postgres_binaries() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` folder, or ``None`` if none is installed."""
    found = [
        folder
        for folder in DEBIAN_POSTGRES.glob("*/bin")
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))
    ]
    return max(found, key=lambda folder: int(folder.parent.name), default=None)


@dataclass
class PostgresServer:
    """One PostgreSQL server (a data folder and a port); ``start`` and ``stop`` it at will."""

    binaries: Path
    folder: Path
    port: int = field(default_factory=free_port)
    settings: str = TEST_SETTINGS  # the server's options (``postgres -c ...``)
    _numbers: Iterator[int] = field(default_factory=itertools.count)
    _maker: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="create-database")
    )
    _ahead: Future[str] | None = None

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def _run(self, program: str, *arguments: str) -> None:
        as_owner = ["runuser", "-u", SYSTEM_USER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*as_owner, str(self.binaries / program), *arguments],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stderr.decode(errors='replace')}")

    def initialise(self) -> None:
        """Make the data folder (UTF-8, C collation: the same order everywhere)."""
        if os.geteuid() == 0:
            owner = pwd.getpwnam(SYSTEM_USER)
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self._run(
            "initdb", "--pgdata", str(self.data), "--auth=trust", "--username=postgres",
            "--encoding=UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run(
            "pg_ctl", "start", "--pgdata", str(self.data), "--wait", "--timeout=60",
            "--log", str(self.folder / "server.log"),
            "-o", f"{self.settings} -c port={self.port}",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (its clients' connections are cut) and wait until it has
        (``immediate``: without writing anything first)."""
        self._run("pg_ctl", "stop", "--pgdata", str(self.data), "--wait", f"--mode={mode}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its SQLAlchemy URL. The next one is made meanwhile, in the
        background: making one takes a tenth of a second or more, a test usually longer."""
        ahead, self._ahead = self._ahead, self._maker.submit(self._create_database)
        if ahead is not None:
            try:
                return ahead.result()
            except psycopg.Error:
                pass  # lost to the server being stopped meanwhile: make one now
        return self._create_database()

    def _create_database(self) -> str:
        name = f"feedpub_{next(self._numbers)}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def close(self) -> None:
        """Stop making databases ahead."""
        self._maker.shutdown(wait=True, cancel_futures=True)


@contextmanager
def postgres_server(binaries: Path, settings: str = TEST_SETTINGS) -> Iterator[PostgresServer]:
    """A running server in a new temporary folder; stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="feedpub-postgres-"))
    server = PostgresServer(binaries, folder, settings=settings)
    try:
        server.initialise()
        server.start()
        yield server
    finally:
        server.close()
        if (server.data / "postmaster.pid").exists():
            server.stop("immediate")  # its files are removed next
        shutil.rmtree(server.folder, ignore_errors=True)
