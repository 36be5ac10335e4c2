"""Benchmark: how often ``suggest_source`` gives a usable feed on real pages, with no edits.

Run: ``.venv/bin/python -m bench.corpus --mirror /work/.mirror`` once, then
``.venv/bin/python -m bench.listing_detection [--cache DIR] [--page NAME]``. Scores every page of
``bench/corpus.json`` against its annotations (the true items' selector, title and date) and prints
one row per page and the totals beside the targets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import lxml.html

from bench.corpus import Page, cache_dir, load_pages, read_page
from feeds.model import Entry, PageContext
from feeds.text import decode_document
from sources.suggest import Suggestion, suggest_source

SEEN_AT = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
USABLE_SHARE = 0.9
TARGET_USABLE = 0.85
TARGET_ARTICLES = 0.9
_SPACE = re.compile(r"\s+")
_ISO_DAY = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})")
_NUMERIC_DAY = re.compile(r"(?<!\d)(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})(?!\d)")
_EPOCH = re.compile(r"\d{9,11}")
#: Month names (their first letters) in the corpus's languages, to check dates written in words.
_MONTHS = (
    ("jan", "ene", "gen", "янв"), ("feb", "fév", "fev", "фев"), ("mar", "mär", "мар"),
    ("apr", "abr", "avr", "апр"), ("may", "mai", "mag", "мая", "май"),
    ("jun", "juin", "giu", "июн"), ("jul", "juil", "lug", "июл"),
    ("aug", "ago", "août", "авг"), ("sep", "set", "сен"),
    ("oct", "okt", "ott", "окт"), ("nov", "ноя"), ("dec", "dic", "déc", "dez", "дек"),
)  # fmt: skip
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class TrueItem:
    """One item of a listing as annotated: its title, link and raw date text (or ``None``)."""

    title: str
    link: str
    date: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """What the suggestion gave on one page, against the annotations."""

    name: str
    kind: str
    true_items: int
    found: int
    matched: int
    titles_right: int
    links_right: int
    dates_right: int
    all_right: int
    wrong_dates: int
    extra: int
    said_not_listing: bool
    suggested: str
    held_out: bool = False

    @property
    def usable(self) -> bool:
        """Titles, links and dates right on 90% of the true items, and nothing else."""
        return (
            self.kind == "listing"
            and self.true_items > 0
            and self.all_right >= USABLE_SHARE * self.true_items
            and self.extra == 0
        )


def _text(element: lxml.html.HtmlElement) -> str:
    return _SPACE.sub(" ", element.text_content()).strip()


def _norm_title(title: str) -> str:
    return _SPACE.sub(" ", title).strip().rstrip(".…").strip().casefold()


def _norm_link(link: str) -> str:
    parts = urlsplit(link.strip())
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def true_items(page: Page, document: str) -> list[TrueItem]:
    """The annotated items of a listing page, read with its selectors."""
    root = lxml.html.document_fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", document, count=1))
    base = page.url
    for element in root.iter("base"):
        if element.get("href"):
            base = urljoin(page.url, str(element.get("href")))
            break
    items = []
    for item in root.cssselect(page.item):
        anchors = item.cssselect(page.title)
        if not anchors:
            continue
        date: str | None = None
        if page.date:
            found = item.cssselect(page.date)
            if found:
                date = str(found[0].get("datetime") or _text(found[0]))
        link = urljoin(base, str(anchors[0].get("href", "")))
        items.append(TrueItem(title=_text(anchors[0]), link=link, date=date))
    return items


def check_annotations(page: Page, items: list[TrueItem]) -> list[str]:
    """Where a listing's selectors no longer give what its annotation records, one line each."""
    problems = []
    dated = sum(item.date is not None for item in items)
    if len(items) != page.items:
        problems.append(f"{page.name}: {len(items)} items, annotated {page.items}")
    if dated != page.dated:
        problems.append(f"{page.name}: {dated} dated items, annotated {page.dated}")
    titles = tuple(item.title for item in items[:3])
    if titles != page.first_titles:
        problems.append(f"{page.name}: first titles {titles}, annotated {page.first_titles}")
    dates = tuple(item.date for item in items[:3])
    if page.date and dates != page.first_dates:
        problems.append(f"{page.name}: first dates {dates}, annotated {page.first_dates}")
    return problems


