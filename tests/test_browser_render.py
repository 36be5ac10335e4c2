"""``render = "browser"``: listings filled in by scripts are read as the system's headless
Chromium shows them, within a time limit, with every request of the page held to the fetcher's
address rules, in one browser per process that is started again after a crash. Skipped where
Chromium or Playwright is not installed (``.ci/run`` installs both)."""

from __future__ import annotations

import ipaddress
import json
import os
import select
import shutil
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from feeds.config import BrowserConfig, SourceConfig
from feeds.ledger.store import Ledger
from feeds.refresh.browser import Renderer, process_tree
from feeds.refresh.fetch import Fetcher
from feeds.refresh.network import IPAddress, IPNetwork
from feeds.refresh.outcomes import Status
from feeds.refresh.refresher import Refresher
from sources import ADAPTERS
from tests.http_server import LocalServer, Route, local_server
from tests.listing_writer import write_html
from tests.refresh_kit import Clock, item, make_source, titles
from tests.test_cli_preview import feedpub

CHROMIUM = "/usr/bin/chromium"
pytest.importorskip(
    "playwright.async_api",
    reason="playwright is not installed: pip install 'feedpub[browser]' (the test extra has it)",
)
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason=f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium; "
    ".ci/run does) to run the browser rendering tests",
)

ITEMS = [
    item("Ministers agree on a plan", 20),
    item("Labour day report out", 18),
    item("Dockworkers sign a new agreement", 16),
    item("A week of training for inspectors", 12),
]
LISTING = write_html(ITEMS)
HTML = {"Content-Type": "text/html; charset=utf-8"}


def shell(script: str) -> Route:
    """A page with no items, whose ``script`` fills ``#app`` with them."""
    body = f"<html><body><div id='app'>Loading...</div><script>{script}</script></body></html>"
    return Route(body.encode(), headers=HTML)


#: The listing, written into the page by a script a while after it loaded.
DELAYED = shell(f"setTimeout(() => {{ app.innerHTML = {json.dumps(LISTING)}; }}, 300);")
#: The listing, fetched from a JSON endpoint by the page's script.
FROM_JSON = shell(
    "fetch('/items.json').then(r => r.json()).then(d => { app.innerHTML = d.html; });"
)


def only_itself(address: IPAddress) -> tuple[IPNetwork, ...]:
    """A source on the operator's own network: only its own address is."""
    return (ipaddress.ip_network(address),)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger.open(f"sqlite:///{tmp_path / 'feedpub.db'}")
    yield opened
    opened.close()


@pytest.fixture
def renderer() -> Iterator[Renderer]:
    made = Renderer(BrowserConfig(executable=CHROMIUM, max_pages=2))
    yield made
    made.close()


#: The fetchers the tests made, closed after each.
OPEN_FETCHERS: list[Fetcher] = []


@pytest.fixture(autouse=True)
def _close_fetchers() -> Iterator[None]:
    yield
    while OPEN_FETCHERS:
        OPEN_FETCHERS.pop().close()


def refresher_for(
    ledger: Ledger, renderer: Renderer, *, allow: tuple[IPNetwork, ...] = ()
) -> Refresher:
    """A refresher on the ledger rendering with ``renderer``; a source on 127.0.0.1 reaches
    no other address but ``allow``."""
    fetcher = Fetcher(
        timeout=httpx.Timeout(5.0),
        deadline_seconds=10.0,
        own_networks=only_itself,
        allow_networks=allow,
    )
    OPEN_FETCHERS.append(fetcher)
    return Refresher(
        ledger=ledger, fetcher=fetcher, adapters=ADAPTERS, clock=Clock(), renderer=renderer
    )


def rendered(server: LocalServer, path: str = "/news", **overrides: object) -> SourceConfig:
    return make_source(server, path, render="browser", **overrides)


