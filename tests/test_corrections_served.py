"""Corrections as subscribers see them: a listing on the local server whose newsroom fixes
titles and dates between refreshes (a typo, a hyphen, one word, a date a day off, a title and
summary together), refreshed into a real ledger, served, and read by two real readers (the
``reader`` library, which keeps what it has seen, and feedparser): every story is seen once,
its id never changes, its ``updated`` moves, and the old title never comes back. Near-miss
listings, whose different stories merely look alike, keep them apart. For the ILO text and
HTML forms and the ``html`` kind, with item links and without."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import feedparser
import pytest
from reader import Reader, make_reader

from feeds.config import Config, SourceConfig, parse_config
from feeds.ledger.store import Ledger
from feeds.refresh.refresher import Refresher
from server import create_app
from tests.http_server import LocalServer, Route
from tests.listing_writer import WrittenItem, write_html, write_text
from tests.refresh_kit import Clock, make_refresher

CONFIG = """
[publisher]
name = "Corrections"
base_url = "https://feeds.example.org"
[[topics]]
id = "all"
title = "All"
limit = 100
"""
FEED_PATH = "/feed.atom"


@dataclass(frozen=True, slots=True)
class Story:
    """A story as the listing shows it at one refresh."""

    key: str  # the test's own name for the story, never shown
    title: str
    day: int
    summary: str = ""


def written(stories: list[Story], *, links: bool) -> list[WrittenItem]:
    return [
        WrittenItem(
            title=story.title,
            date=dt.date(2026, 11, story.day),
            summary=story.summary,
            # a link of its own, stable while the newsroom fixes the title
            link=f"/news/{story.key}" if links else None,
        )
        for story in stories
    ]


def write_cards(items: list[WrittenItem]) -> str:
    cards = "".join(
        "<article class='card'>"
        + (
            f"<h3><a href='{item.link}'>{html.escape(item.title)}</a></h3>"
            if item.link
            else f"<h3>{html.escape(item.title)}</h3>"
        )
        + f"<time datetime='{item.date.isoformat() if item.date else ''}'></time>"
        + f"<p class='summary'>{html.escape(item.summary)}</p></article>"
        for item in items
    )
    return f"<html><body><main>{cards}</main></body></html>"


FORMS: dict[str, tuple[str, str, Callable[[list[WrittenItem]], str], str]] = {
    # name: (kind, selectors, page writer, content type)
    "ilo-text": ("ilo", "", write_text, "text/plain"),
    "ilo-html": ("ilo", "", write_html, "text/html"),
    "html-kind": (
        "html",
        '[sources.selectors]\nitem = "article.card"\ntitle = "h3"\nlink = "h3 a@href"\n'
        'date = "time@datetime"\nsummary = "p.summary"\n',
        write_cards,
        "text/html",
    ),
}
CASES = [
    pytest.param((form, links), id=f"{form}-{'links' if links else 'no-links'}")
    for form in FORMS
    for links in (True, False)
    if not (form == "ilo-text" and links)  # a text rendition has no links
]


@dataclass
class Newsroom:
    """One listing on the local server, its source refreshed into a ledger, its feed served
    at ``FEED_PATH`` on the same server (rendered by the app) for the readers to poll."""

    server: LocalServer
    config: Config
    source: SourceConfig
    refresher: Refresher
    clock: Clock
    form: str
    links: bool
    reader: Reader

    def publish(self, stories: list[Story]) -> None:
        """The newsroom's page shows these stories now; refresh, serve, let readers poll."""
        _kind, _selectors, write, content_type = FORMS[self.form]
        body = write(written(stories, links=self.links)).encode()
        self.server.routes["/news"] = Route(
            body, headers={"Content-Type": f"{content_type}; charset=utf-8"}
        )
        self.clock.advance(hours=1)
        outcome = self.refresher.refresh(self.source)
        assert not outcome.failed, outcome.error
        app = create_app(self.config, ledger=self.refresher.ledger)
        atom = app.test_client().get("/feeds/all.atom").get_data()
        self.server.routes[FEED_PATH] = Route(
            atom, headers={"Content-Type": "application/atom+xml"}
        )
        self.reader.update_feeds(scheduled=False)  # now, not on its hourly schedule

    def served(self, fmt: str) -> bytes:
        app = create_app(self.config, ledger=self.refresher.ledger)
        return app.test_client().get(f"/feeds/all.{fmt}").get_data()


@pytest.fixture(params=CASES)
def newsroom(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    server: LocalServer,
    ledger: Ledger,
    clock: Clock,
) -> Iterator[Newsroom]:
    form, links = request.param
    kind, selectors, _write, _type = FORMS[form]
    text = CONFIG + (
        f'[[sources]]\nid = "office"\ntitle = "Office"\nurl = "{server.url("/news")}"\n'
        f'kind = "{kind}"\ntimezone = "UTC"\n{selectors}'
    )
    config = parse_config(
        text, tmp_path / "feedpub.toml", adapter_kinds={"ilo", "html"}, environ={}
    )
    refresher = make_refresher(ledger, clock)
    with make_reader(str(tmp_path / "reader.sqlite")) as feed_reader:
        feed_reader.add_feed(server.url(FEED_PATH))
        yield Newsroom(
            server, config, config.sources[0], refresher, clock, form, links, feed_reader
        )
    refresher.fetcher.close()


