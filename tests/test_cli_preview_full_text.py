"""``feedpub preview URL --full-text``: what extracting one article page gives, as text or
JSON, and an error naming the page when it gives none."""

from __future__ import annotations

import json

from tests.article_writer import ADVERTISEMENT, CAPTION, article_page, story
from tests.http_server import LocalServer, Route
from tests.test_cli_preview import feedpub

HTML = {"Content-Type": "text/html; charset=utf-8"}


def test_preview_full_text_prints_the_sanitised_body(server: LocalServer) -> None:
    server.routes["/news/2026/stage-2"] = Route(article_page(story(2)).encode(), headers=HTML)
    url = server.url("/news/2026/stage-2")
    result = feedpub("preview", "--full-text", url)
    assert result.returncode == 0, result.stderr
    first, _blank, *body = result.stdout.splitlines()
    assert first.startswith(f"{url}: ")
    assert first.endswith(" words of text, as served:")
    shown = "\n".join(body)
    assert "<h1>Harbour works, stage 2</h1>" in shown
    assert f"<figcaption>{CAPTION}</figcaption>" in shown
    assert f'src="{server.url("/news/images/pier.jpg")}"' in shown
    assert ADVERTISEMENT not in shown
    assert "onerror" not in shown


def test_preview_full_text_as_json_with_a_selector(server: LocalServer) -> None:
    server.routes["/a"] = Route(article_page(story(3)).encode(), headers=HTML)
    result = feedpub(
        "preview", "--full-text", "--full-text-selector", "aside, article", "--format", "json",
        server.url("/a"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["url"] == server.url("/a")
    assert ADVERTISEMENT in record["text"]  # the selector asked for the advertisement too
    assert "finished stage 3" in record["text"]


def test_preview_full_text_of_a_page_without_an_article_fails_naming_it(
    server: LocalServer,
) -> None:
    server.routes["/empty"] = Route(b"<html><body><nav>Home</nav></body></html>", headers=HTML)
    result = feedpub("preview", "--full-text", server.url("/empty"))
    assert result.returncode == 1
    assert f"{server.url('/empty')}: no article found on the page" in result.stderr
