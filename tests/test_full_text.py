"""Full text, end to end: a listing on a local server whose items link to article pages; the
refresh fetches each article once (within the source's budget, conditionally, with backoff
after a failure), extracts and sanitises its body, and the feeds carry it, as read back by
feedparser; a failing article leaves its entry, and the others, as they were."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path

import feedparser
import httpx
import jsonschema
import pytest
from lxml import html as lxml_html
from sqlalchemy import select

from feeds.config import SourceConfig, parse_config
from feeds.ledger.store import Ledger
from feeds.ledger.tables import articles_table
from feeds.refresh.fetch import Fetcher
from feeds.refresh.outcomes import Status
from feeds.refresh.refresher import Refresher
from sources import ADAPTERS
from sources.article import extract_article
from tests.article_writer import (
    ADVERTISEMENT,
    CAPTION,
    COMMENT,
    NAVIGATION,
    article_page,
    story,
)
from tests.conftest import DATA
from tests.http_server import LocalServer, Route
from tests.refresh_kit import Clock, item, make_source, page

HTML = {"Content-Type": "text/html; charset=utf-8"}
#: The most bytes an article may have in these tests (the "huge" one has more).
MAX_BYTES = 64 * 1024


def make_full_text_refresher(ledger: Ledger, clock: Clock) -> Refresher:
    """A refresher with the article extractor, and a fetcher quick to give up."""
    return Refresher(
        ledger=ledger,
        fetcher=Fetcher(timeout=httpx.Timeout(0.5), deadline_seconds=0.5, max_bytes=MAX_BYTES),
        adapters=ADAPTERS,
        clock=clock,
        rng=random.Random(7),
        extract_article=extract_article,
    )


@pytest.fixture
def full_text(ledger: Ledger, clock: Clock) -> Iterator[Refresher]:
    made = make_full_text_refresher(ledger, clock)
    yield made
    made.fetcher.close()


def full_text_source(server: LocalServer, **overrides: object) -> SourceConfig:
    """A source on the local server, its entries linking to pages there, full text on."""
    values: dict[str, object] = {"public_url": "", "full_text": True, **overrides}
    return make_source(server, "/news", **values)


def serve_articles(server: LocalServer, count: int) -> list[str]:
    """A listing of ``count`` items at ``/news``, each linking to its article page; the
    articles' paths, newest first."""
    items = [
        dataclasses.replace(
            item(f"Harbour works stage {n}", 20 - n % 10), link=f"/news/2026/stage-{n}"
        )
        for n in range(1, count + 1)
    ]
    server.routes["/news"] = page(*items)
    paths = []
    for n, listed in enumerate(items, start=1):
        assert listed.link is not None
        server.routes[listed.link] = Route(article_page(story(n)).encode(), headers=HTML)
        paths.append(listed.link)
    return paths


def article_requests(server: LocalServer) -> list[str]:
    return [path for method, path, _headers in server.requests if path != "/news"]


def contents(ledger: Ledger) -> dict[str, str]:
    """Each entry's content, by its link's path."""
    return {
        "/" + stored.entry.link.split("/", 3)[3]: stored.content_html for stored in ledger.entries()
    }


def test_an_articles_body_is_extracted_sanitised_and_stored(
    server: LocalServer, ledger: Ledger, full_text: Refresher
) -> None:
    (path,) = serve_articles(server, 1)
    outcome = full_text.refresh(full_text_source(server))
    assert outcome.status == Status.UPDATED
    assert outcome.articles.fetched == 1
    body = contents(ledger)[path]
    text = lxml_html.fragment_fromstring(body, create_parent="div").text_content()
    assert "finished stage 1 of the works" in text
    assert "concrete piles driven twelve metres" in text
    assert "East pier: rebuilt in concrete" in text  # the list
    assert "What was built" in text  # the heading
    for clutter in (NAVIGATION, ADVERTISEMENT, COMMENT, "All rights reserved", "injected"):
        assert clutter not in text
    fragment = lxml_html.fragment_fromstring(body, create_parent="div")
    figure = fragment.find(".//figure")
    assert figure is not None
    assert figure.findtext("figcaption") == CAPTION
    assert figure.find("img").get("src") == server.url("/news/images/pier.jpg")  # made absolute
    links = {a.text: a.attrib for a in fragment.iter("a")}
    assert links["The plan"] == {
        "href": server.url("/news/works/plan.html"),
        "rel": "noopener noreferrer",
    }
    assert "href" not in links["Read more"]  # the javascript: link lost its target
    for unsafe in ("<script", "onerror", "javascript:", "<style", "<form", "<textarea", "alert"):
        assert unsafe not in body


