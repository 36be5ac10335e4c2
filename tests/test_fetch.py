"""Fetching one document over real HTTP (a local server) and from files."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import httpx
import pytest

from feeds import __version__
from feeds.errors import FetchError, LedgerUnavailableError
from feeds.ledger.store import Ledger
from feeds.refresh.fetch import (
    USER_AGENT,
    Document,
    Fetcher,
    NotModified,
    RetryLaterError,
    fetch_document,
    parse_retry_after,
    user_agent,
)
from feeds.refresh.gate import HostGate
from feeds.refresh.network import StoppedError
from tests.http_server import LocalServer, Route, local_server


def test_fetches_a_page_with_its_charset_and_user_agent(server: LocalServer) -> None:
    server.routes["/news"] = Route(
        "Actualités".encode("latin-1"), headers={"Content-Type": "text/plain; charset=ISO-8859-1"}
    )
    document = fetch_document(server.url("/news"))
    assert document.content == "Actualités".encode("latin-1")
    assert document.charset == "iso-8859-1"
    assert document.url == server.url("/news")
    assert server.requests[0][2]["User-Agent"] == USER_AGENT


def test_follows_redirects_up_to_a_limit(server: LocalServer) -> None:
    server.routes["/old"] = Route(status=301, headers={"Location": "/new"})
    server.routes["/new"] = Route(b"moved here")
    assert fetch_document(server.url("/old")).url == server.url("/new")
    server.routes["/loop"] = Route(status=302, headers={"Location": "/loop"})
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch_document(server.url("/loop"))


def test_http_errors_name_the_url_and_status(server: LocalServer) -> None:
    server.routes["/gone"] = Route(b"", status=410)
    with pytest.raises(FetchError, match=r"/gone: HTTP 410 Gone$"):
        fetch_document(server.url("/gone"))


def test_refuses_a_body_over_the_size_cap(server: LocalServer) -> None:
    server.routes["/huge"] = Route(b"x" * 20_000)
    with pytest.raises(FetchError, match="larger than the 10,000-byte limit"):
        fetch_document(server.url("/huge"), max_bytes=10_000)
    # a server that does not say how long its body is, is cut off all the same
    server.routes["/unsized"] = Route(
        b"x" * 200_000, headers={"Content-Length": "", "Connection": "close"}
    )
    with pytest.raises(FetchError, match="larger than the 10,000-byte limit"):
        fetch_document(server.url("/unsized"), max_bytes=10_000)


def test_a_slow_server_times_out(server: LocalServer) -> None:
    server.routes["/slow"] = Route(b"late", delay=1.0)
    with pytest.raises(FetchError, match="timed out"):
        fetch_document(server.url("/slow"), timeout=httpx.Timeout(0.2))


def test_unreachable_host_is_a_fetch_error() -> None:
    with local_server() as stopped:
        url = stopped.url("/")
    with pytest.raises(FetchError, match="ConnectError"):
        fetch_document(url)


def test_reads_files_and_file_urls(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_bytes(b"content")
    assert fetch_document(str(page)).content == b"content"
    assert fetch_document(page.as_uri()).url == page.as_uri()
    with pytest.raises(FetchError, match="no such file"):
        fetch_document(str(tmp_path / "missing.txt"))
    with pytest.raises(FetchError, match="is a directory"):
        fetch_document(str(tmp_path))
    with pytest.raises(FetchError, match="larger than"):
        fetch_document(str(page), max_bytes=3)


def test_other_schemes_are_refused() -> None:
    with pytest.raises(FetchError, match="unsupported URL scheme 'ftp'"):
        fetch_document("ftp://example.org/news")


def test_conditional_get_sends_validators_and_reports_not_modified(server: LocalServer) -> None:
    server.routes["/news"] = Route(
        b"page", etag='"abc"', headers={"Last-Modified": "Sun, 22 Nov 2026 08:00:00 GMT"}
    )
    with Fetcher() as fetcher:
        first = fetcher.fetch(server.url("/news"))
        assert isinstance(first, Document)
        assert (first.etag, first.last_modified) == ('"abc"', "Sun, 22 Nov 2026 08:00:00 GMT")
        again = fetcher.fetch(
            server.url("/news"), etag=first.etag, last_modified=first.last_modified
        )
    assert isinstance(again, NotModified)
    headers = server.requests[-1][2]
    assert headers["If-None-Match"] == '"abc"'
    assert headers["If-Modified-Since"] == "Sun, 22 Nov 2026 08:00:00 GMT"


def test_user_agent_names_the_contact() -> None:
    assert (
        user_agent("mailto:feeds@example.org")
        == f"feedpub/{__version__} (+mailto:feeds@example.org)"
    )


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("Sun, 22 Nov 2026 10:00:00 GMT", 3600.0),
        ("Sun, 22 Nov 2026 08:00:00 GMT", 0.0),
        ("soon", None),
        (None, None),
        ("99999999", 7 * 24 * 3600.0),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, dt.datetime(2026, 11, 22, 9, tzinfo=dt.UTC)) == seconds


def test_a_429_reports_when_to_retry(server: LocalServer) -> None:
    server.routes["/busy"] = Route(b"slow down", status=429, headers={"Retry-After": "90"})
    with Fetcher() as fetcher, pytest.raises(RetryLaterError) as caught:
        fetcher.fetch(server.url("/busy"))
    assert caught.value.retry_after == 90.0
    assert str(caught.value).endswith("HTTP 429 Too Many Requests")


class FakeTime:
    """A monotonic clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_requests_to_one_host_are_spaced_and_other_hosts_are_not() -> None:
    time = FakeTime()
    gate = HostGate(spacing=2.0, clock=time.clock, sleep=time.sleep)
    with gate.hold("a.example"):
        pass
    time.now += 0.5
    with gate.hold("b.example"):
        pass
    with gate.hold("a.example"):
        pass
    assert time.sleeps == [1.5]
    time.now += 5
    with gate.hold("a.example"):
        pass
    assert time.sleeps == [1.5]


def test_one_request_at_a_time_per_host() -> None:
    gate = HostGate(spacing=0.0)
    inside = 0
    most = 0
    lock = threading.Lock()

    def request() -> None:
        nonlocal inside, most
        with gate.hold("a.example"):
            with lock:
                inside += 1
                most = max(most, inside)
            threading.Event().wait(0.01)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1


def test_turns_at_a_host_are_booked_in_the_order_asked_for_and_kept() -> None:
    time = FakeTime()
    gate = HostGate(spacing=2.0, clock=time.clock, sleep=time.sleep)
    assert gate.book("a.example", "first") == 0.0  # now
    with gate.hold("a.example"):
        pass
    assert [gate.book("a.example", key) for key in ("second", "third")] == [2.0, 4.0]
    assert gate.book("b.example", "elsewhere") == 0.0  # another host: its own turns
    time.now += 1.0
    assert gate.book("a.example", "second") == 1.0  # the same turn, asked again
    assert gate.book("a.example", "fourth") == 5.0
    gate.cancel("a.example", "fourth")  # given back: the next is booked in its place
    assert gate.book("a.example", "fifth") == 5.0
    time.now += 1.0
    assert gate.book("a.example", "second") == 0.0  # its turn has come
    with gate.hold("a.example"):
        pass
    assert time.sleeps == []  # each took its turn when it came: nobody waited in ``hold``


def test_a_turn_that_comes_while_the_host_is_still_busy_moves_on() -> None:
    time = FakeTime()
    gate = HostGate(spacing=2.0, clock=time.clock, sleep=time.sleep)
    assert gate.book("a.example", "first") == 0.0
    with gate.hold("a.example"):  # a slow answer: still going at the next turn
        assert gate.book("a.example", "second") == 2.0
        time.now += 2.0
        assert gate.book("a.example", "second") == 2.0  # not now: it would wait in ``hold``
    assert HostGate(spacing=0.0).book("a.example", "any") == 0.0  # no spacing, no turns