def date_consistent(day: dt.date, raw: str, zone: ZoneInfo, order: str) -> bool | None:
    """Whether ``day`` is the date that ``raw`` gives; ``None`` where ``raw`` names no day."""
    raw = raw.strip()
    if _EPOCH.fullmatch(raw):
        return day == dt.datetime.fromtimestamp(int(raw), tz=dt.UTC).astimezone(zone).date()
    if match := _ISO_DAY.search(raw):
        year, month, number = (int(g) for g in match.groups())
        written = dt.date(year, month, number)
        if day == written:
            return True
        if (instant := _instant(raw)) is not None:
            return day == instant.astimezone(zone).date()
        return False
    if match := _NUMERIC_DAY.search(raw):
        first, second, year_text = match.groups()
        year = int(year_text) if len(year_text) == 4 else 2000 + int(year_text)
        number, month = (int(second), int(first)) if order == "mdy" else (int(first), int(second))
        return (year, month, number) == (day.year, day.month, day.day)
    numbers = re.findall(r"\d+", raw)
    years = [int(n) for n in numbers if len(n) == 4]
    if not numbers or not years:
        return None  # relative ("2 days ago") or no year: not checkable from the text alone
    if day.year not in years or str(day.day) not in [n.lstrip("0") for n in numbers]:
        return False
    months = {_month(word) for word in _WORD.findall(raw.casefold())} - {None}
    return day.month in months if months else None


def _month(word: str) -> int | None:
    """The month a word may name, or ``None`` (lenient: a date checks if any word fits)."""
    for number, prefixes in enumerate(_MONTHS, start=1):
        if any(word.startswith(prefix) for prefix in prefixes):
            return number
    return None


