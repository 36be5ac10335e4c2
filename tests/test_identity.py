"""Entry identity: one id per item, whatever host, scheme, position, number or credit."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from feeds.identity import NAMESPACE, entry_id, listing_key, normalise_link, normalise_text
from sources import ilo
from tests.conftest import make_context

DAY = dt.date(2026, 3, 4)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.ilo.org/global/topics/geip/news/lang--en/index.htm",
        "http://www.ilo.org/global/topics/geip/news/lang--en/index.htm",
        "https://ilo.org/global/topics/geip/news/lang--en/index.htm",
        "http://ILO.org:80/global/topics/geip/news/lang--en/",
        "https://www.ilo.org/global/topics/geip/news/lang--en/nextRow--10/index.htm",
        "https://www.ilo.org/global/topics/geip/news/lang--en/index.htm?utm_source=x#top",
    ],
)
def test_listing_key_ignores_host_variant_scheme_pagination_and_query(url: str) -> None:
    assert listing_key(url) == "ilo.org/global/topics/geip/news/lang--en"


def test_listing_key_keeps_what_tells_listings_apart() -> None:
    english = listing_key("https://www.ilo.org/global/news/lang--en/index.htm")
    french = listing_key("https://www.ilo.org/global/news/lang--fr/index.htm")
    other_port = listing_key("https://www.ilo.org:8443/global/news/lang--en/index.htm")
    assert len({english, french, other_port}) == 3
    assert listing_key("file:///srv/pages/news.txt") == "file:/srv/pages/news.txt"
    assert listing_key("  ilo-jakarta ") == "ilo-jakarta"


def test_normalise_text_ignores_presentation_only() -> None:
    assert (
        normalise_text("  ILO’s  “New”\u00a0Report – Launched. ")
        == 'ilo\'s "new" report - launched'
    )
    assert normalise_text("Report") != normalise_text("Reports")


def test_entry_id_is_a_stable_uuid_iri() -> None:
    first = entry_id("ilo.org/x", "A title", DAY)
    assert first == entry_id("ilo.org/x", "  a TITLE. ", DAY)
    assert first.startswith("urn:uuid:")
    assert first != entry_id("ilo.org/y", "A title", DAY)
    assert first != entry_id("ilo.org/x", "A title", DAY + dt.timedelta(days=1))
    assert first != entry_id("ilo.org/x", "A title", None)
    assert first != entry_id("ilo.org/x", "A title", DAY, "a summary")
    # Pinned: changing the namespace or the recipe would change every id ever published.
    assert first == "urn:uuid:10e99a19-6a97-50a6-b205-939c36724843"


@pytest.mark.parametrize(
    ("title", "date", "discriminator"),
    [
        ("A title", DAY, ""),
        ("Überstunden: “Neue” Regeln – 2026", None, ""),
        ("労働者の権利", DAY, "同じ題の別の記事"),
        ("Same title", DAY, "A summary that tells it apart."),
    ],
)
def test_entry_id_is_the_uuid5_of_its_listing_title_and_date(
    title: str, date: dt.date | None, discriminator: str
) -> None:
    parts = ["ilo.org/x", normalise_text(title), date.isoformat() if date else ""]
    parts += [normalise_text(discriminator)] if discriminator else []
    expected = uuid.uuid5(NAMESPACE, "\n".join(parts))
    assert entry_id("ilo.org/x", title, date, discriminator) == f"urn:uuid:{expected}"


def test_ids_from_links_and_native_ids_are_the_uuid5_of_their_names() -> None:
    link = "https://www.example.org/news/é?utm_source=x&b=2"
    by_link = uuid.uuid5(NAMESPACE, "link\n" + normalise_link(link))
    assert entry_id("l", "T", None, link=link) == f"urn:uuid:{by_link}"
    native = uuid.uuid5(NAMESPACE, "native\nexample.org/feed\n12345")
    assert entry_id("example.org/feed", "T", None, native_id=" 12345 ") == f"urn:uuid:{native}"


def _page(*items: str) -> str:
    return "Newsroom\n\n" + "\n\n".join(items) + "\n"


ITEM_A = (
    "  1. © A. Photographer / NLO 2023\n\n    Press release\n\n    Alpha\n\n    04 March 2026"
    "\n\n    Sum A."
)
ITEM_A_LATER = (
    "  7. © A. Photographer / NLO 2026\n\n    News\n\n    Alpha\n\n    4 March 2026\n\n    Sum A."
)
ITEM_B = "  2. Beta\n\n    03 March 2026\n\n    Sum B."


def test_id_does_not_change_with_credit_year_number_label_or_position() -> None:
    before = ilo.parse(_page(ITEM_A, ITEM_B), make_context()).entries
    after = ilo.parse(_page(ITEM_B.replace("2.", "1."), ITEM_A_LATER), make_context()).entries
    assert {e.title: e.id for e in before} == {e.title: e.id for e in after}


def test_an_item_listed_twice_is_one_entry() -> None:
    result = ilo.parse(_page(ITEM_A, ITEM_B, ITEM_A.replace("1.", "3.")), make_context())
    assert [e.title for e in result.entries] == ["Alpha", "Beta"]
    assert "duplicate-item" in {d.code for d in result.diagnostics}


def test_different_items_sharing_title_and_date_get_different_stable_ids() -> None:
    other = ITEM_A.replace("Sum A.", "Another summary.")
    result = ilo.parse(_page(other, ITEM_A), make_context())
    ids = [e.id for e in result.entries]
    assert len(set(ids)) == 2
    assert ids == [e.id for e in ilo.parse(_page(other, ITEM_A), make_context()).entries]
    alone = ilo.parse(_page(ITEM_A), make_context()).entries[0]
    assert alone.id == ids[1]  # the one listed first keeps its id when another is added above
    assert "shared-title" in {d.code for d in result.diagnostics}


def test_shared_title_without_summary_still_gets_its_own_id() -> None:
    bare = "  1. Alpha\n\n    04 March 2026"
    result = ilo.parse(_page(bare, ITEM_A), make_context())
    assert len({e.id for e in result.entries}) == 2


def test_ids_are_the_same_across_time_zones_and_fetch_times() -> None:
    page = _page(ITEM_A, ITEM_B, "  3. Event\n\n    Gamma\n\n    An undated event with a summary.")
    geneva = ilo.parse(page, make_context()).entries
    lima = ilo.parse(
        page,
        make_context(timezone="America/Lima", seen_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)),
    ).entries
    assert [e.id for e in geneva] == [e.id for e in lima]


#: Links as pages give them, and the ids their items were published with before links were
#: cleaned (percent-encoded rather than cut at a space): a link without spaces keeps its id.
PUBLISHED_LINK_IDS = {
    "/news/budget-2025": "urn:uuid:71a21fac-d896-52f8-9cc7-871b0463bf13",
    "https://WWW.Example.org/a?utm_source=x&b=2&a=1#top": (
        "urn:uuid:f62b860c-e7e4-502b-a658-93affb678312"
    ),
    "/fr/actualités/été-2025": "urn:uuid:c9eb23e3-7c59-5d6e-912c-53681f3e4ac9",
    "/news/a%20b?q=%C3%A9": "urn:uuid:0ffd5fbf-3b69-59d4-a323-3f5b9a5a71a1",
    "//cdn.example.org/x/y.htm": "urn:uuid:c2a60e3f-0e14-5354-a240-3c83f72a0b43",
    "../up/item.htm": "urn:uuid:5882d317-c61a-5230-abe1-c5a55a82c13b",
    "https://bücher.example:8443/Straße": "urn:uuid:768bea52-20e0-5d8b-a400-3629b0bd504d",
    "https://example.org/search?q=a+b&tag=x%2Fy": "urn:uuid:edd7de70-a5ec-5424-bc44-eebf69e7470f",
}


def test_ids_from_links_without_spaces_are_those_already_published() -> None:
    from sources import ADAPTERS

    page = "".join(
        f'<div class="item"><h2><a href="{link}">Item {n}</a></h2></div>'
        for n, link in enumerate(PUBLISHED_LINK_IDS)
    )
    result = ADAPTERS["html"]({"item": "div.item"})(
        f"<html><body>{page}</body></html>", make_context()
    )
    assert [e.id for e in result.entries] == list(PUBLISHED_LINK_IDS.values())


def test_items_whose_links_differ_after_a_space_keep_different_ids() -> None:
    from sources import ADAPTERS

    page = (
        '<div class="item"><h2><a href="/news/2025 budget">Budget</a></h2></div>'
        '<div class="item"><h2><a href="/news/2025 plan">Plan</a></h2></div>'
    )
    result = ADAPTERS["html"]({"item": "div.item"})(
        f"<html><body>{page}</body></html>", make_context()
    )
    assert [e.title for e in result.entries] == ["Budget", "Plan"]
    assert result.entries[0].id != result.entries[1].id
    assert "duplicate-item" not in {d.code for d in result.diagnostics}


def test_a_native_id_holding_a_bidi_override_is_not_kept_as_an_iri() -> None:
    for native in ("tag:example.org,2026:1\u202e", "urn:x:\u2066y"):
        made = entry_id("example.org/feed", "T", None, native_id=native)
        assert made.startswith("urn:uuid:")
    assert entry_id("l", "T", None, native_id="tag:example.org,2026:1") == "tag:example.org,2026:1"
