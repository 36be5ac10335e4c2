"""Feed URLs that filter (RSSHub's parameters), against a fixed ledger: each parameter's
semantics (case, accents and typography ignored by default, undated entries kept by
``filter_time``), patterns that do not compile or are too long, a pattern that backtracks
without end in Python's ``re`` answered at once, a canonical URL per filter, and a filtered
feed served as any feed: valid, its own ETag, 304s, CORS, cached once."""

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
from feeds.serve.filters import MAX_PATTERN_CHARACTERS, FilterError, fold_pattern, read_filter
from feeds.serve.publish import FeedPublisher
from server import create_app
from tests.refresh_kit import CountingLedger, open_ledger

BASE = "https://feeds.example.org"
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CONFIG = """
[publisher]
name = "Test feeds"
allowed_hosts = ["feeds.example.org"]

[[sources]]
id = "office"
title = "Office"
url = "https://www.example.org/news/lang--en/index.htm"

[[topics]]
id = "office"
title = "Office news"
"""
#: The fixed ledger: (title, summary, labels, credit, day of November or None for undated).
LEDGER: tuple[tuple[str, str, tuple[str, ...], str | None, int | None], ...] = (
    ("Réforme de l\u2019Économie", "Un débat.", ("Press release",), None, 21),
    ("Labour ECONOMY outlook", "Figures for 2027.", ("Report",), None, 20),
    ("Grant for cooperatives", "A fund opens.", ("News",), "© A. Photographer", 19),
    ("Undated notice", "Kept by any time filter.", ("Notice",), None, None),
    ("Old economy item", "From last month.", ("Report",), None, 2),
)
TITLES = [row[0] for row in LEDGER]


def make_entry(
    n: int, title: str, summary: str, labels: tuple[str, ...], credit: str | None, day: int | None
) -> Entry:
    return Entry(
        id=f"urn:uuid:{n:08d}-0000-5000-8000-000000000000",
        source_id="office",
        title=title,
        link=f"https://www.example.org/news/{n}",
        date=dt.date(2026, 11, day) if day else None,
        # an undated entry's instant is when it was first seen: 1 October
        published=dt.datetime(2026, 11, day, tzinfo=UTC)
        if day
        else dt.datetime(2026, 10, 1, tzinfo=UTC),
        summary=summary,
        labels=labels,
        credit=credit,
    )


def entries() -> list[Entry]:
    return [make_entry(n, *row) for n, row in enumerate(LEDGER)]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return parse_config(CONFIG, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    opened = open_ledger(database_url)
    with opened.transaction() as transaction:
        transaction.merge("office", entries(), now=NOW, retention=Retention())
    yield opened
    opened.close()


@pytest.fixture
def publisher(config: Config, ledger: Ledger) -> FeedPublisher:
    return FeedPublisher(config, ledger, version_ttl=0, now=lambda: NOW)


@pytest.fixture
def client(config: Config, ledger: Ledger, publisher: FeedPublisher) -> FlaskClient:
    return create_app(config, ledger=ledger, publisher=publisher, clock=lambda: NOW).test_client()


def titles(client: FlaskClient, query: str) -> list[str]:
    response = client.get(f"/feeds/office.json?{query}", base_url=BASE)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["title"] for item in json.loads(response.data)["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # case, accents and typographic apostrophes are ignored by default
        ("filter=econom", [TITLES[0], TITLES[1], TITLES[4]]),
        ("filter=l%27economie", [TITLES[0]]),
        ("filter_title=%C3%89CONOM", [TITLES[0], TITLES[1], TITLES[4]]),
        # ... unless asked for: then as written
        ("filter=Economy&filter_case_sensitive=true", []),
        ("filter=ECONOMY&filter_case_sensitive=true", [TITLES[1]]),
        ("filter=%C3%89conomie&filter_case_sensitive=true", [TITLES[0]]),
        # bare filter looks at title, summary, labels and credit
        ("filter=photographer", [TITLES[2]]),
        ("filter=fund", [TITLES[2]]),
        ("filter=^notice$", [TITLES[3]]),
        # per-field forms look at their field only
        ("filter_title=fund", []),
        ("filter_description=fund", [TITLES[2]]),
        ("filter_category=^report$", [TITLES[1], TITLES[4]]),
        ("filter_author=photographer", [TITLES[2]]),
        # include parameters must all match; any exclusion leaves an entry out
        ("filter=economy&filter_category=report", [TITLES[1], TITLES[4]]),
        ("filter=economy|economie&filterout=old", [TITLES[0], TITLES[1]]),
        ("filterout_category=report|notice", [TITLES[0], TITLES[2]]),
        ("filterout_title=economy&filterout_description=fund", [TITLES[0], TITLES[3]]),
        # patterns are regular expressions
        ("filter_title=^(grant|old)%5Cb", [TITLES[2], TITLES[4]]),
        # only entries dated in the last three days; undated ones stay
        ("filter_time=259200", [TITLES[0], TITLES[1], TITLES[3]]),
        # limit counts what the filter keeps
        ("filter=economy|economie&limit=2", [TITLES[0], TITLES[1]]),
    ],
)
def test_each_filter_parameter_keeps_the_entries_it_names(
    client: FlaskClient, query: str, expected: list[str]
) -> None:
    ordered = [t for t in TITLES if t in expected]  # newest first; the undated one was seen
    if "filter_time" not in query:  # first on 1 October, so it comes last
        ordered = [t for t in ordered if t != TITLES[3]] + [t for t in ordered if t == TITLES[3]]
    assert titles(client, query) == ordered


