"""``feedpub serve`` as a process on a free port, for end-to-end tests (``served`` fixture in
``conftest.py``): started on the bundled default configuration, read over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
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

    def get(self, path: str, method: str = "GET", **headers: str) -> Reply:
        request = urllib.request.Request(  # noqa: S310  (http, loopback)
            self.base + path, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (http, loopback)
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers, error.read())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def feedpub_serving(folder: Path) -> Iterator[Served]:
    """``feedpub serve`` (two workers, the scheduler) run in ``folder`` with its database there,
    once it has published the sample feeds; stopped with Ctrl-C (SIGINT) afterwards, cleanly."""
    port = free_port()
    env = {**os.environ, "FEEDPUB_DATABASE_URL": f"sqlite:///{folder / 'feeds.db'}"}
    env.pop("FEEDPUB_CONFIG", None)
    process = subprocess.Popen(
        [feedpub_command(), "serve", "--port", str(port), "--workers", "2"],
        cwd=folder,  # no ./feedpub.toml there: the bundled configuration is used
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    server = Served(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                feed = json.loads(server.get("/feeds/all-news.json").body)
                if len(feed["items"]) >= 40:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.3)
        else:
            pytest.fail("feedpub serve did not publish the sample feeds within 60 seconds")
        time.sleep(1.1)  # past the servers' version check interval
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr
        assert b"feedpub: stopped" in stderr
