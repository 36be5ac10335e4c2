"""Benchmark: a simulated month of a listing whose newsroom corrects what it published, and
what a subscriber sees of it: stories seen twice (a correction that got a new id) and
distinct stories wrongly merged (one taken as the correction of another). Both should be 0.

Run: ``.venv/bin/python -m bench.corrections`` (a few seconds). The listing shows its newest
20 stories; every day 2 to 4 stories arrive, drawn from families of look-alike headlines
("Weekly brief No. 12", "ILO welcomes ratification of Convention 190 by Kenya", "Safety week
on the docks" every year, press releases of one day sharing a pattern), and the listing is
read three times a day. Between two reads each listed story is corrected with probability
4%: a typo fixed, a hyphen, words added, one word changed, the date moved a day, or title and
summary together. Each read is parsed by the ILO adapter (text rendition, no item links, the
hardest case: identity from title and date only) and merged into a ledger on a SQLite file.

Prints, for each setting of the two thresholds of ``feeds.ledger.corrections``
(``TYPO_SIMILARITY`` and ``SIMILAR_TITLE``) over several seeds: corrections made, stories
seen twice, stories wrongly merged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from feeds.ledger import corrections
from feeds.ledger.store import Ledger, Retention
from feeds.model import UTC, PageContext
from sources import ilo

PAGE_URL = "https://www.example.org/newsroom/lang--en/index.htm"
LISTED = 20
READS_PER_DAY = 3
CORRECTION_CHANCE = 0.04
COUNTRIES = ("Kenya", "Ghana", "Zambia", "Niger", "Nigeria", "Mali", "Malawi", "Guinea", "Guyana")
CITIES = ("Lusaka", "Dakar", "Lima", "Quito", "Hanoi", "Accra", "Suva", "Muscat")
TOPICS = ("wages", "safety", "pensions", "training", "night shifts", "child labour", "ports")
MONTH_START = dt.date(2026, 10, 1)


@dataclass(frozen=True, slots=True)
class Story:
    key: int
    title: str
    day: dt.date
    summary: str


class Newsroom:
    """Invents stories and corrects them, by a seeded random generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.count = 0
        self.brief = 11

    def story(self, day: dt.date) -> Story:
        self.count += 1
        rng = self.rng
        family = rng.randrange(6)
        if family == 0:
            self.brief += 1
            title = f"Weekly brief No. {self.brief}"
        elif family == 1:
            title = f"ILO welcomes ratification of Convention 190 by {rng.choice(COUNTRIES)}"
        elif family == 2:
            title = f"Press release: new guidance on {rng.choice(TOPICS)}"
        elif family == 3:
            title = f"Minister opens training centre in {rng.choice(CITIES)}"
        elif family == 4:
            title = "Safety week on the docks"
        else:
            title = (
                f"{rng.choice(('Report', 'Study', 'Survey'))} on {rng.choice(TOPICS)} in "
                f"{rng.choice(COUNTRIES)} finds {rng.randrange(2, 40)} per cent gap"
            )
        summary = f"Story {self.count}: {rng.choice(TOPICS)} and {rng.choice(TOPICS)}."
        return Story(self.count, title, day, summary)

    def correct(self, story: Story) -> Story:
        rng = self.rng
        words = story.title.split()
        kind = rng.randrange(6)
        if kind == 0 and len(words[-1]) > 3:  # a typo fixed (or made)
            word = words[-1]
            at = rng.randrange(1, len(word) - 1)
            words[-1] = word[:at] + word[at + 1 :]
            return replace(story, title=" ".join(words))
        if kind == 1:  # a hyphen
            return replace(story, title=story.title.replace(" on ", " on-", 1))
        if kind == 2:  # words added
            return replace(story, title=story.title + " today")
        if kind == 3 and len(words) > 3:  # one word changed
            words[0] = {"Minister": "Ministry", "Report": "Paper"}.get(words[0], "New")
            return replace(story, title=" ".join(words))
        if kind == 4:  # the date moved a day
            return replace(story, day=story.day + dt.timedelta(days=rng.choice((-1, 1))))
        return replace(story, title=story.title + "!", summary=story.summary + " (updated)")


def text_page(stories: list[Story]) -> str:
    lines = ["Newsroom", ""]
    for number, story in enumerate(stories, start=1):
        lines += [f"  {number}. {story.title}", ""]
        lines += [f"    {story.day.day} {story.day:%B} {story.day.year}", ""]
        lines += [f"    {story.summary}", ""]
    return "\n".join(lines)


def simulate(seed: int, folder: Path) -> tuple[int, int, int]:
    """Returns (corrections made, stories seen twice, stories wrongly merged)."""
    newsroom = Newsroom(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ledger = Ledger.open(f"sqlite:///{folder / f'ledger-{seed}.db'}")
    listed: list[Story] = []
    ids_of: dict[int, set[str]] = defaultdict(set)
    made = 0
    parse = ilo.adapter({})
    try:
        for day_number in range(30):
            day = MONTH_START + dt.timedelta(days=day_number)
            arrivals = [newsroom.story(day) for _ in range(newsroom.rng.randrange(2, 5))]
            listed = (arrivals + listed)[:LISTED]
            for read in range(READS_PER_DAY):
                for at, story in enumerate(listed):
                    if newsroom.rng.random() < CORRECTION_CHANCE:
                        listed[at] = newsroom.correct(story)
                        made += listed[at] != story
                now = dt.datetime.combine(day, dt.time(8 + 4 * read), tzinfo=UTC)
                context = PageContext(
                    source_id="newsroom", page_url=PAGE_URL, timezone=ZoneInfo("UTC"), seen_at=now
                )
                result = parse(text_page(listed), context)
                with ledger.transaction() as transaction:
                    transaction.merge(
                        "newsroom",
                        result.entries,
                        now=now,
                        retention=Retention(keep_at_least=10_000),
                        listing_urls={PAGE_URL},
                    )
                stored = {
                    (s.entry.title, s.entry.date, s.entry.summary): s.entry.id
                    for s in ledger.entries()
                }
                for story in listed:
                    ids_of[story.key].add(stored[story.title, story.day, story.summary])
    finally:
        ledger.close()
    seen_twice = sum(1 for ids in ids_of.values() if len(ids) > 1)
    stories_of: dict[str, set[int]] = defaultdict(set)
    for key, ids in ids_of.items():
        for entry_id in ids:
            stories_of[entry_id].add(key)
    merged = sum(len(keys) - 1 for keys in stories_of.values() if len(keys) > 1)
    return made, seen_twice, merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    arguments = parser.parse_args()
    settings = [(0.6, 0.6), (0.5, 0.5), (0.7, 0.7), (0.6, 0.8), (0.8, 0.6), (0.4, 0.4)]
    print(f"{arguments.seeds} simulated months each; a story is seen twice if it got two ids")
    print(f"{'typo':>5} {'similar':>7} {'corrections':>11} {'seen twice':>10} {'merged':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for typo, similar in settings:
            corrections.TYPO_SIMILARITY, corrections.SIMILAR_TITLE = typo, similar
            totals = [0, 0, 0]
            for seed in range(arguments.seeds):
                outcome = simulate(seed, Path(folder) / f"{typo}-{similar}")
                totals = [a + b for a, b in zip(totals, outcome, strict=True)]
            print(f"{typo:>5} {similar:>7} {totals[0]:>11} {totals[1]:>10} {totals[2]:>7}")


if __name__ == "__main__":
    main()
