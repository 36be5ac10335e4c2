"""``feedpub serve`` as a process on a free port, for end-to-end tests (``served`` fixture in
``conftest.py``): started on the bundled default configuration and a database it is given
(SQLite or PostgreSQL), read over real HTTP."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from tests.test_cli_preview import feedpub_command


@dataclass
class Reply:
    status: int
    headers: Message  # case-insensitive, as HTTP header names are
    body: bytes


@dataclass
class Served:
    base: str
    process: subprocess.Popen[bytes] | None = None  # the ``feedpub serve`` answering

    def get(self, path: str, method: str = "GET", **headers: str) -> Reply:
        request = urllib.request.Request(  # noqa: S310  (http, loopback)
            self.base + path, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (http, loopback)
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers, error.read())

    def post(self, path: str, form: dict[str, str]) -> Reply:
        """POST a form."""
        request = urllib.request.Request(  # noqa: S310  (http, loopback)
            self.base + path, data=urllib.parse.urlencode(form).encode(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (http, loopback)
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers, error.read())


#: Ports handed to servers the tests start: below the kernel's ephemeral range (32768 up on
#: Linux), where the port of one of the many outgoing connections the tests make could take
#: the port between it being chosen and the server binding it.
SERVER_PORTS = range(20_000, 32_768)


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now, for a server about to start."""
    for _ in range(100):
        port = random.choice(SERVER_PORTS)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {SERVER_PORTS}")


@contextmanager
def feedpub_serving(
    folder: Path,
    database_url: str,
    *,
    scheduler: bool = True,
    command: str | None = None,
    arguments: Sequence[str] = (),
) -> Iterator[Served]:
    """``feedpub serve`` (two workers) run in ``folder`` on the database at ``database_url``:
    with its scheduler, once it has published the sample feeds; without, once it answers.
    Stopped with Ctrl-C (SIGINT) afterwards, cleanly; what it said is in ``serve.log``.
    ``command`` is the ``feedpub`` executable (default: the one beside this Python);
    ``arguments`` are more options of ``feedpub serve``."""
    port = free_port()
    env = {**os.environ, "FEEDPUB_DATABASE_URL": database_url}
    env.pop("FEEDPUB_CONFIG", None)
    options = ["serve", "--port", str(port), "--workers", "2", *arguments]
    options += [] if scheduler else ["--no-scheduler"]
    log = folder / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [command or feedpub_command(), *options],
            cwd=folder,  # no ./feedpub.toml there: the bundled configuration is used
            env=env,
            stdout=output,
            stderr=output,
        )
    server = Served(f"http://127.0.0.1:{port}", process)
    try:
        _wait_until_published(server, process, log, 40 if scheduler else 0)
        time.sleep(1.1)  # past the servers' version check interval
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    said = log.read_bytes()
    assert process.returncode == 0, said.decode()
    assert b"Traceback" not in said
    assert b"feedpub: stopped" in said


def _wait_until_published(
    server: Served, process: subprocess.Popen[bytes], log: Path, items: int
) -> None:
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        try:
            feed = json.loads(server.get("/feeds/all-news.json").body)
            if len(feed["items"]) >= items:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    problem = "stopped" if process.poll() is not None else "published no feeds in 60 seconds"
    pytest.fail(f"feedpub serve {problem}:\n{log.read_text(errors='replace')}")
