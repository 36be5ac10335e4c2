"""Re-identification: which item that arrived on a listing corrects one that left it.

Newsrooms fix titles and dates after publishing; an item's id comes from its title and date
(where the listing gives no link), so a fix gives a new id. Before a merge treats an arrived
item as new, it is paired with the departed item it corrects, which then keeps its id. Pure
functions of what the two listings showed; the ledger stores the pairs as aliases.

Evidence, strongest first (a pair is never made between items of different sources, nor
with an item that is still listed):

1. the same link of its own (a link no other item of the page shares, not the listing's),
   unless the titles name different numbers, or neither the dates (give or take
   ``MAX_DATE_SHIFT_DAYS``) nor the titles are alike (a link that stands for a place on the
   page, ``/news/1``, or for "the latest", is no story's own);
2. the same date and a near-identical title: the same words but for typos (a changed word
   at least ``TYPO_SIMILARITY`` alike), hyphens, accents, case and punctuation, and at most
   ``MAX_INSERTED_WORDS`` words added or removed;
3. in the same place on the page (between the same neighbours as before, among the items
   listed both times) and either the same
   date and a similar title (``SIMILAR_TITLE`` alike as text), or a near-identical title with
   a date at most ``MAX_DATE_SHIFT_DAYS`` off, or the same date and the same summary.

Titles whose numbers differ ("Weekly brief No. 12" / "No. 13") are never paired but by link.
The thresholds were chosen on the corrections and near-misses of ``bench/corrections.py``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from feeds.identity import normalise_text

#: A changed word counts as a typo fix when the old and new are this alike (0 to 1).
TYPO_SIMILARITY = 0.6
#: A near-identical title may gain or lose at most this many words ("contrat type" ->
#: "contrat de travail type")...
MAX_INSERTED_WORDS = 3
#: ...and at most this share of its words.
MAX_INSERTED_SHARE = 0.4
#: Titles this alike as text (0 to 1) are similar: enough, with the same place and date.
SIMILAR_TITLE = 0.6
#: A corrected date moves at most this many days.
MAX_DATE_SHIFT_DAYS = 2
#: The most title comparisons made for one day of a listing (arrived x departed items): a
#: page replaced whole (a redesign) is not searched for corrections.
MAX_COMPARISONS = 40_000
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True, kw_only=True)
class Listed:
    """What a pairing needs of an item: its id, title, date, link and summary."""

    id: str
    title: str
    date: dt.date | None
    link: str
    summary: str = ""


def title_words(title: str) -> list[str]:
    """A title's words, without case, accents, punctuation or hyphens."""
    folded = unicodedata.normalize("NFKD", normalise_text(title))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return _WORD.findall(plain)


def _numbers(words: list[str]) -> Counter[str]:
    return Counter(word for word in words if any(c.isdigit() for c in word))