def _instant(raw: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _says_not_listing(suggestion: Suggestion) -> bool:
    """The suggestion offers no listing: no kind, no entries, or a note saying so."""
    flag = getattr(suggestion, "is_listing", None)
    if flag is not None:
        return not flag
    if any("not a listing" in note.casefold() for note in suggestion.notes):
        return True
    return not suggestion.kind or suggestion.result is None or not suggestion.result.entries


def _page_based(suggestion: Suggestion) -> tuple[Suggestion, bool]:
    """The suggestion to score, and whether the page's own feed was suggested first: a feed
    cannot be read offline, so its first alternative that read entries from the page is scored."""
    if suggestion.kind != "feed" or (suggestion.result is not None and suggestion.result.entries):
        return suggestion, False
    for alternative in getattr(suggestion, "alternatives", None) or ():
        result = getattr(alternative, "result", None)
        if isinstance(alternative, Suggestion) and result is not None and result.entries:
            return alternative, True
    return suggestion, True


def _match(items: list[TrueItem], entries: tuple[Entry, ...]) -> list[Entry | None]:
    """For each true item, the entry it was matched to: by link, else by title."""
    unused = list(range(len(entries)))
    chosen: list[Entry | None] = []
    for item in items:
        link = _norm_link(item.link)
        picked = next((i for i in unused if _norm_link(entries[i].link) == link), None)
        if picked is None:
            title = _norm_title(item.title)
            picked = next((i for i in unused if _norm_title(entries[i].title) == title), None)
        if picked is not None:
            unused.remove(picked)
        chosen.append(entries[picked] if picked is not None else None)
    return chosen


def score(page: Page, document: str, *, detail: bool = False) -> Score:
    """Run the suggestion on one page and compare what it reads with the annotations; with
    ``detail``, print each true item beside the entry matched to it."""
    context = PageContext(
        source_id=page.name, page_url=page.url, timezone=ZoneInfo(page.timezone), seen_at=SEEN_AT
    )
    suggestion, feed_first = _page_based(suggest_source(document, context))
    entries = suggestion.result.entries if suggestion.result is not None else ()
    said_not = _says_not_listing(suggestion)
    suggested = suggestion.selectors.get("item", "") or suggestion.kind or "-"
    if feed_first:
        suggested = f"(feed first) {suggested}"
    if page.kind == "article":
        return Score(
            name=page.name, kind=page.kind, true_items=0, found=len(entries), matched=0,
            titles_right=0, links_right=0, dates_right=0, all_right=0, wrong_dates=0,
            extra=len(entries), said_not_listing=said_not, suggested=suggested,
        )  # fmt: skip
    items = true_items(page, document)
    for problem in check_annotations(page, items):
        print(f"annotation: {problem}", file=sys.stderr)
    matches = _match(items, entries) if not said_not else [None] * len(items)
    order = str(page.extra.get("date_order", "dmy"))
    zone = ZoneInfo(page.timezone)
    titles = links = dates = everything = wrong = 0
    for item, entry in zip(items, matches, strict=True):
        if detail:
            print(f"  true  {item.title[:70]!r} {item.link} {item.date!r}")
            print(f"  entry {_describe(entry)}")
        if entry is None:
            continue
        title_ok = _norm_title(entry.title) == _norm_title(item.title) or (
            _norm_title(entry.title).startswith(_norm_title(item.title))
            and item.title.endswith(("...", "…"))
        )
        link_ok = _norm_link(entry.link) == _norm_link(item.link)
        if item.date is None:
            date_ok = entry.date is None
            wrong += entry.date is not None
        elif entry.date is None:
            date_ok = False
        else:
            verdict = date_consistent(entry.date, item.date, zone, order)
            date_ok = verdict is not False
            wrong += verdict is False
        titles += title_ok
        links += link_ok
        dates += date_ok
        everything += title_ok and link_ok and date_ok
    matched = sum(entry is not None for entry in matches)
    return Score(
        name=page.name, kind=page.kind, true_items=len(items), found=len(entries),
        matched=matched, titles_right=titles, links_right=links, dates_right=dates,
        all_right=everything, wrong_dates=wrong,
        extra=0 if said_not else len(entries) - matched,
        said_not_listing=said_not, suggested=suggested,
    )  # fmt: skip


def _describe(entry: Entry | None) -> str:
    if entry is None:
        return "-"
    return f"{entry.title[:70]!r} {entry.link} {entry.date}"


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def report(scores: list[Score]) -> str:
    """The table of pages and the totals beside the targets."""
    lines = [
        f"{'page':36} {'kind':7} {'true':>4} {'found':>5} {'match':>5} {'title':>6} "
        f"{'link':>6} {'date':>6} {'wrong':>5} {'extra':>5}  verdict  suggested item",
    ]
    for s in scores:
        if s.kind == "article":
            verdict = "ok" if s.said_not_listing else "LISTED"
        else:
            verdict = "usable" if s.usable else "-"
        lines.append(
            f"{s.name[:36]:36} {s.kind:7} {s.true_items:4} {s.found:5} {s.matched:5} "
            f"{_share(s.titles_right, s.true_items):>6} {_share(s.links_right, s.true_items):>6} "
            f"{_share(s.dates_right, s.true_items):>6} {s.wrong_dates:5} {s.extra:5}  "
            f"{verdict:7}  {s.suggested[:60]}"
        )
    return "\n".join([*lines, "", _totals(scores)])


def _totals(scores: list[Score]) -> str:
    """The totals of ``scores`` beside the targets."""
    lines: list[str] = []
    listings = [s for s in scores if s.kind == "listing"]
    articles = [s for s in scores if s.kind == "article"]
    true_total = sum(s.true_items for s in listings)
    usable = sum(s.usable for s in listings)
    recognised = sum(s.said_not_listing for s in articles)
    wrong = sum(s.wrong_dates for s in listings)
    lines += [
        f"listing pages usable with no edits: {usable}/{len(listings)} "
        f"({_share(usable, len(listings)).strip()})   target >= {TARGET_USABLE:.0%}",
        f"items found (matched) / true: {sum(s.matched for s in listings)}/{true_total}; "
        f"entries that are no true item: {sum(s.extra for s in listings)}",
        f"title / link / date right: {_share(sum(s.titles_right for s in listings), true_total)} / "
        f"{_share(sum(s.links_right for s in listings), true_total)} / "
        f"{_share(sum(s.dates_right for s in listings), true_total)} of true items",
        f"wrong dates: {wrong}   target 0",
        f"articles recognised as not a listing: {recognised}/{len(articles)} "
        f"({_share(recognised, len(articles)).strip()})   target >= {TARGET_ARTICLES:.0%}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Score every page (or the named ones) and print the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", help="where bench.corpus put the pages")
    parser.add_argument("--page", action="append", default=[], help="only this page (repeatable)")
    parser.add_argument("--detail", action="store_true", help="print each item beside its entry")
    args = parser.parse_args(argv)
    cache = cache_dir(args.cache)
    scores = []
    for page in load_pages():
        if args.page and page.name not in args.page:
            continue
        document = decode_document(read_page(page, cache), source=page.name, charset=page.charset)
        try:
            if args.detail:
                print(page.name)
            found = score(page, document, detail=args.detail)
            scores.append(replace(found, held_out=page.extra.get("set") == "holdout"))
        except Exception as e:  # a crash on one page is reported, not fatal
            print(f"{page.name}: suggest_source failed: {e!r}", file=sys.stderr)
    print(report(scores))
    tuning = [s for s in scores if not s.held_out]
    held_out = [s for s in scores if s.held_out]
    if tuning and held_out:
        print("\n--- pages used while tuning ---")
        print(_totals(tuning))
        print("\n--- held-out pages (set = holdout) ---")
        print(_totals(held_out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