def test_items_a_script_writes_after_a_delay_are_read_only_when_rendered(
    server: LocalServer, ledger: Ledger, renderer: Renderer
) -> None:
    server.routes["/news"] = DELAYED
    refresher = refresher_for(ledger, renderer)
    fetched = refresher.refresh(make_source(server))
    assert fetched.status is Status.FAILED
    assert titles(ledger) == []
    outcome = refresher.refresh(rendered(server))
    assert outcome.status is Status.UPDATED, outcome.error
    assert titles(ledger) == [written.title for written in ITEMS]
    agents = {headers["User-Agent"] for _method, _path, headers in server.requests}
    assert agents == {refresher.fetcher.client.headers["User-Agent"]}


def test_items_the_page_fetches_from_a_json_endpoint_are_read_when_rendered(
    server: LocalServer, ledger: Ledger, renderer: Renderer
) -> None:
    server.routes["/news"] = FROM_JSON
    server.routes["/items.json"] = Route(
        json.dumps({"html": LISTING}).encode(), headers={"Content-Type": "application/json"}
    )
    refresher = refresher_for(ledger, renderer)
    assert refresher.refresh(make_source(server)).status is Status.FAILED
    outcome = refresher.refresh(rendered(server, wait_for="li h5.item-title"))
    assert outcome.status is Status.UPDATED, outcome.error
    assert titles(ledger) == [written.title for written in ITEMS]
    assert [path for _method, path, _headers in server.requests].count("/items.json") == 1


def test_a_page_that_never_settles_fails_at_its_time_limit_and_its_entries_stay(
    server: LocalServer, ledger: Ledger, renderer: Renderer
) -> None:
    server.routes["/news"] = DELAYED
    server.routes["/poll"] = Route(b"{}", headers={"Content-Type": "application/json"})
    refresher = refresher_for(ledger, renderer)
    source = rendered(server, render_timeout_seconds=2.0)
    assert refresher.refresh(source).status is Status.UPDATED
    server.routes["/news"] = shell("setInterval(() => fetch('/poll?' + Date.now()), 100);")
    outcome = refresher.refresh(source)
    assert outcome.status is Status.FAILED
    assert outcome.error is not None
    assert "did not settle in 2 seconds" in outcome.error
    assert ledger.state(source.id).last_error == outcome.error  # what the status page shows
    assert titles(ledger) == [written.title for written in ITEMS]


def test_a_request_of_the_page_to_another_loopback_address_is_never_made(
    server: LocalServer, ledger: Ledger, renderer: Renderer
) -> None:
    with local_server("127.0.0.2") as other:
        other.routes["/secret"] = Route(b"{}", headers={"Content-Type": "application/json"})
        server.routes["/news"] = shell(
            f"fetch({json.dumps(other.url('/secret'))}).catch(() => null)"
            f".finally(() => {{ app.innerHTML = {json.dumps(LISTING)}; }});"
        )
        outcome = refresher_for(ledger, renderer).refresh(rendered(server))
        assert outcome.status is Status.UPDATED, outcome.error
        assert other.requests == []
        # allowed, the same request is made: the page did ask for it
        allowed = (ipaddress.ip_network("127.0.0.2/32"),)
        second = replace(rendered(server), id="allowed")
        assert refresher_for(ledger, renderer, allow=allowed).refresh(second).status in (
            Status.UPDATED,
        )
        assert [path for _method, path, _headers in other.requests] == ["/secret"]


