"""In a real browser (Debian's ``chromium``, headless, no DevTools): the index, a topic page,
the widget, and a partner page on another origin embedding the widget by iframe and by script
show the entries; a partner may frame the widget and nothing else. A screenshot of each page is
kept in ``test-artifacts/``. Skipped only where ``chromium`` is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest

from tests.conftest import ROOT
from tests.http_server import LocalServer, Route
from tests.serving import Served

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not on PATH: install Debian's chromium (apt-get install chromium; "
    ".ci/run does) to run the browser tests",
)
ARTIFACTS = ROOT / "test-artifacts"
WIDGET_COUNT = 4
REFUSED_FRAME = "frame-ancestors 'none'"


def open_in_chromium(url: str, name: str, profile: Path) -> tuple[lxml.html.HtmlElement, str]:
    """Open ``url`` headless until the page and its scripts are done (five seconds of virtual
    time), save a screenshot as ``test-artifacts/<name>.png``; return the rendered DOM and
    the browser's log (console messages included)."""
    assert CHROMIUM is not None
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"{name}.png"
    screenshot.unlink(missing_ok=True)
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--window-size=1200,1600",
            "--virtual-time-budget=5000",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={screenshot}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    log = result.stderr.decode(errors="replace")
    assert result.returncode == 0, log
    assert screenshot.stat().st_size > 0, log
    dom: lxml.html.HtmlElement = lxml.html.fromstring(result.stdout)
    return dom, log


def titles(served: Served, topic: str) -> list[str]:
    """The topic's entry titles, newest first, as its JSON feed gives them."""
    return [item["title"] for item in json.loads(served.get(f"/feeds/{topic}.json").body)["items"]]


def text(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def test_the_index_shows_every_topic_and_its_feeds(served: Served, tmp_path: Path) -> None:
    dom, _ = open_in_chromium(served.base + "/", "browser-index", tmp_path)
    headings = [text(h2) for h2 in dom.findall(".//main//h2")]
    assert "NLO Newsroom" in headings
    assert "All NLO news" in headings
    assert len(headings) == 10
    assert dom.find(f".//link[@href='{served.base}/feeds/newsroom.rss']") is not None
    assert dom.find(f".//a[@href='{served.base}/feeds.opml']") is not None


def test_a_topic_page_shows_the_entries(served: Served, tmp_path: Path) -> None:
    dom, _ = open_in_chromium(served.base + "/topics/newsroom", "browser-topic", tmp_path)
    shown = [text(h3) for h3 in dom.findall(".//ol[@class='entries']/li//h3")]
    assert shown == titles(served, "newsroom")
    assert "<iframe" in text(dom.find(".//pre/code"))  # the snippet, as text


@pytest.mark.parametrize("feed_format", ["rss", "atom"])
def test_a_feed_opened_in_the_browser_reads_as_a_page(
    served: Served, tmp_path: Path, feed_format: str
) -> None:
    dom, _ = open_in_chromium(
        f"{served.base}/feeds/newsroom.{feed_format}", f"browser-feed-{feed_format}", tmp_path
    )
    assert "web feed" in text(dom.find(".//main"))  # the stylesheet's subscribe explanation
    shown = [text(h3) for h3 in dom.findall(".//main//li//h3")]
    assert shown == titles(served, "newsroom")


def test_the_widget_shows_the_latest_entries(served: Served, tmp_path: Path) -> None:
    url = f"{served.base}/embed/newsroom?count={WIDGET_COUNT}&theme=dark"
    dom, _ = open_in_chromium(url, "browser-embed", tmp_path)
    shown = [text(a) for a in dom.findall(".//ul[@class='entries']/li/a")]
    assert shown == titles(served, "newsroom")[:WIDGET_COUNT]


def test_a_partner_page_on_another_origin_embeds_by_iframe_and_by_script(
    served: Served, server: LocalServer, tmp_path: Path
) -> None:
    assert server.base_url != served.base  # another port: another origin
    server.routes["/partner.html"] = Route(
        PARTNER_PAGE.format(base=served.base, count=WIDGET_COUNT).encode(),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    dom, log = open_in_chromium(server.url("/partner.html"), "browser-partner", tmp_path)
    by_script = [text(a) for a in dom.findall(".//div[@id='latest']/ul/li/a")]
    assert by_script == titles(served, "newsroom")[:WIDGET_COUNT]
    assert dom.find(".//div[@id='latest']/p/a").get("href") == f"{served.base}/topics/newsroom"
    frames = [frame.get("src") for frame in dom.findall(".//iframe")]
    assert frames == [
        f"{served.base}/embed/newsroom?count={WIDGET_COUNT}",
        f"{served.base}/topics/newsroom",
    ]
    # the widget is framed; the topic page, framed as a control, is refused (and only it)
    refused = [line for line in log.splitlines() if REFUSED_FRAME in line]
    assert len(refused) == 1, log


PARTNER_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>A partner's page</title></head>
<body>
<h1>A partner's page</h1>
<h2>By iframe</h2>
<iframe src="{base}/embed/newsroom?count={count}" title="NLO Newsroom" width="400"
 height="420" style="border:0"></iframe>
<iframe src="{base}/topics/newsroom" title="Not to be framed" width="400" height="80"></iframe>
<h2>By script</h2>
<div id="latest"><a href="{base}/topics/newsroom">NLO Newsroom</a></div>
<script src="{base}/embed/newsroom.js" data-target="latest" data-count="{count}" async></script>
</body>
</html>
"""
