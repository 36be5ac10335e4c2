"""Writes article pages for the full-text tests: a story's body among what surrounds one on
a news site (navigation, an advertisement, comments, a script, a figure, an image whose
``onerror`` runs a script, relative links), all invented."""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Story:
    """An article: its title and paragraphs (plain text)."""

    title: str
    paragraphs: tuple[str, ...]


#: What surrounds the body on every page, none of which is the article.
NAVIGATION = "Front page"
ADVERTISEMENT = "Zephyr kettles, half price this week only"
COMMENT = "Great news, says a reader called Bob"
CAPTION = "The rebuilt east pier at dawn"


def story(number: int, title: str | None = None) -> Story:
    """An invented story, ``number`` telling it from the others."""
    return Story(
        title=title or f"Harbour works, stage {number}",
        paragraphs=(
            f"The harbour office of Port Elm finished stage {number} of the works on Tuesday, "
            "three weeks after the autumn storm tore away two of the old wooden piers.",
            "Fishing boats were the first to come back in, followed by the morning ferry "
            "from the islands, which had been landing its passengers at the beach.",
            "Engineers said the new piers stand on concrete piles driven twelve metres into "
            "the sea bed, and should outlast the timber ones by half a century.",
        ),
    )


def article_page(item: Story) -> str:
    """The page of ``item``, on a site with the usual clutter around its body."""
    first, second, third = (html.escape(p) for p in item.paragraphs)
    title = html.escape(item.title)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Port Elm Gazette</title>
<style>body {{ font-family: serif }}</style>
<script>window.tracker = {{ id: 42 }};</script></head>
<body>
<header><nav><a href="/">{NAVIGATION}</a> <a href="/sport/">Sport</a>
<a href="/weather/">Weather</a> <a href="/about/">About the Gazette</a></nav></header>
<aside class="advert"><a href="https://ads.example.net/click?id=7">{ADVERTISEMENT}</a></aside>
<main><article>
<h1>{title}</h1>
<p>{first}</p>
<figure><img src="../images/pier.jpg" alt="The east pier"><figcaption>{CAPTION}</figcaption>
</figure>
<h2>What was built</h2>
<p>{second} <a href="../works/plan.html">The plan</a> is public.
<a href="javascript:alert('stolen')">Read more</a></p>
<script>document.write("<p>injected</p>")</script>
<ul><li>East pier: rebuilt in concrete</li><li>West pier: repaired</li></ul>
<p>{third} <img src="/spacer.gif" onerror="alert('xss')" alt=""></p>
</article></main>
<section class="comments"><h3>Comments</h3><p>{COMMENT}.</p><p>Me too, from Alice.</p>
<form action="/comment" method="post"><textarea name="c"></textarea>
<button>Send</button></form></section>
<footer><p>Port Elm Gazette, 1 Quay Street. All rights reserved.</p></footer>
</body></html>
"""