def test_articles_are_served_in_every_format_and_on_the_topic_page_but_not_the_widget(
    server: LocalServer, ledger: Ledger, full_text: Refresher, tmp_path: Path
) -> None:
    from server import create_app

    (path,) = serve_articles(server, 1)
    full_text.refresh(full_text_source(server))
    config = parse_config(
        f"""
[publisher]
name = "Test feeds"
base_url = "https://feeds.example.org"
[[sources]]
id = "office"
title = "Office"
url = "{server.url("/news")}"
full_text = true
[[topics]]
id = "office"
title = "Office news"
""",
        tmp_path / "feedpub.toml",
        adapter_kinds={"ilo"},
        environ={},
    )
    client = create_app(config, ledger=ledger).test_client()
    link = server.url(path)
    for suffix in ("rss", "atom"):
        parsed = feedparser.parse(client.get(f"/feeds/office.{suffix}").data)
        assert not parsed.bozo, parsed.bozo_exception
        (entry,) = parsed.entries
        assert entry.link == link
        (content,) = entry.content
        assert content.type == "text/html"
        assert "concrete piles driven twelve metres" in content.value
        assert CAPTION in content.value
        assert "onerror" not in content.value
        assert entry.summary != content.value  # the summary stays the summary
    feed = json.loads(client.get("/feeds/office.json").data)
    jsonschema.validate(feed, json.loads((DATA / "jsonfeed-1.1.schema.json").read_text()))
    (entry,) = feed["items"]
    assert "concrete piles driven twelve metres" in entry["content_html"]
    assert "concrete piles" not in entry["content_text"]
    topic = client.get("/topics/office").data.decode()
    assert '<details class="full-text"><summary>Full text</summary>' in topic
    assert "concrete piles driven twelve metres" in topic
    assert '<meta name="referrer" content="no-referrer">' in topic  # for the articles' images
    widget = client.get("/embed/office").data.decode()
    assert "Harbour works stage 1" in widget
    assert "concrete piles" not in widget
    status = json.loads(client.get("/status.json").data)["sources"][0]
    assert (status["articles_with_content"], status["articles_failing"]) == (1, 0)


def test_failing_articles_leave_their_entries_and_the_others_intact(
    server: LocalServer, ledger: Ledger, full_text: Refresher, clock: Clock
) -> None:
    paths = serve_articles(server, 5)
    good, broken, slow, pdf, huge = paths
    server.routes[broken] = Route(b"oops", status=500)
    server.routes[slow] = Route(article_page(story(3)).encode(), headers=HTML, delay=1.5)
    server.routes[pdf] = Route(b"%PDF-1.7 not a page", headers={"Content-Type": "application/pdf"})
    server.routes[huge] = Route(
        article_page(story(5)).replace("</body>", "<p>" + "x" * MAX_BYTES + "</p></body>").encode(),
        headers=HTML,
    )
    source = full_text_source(server)
    outcome = full_text.refresh(source)
    assert outcome.status == Status.UPDATED
    assert (outcome.articles.fetched, outcome.articles.failed) == (1, 4)
    assert ledger.state(source.id).consecutive_failures == 0  # the listing itself is fine
    found = contents(ledger)
    assert set(found) == set(paths)  # every entry is published
    assert "finished stage 1" in found[good]
    assert [found[p] for p in (broken, slow, pdf, huge)] == ["", "", "", ""]
    with ledger.engine.connect() as connection:
        rows = {
            row.url.removeprefix(server.base_url): row
            for row in connection.execute(select(articles_table))
        }
    assert "HTTP 500" in rows[broken].last_error
    assert "timed out" in rows[slow].last_error or "too slow" in rows[slow].last_error
    assert "not an HTML page (Content-Type: application/pdf)" in rows[pdf].last_error
    assert "larger than the 65,536-byte limit" in rows[huge].last_error
    for path in (broken, slow, pdf, huge):
        assert rows[path].consecutive_failures == 1
        assert rows[path].next_attempt_at > clock.now  # retried after a backoff
    status = ledger.article_counts()[source.id]
    assert (status.with_content, status.failing) == (1, 4)

    # within the backoff, nothing is fetched again; after it, the failed ones are
    server.requests.clear()
    clock.advance(minutes=10)
    full_text.refresh(source)
    assert article_requests(server) == []
    for path, number in ((broken, 2), (slow, 3), (pdf, 4), (huge, 5)):
        server.routes[path] = Route(article_page(story(number)).encode(), headers=HTML)
    clock.advance(hours=2)
    outcome = full_text.refresh(source)
    assert sorted(article_requests(server)) == sorted([broken, slow, pdf, huge])
    assert outcome.articles.fetched == 4
    assert all(content for content in contents(ledger).values())
    assert ledger.article_counts()[source.id].failing == 0


