"""A listing's fetched pages made one list of entries, and the guard that flags a page which no
longer looks like the listing it was (suspect: nothing published)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from feeds.config import SourceConfig
from feeds.dates import page_order_instants
from feeds.errors import ParseError
from feeds.ledger.store import LedgerTransaction
from feeds.model import Diagnostic, Entry, ParseResult, Severity
from feeds.refresh.fetch import Document

#: A source that has this many entries on its page, and whose next fetch shares fewer than
#: ``MIN_KNOWN_SHARE`` of its ids with them, is suspect: its layout (or identity) changed.
MIN_ENTRIES_FOR_ID_GUARD = 5
MIN_KNOWN_SHARE = 0.2


class Suspect(Exception):  # noqa: N818  (control flow of a refresh, never raised out of it)
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def page_url(source: SourceConfig, document: Document) -> str:
    """The URL a fetched page of the source stands for in its entries (their fallback link,
    the base of their relative links)."""
    return source.public_url or source.public_form(document.url)


def with_notes(result: ParseResult, notes: tuple[str, ...]) -> ParseResult:
    """The result, with what reading the page's bytes noticed as diagnostics."""
    if not notes:
        return result
    noticed = tuple(
        Diagnostic(code="charset", severity=Severity.WARNING, message=note) for note in notes
    )
    return replace(result, diagnostics=(*result.diagnostics, *noticed))


def templated_next_page(source: SourceConfig, results: list[ParseResult]) -> str | None:
    """Page n+1 from the source's ``next_page_template``, if it has one."""
    if not source.next_page_template:
        return None
    offset = sum(result.item_count for result in results)
    return source.next_page_template.format(offset=offset, page=len(results) + 1)


def merge_pages(source: SourceConfig, results: list[ParseResult], now: dt.datetime) -> list[Entry]:
    """One list of entries from a listing's pages, in order, each id once. Over several pages,
    instants are decided again over the whole list, so that page order holds across pages."""
    entries: list[Entry] = []
    seen: set[str] = set()
    for result in results:
        for entry in result.entries:
            if entry.id not in seen:
                seen.add(entry.id)
                entries.append(entry)
    if len(results) > 1 and all(result.instants_from_days for result in results):
        instants = page_order_instants([e.date for e in entries], source.timezone, now)
        entries = [replace(e, published=p) for e, p in zip(entries, instants, strict=True)]
    return entries


def guard(
    source: SourceConfig,
    transaction: LedgerTransaction,
    results: list[ParseResult],
    entries: list[Entry],
) -> None:
    """Raise ``Suspect`` when the fetched page no longer looks like the listing it was."""
    live, dated = transaction.live_counts(source.id)
    if not entries:
        reasons = [d.message for r in results for d in r.diagnostics if d.code == "not-a-listing"]
        reason = reasons[0] if reasons else "the page gives no entries"
        if live:
            raise Suspect(f"{reason}; it had {live} entries (has the layout changed?)")
        raise ParseError(source.url, reason)
    if dated and not any(entry.date for entry in entries):
        raise Suspect(
            f"none of the {len(entries)} items has a date where it had dated items "
            "(has the layout changed?)"
        )
    listed_before = transaction.on_page_ids(source.id)
    if len(listed_before) >= MIN_ENTRIES_FOR_ID_GUARD and len(entries) >= MIN_ENTRIES_FOR_ID_GUARD:
        known = sum(1 for entry in entries if entry.id in listed_before)
        if known < MIN_KNOWN_SHARE * len(entries):
            raise Suspect(
                f"{len(entries) - known} of the {len(entries)} entries are new at once "
                "(has the layout or the wording of every item changed?)"
            )
