"""Filters on feed URLs: RSSHub's query parameters (``filter``, ``filter_title``,
``filterout``, ``filter_time``, ``limit`` ...) read into one canonical, comparable filter, and
the entries it keeps. Patterns are RE2 regular expressions: matching takes time linear in the
text, whatever the pattern, so no query string can stall a server.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import re2

from feeds.config import MAX_FEED_ENTRIES
from feeds.identity import PLAIN_CHARACTERS
from feeds.model import StoredEntry
from feeds.serve.query import whole_number
from feeds.serve.topics import fold

#: The fields a pattern may look at, and the parameters that name them (``filter_<field>``,
#: ``filterout_<field>``); a bare ``filter`` or ``filterout`` looks at all of them.
FIELDS = ("title", "description", "category", "author")
INCLUDE = ("filter", *(f"filter_{name}" for name in FIELDS))
EXCLUDE = ("filterout", *(f"filterout_{name}" for name in FIELDS))
CASE_SENSITIVE = "filter_case_sensitive"
TIME = "filter_time"
LIMIT = "limit"
#: Every parameter a filter is read from, in the order its canonical query string gives them.
PARAMETERS = (*INCLUDE, *EXCLUDE, CASE_SENSITIVE, TIME, LIMIT)
#: The longest pattern accepted, in characters.
MAX_PATTERN_CHARACTERS = 256
#: The most memory RE2 may give one compiled pattern (bytes): a pattern that needs more, a
#: counted repetition such as ``(a{1000}){1000}``, is refused as too large.
MAX_PATTERN_MEMORY = 64 * 1024
#: The longest ``filter_time``: ten years, in seconds.
MAX_FILTER_SECONDS = 10 * 366 * 24 * 3600
#: ``filter_time``'s cut-off moves in steps this long, so that a filtered feed is rendered
#: once a step, not once a request, and is the same for every request within the step.
TIME_STEP_SECONDS = 60
_SECONDS = re.compile(r"[0-9]{1,9}")
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")
_ESCAPE = "\\"

Field = Literal["title", "description", "category", "author"]


class FilterError(ValueError):
    """A filter parameter that cannot be used; the message names it and says why."""


def fold_pattern(pattern: str) -> str:
    """A pattern made to match folded text (``feeds.serve.topics.fold``): its literal
    characters folded as text is, escapes (``\\W``, ``\\d``, ``\\x41``) left as they are."""
    out: list[str] = []
    characters = iter(pattern)
    for character in characters:
        if character == _ESCAPE:
            out.append(character + next(characters, ""))
            continue
        decomposed = unicodedata.normalize("NFKD", character.casefold())
        plain = decomposed.translate(PLAIN_CHARACTERS)
        out.append("".join(c for c in plain if not unicodedata.combining(c)) or character)
    return "".join(out)


def _options(*, case_sensitive: bool) -> Any:  # re2.Options: the module ships no types
    options = re2.Options()
    options.log_errors = False  # a client's bad pattern is its 400, not a line in our log
    options.max_mem = MAX_PATTERN_MEMORY
    options.case_sensitive = case_sensitive
    return options


@lru_cache(maxsize=128)
def compile_pattern(name: str, pattern: str, *, case_sensitive: bool) -> Any:
    """The parameter's pattern, compiled by RE2 (folded when matching is not case-sensitive);
    ``FilterError`` naming the parameter when it is too long or does not compile."""
    if len(pattern) > MAX_PATTERN_CHARACTERS:
        raise FilterError(f"{name}: a pattern may have at most {MAX_PATTERN_CHARACTERS} characters")
    source = pattern if case_sensitive else fold_pattern(pattern)
    try:
        return re2.compile(source, _options(case_sensitive=case_sensitive))
    except re2.error as error:
        reason = error.args[0] if error.args else error
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise FilterError(f"{name}: not a regular expression RE2 accepts: {reason}") from error


@dataclass(frozen=True, slots=True, kw_only=True)
class Pattern:
    """One parameter's pattern, and the fields it looks at."""

    parameter: str
    text: str
    fields: tuple[Field, ...]
    compiled: Any = field(compare=False, repr=False)


def _fields(parameter: str) -> tuple[Field, ...]:
    _prefix, _, name = parameter.partition("_")
    if not name:
        return FIELDS  # type: ignore[return-value]  # FIELDS holds exactly the Field names
    return (name,)  # type: ignore[return-value]  # the parameter names are made from FIELDS


