"""Pagination for any kind: ``rel=next`` links or a URL template with an offset or a page
number, up to the source's page limit, each item once across pages."""

from __future__ import annotations

import ipaddress
import threading
from pathlib import Path
from types import MappingProxyType

from feeds.ledger.store import Ledger
from feeds.refresh.fetch import Fetcher
from feeds.refresh.network import StoppedError
from feeds.refresh.outcomes import Status
from feeds.refresh.refresher import Refresher
from sources import ADAPTERS
from tests.http_server import LocalServer, Route, local_server
from tests.refresh_kit import Clock, make_source, titles
from tests.test_cli_preview import feedpub

SELECTORS = MappingProxyType({"item": "li", "title": "a", "date": "span"})


def listing(*items: tuple[str, str], next_href: str | None = None) -> Route:
    rows = "".join(
        f"<li><a href='/a/{t.lower().replace(' ', '-')}'>{t}</a> <span>{d}</span></li>"
        for t, d in items
    )
    link = f"<a rel='next' href='{next_href}'>Older</a>" if next_href else ""
    return Route(f"<html><body><ul>{rows}</ul>{link}</body></html>".encode())


def test_rel_next_links_are_followed_up_to_the_page_limit(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    server.routes["/news"] = listing(
        ("Item one", "20 November 2026"), ("Item two", "19 November 2026"), next_href="/news?page=2"
    )
    server.routes["/news?page=2"] = listing(
        ("Item two", "19 November 2026"),
        ("Item three", "18 November 2026"),
        next_href="/news?page=3",
    )
    server.routes["/news?page=3"] = listing(("Item four", "17 November 2026"))
    source = make_source(server, kind="html", selectors=SELECTORS, public_url="", page_limit=2)
    outcome = refresher.refresh(source)
    assert outcome.merge.total == 3
    assert titles(ledger) == ["Item one", "Item two", "Item three"]
    assert [r[1] for r in server.requests] == ["/news", "/news?page=2"]


def test_a_url_template_with_an_offset(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    server.routes["/list/nextRow--0/"] = listing(
        ("Alpha story", "20 November 2026"), ("Beta story", "20 November 2026")
    )
    server.routes["/list/nextRow--2/"] = listing(
        ("Gamma story", "20 November 2026"), ("Delta story", "19 November 2026")
    )
    server.routes["/list/nextRow--4/"] = listing(("Epsilon story", "18 November 2026"))
    source = make_source(
        server, "/list/nextRow--0/", kind="html", selectors=SELECTORS, public_url="", page_limit=3,
        next_page_template=server.url("/list/nextRow--{offset}/"),
    )  # fmt: skip
    refresher.refresh(source)
    assert titles(ledger) == [
        "Alpha story",
        "Beta story",
        "Gamma story",
        "Delta story",
        "Epsilon story",
    ]
    published = [s.entry.published for s in ledger.entries()]
    assert published == sorted(published, reverse=True)  # page order holds across pages
    assert len(set(published)) == 5


def test_a_url_template_with_a_page_number_stops_at_an_empty_page(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    server.routes["/p/1"] = listing(("First page item", "20 November 2026"))
    server.routes["/p/2"] = listing()
    server.routes["/p/3"] = listing(("Never read", "1 November 2026"))
    source = make_source(
        server, "/p/1", kind="html", selectors=SELECTORS, public_url="", page_limit=5,
        next_page_template=server.url("/p/{page}"),
    )  # fmt: skip
    refresher.refresh(source)
    assert titles(ledger) == ["First page item"]
    assert [r[1] for r in server.requests] == ["/p/1", "/p/2"]


def test_preview_reads_a_page_as_a_configured_source(tmp_path: Path, server: LocalServer) -> None:
    server.routes["/news"] = listing(("Configured item", "20 November 2026"))
    config = tmp_path / "feedpub.toml"
    config.write_text(
        "\n".join(
            [
                '[publisher]\nname = "x"',
                '[[sources]]\nid = "union"\ntitle = "Union"',
                f'url = "{server.url("/news")}"\nkind = "html"\ntimezone = "Europe/Berlin"',
                '[sources.selectors]\nitem = "li"\ntitle = "a"\ndate = "span"\n',
            ]
        )
    )
    result = feedpub("preview", "--config", str(config), "--source", "union")
    assert result.returncode == 0, result.stderr
    assert "2026-11-20  Configured item" in result.stdout
    assert "dates read in Europe/Berlin" in result.stdout
    unknown = feedpub("preview", "--config", str(config), "--source", "nope")
    assert unknown.returncode == 1
    assert "no source 'nope'" in unknown.stderr


def atom_page(entries: list[tuple[str, str]], next_href: str | None = None) -> Route:
    link = f'<link rel="next" href="{next_href}"/>' if next_href else ""
    items = "".join(
        f"<entry><id>tag:example.org,2026:{t.replace(' ', '-')}</id><title>{t}</title>"
        f'<link href="https://example.org/{t.replace(" ", "-")}"/><updated>{when}</updated>'
        f"<published>{when}</published><summary>About {t}.</summary></entry>"
        for t, when in entries
    )
    return Route(
        (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<id>tag:example.org,2026:feed</id><title>Feed</title><updated>2026-11-20T10:00:00Z</updated>"
            f"{link}{items}</feed>"
        ).encode(),
        headers={"Content-Type": "application/atom+xml"},
    )


def test_a_paged_feed_keeps_its_own_ids_and_exact_times(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    server.routes["/feed"] = atom_page(
        [("First post", "2026-11-20T10:15:00Z")], next_href=server.url("/feed?page=2")
    )
    server.routes["/feed?page=2"] = atom_page([("Second post", "2026-11-19T08:30:00Z")])
    source = make_source(server, "/feed", kind="feed", public_url="", page_limit=2)
    refresher.refresh(source)
    stored = [(s.entry.id, s.entry.published.isoformat()) for s in ledger.entries()]
    assert stored == [
        ("tag:example.org,2026:First-post", "2026-11-20T10:15:00+00:00"),
        ("tag:example.org,2026:Second-post", "2026-11-19T08:30:00+00:00"),
    ]


def test_a_next_link_to_another_site_is_not_followed(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    with local_server("127.0.0.2") as other:
        other.routes["/older"] = listing(("Item two", "19 November 2026"))
        server.routes["/news"] = listing(
            ("Item one", "20 November 2026"), next_href=other.url("/older")
        )
        source = make_source(server, kind="html", selectors=SELECTORS, public_url="", page_limit=2)
        assert refresher.refresh(source).status == Status.UPDATED
        assert other.requests == []
    assert titles(ledger) == ["Item one"]


def test_next_links_to_another_site_are_followed_when_allowed_within_the_sources_reach(
    server: LocalServer, ledger: Ledger, clock: Clock
) -> None:
    with local_server("127.0.0.2") as other, local_server("127.0.0.3") as third:
        other.routes["/older"] = listing(
            ("Item two", "19 November 2026"), next_href=third.url("/oldest")
        )
        third.routes["/oldest"] = listing(("Item three", "18 November 2026"))
        server.routes["/news"] = listing(
            ("Item one", "20 November 2026"), next_href=other.url("/older")
        )
        source = make_source(server, kind="html", selectors=SELECTORS, public_url="", page_limit=3)
        # the source's own network is its address and 127.0.0.2: 127.0.0.3 is out of reach
        fetcher = Fetcher(
            next_pages_off_site=True,
            own_networks=lambda address: (ipaddress.ip_network(address),),
            allow_networks=(ipaddress.ip_network("127.0.0.2/32"),),
        )
        refresher = Refresher(ledger=ledger, fetcher=fetcher, adapters=ADAPTERS, clock=clock)
        assert refresher.refresh(source).status == Status.UPDATED
        fetcher.close()
        assert [path for _, path, _ in other.requests] == ["/older"]
        assert third.requests == []
    assert titles(ledger) == ["Item one", "Item two"]


def test_stopping_mid_pagination_stores_nothing_and_gives_the_lease_back(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    server.routes["/news"] = listing(("Item one", "20 November 2026"), next_href="/news?page=2")
    server.routes["/news?page=2"] = Route(b"late", header_trickle=0.02, header_bytes=3000)
    source = make_source(server, kind="html", selectors=SELECTORS, public_url="", page_limit=2)
    failures: list[BaseException] = []

    def refresh() -> None:
        try:
            refresher.refresh_if_due(source)
        except BaseException as error:  # handed to the test's thread
            failures.append(error)

    thread = threading.Thread(target=refresh)
    thread.start()
    assert server.arrival("/news?page=2").wait(timeout=30)
    refresher.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert [type(error) for error in failures] == [StoppedError]
    state = ledger.state(source.id)
    assert (state.lease_owner, state.last_fetch_at, state.last_error) == (None, None, None)
    assert ledger.entries() == []
