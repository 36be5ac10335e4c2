"""The pages for people and partners, through the app: every route's status, type and headers
(caching, framing, CORS, the content security policy), what each page shows, the OPML list,
the status report, the widget's options, 404s, and escaping of hostile titles and errors."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest
from flask.testing import FlaskClient
from lxml import etree

from feeds.config import Config, parse_config
from feeds.ledger.store import Ledger, Retention, SourceState
from feeds.model import UTC, Entry
from feeds.serve.publish import FeedPublisher
from server import create_app
from tests.refresh_kit import CountingLedger, open_ledger

HOSTILE = '<script>alert("x")</script>'
CONFIG = f"""
[publisher]
name = "Test feeds"
allowed_hosts = ["feeds.example.org"]

[[sources]]
id = "office"
title = 'Office {HOSTILE}'
url = "https://www.example.org/news/lang--en/index.htm"

[[sources]]
id = "bureau"
title = "Bureau"
url = "https://www.example.org/bureau/lang--fr/index.htm"
language = "fr"

[[topics]]
id = "office"
title = 'Office "news" {HOSTILE}'
description = 'Everything the office says {HOSTILE}.'
limit = 3

[[topics]]
id = "releases"
title = "Press releases"
labels = ["press release"]

[[topics]]
id = "empty"
title = "Nothing yet"
labels = ["no such label"]
"""
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
BASE = "https://feeds.example.org"
PAGES = ["/", "/topics/office", "/embed/office", "/status"]
TYPES = {
    "/": "text/html; charset=utf-8",
    "/topics/office": "text/html; charset=utf-8",
    "/embed/office": "text/html; charset=utf-8",
    "/embed/office.js": "text/javascript; charset=utf-8",
    "/feeds.opml": "text/x-opml; charset=utf-8",
    "/feeds/feed.xsl": "text/xsl; charset=utf-8",
    "/status": "text/html; charset=utf-8",
    "/status.json": "application/json",
    "/healthz": "text/plain; charset=utf-8",
}


#: The listing page of the office's entries.
LISTING = "https://www.example.org/news/"


def entry(n: int, title: str, day: int, *labels: str, **fields: object) -> Entry:
    values: dict[str, object] = {
        "id": f"urn:uuid:{n:08d}-0000-5000-8000-000000000000",
        "source_id": "office",
        "title": title,
        "link": f"https://www.example.org/news/{n}",
        "date": dt.date(2026, 11, day),
        "published": dt.datetime(2026, 11, day, tzinfo=UTC),
        "summary": f"Summary {n}.",
        "labels": labels,
    }
    values.update(fields)
    return Entry(**values)  # type: ignore[arg-type]  # test values, checked by Entry


def store(ledger: Ledger, source_id: str, *entries: Entry) -> None:
    with ledger.transaction() as transaction:
        transaction.merge(source_id, entries, now=NOW, retention=Retention())


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return parse_config(CONFIG, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})


@pytest.fixture
def ledger(database_url: str) -> Iterator[CountingLedger]:
    opened = CountingLedger(open_ledger(database_url).engine)
    store(
        opened,
        "office",
        entry(1, f"Alpha {HOSTILE}", 20, "Press release", summary=f"Beware {HOSTILE} & co."),
        entry(2, "Beta", 19, "News", link="javascript:alert(1)", page_url=LISTING),
        entry(3, "Gamma", 18, "Press release"),
        entry(4, "Delta", 17, "News"),
    )
    store(opened, "bureau", entry(5, "Actualité du bureau", 16, "Actualité", source_id="bureau"))
    with opened.transaction() as transaction:
        transaction.save_state(
            SourceState(
                source_id="bureau",
                last_fetch_at=NOW,
                last_success_at=NOW - dt.timedelta(days=1),
                last_error=f"bureau: HTTP 500 {HOSTILE}",
                last_error_at=NOW,
                consecutive_failures=3,
                next_attempt_at=NOW + dt.timedelta(hours=2),
                suspect_reason=f"no entries on the page {HOSTILE}",
                last_status="suspect",
            )
        )
    yield opened
    opened.close()


@pytest.fixture
def client(config: Config, ledger: CountingLedger) -> FlaskClient:
    publisher = FeedPublisher(config, ledger, version_ttl=0)
    app = create_app(config, ledger=ledger, publisher=publisher, clock=lambda: NOW)
    app.config.update(SERVER_NAME="feeds.example.org", PREFERRED_URL_SCHEME="https")
    return app.test_client()


def parse(document: bytes | str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(document)


def html(client: FlaskClient, path: str) -> lxml.html.HtmlElement:
    response = client.get(path)
    assert response.status_code == 200, response.data
    return parse(response.data)


def texts(elements: list[lxml.html.HtmlElement]) -> list[str]:
    return [" ".join(element.text_content().split()) for element in elements]


@pytest.mark.parametrize(("path", "content_type"), TYPES.items())
def test_every_page_is_served_with_its_type_and_caching(
    client: FlaskClient, path: str, content_type: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    live = path.startswith(("/status", "/healthz"))
    expected = "no-store" if live else "public, max-age=60"
    assert response.headers["Cache-Control"] == expected
    assert ("ETag" in response.headers) is not live


@pytest.mark.parametrize("path", [*TYPES, "/topics/nope"])
def test_only_the_widget_may_be_framed(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    if path.startswith("/embed/"):
        assert policy.endswith("frame-ancestors *")
        assert "X-Frame-Options" not in response.headers
    else:
        assert policy.endswith("frame-ancestors 'none'")
        assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", TYPES)
def test_cors_only_on_the_embed_script_and_the_feeds(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert ("Access-Control-Allow-Origin" in response.headers) is path.endswith(".js")
    assert client.get("/feeds/office.json").headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", PAGES)
def test_pages_run_no_script_and_load_nothing_but_their_own_style(
    client: FlaskClient, path: str
) -> None:
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; ")  # no script-src: no script runs
    assert "unsafe-inline" not in policy
    styles = re.findall(rb"<style>(.*?)</style>", response.data, re.DOTALL)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0]).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    assert b"<script" not in response.data
    assert b"@import" not in response.data
    assert not re.search(rb'(src|href)="//', response.data)  # no external asset at all
    assert len(response.data) < 20_000


def test_pages_are_conditional(client: FlaskClient) -> None:
    first = client.get("/topics/office")
    again = client.get("/topics/office", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


@pytest.mark.parametrize("path", PAGES)
def test_pages_share_one_accessible_base(client: FlaskClient, path: str) -> None:
    page = html(client, path)
    assert page.get("lang") == "en"
    assert len(page.findall(".//h1")) == 1
    assert page.find(".//title").text_content()
    assert page.find(".//meta[@name='viewport']") is not None
    if path != "/embed/office":
        assert page.find(".//nav") is not None
        assert page.find(".//main") is not None


def test_the_index_lists_every_topic_with_its_feeds_and_autodiscovery(
    client: FlaskClient,
) -> None:
    page = html(client, "/")
    assert texts(page.findall(".//main//h2")) == [
        'Office "news" <script>alert("x")</script>',
        "Press releases",
        "Nothing yet",
    ]
    topics = texts(page.findall(".//ul[@class='topics']/li/p[@class='meta']"))
    assert topics == [
        "5 entries, last updated 22 November 2026.",  # when the ledger first saw them
        "2 entries, last updated 22 November 2026.",
        "0 entries.",
    ]
    alternates = {
        (link.get("type"), link.get("href")) for link in page.findall(".//link[@rel='alternate']")
    }
    for topic in ("office", "releases", "empty"):
        for extension, media_type in (
            ("rss", "application/rss+xml"),
            ("atom", "application/atom+xml"),
            ("json", "application/feed+json"),
        ):
            href = f"{BASE}/feeds/{topic}.{extension}"
            assert (media_type, href) in alternates
            assert page.find(f".//main//a[@href='{href}']") is not None
    assert ("text/x-opml", f"{BASE}/feeds.opml") in alternates
    assert page.find(f".//main//a[@href='{BASE}/feeds.opml']") is not None
    assert "To subscribe, copy a feed's link" in page.text_content()


def test_the_pages_are_read_once_per_change_of_their_sources(
    client: FlaskClient, ledger: CountingLedger
) -> None:
    client.get("/")
    read = ledger.entry_reads
    assert read > 0
    for _ in range(5):
        client.get("/")
        client.get("/topics/office")
    assert ledger.entry_reads == read
    store(ledger, "office", entry(9, "Epsilon", 21, "News"))
    assert "Epsilon" in html(client, "/topics/office").text_content()
    client.get("/")
    assert read < ledger.entry_reads <= 2 * read


def test_a_topic_page_shows_its_latest_entries_feeds_and_embed_snippets(
    client: FlaskClient,
) -> None:
    page = html(client, "/topics/office")
    entries = page.findall(".//ol[@class='entries']/li")
    assert texts([li.find(".//h3") for li in entries]) == [
        'Alpha <script>alert("x")</script>',
        "Beta",
        "Gamma",
    ]  # the topic's limit: 3 of 4
    first = entries[0]
    assert first.find(".//h3/a").get("href") == "https://www.example.org/news/1"
    assert texts(first.findall(".//p")) == [
        "20 November 2026 · Press release",
        'Beware <script>alert("x")</script> & co.',
    ]
    assert first.find(".//time").get("datetime") == "2026-11-20"
    # a javascript: link never reaches a page: the entry links to its listing page instead
    assert entries[1].find(".//h3/a").get("href") == LISTING
    assert {link.get("href") for link in page.findall(".//link[@rel='alternate']")} == {
        f"{BASE}/feeds/office.rss",
        f"{BASE}/feeds/office.atom",
        f"{BASE}/feeds/office.json",
    }
    snippets = [code.text_content() for code in page.findall(".//pre/code")]
    assert len(snippets) == 2
    frame = lxml.html.fragment_fromstring(snippets[0])
    assert frame.tag == "iframe"
    assert frame.get("src") == f"{BASE}/embed/office"
    assert frame.get("title") == 'Office "news" <script>alert("x")</script>'  # escaped there too
    script = lxml.html.fragment_fromstring(snippets[1], create_parent="div")
    assert script.find("div").get("id") == "feedpub-office"
    assert script.find("script").get("src") == f"{BASE}/embed/office.js"
    assert script.find("script").get("data-target") == "feedpub-office"


def test_entries_in_another_language_say_so(client: FlaskClient) -> None:
    page = html(client, "/topics/releases")
    assert [li.get("lang") for li in page.findall(".//ol[@class='entries']/li")] == [None, None]
    all_news = html(client, "/embed/office?count=20")  # the office topic reads every source
    assert [li.get("lang") for li in all_news.findall(".//ul[@class='entries']/li")] == [
        *[None] * 4,
        "fr",
    ]


def test_an_empty_topic_says_so(client: FlaskClient) -> None:
    assert "No entries yet." in html(client, "/topics/empty").text_content()
    assert "No entries yet." in html(client, "/embed/empty").text_content()


@pytest.mark.parametrize("path", ["/", "/topics/office", "/embed/office"])
def test_entries_are_in_the_html_without_javascript(client: FlaskClient, path: str) -> None:
    body = client.get(path).data.decode()
    assert "<script" not in body
    assert "Alpha &lt;script&gt;" in body or path == "/"
    assert "Office &#34;news&#34; &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body


@pytest.mark.parametrize("path", PAGES)
def test_markup_in_titles_summaries_and_errors_is_shown_as_text(
    client: FlaskClient, path: str
) -> None:
    body = client.get(path).data.decode()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body
    assert "<script>" not in body
    assert 'alert("x")' not in body


def test_the_widget_shows_the_latest_entries_and_opens_links_outside_the_frame(
    client: FlaskClient,
) -> None:
    page = html(client, "/embed/office?count=2")
    items = page.findall(".//ul[@class='entries']/li")
    assert texts([li.find("a") for li in items[:1]]) == ['Alpha <script>alert("x")</script>']
    assert len(items) == 2
    assert all(a.get("target") == "_blank" for a in page.findall(".//a") if a.get("href"))
    assert all("noopener" in a.get("rel", "") for a in page.findall(".//a"))
    assert page.find(".//body").get("class") == "embed theme-light"
    assert page.find(".//nav") is None  # small: the entries and the feeds only


@pytest.mark.parametrize(("count", "shown"), [("1", 1), ("5", 5), ("20", 5)])
def test_the_widget_count_is_bounded_by_its_topic(
    client: FlaskClient, count: str, shown: int
) -> None:
    page = html(client, f"/embed/office?count={count}")
    assert len(page.findall(".//ul[@class='entries']/li")) == shown  # 5 entries in the topic


def test_the_widget_shows_five_entries_by_default_and_a_dark_theme_on_request(
    client: FlaskClient,
) -> None:
    assert len(html(client, "/embed/office").findall(".//ul[@class='entries']/li")) == 5
    dark = html(client, "/embed/office?theme=dark")
    assert dark.find(".//body").get("class") == "embed theme-dark"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("count=0", "count must be a whole number from 1 to 20"),
        ("count=21", "count must be a whole number from 1 to 20"),
        ("count=-1", "count must be a whole number from 1 to 20"),
        ("count=five", "count must be a whole number from 1 to 20"),
        ("theme=pink", "theme must be one of: light, dark"),
        ("theme=%3Cscript%3E", "theme must be one of: light, dark"),
    ],
)
def test_bad_widget_options_are_a_400_page_saying_why(
    client: FlaskClient, query: str, message: str
) -> None:
    response = client.get(f"/embed/office?{query}")
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert message in response.data.decode()
    assert b"<script" not in response.data


@pytest.mark.parametrize(
    "value",
    ["%C2%B2", "%EF%BC%95", pytest.param("9" * 5000, id="5000-digits"), "0000005", "+5", "5.0"],
)
def test_a_widget_count_that_is_not_a_few_ascii_digits_is_a_400_page_naming_it(
    client: FlaskClient, value: str
) -> None:
    response = client.get(f"/embed/office?count={value}")
    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = parse(response.data)
    assert page.findtext(".//h1") == "400 Bad Request"
    assert "count must be a whole number from 1 to 20" in page.text_content()
    assert "int()" not in page.text_content()
    assert "digits" not in page.text_content()  # no word of Python's own errors


def test_the_embed_script_reads_the_json_feed_and_writes_text_only(client: FlaskClient) -> None:
    response = client.get("/embed/office.js")
    script = response.data.decode()
    assert f'var feedUrl = "{BASE}/feeds/office.json";' in script
    assert f'var topicUrl = "{BASE}/topics/office";' in script
    assert "innerHTML" not in script  # entries are written as text
    assert "textContent" in script
    assert "Math.min(count, 20)" in script
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_the_opml_lists_every_topics_feed(client: FlaskClient) -> None:
    response = client.get("/feeds.opml")
    opml = etree.fromstring(response.data)
    assert opml.get("version") == "2.0"
    assert opml.findtext("head/title") == "Test feeds"
    assert opml.findtext("head/dateModified") == "Sun, 22 Nov 2026 09:00:00 GMT"
    outlines = opml.findall("body/outline")
    assert [
        (o.get("text"), o.get("xmlUrl"), o.get("htmlUrl"), o.get("type")) for o in outlines
    ] == [
        (
            'Office "news" <script>alert("x")</script>',
            f"{BASE}/feeds/office.rss",
            f"{BASE}/topics/office",
            "rss",
        ),
        ("Press releases", f"{BASE}/feeds/releases.rss", f"{BASE}/topics/releases", "rss"),
        ("Nothing yet", f"{BASE}/feeds/empty.rss", f"{BASE}/topics/empty", "rss"),
    ]


def test_status_json_reports_every_source(client: FlaskClient) -> None:
    report = json.loads(client.get("/status.json").data)
    assert report["healthy"] is False
    office, bureau = report["sources"]
    assert office == {
        "id": "office",
        "title": f"Office {HOSTILE}",
        "url": "https://www.example.org/news/lang--en/index.htm",
        "healthy": True,
        "entries": 4,
        "last_status": None,
        "last_fetch_at": None,
        "last_success_at": None,
        "last_error": None,
        "last_error_at": None,
        "consecutive_failures": 0,
        "suspect": False,
        "suspect_reason": None,
        "next_refresh_at": None,
        "left_out_of_feeds": 0,
        "left_out_last_entry": None,
        "left_out_last_reason": None,
        "overdue": False,
        "full_text": False,
        "articles_with_content": 0,
        "articles_failing": 0,
        "articles_last_error": None,
        "articles_last_error_at": None,
    }
    assert bureau == {
        "id": "bureau",
        "title": "Bureau",
        "url": "https://www.example.org/bureau/lang--fr/index.htm",
        "healthy": False,
        "entries": 1,
        "last_status": "suspect",
        "last_fetch_at": "2026-11-22T09:00:00Z",
        "last_success_at": "2026-11-21T09:00:00Z",
        "last_error": f"bureau: HTTP 500 {HOSTILE}",
        "last_error_at": "2026-11-22T09:00:00Z",
        "consecutive_failures": 3,
        "suspect": True,
        "suspect_reason": f"no entries on the page {HOSTILE}",
        "next_refresh_at": "2026-11-22T11:00:00Z",  # the state's next attempt
        "left_out_of_feeds": 0,
        "left_out_last_entry": None,
        "left_out_last_reason": None,
        "overdue": False,
        "full_text": False,
        "articles_with_content": 0,
        "articles_failing": 0,
        "articles_last_error": None,
        "articles_last_error_at": None,
    }


def test_the_status_page_shows_the_same_in_a_table(client: FlaskClient) -> None:
    page = html(client, "/status")
    assert texts(page.findall(".//thead//th")) == [
        "Source",
        "Entries",
        "Last success",
        "Last error",
        "Failures in a row",
        "Suspect",
        "Next refresh",
        "Left out of feeds",
        "Full text",
    ]
    office, bureau = (
        texts(row.findall("th") + row.findall("td")) for row in page.findall(".//tbody/tr")
    )
    assert office == [
        'Office <script>alert("x")</script> office',
        "4",
        "never",
        "none",
        "0",
        "no",
        "not scheduled yet",
        "none",
        "off",
    ]
    assert bureau == [
        "Bureau bureau",
        "1",
        "21 November 2026, 09:00 UTC",
        'bureau: HTTP 500 <script>alert("x")</script> 22 November 2026, 09:00 UTC',
        "3",
        'yes: no entries on the page <script>alert("x")</script>',
        "22 November 2026, 11:00 UTC",
        "none",
        "off",
    ]
    assert "1 with problems" in page.text_content()


@pytest.mark.parametrize("path", ["/topics/nope", "/embed/nope", "/embed/nope.js", "/nope"])
def test_an_unknown_topic_or_page_is_a_404_page(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    page = parse(response.data)
    assert page.findtext(".//h1") == "404 Not Found"
    assert page.find(f".//a[@href='{BASE}/']") is not None
    if "nope" in path and path != "/nope":
        assert "There is no topic 'nope' here." in page.text_content()


def test_a_hostile_host_header_is_refused_with_relative_links(client: FlaskClient) -> None:
    response = client.get("/", headers={"Host": "evil.example/<script>"})
    assert response.status_code == 400
    assert b"evil.example" not in response.data
    assert parse(response.data).find(".//a[@href='/']") is not None


def test_healthz_answers_ok_and_is_never_cached(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.data) == (200, b"ok\n")
    assert response.headers["Cache-Control"] == "no-store"


def test_a_configured_base_url_makes_every_link(tmp_path: Path, ledger: CountingLedger) -> None:
    text = CONFIG.replace(
        'name = "Test feeds"', 'name = "Test feeds"\nbase_url = "https://cdn.example"'
    )
    config = parse_config(text, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})
    client = create_app(config, ledger=ledger).test_client()
    body = client.get("/topics/office").data.decode()
    assert "https://cdn.example/feeds/office.rss" in body
    assert "https://cdn.example/embed/office.js" in body
    assert "localhost" not in body
    rss = client.get("/feeds/office.rss").data
    assert rss.splitlines()[1] == (
        b'<?xml-stylesheet type="text/xsl" href="https://cdn.example/feeds/feed.xsl"?>'
    )


def test_the_feed_stylesheet_shows_rss_and_atom_as_a_page(client: FlaskClient) -> None:
    transform = etree.XSLT(etree.fromstring(client.get("/feeds/feed.xsl").data))
    for feed_format in ("rss", "atom"):
        feed = client.get(f"/feeds/office.{feed_format}").data
        assert feed.splitlines()[1] == (
            f'<?xml-stylesheet type="text/xsl" href="{BASE}/feeds/feed.xsl"?>'.encode()
        )
        page = parse(str(transform(etree.fromstring(feed))))
        assert page.get("lang") == "en"
        assert texts(page.findall(".//h1")) == ['Office "news" <script>alert("x")</script>']
        assert "To subscribe, copy the address of this page" in page.text_content()
        assert page.find(".//a[@href='https://feeds.example.org/topics/office']") is not None
        titles = texts(page.findall(".//ol/li/h3"))
        assert titles == ['Alpha <script>alert("x")</script>', "Beta", "Gamma"]
        assert page.find(".//ol/li[2]/h3/a").get("href") == LISTING  # never javascript:
        assert page.find(".//script") is None
