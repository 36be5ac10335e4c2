"""The feed adapter: golden pairs in ``tests/data/feed/`` (an RSS, Atom or RDF feed as
``<case>.xml``, a JSON Feed as ``<case>.jsonfeed``, beside the entries it must give as
``<case>.json``), the ids and dates it keeps, the entity tricks it refuses, and documents that
are not feeds.

Ids and instants are pinned in the JSON so that a change to identity or dates shows up here;
``pytest --update-golden`` rewrites them after a deliberate change (review the diff).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.errors import ParseError
from feeds.identity import NAMESPACE, entry_id, listing_key
from feeds.model import UTC, ParseResult, entry_record
from sources import ADAPTERS, feed
from tests.conftest import DATA, FIXED_NOW, make_context

FEEDS = DATA / "feed"
INPUT_SUFFIXES = (".xml", ".jsonfeed")
CASES = sorted(path.stem for path in FEEDS.glob("*.json"))
CONTENT_FIELDS = (
    "source_id", "title", "link", "date", "labels", "credit", "summary", "group", "image",
)  # fmt: skip


def _input(case: str) -> Path:
    paths = [FEEDS / f"{case}{suffix}" for suffix in INPUT_SUFFIXES]
    return next(path for path in paths if path.is_file())


def _load(case: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FEEDS / f"{case}.json").read_text("utf-8"))
    return data


def _parse_case(case: str) -> tuple[dict[str, Any], ParseResult]:
    expected = _load(case)
    result = feed.parse_feed(_input(case).read_text("utf-8"), make_context(**expected["context"]))
    return expected, result


def _rss(*items: str, channel: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>T</title>'
        f"<link>https://example.org/</link>{channel}{''.join(items)}</channel></rss>"
    )


def _parse(document: str, page_url: str = "https://example.org/feed.rss") -> ParseResult:
    return feed.parse_feed(document, make_context(page_url=page_url))


# Golden pairs


def test_there_is_a_golden_pair_for_every_case() -> None:
    assert len(CASES) >= 7
    for case in CASES:
        assert any((FEEDS / f"{case}{suffix}").is_file() for suffix in INPUT_SUFFIXES), case
    inputs = {path.stem for path in FEEDS.iterdir() if path.suffix in INPUT_SUFFIXES}
    assert inputs == set(CASES), "an input without its expected entries"


@pytest.mark.parametrize("case", CASES)
def test_golden_pair(case: str, request: pytest.FixtureRequest) -> None:
    expected, result = _parse_case(case)
    got = [entry_record(entry) for entry in result.entries]
    want = expected["entries"]
    assert [{k: e[k] for k in CONTENT_FIELDS} for e in got] == [
        {k: e[k] for k in CONTENT_FIELDS} for e in want
    ]
    assert sorted({d.code for d in result.diagnostics}) == expected["diagnostics"]
    assert result.next_page == expected["next_page"]
    assert result.is_listing == bool(want)

    if request.config.getoption("--update-golden"):
        for record, pinned in zip(got, want, strict=True):
            pinned["id"], pinned["published"] = record["id"], record["published"]
        path = FEEDS / f"{case}.json"
        path.write_text(json.dumps(expected, ensure_ascii=False, indent=2) + "\n", "utf-8")
        return
    assert all("id" in e for e in want), "ids not pinned yet: run pytest --update-golden"
    assert [(e["id"], e["published"]) for e in got] == [(e["id"], e["published"]) for e in want]


def test_golden_ids_are_unique_within_each_feed() -> None:
    for case in CASES:
        ids = [e.get("id") for e in _load(case)["entries"]]
        assert len(set(ids)) == len(ids), case


# Ids


def test_an_iri_id_is_kept_as_it_is() -> None:
    _, result = _parse_case("atom-tag-ids-xml-base")
    assert [e.id for e in result.entries] == [
        "tag:eastvale.example.net,2026:story-311",
        "tag:eastvale.example.net,2026:story-310",
        "tag:eastvale.example.net,2026:minutes-02",  # surrounding whitespace stripped
    ]
    _, result = _parse_case("rss2-guids-categories")
    assert result.entries[0].id == "https://www.northfield.example.org/news/winter-apprenticeships"


def test_an_id_that_is_not_an_iri_becomes_a_uuid_scoped_by_the_listing() -> None:
    item = "<item><title>A</title><guid isPermaLink='false'>12345</guid></item>"
    first = _parse(_rss(item), "https://www.example.org/feed.rss").entries[0].id
    recipe = uuid.uuid5(NAMESPACE, "native\nexample.org/feed.rss\n12345")
    assert (
        first
        == f"urn:uuid:{recipe}"
        == entry_id("example.org/feed.rss", "", None, native_id="12345")
    )
    # Neither host variant, scheme nor title changes it; another listing does.
    renamed = _rss(item.replace("<title>A</title>", "<title>B</title>"))
    assert _parse(renamed, "http://example.org/feed.rss").entries[0].id == first
    assert _parse(_rss(item), "https://example.org/other.rss").entries[0].id != first


def test_an_item_without_id_is_identified_by_its_link_else_by_title_and_date() -> None:
    linked = "<item><title>A</title><link>/news/a?utm_source=rss</link></item>"
    bare = "<item><title>B</title><pubDate>Wed, 04 Mar 2026 10:00:00 GMT</pubDate></item>"
    entries = _parse(_rss(linked, bare)).entries
    assert entries[0].id == entry_id("", "", None, link="https://example.org/news/a")
    assert entries[1].id == entry_id(listing_key("https://example.org/feed.rss"), "B", DAY)


def test_a_repeated_id_is_published_once() -> None:
    item = "<item><title>{}</title><guid>tag:example.org,2026:1</guid></item>"
    result = _parse(_rss(item.format("First"), item.format("Second")))
    assert [e.title for e in result.entries] == ["First"]
    assert [(d.code, d.item) for d in result.diagnostics if d.code == "duplicate-item"] == [
        ("duplicate-item", 2)
    ]
    assert result.items_on_page == 2


# Dates

DAY = dt.date(2026, 3, 4)


def test_the_listing_day_is_the_published_day_in_the_source_zone() -> None:
    _, result = _parse_case("offset-dates")
    morning = result.entries[0]  # Thu, 05 Mar 2026 07:30:00 +0900, read in Asia/Tokyo
    assert morning.published == dt.datetime(2026, 3, 4, 22, 30, tzinfo=UTC)
    assert morning.date == dt.date(2026, 3, 5) != morning.published.date()
    liaison = result.entries[1]  # Wed, 04 Mar 2026 21:00:00 -0500: the 5th in Tokyo
    assert liaison.date == dt.date(2026, 3, 5)


def test_updated_stands_in_for_a_missing_published_date() -> None:
    _, result = _parse_case("atom-tag-ids-xml-base")
    assert result.entries[1].published == dt.datetime(2026, 3, 4, 10, tzinfo=UTC)


def test_undated_items_are_published_when_first_seen_in_feed_order() -> None:
    items = [f"<item><title>Item {n}</title><guid>tag:x,2026:{n}</guid></item>" for n in (1, 2)]
    result = _parse(_rss(*items))
    assert [e.published for e in result.entries] == [FIXED_NOW, FIXED_NOW - dt.timedelta(seconds=1)]
    assert all(e.date is None for e in result.entries)
    assert {d.code for d in result.diagnostics} == {"undated-item"}


def test_a_bare_day_is_the_start_of_that_day_in_the_source_zone() -> None:
    _, result = _parse_case("rss1-rdf")  # dc:date 2026-03-02, read in Europe/London
    assert result.entries[1].date == dt.date(2026, 3, 2)
    assert result.entries[1].published == dt.datetime(2026, 3, 2, tzinfo=UTC)


def test_an_unreadable_date_is_reported() -> None:
    item = "<item><title>A</title><pubDate>the day after tomorrow</pubDate></item>"
    result = _parse(_rss(item))
    assert result.entries[0].date is None
    assert [d.code for d in result.diagnostics] == ["unreadable-date"]


# Fields


def test_the_text_is_read_as_decoded_whatever_the_xml_declaration_says() -> None:
    for encoding in ("ISO-8859-1", "UTF-16", "no-such-encoding"):
        document = _rss("<item><title>Café – über ✓</title></item>").replace("utf-8", encoding)
        assert [e.title for e in _parse(document).entries] == ["Café – über ✓"]


def test_odd_values_are_read_as_absent() -> None:
    item = {
        "title": "Odd",
        "url": "http://[::1/broken",
        "date_published": "9999-12-31T23:59:59-05:00",
        "tags": "not a list",
        "image": 42,
    }
    document = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [item]})
    result = _parse(document)
    entry = result.entries[0]
    assert (entry.link, entry.date, entry.labels, entry.image) == (
        "https://example.org/feed.rss", None, (), None,
    )  # fmt: skip
    assert [d.code for d in result.diagnostics] == ["unreadable-date"]


def test_links_are_absolute_http_urls_else_the_page() -> None:
    items = [
        "<item><title>Relative</title><link>../news/a</link></item>",
        "<item><title>Script</title><link>javascript:alert(1)</link></item>",
        "<item><title>Mail</title><link>mailto:press@example.org</link></item>",
    ]
    entries = _parse(_rss(*items), "https://example.org/feeds/all.rss").entries
    assert [e.link for e in entries] == [
        "https://example.org/news/a",
        "https://example.org/feeds/all.rss",
        "https://example.org/feeds/all.rss",
    ]


def test_an_untitled_item_without_a_summary_is_skipped() -> None:
    result = _parse(_rss("<item><link>https://example.org/a</link></item>"))
    assert result.entries == ()
    assert sorted(d.code for d in result.diagnostics) == ["not-a-listing", "skipped-item"]


def test_a_feed_without_items_is_not_a_listing() -> None:
    _, result = _parse_case("empty-channel")
    assert not result.is_listing
    json_feed = '{"version": "https://jsonfeed.org/version/1", "title": "T", "items": []}'
    assert not _parse(json_feed).is_listing


def test_a_malformed_feed_is_read_leniently_and_said_to_be() -> None:
    document = _rss("<item><title>Broken &amp amp</title><guid>tag:x,1:1</guid></item>")
    result = _parse(document.replace("</channel>", ""))
    assert [e.title for e in result.entries] == ["Broken & amp"]
    assert "malformed-feed" in {d.code for d in result.diagnostics}


# Entity tricks

_LAUGHS = "".join(
    f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">\n' for n in range(1, 10)
).replace("&lol0;", "lol")
BILLION_LAUGHS = (
    f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n{_LAUGHS}]>\n'
    '<rss version="2.0"><channel><title>T</title><item><title>&lol9;</title></item></channel></rss>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
    '<rss version="2.0"><channel><title>T</title><item><title>&xxe;</title>'
    "<description>&xxe;</description></item></channel></rss>"
)


def _refusal(document: str) -> ParseError:
    started = time.perf_counter()
    with pytest.raises(ParseError) as raised:
        _parse(document)
    assert time.perf_counter() - started < 1
    assert raised.value.source == "https://example.org/feed.rss"
    return raised.value


def test_billion_laughs_is_refused_quickly() -> None:
    error = _refusal(BILLION_LAUGHS)
    assert "entity declarations are not allowed" in str(error)
    assert "lollol" not in str(error)


def test_an_external_entity_is_refused_and_nothing_of_the_file_shows() -> None:
    error = _refusal(EXTERNAL_ENTITY)
    assert "entity declarations are not allowed" in str(error)
    assert "root:" not in str(error)
    assert error.__cause__ is None


@pytest.mark.parametrize(
    "document",
    [
        '<!DOCTYPE rss [<!ENTITY % dtd SYSTEM "http://127.0.0.1:9/x.dtd"> %dtd;]><rss/>',
        '<!-- <rss> --><!DOCTYPE rss [<!ENTITY a "b">]><rss version="2.0"/>',
        '<?xml version="1.0"?><?pi <rss>?><!doctype rss [<!entity a "b">]><rss version="2.0"/>',
        '<!DOCTYPE rss [<!ATTLIST rss x CDATA "]>"> <!ENTITY a "b">]><rss version="2.0"/>',
        '<?xml version="1.0"?><!ENTITY a "b"><rss version="2.0"/>',
        '<<!DOCTYPE rss [<!ENTITY a "b">]><rss version="2.0"/>',
    ],
    ids=[
        "parameter-entity",
        "after-comment",
        "lower-case",
        "quoted-bracket",
        "no-doctype",
        "stray-bracket",
    ],
)
def test_entity_declarations_are_refused_wherever_the_prolog_hides_them(document: str) -> None:
    assert "entity declarations are not allowed" in str(_refusal(document))


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE rss SYSTEM "file:///etc/passwd">',
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
    ],
)
def test_an_external_dtd_is_refused(doctype: str) -> None:
    error = _refusal(doctype + _rss("<item><title>A</title></item>").split("?>", 1)[1])
    assert "external DTD" in str(error)


def test_entities_declared_after_the_root_element_are_never_expanded() -> None:
    document = EXTERNAL_ENTITY.replace('<?xml version="1.0"?>', "<x/>")
    result = _parse(document)  # not well-formed: feedparser reads it leniently, as text
    assert [e.title for e in result.entries] == ["&xxe;"]
    assert "root:" not in repr(result)


def test_a_plain_doctype_is_fine() -> None:
    document = "<!DOCTYPE rss>" + _rss("<item><title>A</title></item>").split("?>", 1)[1]
    assert [e.title for e in _parse(document).entries] == ["A"]


def test_markup_about_doctypes_inside_an_item_is_fine() -> None:
    description = "<description><![CDATA[<!DOCTYPE x SYSTEM 'y'>]]></description>"
    item = f"<item><title>A</title>{description}</item>"
    assert [e.title for e in _parse(_rss(item)).entries] == ["A"]


# Documents that are not feeds


@pytest.mark.parametrize(
    "document",
    [
        "<!doctype html><html><head><title>News</title></head><body><p>Hi</p></body></html>",
        "just some words",
        "<notes><note>not a feed</note></notes>",
        '{"title": "JSON, but not a feed"}',
        '{"version": "https://jsonfeed.org/version/1.1", "items": {}}',
        "{ not json",
        "{" * 100_000,
        "/etc/passwd",
        "file:///etc/passwd",
        "https://127.0.0.1:9/feed.xml",
        " \n\ufeff ",
    ],
)
def test_a_document_that_is_not_a_feed_is_a_parse_error_naming_the_page(document: str) -> None:
    with pytest.raises(ParseError) as raised:
        _parse(document)
    assert raised.value.source == "https://example.org/feed.rss"
    assert "root:" not in str(raised.value)


@given(st.text())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_text_never_raises_anything_but_a_parse_error(text: str) -> None:
    try:
        result = _parse(text)
    except ParseError:
        return
    assert result.is_listing == bool(result.entries)


@given(st.binary(max_size=2000))
@settings(max_examples=200)
def test_arbitrary_bytes_never_raise_anything_but_a_parse_error(data: bytes) -> None:
    try:
        _parse(data.decode("utf-8", errors="replace"))
    except ParseError:
        return


_FRAGMENTS = st.sampled_from(
    [
        "<item>", "</item>", "<title>", "</title>", "<entry>", "<link href='x'/>", "<guid>",
        "<pubDate>Wed, 04 Mar 2026 10:00:00 +0900</pubDate>", "<![CDATA[<p>x</p>]]>", "&amp;",
        "<description>&lt;b&gt;", "<category>", '"items": [{', '"id": 1', "}", "]", ",",
        '"title": "t"', '"date_published": "2026-13-45"', "<!--", "-->", "<?xml?>",
    ]
)  # fmt: skip
_STARTS = st.sampled_from(
    ['<rss version="2.0"><channel>', '<feed xmlns="http://www.w3.org/2005/Atom">', "<rdf:RDF>",
     '{"version": "https://jsonfeed.org/version/1.1", "items": [{'],
)  # fmt: skip


@given(_STARTS, st.lists(st.one_of(_FRAGMENTS, st.text(max_size=12)), max_size=40))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_feed_shaped_text_never_raises_anything_but_a_parse_error(
    start: str, parts: list[str]
) -> None:
    try:
        result = _parse(start + "".join(parts))
    except ParseError:
        return
    assert len({e.id for e in result.entries}) == len(result.entries)


# The adapter


def test_the_adapter_takes_no_options_and_is_registered() -> None:
    assert ADAPTERS["feed"] is feed.adapter
    assert feed.adapter({}) is feed.parse_feed
    with pytest.raises(ValueError, match=r"^item: the feed adapter takes no selectors$"):
        feed.adapter({"item": "li"})


def test_a_character_reference_to_a_surrogate_or_a_control_does_not_fail_the_feed() -> None:
    document = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
        "<item><title>Lone &#xD800; surrogate &#1; &#8217;</title><link>/a&#xd800;b</link></item>"
        "<item><title>Plain</title><link>/plain</link></item></channel></rss>"
    )
    result = feed.parse_feed(document, make_context(page_url="https://www.example.org/feed.xml"))
    assert [entry.title for entry in result.entries] == [
        "Lone \ufffd surrogate \ufffd \u2019",
        "Plain",
    ]
    assert result.entries[0].link == "https://www.example.org/a\ufffdb"
