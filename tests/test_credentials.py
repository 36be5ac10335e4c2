"""A source whose URL holds credentials (a user name and password, an API key): they are sent
to the source, on every page of its listing, and published nowhere: not on the status page, not
in ``/status.json``, not in any feed (as the fallback link of items without their own link, or as
the base of relative links), not in a recorded error."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

from feeds.config import Config, parse_config
from feeds.ledger.store import Ledger
from server import create_app
from tests.http_server import LocalServer, Route
from tests.listing_writer import WrittenItem, write_html, write_text
from tests.refresh_kit import Clock, make_refresher

SECRETS = ("s3cret", "K123", "reader:", "api_key")
AUTHORIZATION = "Basic " + base64.b64encode(b"reader:s3cret").decode()


def credentialed_config(tmp_path: Path, server: LocalServer) -> Config:
    url = server.url("/news?api_key=K123").replace("http://", "http://reader:s3cret@")
    text = (
        '[publisher]\nname = "Feeds"\nbase_url = "https://feeds.example.org"\n'
        f'[[sources]]\nid = "office"\ntitle = "Office"\nurl = "{url}"\npage_limit = 2\n'
        '[[topics]]\nid = "all"\ntitle = "All"\n'
    )
    return parse_config(text, tmp_path / "feedpub.toml", adapter_kinds={"ilo"}, environ={})


def listing(*titles: str, next_page: str | None = None) -> Route:
    items = [
        WrittenItem(title=title, date=dt.date(2026, 11, 20 - n), summary=f"About {title}.")
        for n, title in enumerate(titles)
    ]
    body = write_html(items)
    if next_page:
        body = body.replace("</body>", f'<a rel="next" href="{next_page}">Next</a></body>')
    return Route(body.encode(), headers={"Content-Type": "text/html; charset=utf-8"})


def everything_published(config: Config, ledger: Ledger) -> dict[str, str]:
    client = create_app(config, ledger=ledger).test_client()
    paths = ["/status", "/status.json", "/feeds/all.rss", "/feeds/all.atom", "/feeds/all.json"]
    paths += ["/", "/topics/all", "/feeds.opml"]
    published = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        published[path] = response.get_data(as_text=True)
    return published


def assert_no_secret_in(published: dict[str, str]) -> None:
    leaks = [
        (path, secret) for path, body in published.items() for secret in SECRETS if secret in body
    ]
    assert leaks == []


def refresh(config: Config, ledger: Ledger, clock: Clock) -> None:
    refresher = make_refresher(ledger, clock)
    try:
        refresher.refresh(config.sources[0])
    finally:
        refresher.fetcher.close()


def test_credentials_are_sent_on_every_page_and_published_nowhere(
    tmp_path: Path, server: LocalServer, ledger: Ledger, clock: Clock
) -> None:
    server.routes["/news?api_key=K123"] = listing(
        "Harbour wage talks resume", "Ferry timetable agreed", next_page="/news?page=2"
    )
    server.routes["/news?page=2&api_key=K123"] = listing("Dock safety audit published")
    config = credentialed_config(tmp_path, server)
    refresh(config, ledger, clock)
    assert sorted(entry.entry.title for entry in ledger.entries()) == [
        "Dock safety audit published",
        "Ferry timetable agreed",
        "Harbour wage talks resume",
    ]
    asked = [(path, headers.get("Authorization")) for _, path, headers in server.requests]
    assert asked == [
        ("/news?api_key=K123", AUTHORIZATION),
        ("/news?page=2&api_key=K123", AUTHORIZATION),
    ]
    # relative links are read against the page's public URL: no user name in them
    links = {entry.entry.link for entry in ledger.entries()}
    assert links == {server.url("/n/1"), server.url("/n/2")}
    assert_no_secret_in(everything_published(config, ledger))


def test_items_without_links_of_their_own_link_to_the_page_without_its_credentials(
    tmp_path: Path, server: LocalServer, ledger: Ledger, clock: Clock
) -> None:
    text = write_text([WrittenItem(title="Harbour wage talks resume", date=dt.date(2026, 11, 20))])
    server.routes["/news?api_key=K123"] = Route(
        text.encode(), headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    config = credentialed_config(tmp_path, server)
    refresh(config, ledger, clock)
    assert [entry.entry.link for entry in ledger.entries()] == [server.url("/news")]
    assert_no_secret_in(everything_published(config, ledger))


def test_an_error_naming_the_url_is_recorded_and_shown_without_credentials(
    tmp_path: Path, server: LocalServer, ledger: Ledger, clock: Clock
) -> None:
    server.routes["/news?api_key=K123"] = Route(b"down", 500)
    config = credentialed_config(tmp_path, server)
    refresh(config, ledger, clock)
    state = ledger.state("office")
    assert state.last_error == f"{server.url('/news')}: HTTP 500 Internal Server Error"
    published = everything_published(config, ledger)
    assert "HTTP 500 Internal Server Error" in published["/status.json"]
    assert_no_secret_in(published)