def test_images_load_only_when_asked_and_other_sites_can_be_refused(
    server: LocalServer, ledger: Ledger, renderer: Renderer
) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    # the same server under another name: another site
    elsewhere = f"http://localhost:{port}/items.json"
    server.routes["/news"] = shell(
        f"fetch({json.dumps(elsewhere)}).then(r => r.json())"
        ".then(d => { app.innerHTML = d.html + '<img src=\"/picture.png\">'; });"
    )
    server.routes["/items.json"] = Route(
        json.dumps({"html": LISTING}).encode(),
        headers={"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
    )
    server.routes["/picture.png"] = Route(b"\x89PNG", headers={"Content-Type": "image/png"})
    refresher = refresher_for(ledger, renderer)

    def asked() -> list[str]:
        paths = [path for _method, path, _headers in server.requests]
        server.requests.clear()
        return paths

    assert refresher.refresh(rendered(server, wait_for="li")).status is Status.UPDATED
    assert asked() == ["/news", "/items.json"]
    with_images = rendered(server, id="images", wait_for="img", render_images=True)
    assert refresher.refresh(with_images).status is Status.UPDATED
    assert sorted(asked()) == ["/items.json", "/news", "/picture.png"]
    same_site = rendered(server, id="same", render_same_site_only=True)
    outcome = refresher.refresh(same_site)
    assert outcome.status is Status.FAILED  # the items are on another site: never asked for
    assert asked() == ["/news"]


def test_one_browser_renders_every_source_and_is_started_again_once_killed(
    server: LocalServer, ledger: Ledger, renderer: Renderer
) -> None:
    server.routes["/news"] = DELAYED
    server.routes["/other"] = FROM_JSON
    server.routes["/items.json"] = Route(
        json.dumps({"html": LISTING}).encode(), headers={"Content-Type": "application/json"}
    )
    refresher = refresher_for(ledger, renderer)
    first, second = rendered(server), rendered(server, "/other", id="second")
    assert refresher.refresh(first).status is Status.UPDATED
    pid = renderer.pid
    assert pid is not None
    assert refresher.refresh(second).status is Status.UPDATED
    assert (renderer.launches, renderer.pid) == (1, pid)
    assert process_tree(pid)

    exited = os.pidfd_open(pid)
    try:
        os.kill(pid, signal.SIGKILL)
        assert select.select([exited], [], [], 30)[0], "the browser did not die"
    finally:
        os.close(exited)
    again = refresher.refresh(replace(first, id="third"))
    assert again.status is Status.UPDATED, again.error
    assert renderer.launches == 2
    assert renderer.pid not in (None, pid)


def test_a_browser_grown_past_its_memory_bound_is_started_again(
    server: LocalServer, ledger: Ledger
) -> None:
    server.routes["/news"] = DELAYED
    small = Renderer(BrowserConfig(executable=CHROMIUM, max_memory_mb=128))
    try:
        refresher = refresher_for(ledger, small)
        assert refresher.refresh(rendered(server)).status is Status.UPDATED
        first = small.launches
        assert small.pid is None  # more than 128 MB once it rendered a page: killed
        assert refresher.refresh(replace(rendered(server), id="again")).status is Status.UPDATED
    finally:
        small.close()
    assert (first, small.launches) == (1, 2)


def test_without_the_browser_a_rendered_source_fails_saying_what_to_install(
    server: LocalServer, ledger: Ledger, tmp_path: Path
) -> None:
    server.routes["/news"] = DELAYED
    missing = Renderer(BrowserConfig(executable=str(tmp_path / "no-chromium")))
    try:
        refresher = refresher_for(ledger, missing)
        outcome = refresher.refresh(rendered(server))
        plain = refresher.refresh(replace(make_source(server), id="plain"))
    finally:
        missing.close()
    assert outcome.status is Status.FAILED
    assert outcome.error is not None
    assert f"no browser at {tmp_path / 'no-chromium'}" in outcome.error
    assert "apt-get install chromium" in outcome.error
    assert plain.status is Status.FAILED  # read as fetched: no items, but tried
    assert "no browser" not in (plain.error or "")


def test_preview_render_browser_shows_the_items_the_script_writes(server: LocalServer) -> None:
    server.routes["/news"] = DELAYED
    plain = feedpub("preview", server.url("/news"))
    assert plain.returncode != 0
    shown = feedpub("preview", server.url("/news"), "--render", "browser")
    assert shown.returncode == 0, shown.stderr
    assert "4 entries" in shown.stdout
    assert "Ministers agree on a plan" in shown.stdout
    suggested = feedpub("preview", server.url("/news"), "--render", "browser", "--suggest")
    assert suggested.returncode == 0, suggested.stderr
    assert "[[sources]]" in suggested.stdout
    assert 'render = "browser"' in suggested.stdout