FIRST = [
    Story("talks", "Harbour wage talks resume", 20, "Talks resume on Monday."),
    Story("agreement", "Goverment signs decent work agreement", 19, "Signed in Geneva."),
    Story("guide", "Well being at work: a new guide", 18, "A guide for employers."),
    Story("centre", "Minister opens new training centre in Lusaka", 17, "For 200 trainees."),
    Story("safety", "Safety week on the docks", 15, "Five days of drills."),
]


def corrected(stories: list[Story], key: str, **change: object) -> list[Story]:
    return [replace(s, **change) if s.key == key else s for s in stories]  # type: ignore[arg-type]  # Story fields


def history() -> list[list[Story]]:
    """A month of the listing's pages: corrections, and new stories pushing old ones off."""
    pages = [FIRST]
    fix = pages[-1]
    fix = corrected(fix, "agreement", title="Government signs decent work agreement")
    pages.append(fix)  # a typo
    fix = corrected(fix, "guide", title="Well-being at work: a new guide")
    pages.append([Story("ferry", "Ferry timetable agreed", 21, "New times from December."), *fix])
    fix = pages[-1]
    fix = corrected(fix, "centre", title="Minister inaugurates new training centre in Lusaka")
    pages.append(fix)  # one word
    fix = corrected(fix, "safety", day=16)
    pages.append(fix)  # the date, a day off
    fix = corrected(
        fix, "talks", title="Harbour wage talks resume today", summary="Talks resumed on Monday."
    )
    pages.append(fix)  # title and summary together
    return pages


def test_every_story_is_seen_once_with_one_id_and_its_updated_moved(newsroom: Newsroom) -> None:
    ids_by_story: dict[str, set[str]] = {}
    for page in history():
        newsroom.publish(page)
        by_title = {stored.entry.title: stored for stored in newsroom.refresher.ledger.entries()}
        for story in page:
            stored = by_title[story.title]  # the page's current title is what is stored
            ids_by_story.setdefault(story.key, set()).add(stored.entry.id)
            assert stored.entry.date == dt.date(2026, 11, story.day)
    assert all(len(ids) == 1 for ids in ids_by_story.values()), ids_by_story
    stories = {next(iter(ids)): key for key, ids in ids_by_story.items()}
    by_id = {s.entry.id: s for s in newsroom.refresher.ledger.entries()}
    assert set(by_id) == set(stories)  # nothing else: no duplicate, no old title
    one = {key: by_id[next(iter(ids))] for key, ids in ids_by_story.items()}
    for key in ("agreement", "guide", "centre", "safety", "talks"):
        assert one[key].updated > one[key].first_seen, key  # moved when it was corrected
    assert one["ferry"].updated == one["ferry"].entry.published  # never corrected
    # the reader library kept one entry per story, holding the corrected title
    seen = list(newsroom.reader.get_entries())
    assert sorted(entry.id for entry in seen) == sorted(stories)
    final = {story.key: story.title for story in history()[-1]}
    assert sorted(entry.title or "" for entry in seen) == sorted(final.values())
    # and each format of the feed carries the same ids, once
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(newsroom.served(fmt))
        assert not parsed.bozo, (fmt, parsed.get("bozo_exception"))
        assert sorted(e.id for e in parsed.entries) == sorted(stories), fmt
    items = json.loads(newsroom.served("json"))["items"]
    assert sorted(item["id"] for item in items) == sorted(stories)


NEAR_MISSES = [
    Story("brief-12", "Weekly brief No. 12", 13, "This week in the port."),
    Story("kenya", "ILO welcomes ratification of Convention 190 by Kenya", 12, "Nairobi."),
    Story("ghana", "ILO welcomes ratification of Convention 190 by Ghana", 12, "Accra."),
    Story("drill", "Safety week on the docks", 10, "Five days of drills."),
]


def test_different_stories_that_look_alike_stay_apart(newsroom: Newsroom) -> None:
    newsroom.publish(NEAR_MISSES)
    # next week's brief arrives at the top while last week's leaves; a second ratification
    # of the same day replaces the Kenyan one at the bottom of the page, and next year's
    # safety week arrives while this year's leaves
    newsroom.publish(
        [
            Story("brief-13", "Weekly brief No. 13", 20, "This week in the port."),
            Story("drill-next", "Safety week on the docks", 19, "Five days of drills."),
            NEAR_MISSES[2],
            Story("zambia", "ILO welcomes ratification of Convention 190 by Zambia", 12, "Lusaka."),
        ]
    )
    titles = sorted(stored.entry.title for stored in newsroom.refresher.ledger.entries())
    assert titles == sorted(
        [
            "Weekly brief No. 12",
            "Weekly brief No. 13",
            "ILO welcomes ratification of Convention 190 by Kenya",
            "ILO welcomes ratification of Convention 190 by Ghana",
            "ILO welcomes ratification of Convention 190 by Zambia",
            "Safety week on the docks",
            "Safety week on the docks",
        ]
    )
    assert len(list(newsroom.reader.get_entries())) == 7