def test_an_unchanged_article_is_not_fetched_again(
    server: LocalServer, ledger: Ledger, full_text: Refresher, clock: Clock
) -> None:
    paths = serve_articles(server, 2)
    source = full_text_source(server)
    full_text.refresh(source)
    assert sorted(article_requests(server)) == sorted(paths)
    for _ in range(3):
        clock.advance(hours=2)
        outcome = full_text.refresh(source)
        assert outcome.articles.tried == 0
    assert sorted(article_requests(server)) == sorted(paths)


def test_a_corrected_entry_asks_for_its_article_again_conditionally(
    server: LocalServer, ledger: Ledger, full_text: Refresher, clock: Clock
) -> None:
    items = [item(f"Harbour works stage {n}", 20 - n) for n in range(1, 6)]
    server.routes["/news"] = page(*items)
    for n, listed in enumerate(items, start=1):
        assert listed.link is not None
        server.routes[listed.link] = Route(
            article_page(story(n)).encode(), headers=HTML, etag=f'"v{n}"'
        )
    source = full_text_source(server)
    full_text.refresh(source)
    before = contents(ledger)
    server.requests.clear()
    # the third item's title is corrected; its link stays
    corrected = dataclasses.replace(items[2], title="Harbour works, stage 3")
    server.routes["/news"] = page(*items[:2], corrected, *items[3:])
    clock.advance(hours=2)
    outcome = full_text.refresh(source)
    assert outcome.merge.updated == 1
    requests = [(path, headers) for _method, path, headers in server.requests if path != "/news"]
    assert [path for path, _headers in requests] == [items[2].link]
    assert requests[0][1].get("If-None-Match") == '"v3"'
    assert outcome.articles.unchanged == 1  # 304: the body stays
    assert contents(ledger) == before


def test_an_entry_whose_link_changes_gets_the_new_links_article(
    server: LocalServer, ledger: Ledger, full_text: Refresher, clock: Clock
) -> None:
    serve_articles(server, 1)
    source = full_text_source(server)
    full_text.refresh(source)
    moved = "/stories/harbour-works-stage-1"
    server.routes[moved] = Route(article_page(story(9)).encode(), headers=HTML)
    listed = dataclasses.replace(item("Harbour works stage 1", 20 - 1), link=moved)
    server.routes["/news"] = page(listed)
    clock.advance(hours=2)
    server.requests.clear()
    outcome = full_text.refresh(source)
    assert article_requests(server) == [moved]
    assert outcome.articles.fetched == 1
    (content,) = contents(ledger).values()
    assert "finished stage 9" in content


def test_the_per_refresh_budget_spreads_a_large_listing_over_several_refreshes(
    server: LocalServer, ledger: Ledger, full_text: Refresher, clock: Clock
) -> None:
    paths = serve_articles(server, 7)
    source = full_text_source(server, full_text_budget=3)
    fetched: list[int] = []
    for _ in range(4):
        server.requests.clear()
        outcome = full_text.refresh(source)
        fetched.append(len(article_requests(server)))
        assert outcome.articles.tried == fetched[-1]
        clock.advance(hours=2)
    assert fetched == [3, 3, 1, 0]
    assert all(contents(ledger)[path] for path in paths)