def near_identical(a: str, b: str) -> bool:
    """True when two titles differ only as a correction of typos and small words would."""
    words_a, words_b = title_words(a), title_words(b)
    if words_a == words_b:
        return True
    if not words_a or not words_b or _numbers(words_a) != _numbers(words_b):
        return False
    inserted = 0
    matcher = SequenceMatcher(None, words_a, words_b, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        old, new = "".join(words_a[a1:a2]), "".join(words_b[b1:b2])
        if tag == "replace":
            # "start up" -> "startup", "goverment" -> "government": alike once joined
            if SequenceMatcher(None, old, new, autojunk=False).ratio() < TYPO_SIMILARITY:
                return False
            inserted += abs((a2 - a1) - (b2 - b1))
        else:
            inserted += (a2 - a1) + (b2 - b1)
    shortest = min(len(words_a), len(words_b))
    return inserted <= MAX_INSERTED_WORDS and inserted <= MAX_INSERTED_SHARE * shortest


def similar(a: str, b: str) -> bool:
    """True when two titles are alike as text and name the same numbers."""
    words_a, words_b = title_words(a), title_words(b)
    if _numbers(words_a) != _numbers(words_b):
        return False
    ratio = SequenceMatcher(None, " ".join(words_a), " ".join(words_b), autojunk=False).ratio()
    return ratio >= SIMILAR_TITLE


def _weakly_alike(old: Listed, new: Listed) -> bool:
    """Enough alike to be a correction where the item stands where the other stood."""
    days = _days_apart(old.date, new.date)
    if days is None:
        return False
    return (
        (days == 0 and similar(old.title, new.title))
        or (days <= MAX_DATE_SHIFT_DAYS and near_identical(old.title, new.title))
        or (days == 0 and bool(old.summary) and old.summary == new.summary)
    )


def closeness(old: Listed, new: Listed) -> float:
    """How alike two items are, summaries first (they tell apart items sharing a title)."""
    summaries = SequenceMatcher(None, old.summary, new.summary, autojunk=False).ratio()
    titles = SequenceMatcher(None, old.title, new.title, autojunk=False).ratio()
    return 2 * summaries + titles


def _days_apart(a: dt.date | None, b: dt.date | None) -> int | None:
    if a is None or b is None:
        return 0 if a is b else None
    return abs((a - b).days)


def _places(
    order: Sequence[str], unsettled: Collection[str]
) -> dict[str, tuple[str | None, str | None]]:
    """Each item's neighbours on a page among the items listed both times (the settled
    ones): a story inserted above it, or one dropped below it, does not move it."""
    places: dict[str, tuple[str | None, str | None]] = {}
    before: str | None = None
    for item_id in order:
        places[item_id] = (before, None)
        if item_id not in unsettled:
            before = item_id
    after: str | None = None
    for item_id in reversed(order):
        places[item_id] = (places[item_id][0], after)
        if item_id not in unsettled:
            after = item_id
    return places


def _by_day(items: Sequence[Listed]) -> dict[dt.date | None, list[int]]:
    days: dict[dt.date | None, list[int]] = {}
    for at, item in enumerate(items):
        days.setdefault(item.date, []).append(at)
    return days


def _near_days(day: dt.date | None, reach: int) -> list[dt.date | None]:
    if day is None:
        return [None]
    return [day + dt.timedelta(days=shift) for shift in range(-reach, reach + 1)]


def pair_corrections(
    listed: Sequence[Listed],
    arrived: Collection[str],
    departed: Sequence[Listed],
    *,
    previous_order: Sequence[str],
    listing_urls: Collection[str] = (),
) -> dict[str, str]:
    """Pairs ``{arrived id: departed id}``: which item that arrived corrects which one that
    left. ``listed`` is the page now, in order (``arrived`` names the ids among them that
    are new); ``departed`` the items the page listed before and lists no more;
    ``previous_order`` the ids the page listed before, in order; ``listing_urls`` the
    listing's own URLs (items without a link of their own link there)."""
    by_id = {item.id: item for item in listed}
    new = [by_id[item_id] for item_id in dict.fromkeys(i.id for i in listed) if item_id in arrived]
    pairs: dict[str, str] = {}
    taken: set[str] = set()

    def pair(item: Listed, old: Listed) -> None:
        pairs[item.id] = old.id
        taken.add(old.id)

    # 1. links of their own
    page_links = Counter(item.link for item in listed)
    gone_links = Counter(item.link for item in departed)
    for item in new:
        link = item.link
        if link in listing_urls or page_links[link] != 1 or gone_links[link] != 1:
            continue
        old = next(o for o in departed if o.link == link)
        days = _days_apart(old.date, item.date)
        words_old, words_new = title_words(old.title), title_words(item.title)
        alike = (days is not None and days <= MAX_DATE_SHIFT_DAYS) or similar(old.title, item.title)
        if old.id not in taken and _numbers(words_old) == _numbers(words_new) and alike:
            pair(item, old)

    # 2. same date, near-identical title; where several would do (items sharing a title
    # and a date), the closest first. Only items of near days are ever compared, and a day
    # with more pairs than ``MAX_COMPARISONS`` (a page replaced whole) is not searched.
    old_days = _by_day(departed)
    candidates = [
        (closeness(departed[m], item), n, m)
        for n, item in enumerate(new)
        if item.id not in pairs
        for m in _comparable(old_days.get(item.date, ()), len(new))
        if departed[m].id not in taken and near_identical(departed[m].title, item.title)
    ]
    for _score, n, m in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if new[n].id not in pairs and departed[m].id not in taken:
            pair(new[n], departed[m])

    # 3. the same place on the page, and weaker evidence: the closest pair first, and each
    # pair made settles the items beside it, so repeat until nothing more pairs
    while True:
        order_now = [pairs.get(item.id, item.id) for item in listed]
        unsettled_now = {i.id for i in new if i.id not in pairs}
        unsettled_before = {o.id for o in departed if o.id not in taken}
        places_now = _places(order_now, unsettled_now)
        places_before = _places(previous_order, unsettled_before)
        fitting = [
            (closeness(departed[m], item), n, m)
            for n, item in enumerate(new)
            if item.id in unsettled_now and places_now.get(item.id, (None, None)) != (None, None)
            for day in _near_days(item.date, MAX_DATE_SHIFT_DAYS)
            for m in _comparable(old_days.get(day, ()), len(new))
            if departed[m].id in unsettled_before
            and places_before.get(departed[m].id) == places_now[item.id]
            and _weakly_alike(departed[m], item)
        ]
        if not fitting:
            return pairs
        _score, n, m = max(fitting, key=lambda c: (c[0], -c[1], -c[2]))
        pair(new[n], departed[m])


def _comparable(candidates: Sequence[int], arrived: int) -> Sequence[int]:
    """The departed items of a day to compare an arrived one with: none when the day's
    comparisons would pass ``MAX_COMPARISONS``."""
    return candidates if len(candidates) * arrived <= MAX_COMPARISONS else ()
