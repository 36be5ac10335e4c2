"""Serving feeds over HTTP, through the app (Flask's test client drives the real WSGI stack):
validators and 304s, gzip, caching headers, CORS, HEAD, limits, errors, render-once."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers

from feeds.config import Config, parse_config
from feeds.ledger.store import Ledger, Retention
from feeds.model import UTC
from feeds.serve import http
from feeds.serve.publish import FeedPublisher, max_age_seconds, ttl_minutes
from server import create_app
from tests.refresh_kit import CountingLedger, open_ledger

CONFIG = """
[publisher]
name = "Test feeds"
allowed_hosts = ["feeds.example.org"]

[[sources]]
id = "office"
title = "Office"
url = "https://www.example.org/news/lang--en/index.htm"
refresh_minutes = 20

[[topics]]
id = "office"
title = "Office news"
description = "Everything the office says."
limit = 2

[[topics]]
id = "releases"
title = "Press releases"
labels = ["press release"]
"""
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def store(ledger: Ledger, *titles: tuple[str, int, str]) -> None:
    from feeds.model import Entry

    entries = [
        Entry(
            id=f"urn:uuid:{n:08d}-0000-5000-8000-000000000000",
            source_id="office",
            title=title,
            link=f"https://www.example.org/news/{n}",
            date=dt.date(2026, 11, day),
            published=dt.datetime(2026, 11, day, tzinfo=UTC),
            summary="Summary.",
            labels=(label,),
        )
        for n, (title, day, label) in enumerate(titles)
    ]
    with ledger.transaction() as transaction:
        transaction.merge("office", entries, now=NOW, retention=Retention())


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return parse_config(CONFIG, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})


@pytest.fixture
def ledger(database_url: str) -> Iterator[CountingLedger]:
    opened = CountingLedger(open_ledger(database_url).engine)
    store(
        opened, ("Alpha", 20, "Press release"), ("Beta", 19, "News"), ("Gamma", 18, "Press release")
    )
    yield opened
    opened.close()


@pytest.fixture
def client(config: Config, ledger: CountingLedger) -> FlaskClient:
    publisher = FeedPublisher(config, ledger, version_ttl=0)
    return create_app(config, ledger=ledger, publisher=publisher).test_client()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/feeds/office.rss", "application/rss+xml; charset=utf-8"),
        ("/feeds/office.atom", "application/atom+xml; charset=utf-8"),
        ("/feeds/office.json", "application/feed+json; charset=utf-8"),
    ],
)
def test_a_feed_is_served_with_its_headers(
    client: FlaskClient, path: str, content_type: str
) -> None:
    response = client.get(path, base_url="https://feeds.example.org")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "public, max-age=600"  # half of 20 minutes
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    vary = "Accept-Encoding" if path.endswith(".json") else "Accept, Accept-Encoding"
    assert response.headers["Vary"] == vary
    assert response.headers["Last-Modified"] == "Sun, 22 Nov 2026 09:00:00 GMT"
    assert response.headers["ETag"].startswith('"')
    assert int(response.headers["Content-Length"]) == len(response.data)
    if path.endswith(".json"):
        feed = json.loads(response.data)
        assert feed["feed_url"] == "https://feeds.example.org" + path
        assert [item["title"] for item in feed["items"]] == ["Alpha", "Beta"]  # topic limit 2
    else:
        parsed = feedparser.parse(response.data)
        assert parsed.bozo is False
        assert [link.href for link in parsed.feed.links if link.rel == "self"] == [
            "https://feeds.example.org" + path
        ]


def test_304_on_either_validator_with_cors_and_caching_headers(client: FlaskClient) -> None:
    first = client.get("/feeds/office.atom")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    by_tag = client.get("/feeds/office.atom", headers={"If-None-Match": f'"other", {etag}'})
    by_date = client.get("/feeds/office.atom", headers={"If-Modified-Since": modified})
    for response in (by_tag, by_date):
        assert response.status_code == 304
        assert response.data == b""
        assert response.headers["ETag"] == etag
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Cache-Control"] == "public, max-age=600"
    older = client.get(
        "/feeds/office.atom", headers={"If-Modified-Since": "Sat, 21 Nov 2026 09:00:00 GMT"}
    )
    assert older.status_code == 200
    stale_tag = client.get(
        "/feeds/office.atom", headers={"If-None-Match": '"stale"', "If-Modified-Since": modified}
    )
    assert stale_tag.status_code == 200  # If-None-Match wins over If-Modified-Since


def test_gzip_when_asked_for_with_its_own_etag(client: FlaskClient) -> None:
    plain = client.get("/feeds/office.rss")
    zipped = client.get("/feeds/office.rss", headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'
    refused = client.get("/feeds/office.rss", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    revalidated = client.get(
        "/feeds/office.rss",
        headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]},
    )
    assert revalidated.status_code == 304


def test_request_headers_too_long_to_remember_are_read_alike(client: FlaskClient) -> None:
    """What clients send is remembered only up to a length; a longer value is read each time,
    to the same answer, and what is remembered is bounded in count."""
    long_encoding = "identity, " * (http.REMEMBERED_CHARACTERS // 10 + 1) + "gzip"
    long_accept = "text/html, " + "application/xhtml+xml;q=0.9, " * 20
    assert min(len(long_encoding), len(long_accept)) > http.REMEMBERED_CHARACTERS
    zipped = client.get("/feeds/office.rss", headers={"Accept-Encoding": long_encoding})
    assert zipped.headers["Content-Encoding"] == "gzip"
    page = client.get("/feeds/office.rss", headers={"Accept": long_accept})
    assert page.headers["Content-Type"] == "application/xml; charset=utf-8"
    for n in range(2 * http.REMEMBERED_VALUES):
        client.get("/feeds/office.rss", headers={"Accept-Encoding": f"x-{n}, gzip"})
    assert http._remembered_readings.cache_info().currsize <= http.REMEMBERED_VALUES


def test_head_sends_the_headers_without_the_body(client: FlaskClient) -> None:
    get = client.get("/feeds/office.json")
    head = client.head("/feeds/office.json")
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert head.headers["ETag"] == get.headers["ETag"]


def test_a_preflight_allows_conditional_requests_from_any_origin(client: FlaskClient) -> None:
    response = client.options("/feeds/office.json")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        (("GET", "/feeds/nope.rss"), 404),
        (("GET", "/feeds/office.rss?limit=0"), 400),
        (("GET", "/feeds/office.rss?limit=501"), 400),
        (("GET", "/feeds/office.rss?limit=ten"), 400),
        (("POST", "/feeds/office.rss"), 405),
    ],
)
def test_errors_are_plain_never_cached_and_allow_cors(
    client: FlaskClient, request_args: tuple[str, str], status: int
) -> None:
    method, path = request_args
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_other_unknown_paths_are_the_apps_404_and_not_cached(client: FlaskClient) -> None:
    response = client.get("/feeds/Bad Name.rss")
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"


def test_a_limit_asks_for_more_or_fewer_entries_and_keeps_its_self_link(
    client: FlaskClient,
) -> None:
    response = client.get("/feeds/office.json?limit=3")
    feed = json.loads(response.data)
    assert len(feed["items"]) == 3
    assert feed["feed_url"].endswith("/feeds/office.json?limit=3")


@pytest.mark.parametrize(
    "value",
    [
        "%C2%B2",  # a superscript two: a digit to str.isdigit, not to int
        "%EF%BC%95",  # a fullwidth five
        "%D9%A3",  # an Arabic-Indic three
        pytest.param("9" * 5000, id="5000-digits"),  # more digits than int() reads
        "0000003",  # seven digits
        "+3",
        "%203",
        "3%0A",
        "0x3",
        "1e2",
    ],
)
def test_a_limit_that_is_not_a_few_ascii_digits_is_a_400_naming_it(
    client: FlaskClient, value: str
) -> None:
    response = client.get(f"/feeds/office.rss?limit={value}")
    assert response.status_code == 400
    assert response.data == b"Bad Request: limit must be a whole number from 1 to 500\n"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_a_limit_with_leading_zeros_redirects_to_the_one_url_of_its_feed(
    client: FlaskClient,
) -> None:
    response = client.get("/feeds/office.json?limit=000003")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/feeds/office.json?limit=3")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    feed = json.loads(client.get("/feeds/office.json?limit=3").data)  # where it leads
    assert len(feed["items"]) == 3
    assert feed["feed_url"].endswith("/feeds/office.json?limit=3")


def test_a_limit_given_twice_is_a_400(client: FlaskClient) -> None:
    response = client.get("/feeds/office.rss?limit=3&limit=4")
    assert response.status_code == 400
    assert response.get_data(as_text=True) == "Bad Request: limit may be given once\n"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_feed_path_with_a_final_newline_is_no_feed(client: FlaskClient) -> None:
    response = client.get("/feeds/office.rss%0A")
    assert response.status_code == 404
    assert b"<rss" not in response.data


def test_a_hostile_host_header_is_refused(client: FlaskClient) -> None:
    response = client.get("/feeds/office.rss", headers={"Host": "evil.example/<script>"})
    assert response.status_code == 400


def test_labels_select_a_topics_entries(client: FlaskClient) -> None:
    feed = json.loads(client.get("/feeds/releases.json").data)
    assert [item["title"] for item in feed["items"]] == ["Alpha", "Gamma"]


def test_an_unchanged_feed_is_rendered_once_and_a_change_renders_it_again(
    client: FlaskClient, ledger: CountingLedger
) -> None:
    first = client.get("/feeds/office.rss")
    for _ in range(20):
        assert client.get("/feeds/office.rss").data == first.data
    assert ledger.entry_reads == 1
    store(ledger, ("Delta", 21, "News"))
    changed = client.get("/feeds/office.rss")
    assert ledger.entry_reads == 2
    assert changed.headers["ETag"] != first.headers["ETag"]
    assert b"Delta" in changed.data


def test_version_checks_are_rate_limited(config: Config, ledger: CountingLedger) -> None:
    now = [0.0]
    publisher = FeedPublisher(config, ledger, version_ttl=1.0, clock=lambda: now[0])
    client = create_app(config, ledger=ledger, publisher=publisher).test_client()
    for moment in (0.0, 0.1, 0.2, 0.5, 1.5, 1.6):
        now[0] = moment
        assert client.get("/feeds/office.rss").status_code == 200
    assert ledger.version_reads == 2  # at 0.0 and at 1.5


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "application/xml; charset=utf-8",
        ),
        (
            "application/rss+xml, application/xml;q=0.9, text/html;q=0.1",
            "application/rss+xml; charset=utf-8",
        ),
        ("*/*", "application/rss+xml; charset=utf-8"),
        ("", "application/rss+xml; charset=utf-8"),
    ],
)
def test_a_browser_gets_rss_as_xml_so_that_the_stylesheet_shows_it(
    client: FlaskClient, accept: str, content_type: str
) -> None:
    response = client.get("/feeds/office.rss", headers={"Accept": accept} if accept else {})
    assert response.headers["Content-Type"] == content_type
    assert response.data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<?xml-stylesheet")


def test_json_feeds_are_json_even_for_browsers(client: FlaskClient) -> None:
    response = client.get("/feeds/office.json", headers={"Accept": "text/html"})
    assert response.headers["Content-Type"] == "application/feed+json; charset=utf-8"


@pytest.mark.parametrize(
    ("interval", "max_age", "ttl"),
    [
        (dt.timedelta(seconds=10), 60, 1),  # caches keep a feed a minute at least
        (dt.timedelta(seconds=90), 60, 2),  # the RSS ttl is whole minutes, rounded up
        (dt.timedelta(minutes=20), 600, 20),
        (dt.timedelta(hours=6), 3 * 3600, 360),
    ],
)
def test_caching_follows_the_shortest_refresh_interval(
    interval: dt.timedelta, max_age: int, ttl: int
) -> None:
    assert (max_age_seconds(interval), ttl_minutes(interval)) == (max_age, ttl)


#: Requests of many shapes: (method, path, headers, host).
SHAPES: list[tuple[str, str, dict[str, str], str]] = [
    ("GET", "/feeds/office.rss", {}, "feeds.example.org"),
    ("GET", "/feeds/office.atom", {"Accept-Encoding": "gzip, br"}, "feeds.example.org"),
    ("HEAD", "/feeds/office.json", {}, "feeds.example.org"),
    ("GET", "/feeds/office.rss", {"Accept": "text/html,application/xml;q=0.9"}, "localhost"),
    ("GET", "/feeds/office.rss?label=news", {}, "feeds.example.org"),
    ("GET", "/feeds/office.rss?limit=01", {}, "feeds.example.org"),
    ("GET", "/feeds/office.rss?limit=x", {}, "feeds.example.org"),
    ("GET", "/feeds/office.rss?filter_time=604800", {}, "feeds.example.org"),
    ("GET", "/feeds/office.rss?days=7", {}, "feeds.example.org"),
    ("GET", "/feeds/office.rss", {}, "bad host!"),
    ("GET", "/feeds/nothing.rss", {}, "feeds.example.org"),
    ("POST", "/feeds/office.rss", {}, "feeds.example.org"),
    ("OPTIONS", "/feeds/office.rss", {}, "feeds.example.org"),
    ("GET", "/feeds/Office.rss", {}, "feeds.example.org"),
    ("GET", "/", {}, "elsewhere.example.com"),
]


def _without_date(headers: Headers) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers.items() if name.lower() != "date"]


def test_a_request_read_before_is_answered_as_it_was_the_first_time(
    config: Config, ledger: CountingLedger
) -> None:
    """The second request of each shape is answered from its first reading (and, for a plain
    feed request, from the publisher's current feed): with the same status, headers and body
    as the first, validators and all."""
    publisher = FeedPublisher(config, ledger, version_ttl=3600)
    client = create_app(config, ledger=ledger, publisher=publisher).test_client()
    for method, path, headers, host in SHAPES:
        first = client.open(path, method=method, headers={**headers, "Host": host})
        second = client.open(path, method=method, headers={**headers, "Host": host})
        assert (second.status, second.data) == (first.status, first.data), (method, path, host)
        # a clock's second may turn between the two: the Date header alone may differ
        assert _without_date(second.headers) == _without_date(first.headers), (method, path)
        assert ("Date" in second.headers) == ("Date" in first.headers)
        etag = first.headers.get("ETag")
        if etag is not None and first.status_code == 200:
            conditional = {**headers, "Host": host, "If-None-Match": f'W/{etag}, "other"'}
            again = client.open(path, method=method, headers=conditional)
            assert again.status_code == 304, (method, path, host)
    middleware = client.application.wsgi_app
    assert isinstance(middleware, http.FeedMiddleware)
    remembered = [request for request in middleware._shapes.values() if request is not None]
    # the plain feed requests (one with a parameter no filter reads, one for a topic there is
    # not): any other shape is read each time
    assert len(remembered) == 7


def test_a_remembered_request_still_gets_what_changed(
    config: Config, ledger: CountingLedger
) -> None:
    now = [0.0]
    publisher = FeedPublisher(config, ledger, version_ttl=1.0, clock=lambda: now[0])
    client = create_app(config, ledger=ledger, publisher=publisher).test_client()
    for _ in range(3):
        assert b"Delta" not in client.get("/feeds/office.rss").data
    store(ledger, ("Delta", 21, "News"))
    assert b"Delta" not in client.get("/feeds/office.rss").data  # until the next version check
    now[0] = 1.0
    assert b"Delta" in client.get("/feeds/office.rss").data


def test_request_shapes_remembered_are_bounded_in_count_and_length(client: FlaskClient) -> None:
    middleware = client.application.wsgi_app
    assert isinstance(middleware, http.FeedMiddleware)
    for n in range(http.REMEMBERED_SHAPES + 10):
        client.get(f"/feeds/office.rss?x={n}")
    assert len(middleware._shapes) == http.REMEMBERED_SHAPES
    assert any(shape[6] == f"x={http.REMEMBERED_SHAPES + 9}" for shape in middleware._shapes)
    long_accept = "application/rss+xml, " * (http.REMEMBERED_SHAPE_CHARACTERS // 20)
    response = client.get("/feeds/office.rss", headers={"Accept": long_accept})
    assert response.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert all(shape[9] != long_accept for shape in middleware._shapes)


def test_a_request_without_a_host_or_empty_values_is_read_as_one_with_them(
    config: Config, ledger: CountingLedger
) -> None:
    """A server may leave out an empty query string or mount point, and an HTTP/1.0 client
    its Host header: such a request is read as what it means (the server's name for the
    host), and answered and remembered as the same request with them."""
    publisher = FeedPublisher(config, ledger, version_ttl=3600)
    middleware = create_app(config, ledger=ledger, publisher=publisher).wsgi_app
    assert isinstance(middleware, http.FeedMiddleware)
    whole = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/feeds/office.rss",
        "QUERY_STRING": "",
        "SERVER_NAME": "feeds.example.org",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "feeds.example.org",
        "wsgi.url_scheme": "http",
    }

    def call(environ: dict[str, str]) -> tuple[list[str], bytes]:
        statuses: list[str] = []
        body = b"".join(middleware(environ, lambda status, _headers: statuses.append(status)))
        return statuses, body

    answers = [
        call(whole),
        call({k: v for k, v in whole.items() if k not in ("SCRIPT_NAME", "QUERY_STRING")}),
        call({k: v for k, v in whole.items() if k != "HTTP_HOST"}),
    ]
    assert answers[0][0] == ["200 OK"]
    assert b"<rss" in answers[0][1]
    assert answers[1] == answers[0]
    assert answers[2][0] == ["200 OK"]
    assert answers[2][1] == answers[0][1]  # the server's name stands for the host
    assert len(middleware._shapes) == 2  # the first two are one shape