def test_no_article_is_fetched_for_a_source_without_full_text(
    server: LocalServer, ledger: Ledger, full_text: Refresher
) -> None:
    serve_articles(server, 2)
    outcome = full_text.refresh(full_text_source(server, full_text=False))
    assert outcome.articles.tried == 0
    assert article_requests(server) == []
    assert set(contents(ledger).values()) == {""}


def test_an_entry_without_a_page_of_its_own_has_no_article_to_fetch(
    server: LocalServer, ledger: Ledger, full_text: Refresher
) -> None:
    server.routes["/news"] = page(
        dataclasses.replace(item("On this page", 19), link="#item-1"),
        dataclasses.replace(item("The listing itself", 18), link="/news"),
    )
    outcome = full_text.refresh(full_text_source(server))
    assert outcome.status == Status.UPDATED
    assert outcome.articles.tried == 0
    assert article_requests(server) == []


def test_a_source_selector_picks_the_body_where_the_extractor_would_not(
    server: LocalServer, ledger: Ledger, full_text: Refresher
) -> None:
    (path,) = serve_articles(server, 1)
    chosen = full_text_source(server, full_text_selector="main, section.comments")
    outcome = full_text.refresh(chosen)
    assert outcome.articles.fetched == 1
    body = contents(ledger)[path]
    assert COMMENT in body  # the extractor leaves comments out; the selector asked for them
    assert "concrete piles" in body
    assert NAVIGATION not in body
    assert "<form" not in body
    assert "<textarea" not in body


def test_retention_removes_an_entrys_article_with_it(
    server: LocalServer, ledger: Ledger, full_text: Refresher, clock: Clock
) -> None:
    first, second = serve_articles(server, 2)
    source = full_text_source(server, keep_at_least=0, max_age_days=1)
    full_text.refresh(source)
    server.routes["/news"] = page(
        dataclasses.replace(item("Harbour works stage 2", 20 - 2), link=second)
    )
    clock.advance(days=3)
    outcome = full_text.refresh(source)
    assert outcome.merge.removed == 1
    with ledger.engine.connect() as connection:
        kept = [row.url for row in connection.execute(select(articles_table.c.url))]
    assert kept == [server.url(second)]
    assert first not in contents(ledger)


def test_a_server_asking_to_come_back_later_ends_the_round_until_its_retry_after(
    server: LocalServer, ledger: Ledger, full_text: Refresher, clock: Clock
) -> None:
    first, _second = serve_articles(server, 2)
    server.routes[first] = Route(b"busy", status=429, headers={"Retry-After": "7200"})
    source = full_text_source(server)
    outcome = full_text.refresh(source)
    assert article_requests(server) == [first]  # the second waits for the next refresh
    assert (outcome.articles.failed, outcome.articles.due) == (1, 1)
    with ledger.engine.connect() as connection:
        (row,) = connection.execute(select(articles_table))
    assert row.next_attempt_at >= clock.now + dt.timedelta(seconds=7200)
    assert "HTTP 429" in row.last_error


def test_an_article_link_to_a_private_address_is_refused_without_connecting(
    server: LocalServer, ledger: Ledger, full_text: Refresher
) -> None:
    server.routes["/news"] = page(
        dataclasses.replace(item("Metadata", 19), link="http://169.254.169.254/latest/"),
        dataclasses.replace(item("Intranet", 18), link="http://10.1.2.3/wiki/"),
    )
    outcome = full_text.refresh(full_text_source(server))
    assert outcome.status == Status.UPDATED  # the listing is published
    assert outcome.articles.failed == 2
    with ledger.engine.connect() as connection:
        errors = sorted(row.last_error for row in connection.execute(select(articles_table)))
    assert errors[0].startswith("http://10.1.2.3/wiki/: ")
    assert errors[1].startswith("http://169.254.169.254/latest/: ")
    assert all("address" in error for error in errors), errors
