"""``feedpub serve`` under idle and slow clients: thousands of connections that send nothing,
or stop halfway through their request's head, neither lock others out nor stay open past the
header timeout."""

from __future__ import annotations

import resource
import selectors
import socket
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import feedparser
import pytest

from tests.serving import Served, feedpub_serving

IDLE = 2_000  # connections that send nothing
SLOW = 500  # connections that send half a request's head, then nothing
HEADER_TIMEOUT = 5  # seconds (``feedpub serve --header-timeout``)
HALF_A_HEAD = b"GET /feeds/all-news.rss HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("limits")
    arguments = ["--header-timeout", str(HEADER_TIMEOUT)]
    with feedpub_serving(folder, f"sqlite:///{folder / 'ledger.db'}", arguments=arguments) as up:
        yield up


def enough_open_files(wanted: int) -> None:
    """Raise this process's limit of open files to ``wanted``, or skip the test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"the hard limit of open files ({hard}) is below {wanted}")
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@contextmanager
def connections(
    served: Served, count: int, first_bytes: bytes = b""
) -> Iterator[list[socket.socket]]:
    """``count`` connections to the server, each having sent ``first_bytes``; closed after."""
    address = urlsplit(served.base)
    with ExitStack() as stack:
        opened = []
        for _ in range(count):
            connection = stack.enter_context(
                socket.create_connection((address.hostname, address.port), timeout=10)
            )
            if first_bytes:
                connection.sendall(first_bytes)
            opened.append(connection)
        yield opened


def closed_by_the_server(opened: list[socket.socket], seconds: float) -> int:
    """How many of the connections the server closes (end of stream or reset) within
    ``seconds``, without a byte of an answer."""
    pending = {connection.fileno(): connection for connection in opened}
    closed = 0
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        for connection in opened:
            selector.register(connection, selectors.EVENT_READ)
        while pending and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                connection = pending.pop(key.fd)
                selector.unregister(connection)
                try:
                    said = connection.recv(1)
                except ConnectionResetError:
                    said = b""
                assert said == b"", "the server answered a request that was never sent"
                closed += 1
    return closed


def test_idle_and_half_sent_connections_neither_lock_others_out_nor_stay_open(
    limited: Served,
) -> None:
    enough_open_files(IDLE + SLOW + 1_000)
    with connections(limited, IDLE) as idle, connections(limited, SLOW, HALF_A_HEAD) as slow:
        request = urllib.request.Request(limited.base + "/feeds/all-news.rss")  # noqa: S310  (http, loopback)
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310  (http, loopback)
            feed = feedparser.parse(response.read())
        assert feed.feed.title
        assert len(feed.entries) >= 40
        # every one of them is cut off once the header timeout has passed
        assert closed_by_the_server(idle + slow, HEADER_TIMEOUT + 30) == IDLE + SLOW
    assert limited.get("/healthz").status == 200
