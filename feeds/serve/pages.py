"""The pages for people and partners: the index, topic pages, the embeddable widget and its
script, the OPML list, the status page, error pages, and the XSL that shows feeds as a page.

Pure functions from what the pages show (``feeds.serve.overview``) to text, through Jinja2 templates
(``feeds/templates``, autoescaped: a title holding markup is shown as text). Knows no Flask.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import format_datetime
from enum import StrEnum
from importlib import resources
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from feeds.model import StoredEntry
from feeds.serve.filters import MAX_PATTERN_CHARACTERS
from feeds.serve.overview import (
    MAX_EMBED_COUNT,
    HubStatus,
    SourceHealth,
    TopicOverview,
    rfc3339,
)
from feeds.serve.query import whole_number
from feeds.serve.render import xml_text
from feeds.serve.representation import FeedFormat

#: How many entries a widget shows unless asked for another count.
DEFAULT_EMBED_COUNT = 5
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
#: What each feed format is called on the pages, in the order they are offered.
FORMAT_NAMES = {FeedFormat.RSS: "RSS", FeedFormat.ATOM: "Atom", FeedFormat.JSON: "JSON Feed"}


def _static(name: str) -> str:
    return (resources.files("feeds.serve") / "static" / name).read_text(encoding="utf-8")


#: The pages' one stylesheet, inlined in each page (no request of its own) and allowed by hash.
STYLE = _static("pages.css")
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
#: The XSL stylesheet browsers show RSS and Atom feeds with.
FEED_STYLESHEET = _static("feed.xsl").encode()


def content_security_policy(*, frame_ancestors: str) -> str:
    """The pages' policy: nothing loads but the inline stylesheet and entries' images (from
    the web, sent no referrer); no script runs at all; a form (the topic page's filter) goes
    to this site only."""
    return (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src https: http:; "
        "base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {frame_ancestors}"
    )


def security_headers(path: str) -> dict[str, str]:
    """Every page's framing and sniffing headers: ``/embed/*`` may be framed anywhere, nothing
    else anywhere; no page runs a script."""
    embedded = path.startswith("/embed/")
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": content_security_policy(
            frame_ancestors="*" if embedded else "'none'"
        ),
    }
    if not embedded:
        headers["X-Frame-Options"] = "DENY"
    return headers


class Theme(StrEnum):
    """The widget's colours."""

    LIGHT = "light"
    DARK = "dark"


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbedOptions:
    """What a partner asked the widget for: how many entries, in which colours."""

    count: int = DEFAULT_EMBED_COUNT
    theme: Theme = Theme.LIGHT

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> EmbedOptions:
        """Options from a query string's values; ``ValueError`` saying what is wrong."""
        count = whole_number(
            "count", query.get("count", str(DEFAULT_EMBED_COUNT)), 1, MAX_EMBED_COUNT
        )
        theme_text = query.get("theme", Theme.LIGHT.value)
        if theme_text not in Theme.__members__.values():
            raise ValueError(f"theme must be one of: {', '.join(Theme)}")
        return cls(count=count, theme=Theme(theme_text))


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """Who publishes the pages and where they are served.

    Attributes:
        name: The publisher's name.
        language: The pages' language.
        base: The URL the app is served at (``https://feeds.example.org``), without a slash.
        source_languages: Each source's language, for entries in another one than the pages.
    """

    name: str
    language: str
    base: str
    source_languages: Mapping[str, str]

    def feed(self, topic_id: str, feed_format: FeedFormat, query: str = "") -> str:
        """A topic's feed; ``query``, a filter's canonical query string, filters it."""
        return f"{self.base}/feeds/{topic_id}.{feed_format}{'?' if query else ''}{query}"

    def topic(self, topic_id: str) -> str:
        return f"{self.base}/topics/{topic_id}"

    def embed(self, topic_id: str, **query: object) -> str:
        suffix = f"?{urlencode(query)}" if query else ""
        return f"{self.base}/embed/{topic_id}{suffix}"

    def embed_script(self, topic_id: str) -> str:
        return f"{self.base}/embed/{topic_id}.js"

    def page(self, path: str) -> str:
        """Any other page of the app, by its path (``/status``)."""
        return f"{self.base}{path}"


def link_target(url: str) -> str:
    """The URL if it is one a page may link to (http or https), else empty."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


def entry_day(value: object) -> str:
    """A calendar day for people: ``22 November 2026``."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raise TypeError(f"not a date: {value!r}")
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def utc_time(value: dt.datetime | None) -> str:
    """An instant for people, in UTC: ``22 November 2026, 09:00 UTC``; ``never`` for none."""
    return "never" if value is None else f"{entry_day(value)}, {value:%H:%M} UTC"


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("feeds.serve", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        day=entry_day,
        utc=utc_time,
        epoch_utc=lambda seconds: utc_time(dt.datetime.fromtimestamp(seconds, dt.UTC)),
        rfc3339=rfc3339,
        rfc822=lambda value: format_datetime(value, usegmt=True),
        link_target=link_target,
        xml_text=xml_text,
    )
    environment.globals.update(
        formats=FORMAT_NAMES,
        style=Markup(STYLE),  # noqa: S704  (our own stylesheet, shipped with the package)
    )
    return environment


_ENVIRONMENT = _environment()


def _render(template: str, **context: object) -> str:
    return _ENVIRONMENT.get_template(template).render(**context)


def index_page(site: Site, topics: Sequence[TopicOverview]) -> str:
    """``/``: every topic with its feeds, autodiscovery links, the OPML list."""
    return _render("index.html", site=site, topics=topics)


def topic_page(site: Site, overview: TopicOverview) -> str:
    """``/topics/<topic>``: the topic's entries, its feeds, and snippets to embed it."""
    topic_id = overview.topic.id
    # markup for the partner's page: escaped here, and escaped again when shown as text
    iframe = (
        f'<iframe src="{escape(site.embed(topic_id))}" title="{escape(overview.topic.title)}" '
        'width="360" height="420" style="border:0" loading="lazy"></iframe>'
    )
    script = (
        f'<div id="feedpub-{topic_id}"></div>\n'
        f'<script src="{escape(site.embed_script(topic_id))}" data-target="feedpub-{topic_id}" '
        f'data-count="{DEFAULT_EMBED_COUNT}" async></script>'
    )
    return _render(
        "topic.html",
        site=site,
        overview=overview,
        snippets={"iframe": iframe, "script": script},
        max_pattern=MAX_PATTERN_CHARACTERS,
        ages={"a day": 86_400, "a week": 7 * 86_400, "30 days": 30 * 86_400},
        default_count=DEFAULT_EMBED_COUNT,
        max_count=MAX_EMBED_COUNT,
    )


def embed_page(
    site: Site,
    overview: TopicOverview,
    options: EmbedOptions,
    filtered: tuple[Sequence[StoredEntry], str] | None = None,
) -> str:
    """``/embed/<topic>``: the widget partners frame: the latest entries, nothing else; or
    those of a filter (``filtered``: its entries, and its query, which its links keep)."""
    entries, query = filtered or (overview.latest[: options.count], "")
    return _render(
        "embed.html",
        site=site,
        overview=overview,
        entries=entries,
        options=options,
        feed_query=query,
    )


def embed_script(site: Site, topic_id: str, query: str = "") -> str:
    """``/embed/<topic>.js``: renders the topic's latest entries into a partner's element,
    from the JSON feed (filtered by ``query``, a filter's canonical query string)."""
    return _render(
        "embed.js",
        feed_url=site.feed(topic_id, FeedFormat.JSON, query),
        topic_url=site.topic(topic_id),
        default_count=DEFAULT_EMBED_COUNT,
        max_count=MAX_EMBED_COUNT,
    )


def opml(site: Site, topics: Sequence[TopicOverview]) -> str:
    """``/feeds.opml``: every topic's feed as OPML 2.0, to import into a feed reader."""
    updated = [t.updated for t in topics if t.updated is not None]
    return _render("feeds.opml", site=site, topics=topics, updated=max(updated, default=None))


def status_page(site: Site, sources: Sequence[SourceHealth], hub: HubStatus | None = None) -> str:
    """``/status``: how refreshing each source goes (and the hub's subscribers)."""
    return _render("status.html", site=site, sources=sources, hub=hub)


def status_json(sources: Sequence[SourceHealth], hub: HubStatus | None = None) -> str:
    """``/status.json``: the same, for programs."""
    document: dict[str, object] = {
        "healthy": all(s.healthy for s in sources),
        "sources": [s.record() for s in sources],
    }
    if hub is not None:
        document["websub"] = hub.record
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def error_page(site: Site, status: int, title: str, message: str) -> str:
    """A page saying what went wrong (a 404 for an unknown topic, a 400 for bad options)."""
    return _render("error.html", site=site, status=status, title=title, message=message)
