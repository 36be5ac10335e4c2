"""Cleaning links: one function makes every link and image URL a valid absolute http(s) URL,
percent-encoding what a URL never holds instead of cutting it, and refusing what is no web
link at all."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from feeds.links import web_url

BASE = "https://www.example.org/news/index.htm"


@pytest.mark.parametrize(
    ("href", "url"),
    [
        ("/news/2025 budget", "https://www.example.org/news/2025%20budget"),
        ("  /news/a\tb\n  ", "https://www.example.org/news/ab"),
        ("https://example.org/a\x01b", "https://example.org/a%01b"),
        ("/a\u00a0b\u202ec", "https://www.example.org/a%C2%A0b%E2%80%AEc"),
        ('/a"<>{}|^`\\b', "https://www.example.org/a%22%3C%3E%7B%7D%7C%5E%60%5Cb"),
        ("/100% sure", "https://www.example.org/100%25%20sure"),
        ("/a%20b%C3%A9", "https://www.example.org/a%20b%C3%A9"),  # escapes kept
        ("?q=1 2#a#b", "https://www.example.org/news/index.htm?q=1%202#a%23b"),
        ("/x\ud800y", "https://www.example.org/xy"),
        ("https://bücher.example/été", "https://bücher.example/été"),  # an IRI, as given
        ("http://[::1]:8080/a[1]", "http://[::1]:8080/a%5B1%5D"),
        ("//cdn.example.org/i.png", "https://cdn.example.org/i.png"),
        ("../../../../x", "https://www.example.org/x"),
    ],
)
def test_a_link_is_resolved_and_percent_encoded_never_cut(href: str, url: str) -> None:
    assert web_url(href, BASE) == url
    assert web_url(url) == url  # cleaning a clean link changes nothing


@pytest.mark.parametrize(
    "href",
    [
        "",
        "   ",
        "javascript:alert(1)",
        "JaVa\tScRiPt:alert(1)",
        "data:text/html,<script>",
        "mailto:press@example.org",
        "ftp://example.org/file",
        "http:",
        "https://",
        "https://exa mple.org/",
        "http://[garbage/x",
        "https://example.org:99999/",
        "https://example.org:port/",
        "http://a..b/",
    ],
)
def test_what_is_no_web_link_gives_none(href: str) -> None:
    assert web_url(href) is None


def test_relative_links_need_a_base() -> None:
    assert web_url("/news/a") is None
    assert web_url("https:", BASE) == BASE


@pytest.mark.parametrize(
    "url",
    [
        "https://www.example.org/news/budget-2025",
        "https://WWW.Example.org/a?utm_source=x&b=2&a=1#top",
        "https://www.example.org/fr/actualités/été-2025",
        "https://example.org/search?q=a+b&tag=x%2Fy",
        "https://user:pw@example.org:8443/a;b=c/d,e@f!g$h&i'j(k)l*m+n",
    ],
)
def test_a_valid_url_comes_back_unchanged(url: str) -> None:
    assert web_url(url) == url
    assert web_url(url, BASE) == url


@pytest.mark.parametrize(
    "base",
    [
        BASE,
        "http://Example.ORG:8080/a/b?q=1#f",
        "https://user@example.org",
        "https://bücher.example/a/",
        "https://example.org:99999/",
        "https://ex..org/",
        "ftp://example.org/a",
    ],
)
@pytest.mark.parametrize(
    "href", ["/n/1", "/", "/a/b.htm", "/a/./b", "/a/../b", "/..", "/a:b@c", "/a//b", "/a;p"]
)
def test_a_path_from_the_root_resolves_as_urljoin_resolves_it(base: str, href: str) -> None:
    expected = urljoin(base, href)
    valid = web_url(expected)
    assert web_url(href, base) == valid
    if valid is not None:
        assert valid == expected