def test_escapes_in_a_pattern_keep_their_meaning_when_case_is_ignored() -> None:
    assert fold_pattern(r"\W\D\S\B \x41 É") == r"\W\D\S\B \x41 e"


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("filter=(unclosed", "filter: not a regular expression RE2 accepts: missing )"),
        ("filter_title=(?%3C=look)behind", "filter_title: not a regular expression RE2 accepts"),
        # a pattern whose program would take more memory than a pattern may
        ("filter_author=%5Cw%7B500%7D", "filter_author: not a regular expression RE2 accepts"),
        ("filterout=" + "a" * (MAX_PATTERN_CHARACTERS + 1), "filterout: a pattern may have at"),
        ("filter_time=-5", "filter_time must be a whole number of seconds"),
        ("filter_time=9999999999", "filter_time must be a whole number of seconds"),
        ("filter_case_sensitive=maybe", "filter_case_sensitive must be true or false"),
        ("filter=a&filter=b", "filter may be given once"),
        ("filter_titel=a", "filter_titel: unknown filter"),
        ("limit=0", "limit must be a whole number from 1 to 500"),
    ],
)
def test_a_filter_that_cannot_be_used_is_a_400_naming_its_parameter(
    client: FlaskClient, query: str, named: str
) -> None:
    for path in ("/feeds/office.rss", "/embed/office", "/embed/office.js"):
        response = client.get(f"{path}?{query}", base_url=BASE)
        assert response.status_code == 400, path
        assert named in response.get_data(as_text=True), path
        assert response.headers["Cache-Control"] == "no-store"


def test_a_pattern_that_backtracks_without_end_in_python_is_answered(
    config: Config, ledger: Ledger, publisher: FeedPublisher
) -> None:
    long_title = "a" * 900 + "b"
    with ledger.transaction() as transaction:
        transaction.merge(
            "office",
            [*entries(), make_entry(99, long_title, "Long.", (), None, 22)],
            now=NOW,
            retention=Retention(),
        )
    client = create_app(config, ledger=ledger, publisher=publisher).test_client()
    # Python's re would try every way of splitting the a's between the groups
    assert titles(client, "filter_title=(a%2B)%2B%24") == []
    assert titles(client, "filter_title=(a%2B)%2Bb%24") == [long_title]


