"""Extracting an article's body (``sources.article``): what it keeps, what the sanitiser
removes whatever the page holds, how links are made absolute, and the pages it refuses."""

from __future__ import annotations

import pytest

from feeds.errors import ParseError
from sources.article import extract_article, read_article, sanitise
from tests.article_writer import article_page, story

URL = "https://gazette.example.org/news/2026/harbour"


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        pytest.param(
            '<p onclick="steal()" style="color:red" class="x" id="y">Hi</p>',
            "<p>Hi</p>",
            id="handlers-styles-classes",
        ),
        pytest.param(
            '<a href="https://example.org/a" target="_blank">a</a>',
            '<a href="https://example.org/a" rel="noopener noreferrer">a</a>',
            id="link-rel",
        ),
        pytest.param(
            '<a href="javascript:alert(1)">a</a>',
            '<a rel="noopener noreferrer">a</a>',
            id="javascript-link",
        ),
        pytest.param(
            '<img src="data:image/png;base64,AAAA" alt="x">', '<img alt="x">', id="data-image"
        ),
        pytest.param('<img src="/relative.png">', "<img>", id="relative-image"),
        pytest.param(
            '<a href="ftp://example.org/f">f</a>',
            '<a rel="noopener noreferrer">f</a>',
            id="other-scheme",
        ),
        pytest.param("<p>a<script>alert(1)</script>b</p>", "<p>ab</p>", id="script"),
        pytest.param(
            '<iframe src="https://evil.example/">x</iframe><p>a</p>', "<p>a</p>", id="iframe"
        ),
        pytest.param(
            '<form action="/x"><input name="q"><button>Go</button></form><p>a</p>',
            "<p>a</p>",
            id="form",
        ),
        pytest.param("<style>p{}</style><p>a</p>", "<p>a</p>", id="style-element"),
        pytest.param("<svg><script>alert(1)</script></svg><p>a</p>", "<p>a</p>", id="svg"),
        pytest.param("<p>a<!-- hidden --></p>", "<p>a</p>", id="comment"),
        pytest.param(
            '<object data="x.swf"></object><embed src="x.swf"><p>a</p>', "<p>a</p>", id="plugins"
        ),
    ],
)
def test_the_sanitiser_keeps_only_safe_markup(dirty: str, clean: str) -> None:
    assert sanitise(dirty) == clean


def test_an_article_keeps_headings_paragraphs_lists_tables_and_figures() -> None:
    page = article_page(story(1)).replace(
        "</ul>", "</ul><table><tr><th>Pier</th><th>State</th></tr><tr><td>East</td>"
        "<td>New</td></tr></table>",
    )  # fmt: skip
    body = extract_article(page, url=URL)
    for kept in ("<h2>", "<p>", "<ul>", "<li>", "<table>", "<th>", "<td>", "<figure>",
                 "<figcaption>"):  # fmt: skip
        assert kept in body


def test_links_are_made_absolute_against_the_pages_base() -> None:
    page = article_page(story(1)).replace(
        "<head>", '<head><base href="https://cdn.example.org/site/">'
    )
    body = extract_article(page, url=URL)
    assert 'src="https://cdn.example.org/images/pier.jpg"' in body
    assert 'href="https://cdn.example.org/works/plan.html"' in body


def test_an_image_loaded_late_keeps_its_source() -> None:
    page = article_page(story(1)).replace(
        'src="../images/pier.jpg"', 'data-src="/images/lazy.jpg" src=""'
    )
    assert 'src="https://gazette.example.org/images/lazy.jpg"' in extract_article(page, url=URL)


def test_the_text_of_an_article_is_its_bodys() -> None:
    article = read_article(article_page(story(4)), url=URL)
    assert article.text.startswith("Harbour works, stage 4 The harbour office of Port Elm")


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        pytest.param("", "the page is empty", id="empty"),
        pytest.param("Just some words, no markup at all.", "not an HTML page", id="plain-text"),
        pytest.param(
            "<html><body><nav><a href='/'>Home</a></nav></body></html>",
            "no article found on the page",
            id="no-article",
        ),
    ],
)
def test_a_page_without_an_article_is_refused_naming_it(document: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason) as raised:
        extract_article(document, url=URL)
    assert URL in str(raised.value)


def test_a_selector_that_matches_nothing_is_refused_naming_it() -> None:
    with pytest.raises(ParseError, match=r"full_text_selector 'div\.story' matches nothing"):
        extract_article(article_page(story(1)), url=URL, selector="div.story")


def test_a_selector_takes_the_body_it_names_sanitised() -> None:
    body = extract_article(article_page(story(1)), url=URL, selector="article")
    assert "<article" not in body  # the element itself is not allowed, its content is
    assert "<h1>Harbour works, stage 1</h1>" in body
    assert "<script" not in body
    assert "onerror" not in body
