"""Which URLs the app's links are made from, whatever Host a client sends: an allowed host's
own, else the canonical ones; a feed is rendered once however many hosts are invented, and
feeds, pages, the widget's script and redirects name no host but those (through the app)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from flask.testing import FlaskClient

from feeds.config import Config, parse_config
from feeds.ledger.store import Ledger, Retention
from feeds.model import UTC, Entry
from feeds.serve.hosts import REMEMBERED_HOST_CHARACTERS, REMEMBERED_HOSTS, BaseUrls
from feeds.serve.publish import FeedPublisher
from server import create_app
from tests.refresh_kit import open_ledger

PUBLISHER = '[publisher]\nname = "Test feeds"\n'
REST = """
[[sources]]
id = "office"
title = "Office"
url = "https://www.example.org/news/lang--en/index.htm"

[[topics]]
id = "office"
title = "Office news"
"""
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
FORMATS = ("rss", "atom", "json")
#: Host values a client may send: names, ports, addresses, none of them allowed.
INVENTED = [
    *(f"host-{n}.example" for n in range(100)),
    *(f"feeds.example.org:{8000 + n}" for n in range(50)),
    *(f"10.0.0.{n}" for n in range(50)),
    "[2001:db8::1]:8080",
]
#: Every absolute URL in a document.
URL = re.compile(r"https?://[^\s\"'<>]+")
#: The hosts of the entries' links, of XML namespaces and of the formats' specifications.
FOREIGN = frozenset(
    {
        "www.example.org",
        "www.w3.org",
        "purl.org",
        "www.rssboard.org",
        "opml.org",
        "jsonfeed.org",
        "search.yahoo.com",
    }
)


def build(tmp_path: Path, ledger: Ledger, publisher_lines: str) -> tuple[FlaskClient, Config]:
    config = parse_config(
        PUBLISHER + publisher_lines + REST,
        tmp_path / "feedpub.toml",
        adapter_kinds={"ilo"},
        environ={},
    )
    publisher = FeedPublisher(config, ledger, version_ttl=0)
    client = create_app(config, ledger=ledger, publisher=publisher).test_client()
    return client, config


def publisher_of(client: FlaskClient) -> FeedPublisher:
    publisher = client.application.extensions["feedpub"]
    assert isinstance(publisher, FeedPublisher)
    return publisher


def urls(body: bytes) -> set[str]:
    """The hosts of the absolute URLs in a body, but the foreign ones."""
    return {match.split("/", 3)[2] for match in URL.findall(body.decode())} - FOREIGN


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    opened = open_ledger(database_url)
    entries = [
        Entry(
            id=f"urn:uuid:{n:08d}-0000-5000-8000-000000000000",
            source_id="office",
            title=f"News {n}",
            link=f"https://www.example.org/news/{n}",
            date=dt.date(2026, 11, 10 + n),
            published=dt.datetime(2026, 11, 10 + n, tzinfo=UTC),
            summary="Summary.",
        )
        for n in range(3)
    ]
    with opened.transaction() as transaction:
        transaction.merge("office", entries, now=NOW, retention=Retention())
    yield opened
    opened.close()


def test_invented_hosts_render_each_feed_once_and_get_only_the_canonical_links(
    tmp_path: Path, ledger: Ledger
) -> None:
    client, _ = build(tmp_path, ledger, 'allowed_hosts = ["feeds.example.org"]\n')
    for host in [*INVENTED, "FEEDS.example.org", "feeds.example.org:80"]:
        for feed_format in FORMATS:
            response = client.get(f"/feeds/office.{feed_format}", headers={"Host": host})
            assert response.status_code == 200
            assert urls(response.data) == {"feeds.example.org"}, host
    assert publisher_of(client).renders == len(FORMATS)
    feed = json.loads(client.get("/feeds/office.json", headers={"Host": "evil.example"}).data)
    assert feed["feed_url"] == "http://feeds.example.org/feeds/office.json"
    rss = feedparser.parse(client.get("/feeds/office.rss", headers={"Host": "evil.example"}).data)
    assert rss.feed.link == "http://feeds.example.org/topics/office"


def test_each_allowed_host_gets_links_of_its_own_and_the_first_is_canonical(
    tmp_path: Path, ledger: Ledger
) -> None:
    client, _ = build(
        tmp_path, ledger, 'allowed_hosts = ["feeds.example.org", "Feeds.Internal:8080"]\n'
    )
    own = client.get("/feeds/office.json", headers={"Host": "feeds.internal:8080"})
    assert json.loads(own.data)["feed_url"] == "http://feeds.internal:8080/feeds/office.json"
    for host in INVENTED:
        other = client.get("/feeds/office.json", headers={"Host": host})
        assert json.loads(other.data)["feed_url"] == "http://feeds.example.org/feeds/office.json"
    assert publisher_of(client).renders == 2


def test_a_configured_base_url_is_every_other_hosts_links(tmp_path: Path, ledger: Ledger) -> None:
    client, _ = build(tmp_path, ledger, 'base_url = "https://cdn.example/news/"\n')
    for host in [*INVENTED, "localhost", "127.0.0.1"]:
        feed = json.loads(client.get("/feeds/office.json", headers={"Host": host}).data)
        assert feed["feed_url"] == "https://cdn.example/news/feeds/office.json"
    assert publisher_of(client).renders == 1


def test_without_hosts_or_base_url_the_loopback_names_on_the_served_port_are_allowed(
    tmp_path: Path, ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = build(tmp_path, ledger, "")
    served = "http://127.0.0.1:8000"
    own = {
        "127.0.0.1:8000": "http://127.0.0.1:8000",
        "localhost:8000": "http://localhost:8000",
        "[::1]:8000": "http://[::1]:8000",
        "localhost:9999": served,  # another port: not where the app is served
        "feeds.example.org": served,
        **dict.fromkeys(INVENTED, served),
    }
    for host, base in own.items():
        response = client.get("/feeds/office.json", base_url=served, headers={"Host": host})
        assert json.loads(response.data)["feed_url"] == f"{base}/feeds/office.json", host
    assert publisher_of(client).renders == 3
    warnings = [r.getMessage() for r in caplog.records if "not allowed" in r.getMessage()]
    assert warnings == [
        "a request to host 'localhost:9999', which is not allowed: its links are made from "
        "http://127.0.0.1:8000 (name the app's public hosts in [publisher] allowed_hosts, or "
        "set base_url)"
    ]


def test_hosts_are_remembered_a_bounded_few_and_a_long_one_is_answered_alike() -> None:
    config = parse_config(
        PUBLISHER + 'allowed_hosts = ["feeds.example.org"]\n' + REST,
        Path("feedpub.toml"),
        adapter_kinds={"ilo"},
        environ={},
    )
    base_urls = BaseUrls(config.publisher, config.limits)
    request = {"SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "wsgi.url_scheme": "http"}
    for n in range(2 * REMEMBERED_HOSTS):
        environ = {**request, "HTTP_HOST": f"host-{n}.example"}
        assert base_urls.canonicalize(environ) == "http://feeds.example.org"
        assert environ["HTTP_HOST"] == "feeds.example.org"
    own = {**request, "HTTP_HOST": "FEEDS.example.org:80"}
    for _ in range(2):  # worked out, then remembered
        assert base_urls(own) == "http://feeds.example.org"
    long_host = "a" * REMEMBERED_HOST_CHARACTERS + ".example"
    assert base_urls({**request, "HTTP_HOST": long_host}) == "http://feeds.example.org"
    assert base_urls({**request, "HTTP_HOST": "bad host"}) is None
    assert base_urls({**request, "HTTP_HOST": "feeds.example.org\n"}) is None  # no final newline
    assert base_urls._remembered.cache_info().currsize <= REMEMBERED_HOSTS


def test_the_default_port_of_the_scheme_is_left_out_of_links(
    tmp_path: Path, ledger: Ledger
) -> None:
    client, _ = build(tmp_path, ledger, "")
    for host in ("localhost", "localhost:443", "evil.example"):
        response = client.get(
            "/feeds/office.json", base_url="https://localhost", headers={"Host": host}
        )
        expected = "https://localhost" if host != "evil.example" else "https://127.0.0.1"
        assert json.loads(response.data)["feed_url"] == f"{expected}/feeds/office.json"


@pytest.mark.parametrize(
    "path", ["/", "/topics/office", "/embed/office", "/embed/office.js", "/feeds.opml", "/status"]
)  # all but the status page (never cached) are cached for a minute by anyone
def test_pages_for_an_invented_host_carry_only_the_canonical_links(
    tmp_path: Path, ledger: Ledger, path: str
) -> None:
    client, _ = build(tmp_path, ledger, 'allowed_hosts = ["feeds.example.org"]\n')
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 200
    assert urls(response.data) == {"feeds.example.org"}


def test_an_error_page_for_an_invented_host_links_to_the_canonical_one(
    tmp_path: Path, ledger: Ledger
) -> None:
    client, _ = build(tmp_path, ledger, 'allowed_hosts = ["feeds.example.org"]\n')
    response = client.get("/topics/nope", headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert urls(response.data) == {"feeds.example.org"}


@pytest.mark.parametrize(
    ("publisher_lines", "location"),
    [
        ('allowed_hosts = ["feeds.example.org"]\n', "http://feeds.example.org/topics/office"),
        ('base_url = "https://cdn.example"\n', "https://cdn.example/topics/office"),
        ("", "http://127.0.0.1/topics/office"),
    ],
)
def test_redirects_send_an_invented_host_to_the_canonical_one(
    tmp_path: Path, ledger: Ledger, publisher_lines: str, location: str
) -> None:
    client, _ = build(tmp_path, ledger, publisher_lines)
    response = client.get("/topics//office", headers={"Host": "evil.example"})
    assert response.status_code == 308
    assert response.headers["Location"] == location


def test_a_redirect_on_an_allowed_host_stays_on_it(tmp_path: Path, ledger: Ledger) -> None:
    client, _ = build(tmp_path, ledger, 'allowed_hosts = ["feeds.example.org", "other.example"]\n')
    response = client.get("/topics//office", headers={"Host": "other.example"})
    assert response.headers["Location"] == "http://other.example/topics/office"
