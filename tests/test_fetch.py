"""Fetching one document over real HTTP (a local server) and from files."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from feeds.errors import FetchError
from feeds.fetch import USER_AGENT, fetch_document
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
