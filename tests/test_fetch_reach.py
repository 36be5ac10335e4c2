"""Where a fetch may go: redirects followed hop by hop, each taking its host's turn, and
never to a non-public address the source is not on (servers on several loopback addresses;
a test declares the source's own network narrower than all of loopback)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from feeds.errors import FetchError
from feeds.refresh.fetch import Document, Fetcher, fetch_document
from feeds.refresh.gate import HostGate
from feeds.refresh.network import IPAddress, IPNetwork, address_kind
from tests.http_server import LocalServer, Route, local_server


@pytest.fixture
def other() -> Iterator[LocalServer]:
    """A second server, on another loopback address than ``server``'s."""
    with local_server("127.0.0.2") as running:
        yield running


def only_itself(address: IPAddress) -> tuple[IPNetwork, ...]:
    """A rule for a source on the operator's own network: only its own address is."""
    return (ipaddress.ip_network(address),)


def test_a_redirect_takes_its_hosts_turn_and_errors_name_where_they_happened(
    server: LocalServer, other: LocalServer
) -> None:
    asked: list[str] = []

    def turns(host: str, now: float, _spacing: float) -> float:
        asked.append(host)
        return now

    server.routes["/old"] = Route(status=302, headers={"Location": other.url("/gone")})
    other.routes["/gone"] = Route(b"", status=404)
    fetcher = Fetcher(gate=HostGate(spacing=2.0, shared=turns))
    with fetcher, pytest.raises(FetchError) as raised:
        fetcher.fetch(server.url("/old"))
    assert str(raised.value) == (
        f"{other.url('/gone')} (redirected from {server.url('/old')}): HTTP 404 Not Found"
    )
    assert asked == ["127.0.0.1", "127.0.0.2"]


def test_redirects_reach_no_non_public_address_the_source_is_not_on(
    server: LocalServer, other: LocalServer
) -> None:
    other.routes["/inside"] = Route(b"private")
    server.routes["/here"] = Route(b"the source's own")
    server.routes["/to-here"] = Route(status=302, headers={"Location": "/here"})
    server.routes["/to-other"] = Route(status=302, headers={"Location": other.url("/inside")})
    server.routes["/to-metadata"] = Route(
        status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    server.routes["/to-private"] = Route(status=307, headers={"Location": "http://10.0.0.1/"})
    with Fetcher(own_networks=only_itself) as fetcher:
        here = fetcher.fetch(server.url("/to-here"))
        assert isinstance(here, Document)
        assert here.content == b"the source's own"
        for path, address, kind in [
            ("/to-other", "127.0.0.2", "loopback"),
            ("/to-metadata", "169.254.169.254", "link-local"),
            ("/to-private", "10.0.0.1", "private"),
        ]:
            with pytest.raises(FetchError, match=f"refused: {address} is a {kind} address"):
                fetcher.fetch(server.url(path))
    assert other.requests == []


def test_a_source_on_the_operators_network_may_be_redirected_within_it(
    server: LocalServer, other: LocalServer
) -> None:
    server.routes["/moved"] = Route(status=301, headers={"Location": other.url("/news")})
    other.routes["/news"] = Route(b"moved here")
    document = fetch_document(server.url("/moved"))  # loopback opens all of loopback
    assert (document.url, document.content) == (other.url("/news"), b"moved here")
    with Fetcher(allow_networks=(ipaddress.ip_network("127.0.0.2/32"),),
                 own_networks=only_itself) as fetcher:  # fmt: skip
        assert isinstance(fetcher.fetch(server.url("/moved")), Document)


def test_the_address_checked_is_the_one_connected_to(
    server: LocalServer, other: LocalServer
) -> None:
    server.routes["/page"] = Route(b"inside")
    port = server.base_url.rsplit(":", 1)[1]
    # a name, not an address: what it resolves to is checked when connecting
    other.routes["/by-name"] = Route(
        status=302, headers={"Location": f"http://localhost:{port}/page"}
    )
    other.routes["/by-address"] = Route(status=302, headers={"Location": server.url("/page")})
    with Fetcher(own_networks=only_itself) as fetcher:
        # the source on 127.0.0.1 leaves a kept-alive connection to it in the pool...
        assert isinstance(fetcher.fetch(server.url("/page")), Document)
        # ...which a redirect from the source on 127.0.0.2 may not use
        with pytest.raises(FetchError, match=r"refused: 127\.0\.0\.1 is a loopback address"):
            fetcher.fetch(other.url("/by-address"))
        with pytest.raises(FetchError, match=r"refused: (127\.0\.0\.1|::1) is a loopback"):
            fetcher.fetch(other.url("/by-name"))
    assert [path for _, path, _ in server.requests] == ["/page"]


def test_redirects_to_other_schemes_are_refused(server: LocalServer) -> None:
    server.routes["/to-file"] = Route(status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchError, match="redirected to a non-http\\(s\\) URL: 'file:///etc/"):
        fetch_document(server.url("/to-file"))


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("93.184.215.14", "public"),
        ("2606:4700::1111", "public"),
        ("127.0.0.2", "loopback"),
        ("0.0.0.0", "loopback"),  # noqa: S104  (an address classified, nothing bound)
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "reserved"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_address_kinds(address: str, kind: str) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind
