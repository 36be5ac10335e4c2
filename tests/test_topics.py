"""Topics: which stored entries a feed holds (sources, labels, keywords), each item once,
newest first, at most ``limit``."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from feeds.config import TopicConfig
from feeds.model import UTC, Entry, StoredEntry
from feeds.serve.topics import fold, matches, select_entries

DAY = dt.date(2026, 3, 4)
NOON = dt.datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
_serial = itertools.count(1)


def topic(
    *,
    sources: tuple[str, ...] = (),
    labels: tuple[str, ...] = (),
    exclude_labels: tuple[str, ...] = (),
    keywords: tuple[str, ...] = (),
) -> TopicConfig:
    return TopicConfig(
        id="t",
        title="A topic",
        sources=sources,
        labels=labels,
        exclude_labels=exclude_labels,
        keywords=keywords,
    )


def stored(
    title: str | None = None,
    *,
    source: str = "a",
    summary: str = "",
    labels: tuple[str, ...] = (),
    date: dt.date | None = DAY,
    published: dt.datetime | None = None,
    first_seen: dt.datetime | None = None,
    entry_id: str | None = None,
) -> StoredEntry:
    """A stored entry; title and ``published`` default to distinct ones (on ``DAY``)."""
    serial = next(_serial)
    title = title or f"Item {serial}"
    published = published or NOON + dt.timedelta(seconds=serial)
    entry = Entry(
        id=entry_id or f"urn:uuid:00000000-0000-0000-0000-{serial:012d}",
        source_id=source,
        title=title,
        link=f"https://example.org/{source}/{serial}",
        date=date,
        published=published,
        summary=summary,
        labels=labels,
    )
    seen = first_seen or published
    return StoredEntry(entry=entry, first_seen=seen, updated=seen)


def at(hours: float) -> dt.datetime:
    return NOON + dt.timedelta(hours=hours)


def ids(entries: list[StoredEntry]) -> list[str]:
    return [s.entry.id for s in entries]


# fold


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Économie", "economie"),
        ("Perú", "peru"),
        ("PERU", "peru"),
        ("Pe\u0301ru\u0301", "peru"),  # already decomposed
        ("Straße", "strasse"),
        ("ﬁnance", "finance"),  # compatibility ligature
        ("São Tomé", "sao tome"),
        ("already plain", "already plain"),
    ],
)
def test_fold_drops_case_and_accents(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_keeps_punctuation_and_spacing() -> None:
    assert fold("L\u2019Emploi — des  Jeunes!") == "l'emploi - des jeunes!"


def test_fold_is_idempotent() -> None:
    once = fold("Économie du Pérou, ÉTÉ 2026")
    assert fold(once) == once


# matches: labels


def test_a_topic_without_labels_or_keywords_matches_everything() -> None:
    assert matches(topic(), stored(labels=()))
    assert matches(topic(), stored(labels=("Event",), summary="anything"))


def test_labels_keep_only_entries_with_one_of_them() -> None:
    wanted = topic(labels=("Press release", "Statement"))
    assert matches(wanted, stored(labels=("Press release",)))
    assert matches(wanted, stored(labels=("Event", "Statement")))
    assert not matches(wanted, stored(labels=("Event",)))


def test_labels_drop_unlabelled_entries() -> None:
    assert not matches(topic(labels=("Press release",)), stored(labels=()))


def test_labels_are_case_insensitive() -> None:
    assert matches(topic(labels=("press release",)), stored(labels=("Press release",)))
    assert matches(topic(labels=("PRESS RELEASE",)), stored(labels=("Press release",)))


def test_labels_are_accent_insensitive() -> None:
    assert matches(
        topic(labels=("communique de presse",)), stored(labels=("Communiqué de presse",))
    )


def test_labels_match_whole_labels_not_parts() -> None:
    assert not matches(topic(labels=("press",)), stored(labels=("Press release",)))


def test_exclude_labels_drop_entries_with_one_of_them() -> None:
    no_events = topic(exclude_labels=("Event", "Vacancy"))
    assert not matches(no_events, stored(labels=("Event",)))
    assert not matches(no_events, stored(labels=("News", "vacancy")))
    assert matches(no_events, stored(labels=("News",)))
    assert matches(no_events, stored(labels=()))


def test_exclude_labels_are_case_and_accent_insensitive() -> None:
    assert not matches(topic(exclude_labels=("EVENEMENT",)), stored(labels=("Événement",)))


def test_labels_and_exclude_labels_together_need_one_wanted_and_no_excluded() -> None:
    both = topic(labels=("News", "Statement"), exclude_labels=("Event",))
    assert matches(both, stored(labels=("News",)))
    assert not matches(both, stored(labels=("News", "Event")))
    assert not matches(both, stored(labels=("Event",)))
    assert not matches(both, stored(labels=("Feature",)))


def test_exclude_labels_win_over_labels() -> None:
    contradictory = topic(labels=("News",), exclude_labels=("news",))
    assert not matches(contradictory, stored(labels=("News",)))


# matches: keywords


def test_keyword_matches_a_whole_word_ignoring_case() -> None:
    youth = topic(keywords=("youth",))
    assert matches(youth, stored("Youth employment rises"))
    assert matches(youth, stored("Jobs for YOUTH"))


def test_keyword_does_not_match_inside_a_longer_word() -> None:
    youth = topic(keywords=("youth",))
    assert not matches(youth, stored("A youthful economy"))
    assert not matches(youth, stored("Midyouth report"))
    assert not matches(youth, stored("youth_employment"))  # "_" is a word character


def test_keyword_matches_next_to_hyphens_and_punctuation() -> None:
    youth = topic(keywords=("youth",))
    assert matches(youth, stored("Youth-led initiatives"))
    assert matches(youth, stored("(Youth) at work"))
    assert matches(youth, stored("Focus: youth."))


def test_keyword_after_an_apostrophe_matches_as_apostrophes_are_not_word_characters() -> None:
    emploi = topic(keywords=("emploi",))
    assert matches(emploi, stored("L'emploi des jeunes"))
    assert matches(emploi, stored("L\u2019emploi des jeunes"))  # typographic apostrophe
    assert matches(topic(keywords=("youth",)), stored("The youth's voice"))


def test_keyword_with_an_elided_article_is_matched_as_written() -> None:
    assert matches(topic(keywords=("l'emploi",)), stored("Sur l'emploi"))
    assert not matches(topic(keywords=("l'emploi",)), stored("Sur emploi"))


def test_keyword_without_accent_matches_text_with_accents() -> None:
    assert matches(topic(keywords=("peru",)), stored("New office in Perú"))
    assert matches(topic(keywords=("economie",)), stored("Économie sociale"))


def test_keyword_with_accent_matches_text_without_accents() -> None:
    assert matches(topic(keywords=("Perú",)), stored("New office in PERU"))
    assert matches(topic(keywords=("économie",)), stored("Economie sociale"))


def test_keyword_matches_decomposed_accents_in_the_text() -> None:
    assert matches(topic(keywords=("Perú",)), stored("New office in Peru\u0301"))


def test_multi_word_keyword_matches_the_phrase() -> None:
    wage = topic(keywords=("minimum wage",))
    assert matches(wage, stored("Minimum Wage rises in Ghana"))
    assert matches(wage, stored("Ghana: the minimum wage."))


def test_multi_word_keyword_needs_the_words_together_and_whole() -> None:
    wage = topic(keywords=("minimum wage",))
    assert not matches(wage, stored("Wage floor set at a minimum"))
    assert not matches(wage, stored("The minimum wages of Ghana"))
    assert not matches(wage, stored("Subminimum wage"))


def test_multi_word_keyword_does_not_span_title_and_summary() -> None:
    assert not matches(
        topic(keywords=("minimum wage",)), stored("Raising the minimum", summary="Wage talks")
    )


def test_keywords_are_searched_in_title_and_summary() -> None:
    youth = topic(keywords=("youth",))
    assert matches(youth, stored("Jobs report", summary="Youth unemployment fell."))
    assert matches(youth, stored("Youth report", summary="Nothing else."))
    assert not matches(youth, stored("Jobs report", summary="Adults only."))


def test_keywords_are_not_searched_in_labels() -> None:
    assert not matches(topic(keywords=("youth",)), stored("Jobs report", labels=("Youth",)))


def test_any_one_of_several_keywords_is_enough() -> None:
    several = topic(keywords=("youth", "minimum wage", "Perú"))
    assert matches(several, stored("Peru signs convention"))
    assert matches(several, stored("On the minimum wage"))
    assert not matches(several, stored("Social protection"))


def test_keywords_with_regex_characters_are_literal() -> None:
    assert matches(topic(keywords=("C++",)), stored("C++ training"))
    assert not matches(topic(keywords=("a.b",)), stored("axb"))


def test_keywords_and_labels_must_both_hold() -> None:
    both = topic(labels=("News",), keywords=("youth",))
    assert matches(both, stored("Youth jobs", labels=("News",)))
    assert not matches(both, stored("Youth jobs", labels=("Event",)))
    assert not matches(both, stored("Adult jobs", labels=("News",)))


# select_entries: sources


def test_no_sources_means_all_sources() -> None:
    a, b, c = stored(source="a"), stored(source="b"), stored(source="c")
    assert set(ids(select_entries(topic(), [a, b, c], 10))) == set(ids([a, b, c]))


def test_sources_keep_only_their_entries() -> None:
    a, b, c = stored(source="a"), stored(source="b"), stored(source="c")
    chosen = select_entries(topic(sources=("a", "c")), [a, b, c], 10)
    assert set(ids(chosen)) == set(ids([a, c]))


def test_source_filter_applies_with_labels_and_keywords() -> None:
    wanted = topic(sources=("a",), labels=("News",), keywords=("youth",))
    keep = stored("Youth jobs", source="a", labels=("News",))
    other_source = stored("Youth jobs, again", source="b", labels=("News",))
    other_label = stored("Youth jobs too", source="a", labels=("Event",))
    chosen = select_entries(wanted, [keep, other_source, other_label], 10)
    assert ids(chosen) == ids([keep])


def test_no_candidates_give_no_entries() -> None:
    assert select_entries(topic(), [], 10) == []


def test_candidates_may_be_any_iterable() -> None:
    items = [stored("One"), stored("Two")]
    assert len(select_entries(topic(), iter(items), 10)) == 2


# select_entries: one copy of an item listed by two sources


def test_same_title_and_date_from_two_sources_appears_once() -> None:
    first = stored("Youth jobs", source="a", first_seen=at(0))
    second = stored("Youth jobs", source="b", first_seen=at(1))
    assert len(select_entries(topic(), [first, second], 10)) == 1


def test_the_copy_first_seen_is_kept_whatever_the_candidate_order() -> None:
    early = stored("Youth jobs", source="z", first_seen=at(0))
    late = stored("Youth jobs", source="a", first_seen=at(5))
    assert ids(select_entries(topic(), [early, late], 10)) == ids([early])
    assert ids(select_entries(topic(), [late, early], 10)) == ids([early])


def test_copies_first_seen_together_keep_the_lowest_source_id() -> None:
    from_b = stored("Youth jobs", source="b", first_seen=at(0))
    from_a = stored("Youth jobs", source="a", first_seen=at(0))
    assert ids(select_entries(topic(), [from_b, from_a], 10)) == ids([from_a])
    assert ids(select_entries(topic(), [from_a, from_b], 10)) == ids([from_a])


def test_same_title_on_different_dates_is_not_merged() -> None:
    monday = stored("Weekly update", source="a", date=dt.date(2026, 3, 2), published=at(-48))
    tuesday = stored("Weekly update", source="b", date=dt.date(2026, 3, 3), published=at(-24))
    assert ids(select_entries(topic(), [monday, tuesday], 10)) == ids([tuesday, monday])


def test_different_titles_on_the_same_date_are_not_merged() -> None:
    one, two = stored("Youth jobs", source="a"), stored("Adult jobs", source="b")
    assert len(select_entries(topic(), [one, two], 10)) == 2


@pytest.mark.parametrize(
    "variant",
    [
        "YOUTH JOBS IN “GHANA”",
        'youth   jobs in\u00a0"ghana"',
        "  Youth jobs in \u201cGhana\u201d.",
        "Youth jobs in «Ghana»",
    ],
)
def test_titles_differing_in_case_whitespace_or_quotes_are_the_same_item(variant: str) -> None:
    plain = stored('Youth jobs in "Ghana"', source="a", first_seen=at(0))
    copy = stored(variant, source="b", first_seen=at(1))
    assert ids(select_entries(topic(), [copy, plain], 10)) == ids([plain])


def test_the_copy_kept_is_chosen_among_those_the_topic_matches() -> None:
    # The first-seen copy lacks the topic's label: the other copy stands for the item.
    unlabelled = stored("Youth jobs", source="a", first_seen=at(0), labels=())
    labelled = stored("Youth jobs", source="b", first_seen=at(1), labels=("News",))
    assert ids(select_entries(topic(labels=("News",)), [unlabelled, labelled], 10)) == ids(
        [labelled]
    )


def test_a_copy_from_a_source_outside_the_topic_does_not_hide_the_item() -> None:
    outside = stored("Youth jobs", source="z", first_seen=at(0))
    inside = stored("Youth jobs", source="a", first_seen=at(1))
    assert ids(select_entries(topic(sources=("a",)), [outside, inside], 10)) == ids([inside])


def test_different_items_of_one_source_sharing_title_and_date_are_both_kept() -> None:
    first = stored("Statement", source="a", summary="On Ghana.", first_seen=at(0))
    second = stored("Statement", source="a", summary="On Peru.", first_seen=at(0))
    assert len(select_entries(topic(), [first, second], 10)) == 2


# select_entries: order and limit


def test_entries_come_newest_first_by_published() -> None:
    old = stored("Old", published=at(-48))
    new = stored("New", published=at(0))
    middle = stored("Middle", published=at(-24))
    assert ids(select_entries(topic(), [old, new, middle], 10)) == ids([new, middle, old])


def test_order_follows_published_not_first_seen_or_candidate_order() -> None:
    backfilled = stored("Backfilled", published=at(-72), first_seen=at(10))
    fresh = stored("Fresh", published=at(1), first_seen=at(1))
    assert ids(select_entries(topic(), [backfilled, fresh], 10)) == ids([fresh, backfilled])


def test_order_across_sources_interleaves_by_published() -> None:
    a1 = stored("A1", source="a", published=at(3))
    a2 = stored("A2", source="a", published=at(1))
    b1 = stored("B1", source="b", published=at(2))
    b2 = stored("B2", source="b", published=at(0))
    assert ids(select_entries(topic(), [a1, a2, b1, b2], 10)) == ids([a1, b1, a2, b2])


def test_page_order_within_a_day_is_kept_by_published_offsets() -> None:
    # The adapter gives the first listed item of a day the latest instant.
    top, second, third = (
        stored(t, published=NOON - dt.timedelta(seconds=s))
        for t, s in [("Top", 0), ("Second", 1), ("Third", 2)]
    )
    assert ids(select_entries(topic(), [third, top, second], 10)) == ids([top, second, third])


def test_limit_keeps_the_newest() -> None:
    items = [stored(f"Item {n}", published=at(n)) for n in range(5)]
    chosen = select_entries(topic(), items, 3)
    assert ids(chosen) == ids([items[4], items[3], items[2]])


def test_limit_larger_than_the_entries_gives_them_all() -> None:
    items = [stored(f"Item {n}", published=at(n)) for n in range(3)]
    assert len(select_entries(topic(), items, 50)) == 3


def test_limit_zero_gives_nothing() -> None:
    assert select_entries(topic(), [stored()], 0) == []


def test_limit_counts_items_after_de_duplication() -> None:
    copies = [stored("Same", source=s, first_seen=at(0)) for s in ("a", "b", "c")]
    others = [stored(f"Other {n}", published=at(-n - 1)) for n in range(2)]
    chosen = select_entries(topic(), [*copies, *others], 2)
    assert [s.entry.title for s in chosen] == ["Same", "Other 0"]


def test_limit_counts_only_matching_entries() -> None:
    youth = [stored(f"Youth {n}", published=at(-n)) for n in range(3)]
    noise = [stored(f"Noise {n}", published=at(n + 1)) for n in range(5)]
    chosen = select_entries(topic(keywords=("youth",)), [*noise, *youth], 2)
    assert ids(chosen) == ids(youth[:2])


def test_select_entries_returns_the_stored_values_unchanged() -> None:
    item = stored("Youth jobs", summary="A summary", labels=("News",))
    (chosen,) = select_entries(topic(), [item], 1)
    assert chosen is item