def test_a_filtered_feed_is_valid_with_its_own_etag_and_304s(client: FlaskClient) -> None:
    plain = client.get("/feeds/office.atom", base_url=BASE)
    url = "/feeds/office.atom?filter=econom"
    filtered = client.get(url, base_url=BASE)
    assert filtered.status_code == 200
    assert filtered.headers["ETag"] != plain.headers["ETag"]
    assert filtered.headers["Access-Control-Allow-Origin"] == "*"
    assert filtered.headers["Cache-Control"].startswith("public, max-age=")
    parsed = feedparser.parse(filtered.data)
    assert not parsed.bozo
    assert [e.title for e in parsed.entries] == [TITLES[0], TITLES[1], TITLES[4]]
    self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
    assert self_links == [BASE + url]
    again = client.get(url, base_url=BASE, headers={"If-None-Match": filtered.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    other = client.get(
        "/feeds/office.atom?filter=grant",
        base_url=BASE,
        headers={"If-None-Match": filtered.headers["ETag"]},
    )
    assert other.status_code == 200  # another filter's ETag is not this feed's


def test_equal_filters_share_one_url_and_one_rendering(
    client: FlaskClient, publisher: FeedPublisher
) -> None:
    canonical = "/feeds/office.rss?filter=economy&filterout=old&limit=3"
    first = client.get(canonical, base_url=BASE)
    assert first.status_code == 200
    renders = publisher.renders
    for variant in (
        "limit=3&filterout=old&filter=economy",
        "filter=economy&filterout=old&limit=003",
        "filter=economy&filter_title=&filterout=old&limit=3&filter_time=",
        "filter=economy&filterout=old&limit=3&filter_case_sensitive=false",
    ):
        moved = client.get(f"/feeds/office.rss?{variant}", base_url=BASE)
        assert moved.status_code == 301, variant
        assert moved.headers["Location"] == BASE + canonical
    assert client.get(canonical, base_url=BASE).data == first.data
    assert publisher.renders == renders
    # other parameters do not make another feed (nor are they redirected to)
    other = client.get(canonical + "&utm=x", base_url=BASE)
    assert other.status_code == 200
    assert other.data == first.data
    moved = client.get(
        "/feeds/office.rss?utm=x&limit=3&filterout=old&filter=economy", base_url=BASE
    )
    assert moved.headers["Location"] == BASE + canonical + "&utm=x"
    assert publisher.renders == renders


def test_a_time_filter_is_rendered_once_a_minute_not_once_a_request(
    config: Config, ledger: Ledger
) -> None:
    moments = [NOW]
    publisher = FeedPublisher(config, ledger, version_ttl=0, now=lambda: moments[0])
    client = create_app(config, ledger=ledger, publisher=publisher).test_client()
    first = client.get("/feeds/office.json?filter_time=259200", base_url=BASE)
    moments[0] = NOW + dt.timedelta(seconds=30)
    assert client.get("/feeds/office.json?filter_time=259200", base_url=BASE).data == first.data
    assert publisher.renders == 1
    moments[0] = NOW + dt.timedelta(seconds=61)
    client.get("/feeds/office.json?filter_time=259200", base_url=BASE)
    assert publisher.renders == 2


def test_many_filters_stay_within_the_render_caches_bounds(tmp_path: Path, ledger: Ledger) -> None:
    text = CONFIG.replace(
        'allowed_hosts = ["feeds.example.org"]',
        'allowed_hosts = ["feeds.example.org"]\nrender_cache_bytes = 1_048_576',
    )
    config = parse_config(text, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})
    publisher = FeedPublisher(config, ledger, version_ttl=0, now=lambda: NOW)
    client = create_app(config, ledger=ledger, publisher=publisher).test_client()
    for n in range(300):  # a client making up filters, each a new feed
        assert client.get(f"/feeds/office.rss?filter=x{n}|econ", base_url=BASE).status_code == 200
        assert publisher.cached[1] <= 1_048_576
    kept, _size = publisher.cached
    assert 50 < kept < 300
    assert publisher.renders == 300
    client.get("/feeds/office.rss?filter=x299|econ", base_url=BASE)  # the newest is kept
    assert publisher.renders == 300
    client.get("/feeds/office.rss?filter=x0|econ", base_url=BASE)  # the oldest is not
    assert publisher.renders == 301


def test_the_widget_and_the_embed_script_filter_too(client: FlaskClient) -> None:
    widget = client.get("/embed/office?filter=grant", base_url=BASE).get_data(as_text=True)
    assert TITLES[2] in widget
    assert TITLES[0] not in widget
    assert "/feeds/office.rss?filter=grant" in widget
    script = client.get("/embed/office.js?filter=grant&filter_title=", base_url=BASE)
    assert f'"{BASE}/feeds/office.json?filter=grant"' in script.get_data(as_text=True)


def test_the_topic_page_has_a_form_that_opens_a_filtered_feed(client: FlaskClient) -> None:
    page = client.get("/topics/office", base_url=BASE)
    html = page.get_data(as_text=True)
    assert re.search(r'<form method="get" action="[^"]*/feeds/office\.rss"', html)
    assert 'name="filterout"' in html
    assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    # what the form sends with only one field filled in
    submitted = "filter=grant&filter_title=&filterout=&filter_time="
    moved = client.get(f"/feeds/office.atom?{submitted}", base_url=BASE)
    assert moved.headers["Location"] == f"{BASE}/feeds/office.atom?filter=grant"


def test_reading_a_filter_names_the_parameter() -> None:
    with pytest.raises(FilterError, match="filter_category: not a regular expression"):
        read_filter([("filter_category", "[")])
    assert read_filter([("filter", ""), ("limit", "5")]).pairs == (("limit", "5"),)


def test_filters_of_a_topic_read_its_entries_once_per_ledger_version(
    config: Config, database_url: str
) -> None:
    ledger = CountingLedger(open_ledger(database_url).engine)
    with ledger.transaction() as transaction:
        transaction.merge("office", entries(), now=NOW, retention=Retention())
    publisher = FeedPublisher(config, ledger, version_ttl=0, now=lambda: NOW)
    client = create_app(config, ledger=ledger, publisher=publisher).test_client()
    for pattern in ("grant", "econom", "notice", "report"):
        assert client.get(f"/feeds/office.rss?filter={pattern}", base_url=BASE).status_code == 200
    assert publisher.renders == 4
    assert ledger.entry_reads == 1
    renamed = [*entries()[:4], make_entry(4, "Old item", "From last month.", (), None, 2)]
    with ledger.transaction() as transaction:
        transaction.merge("office", renamed, now=NOW, retention=Retention())
    assert titles(client, "filter=econom") == [TITLES[0], TITLES[1]]
    assert ledger.entry_reads == 2
    ledger.close()