def test_a_fetch_says_how_long_it_waited_for_its_host(server: LocalServer) -> None:
    server.routes["/a"] = Route(b"first")
    server.routes["/b"] = Route(b"second", etag='"b"')
    with Fetcher(gate=HostGate(spacing=0.4)) as fetcher:
        first = fetcher.fetch(server.url("/a"))
        second = fetcher.fetch(server.url("/b"), etag='"b"')
    assert isinstance(second, NotModified)
    assert first.waited_seconds < second.waited_seconds
    assert second.waited_seconds > 0.2  # the spacing, less the first request's time


def test_processes_sharing_a_book_of_turns_space_their_requests_to_a_host(
    database_url: str,
) -> None:
    """Two processes (two gates, two ledgers on one database) take turns at one host: each
    request waits for the spacing after the last one, whichever process sent it."""
    time = FakeTime()
    time.now = 1_800_000_000.0  # the book keeps wall-clock seconds
    ledgers = [Ledger.open(database_url), Ledger.open(database_url)]
    first, second = (
        HostGate(spacing=2.0, clock=time.clock, sleep=time.sleep,
                 shared=ledger.take_turn, wall_clock=time.clock)
        for ledger in ledgers
    )  # fmt: skip
    try:
        for gate in (first, second, first):
            with gate.hold("a.example"):
                pass
        with second.hold("b.example"):  # another host: its own turns
            pass
        time.now += 10  # long after the last turn: no wait
        with second.hold("a.example"):
            pass
    finally:
        for ledger in ledgers:
            ledger.close()
    assert time.sleeps == [2.0, 2.0]


def test_without_its_book_of_turns_a_process_still_spaces_its_own_requests(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = FakeTime()

    def unreachable(_host: str, _now: float, _spacing: float) -> float:
        raise LedgerUnavailableError("database sqlite:///gone.db is unavailable: gone")

    gate = HostGate(
        spacing=2.0, clock=time.clock, sleep=time.sleep, shared=unreachable, wall_clock=time.clock
    )
    for _ in range(2):
        with gate.hold("a.example"):
            pass
    assert time.sleeps == [2.0]
    assert "a.example: shared turns unavailable" in caplog.text


def test_headers_trickling_in_are_cut_off_at_the_deadline(server: LocalServer) -> None:
    # every byte of the headers comes before the read timeout: only the deadline can end it
    server.routes["/crawl"] = Route(b"late", header_trickle=0.02, header_bytes=600)
    fetcher = Fetcher(timeout=httpx.Timeout(5.0), deadline_seconds=0.5)
    with fetcher, pytest.raises(FetchError, match=r"/crawl: too slow: not read in 0.5 seconds$"):
        fetcher.fetch(server.url("/crawl"))
    assert server.gave_up.wait(timeout=30)  # the connection was dropped mid-headers
    assert server.hung_up == ["/crawl"]


def test_stop_abandons_a_fetch_under_way_and_every_later_one(server: LocalServer) -> None:
    server.routes["/crawl"] = Route(b"late", header_trickle=0.02, header_bytes=600)
    fetcher = Fetcher(timeout=httpx.Timeout(5.0), deadline_seconds=60)
    failures: list[BaseException] = []

    def fetch() -> None:
        try:
            fetcher.fetch(server.url("/crawl"))
        except BaseException as error:  # handed to the test's thread
            failures.append(error)

    thread = threading.Thread(target=fetch)
    thread.start()
    assert server.arrived.wait(timeout=30)
    fetcher.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert [type(error) for error in failures] == [StoppedError]
    assert server.gave_up.wait(timeout=30)
    with pytest.raises(StoppedError):
        fetcher.fetch(server.url("/crawl"))
    fetcher.close()


def test_stop_ends_a_wait_for_a_hosts_turn() -> None:
    gate = HostGate(spacing=3600)
    with gate.hold("example.org"):
        pass
    failures: list[BaseException] = []

    def wait_for_a_turn() -> None:
        try:
            with gate.hold("example.org"):
                pass
        except BaseException as error:  # handed to the test's thread
            failures.append(error)

    waiting = threading.Thread(target=wait_for_a_turn)
    waiting.start()
    gate.stop()
    waiting.join(timeout=30)
    assert not waiting.is_alive()
    assert [type(error) for error in failures] == [StoppedError]