def field_texts(stored: StoredEntry, name: Field) -> tuple[str, ...]:
    """The texts of an entry a field names: its title, its summary, each label, its credit."""
    entry = stored.entry
    if name == "title":
        return (entry.title,)
    if name == "description":
        return (entry.summary,)
    if name == "category":
        return tuple(entry.labels)
    return (entry.credit,) if entry.credit else ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedFilter:
    """A feed URL's filter, canonical: two URLs that ask for the same entries have equal
    filters (and the same ``query``), whatever the order and spelling of their parameters.

    Attributes:
        include: Patterns that must all match (each in one of its fields).
        exclude: Patterns none of which may match.
        case_sensitive: Match as written; by default case, accents and typography are ignored
            (as topic keywords do).
        seconds: Only entries dated less than this long ago (undated ones stay); 0 for any.
        limit: How many entries, at most; 0 for the topic's own limit.
        pairs: The canonical query: its parameters in ``PARAMETERS``' order, defaults left
            out (made from the others once, as every request for its feed looks it up).
    """

    include: tuple[Pattern, ...] = ()
    exclude: tuple[Pattern, ...] = ()
    case_sensitive: bool = False
    seconds: int = 0
    limit: int = 0
    pairs: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pairs = [(p.parameter, p.text) for p in (*self.include, *self.exclude)]
        if self.case_sensitive and (self.include or self.exclude):
            pairs.append((CASE_SENSITIVE, "true"))
        if self.seconds:
            pairs.append((TIME, str(self.seconds)))
        if self.limit:
            pairs.append((LIMIT, str(self.limit)))
        object.__setattr__(self, "pairs", tuple(pairs))

    @property
    def selects(self) -> bool:
        """True when it leaves some entries out (more than a limit does)."""
        return bool(self.include or self.exclude or self.seconds)

    def cutoff(self, now: dt.datetime) -> dt.datetime | None:
        """The oldest instant a dated entry may have, in whole ``TIME_STEP_SECONDS`` steps;
        ``None`` for any."""
        if not self.seconds:
            return None
        moment = int((now - dt.timedelta(seconds=self.seconds)).timestamp())
        return dt.datetime.fromtimestamp(moment - moment % TIME_STEP_SECONDS, dt.UTC)

    def keeps(self, stored: StoredEntry, cutoff: dt.datetime | None = None) -> bool:
        """True when the entry passes the filter (with ``cutoff`` from ``cutoff(now)``)."""
        entry = stored.entry
        if cutoff is not None and entry.date is not None and entry.published < cutoff:
            return False  # undated entries stay: their instant is only when they were seen
        texts: dict[Field, tuple[str, ...]] = {}

        def found(pattern: Pattern) -> bool:
            for name in pattern.fields:
                if name not in texts:
                    raw = field_texts(stored, name)
                    texts[name] = raw if self.case_sensitive else tuple(fold(t) for t in raw)
                if any(pattern.compiled.search(text) for text in texts[name]):
                    return True
            return False

        return all(found(p) for p in self.include) and not any(found(p) for p in self.exclude)

    def apply(
        self, entries: Iterable[StoredEntry], count: int, cutoff: dt.datetime | None
    ) -> list[StoredEntry]:
        """The first ``count`` of ``entries`` the filter keeps (``cutoff`` from ``cutoff``)."""
        kept: list[StoredEntry] = []
        for stored in entries:
            if len(kept) >= count:
                break
            if self.keeps(stored, cutoff):
                kept.append(stored)
        return kept


NO_FILTER = FeedFilter()


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in (*_FALSE, ""):
        return False
    raise FilterError(f"{name} must be true or false")


def read_filter(
    pairs: Sequence[tuple[str, str]],
    *,
    max_limit: int = MAX_FEED_ENTRIES,
) -> FeedFilter:
    """The filter a query string's ``pairs`` (``parse_qsl(..., keep_blank_values=True)``) ask
    for; ``FilterError`` naming the parameter that is given twice or cannot be used, or a
    ``filter...`` parameter that is none of ours (a misspelt filter would filter nothing). An
    empty pattern is no pattern; other parameters are ignored."""
    given: dict[str, str] = {}
    for name, value in pairs:
        if name not in PARAMETERS:
            if name.startswith("filter"):
                raise FilterError(f"{name}: unknown filter (known: {', '.join(PARAMETERS[:-1])})")
            continue
        if name in given:
            raise FilterError(f"{name} may be given once")
        given[name] = value
    case_sensitive = _flag(CASE_SENSITIVE, given.get(CASE_SENSITIVE, ""))

    def patterns(names: tuple[str, ...]) -> tuple[Pattern, ...]:
        return tuple(
            Pattern(
                parameter=name,
                text=given[name],
                fields=_fields(name),
                compiled=compile_pattern(name, given[name], case_sensitive=case_sensitive),
            )
            for name in names
            if given.get(name)
        )

    seconds = 0
    if given.get(TIME):
        text = given[TIME]
        if _SECONDS.fullmatch(text) is None or not 1 <= int(text) <= MAX_FILTER_SECONDS:
            raise FilterError(
                f"{TIME} must be a whole number of seconds from 1 to {MAX_FILTER_SECONDS}"
            )
        seconds = int(text)
    limit = 0
    if LIMIT in given:
        try:
            limit = whole_number(LIMIT, given[LIMIT], 1, max_limit)
        except ValueError as error:
            raise FilterError(str(error)) from error
    return FeedFilter(
        include=patterns(INCLUDE),
        exclude=patterns(EXCLUDE),
        case_sensitive=case_sensitive,
        seconds=seconds,
        limit=limit,
    )
