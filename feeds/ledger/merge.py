"""Merging what a fetch listed into the ledger: new entries stored once (each at its own
instant), changed ones updated, corrections paired with the entries they correct
(``feeds.ledger.corrections``), entries that left the page marked so, and retention applied.
Runs inside a ``LedgerTransaction``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from feeds.identity import entry_id, item_key, normalise_text
from feeds.ledger.articles import fetch_again, forget_articles
from feeds.ledger.corrections import Listed, closeness, pair_corrections
from feeds.ledger.instants import free_instants, lock_instants
from feeds.ledger.tables import entries_table, entry_aliases_table, sources_table
from feeds.model import Entry


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    """Which entries that left their listing page are removed: only beyond the newest
    ``keep_at_least`` of the source, and only when older than ``max_age_days``."""

    keep_at_least: int = 100
    max_age_days: int = 365


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeResult:
    """What merging a fetch's entries changed."""

    new: int = 0
    updated: int = 0
    removed: int = 0
    total: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated or self.removed)


def content_hash(entry: Entry) -> str:
    """A digest of what makes an entry "updated" when it changes: title, summary, labels."""
    payload = json.dumps([entry.title, entry.summary, list(entry.labels)], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def merge_listing(
    connection: Connection,
    source_id: str,
    entries: Sequence[Entry],
    *,
    now: dt.datetime,
    retention: Retention,
    listing_urls: Collection[str] = (),
    live_total: Callable[[], int],
) -> MergeResult:
    """Store what a successful fetch listed (in page order); return what changed. An item
    that arrived correcting one that left the page (``feeds.ledger.corrections``; items
    without a link of their own link to one of ``listing_urls``) updates that entry,
    which keeps its id and ``published``."""
    now = now.replace(microsecond=0)
    previous = connection.execute(
        select(sources_table.c.page_order).where(sources_table.c.id == source_id)
    ).one()
    table = entries_table
    existing = {
        row.id: row
        for row in connection.execute(
            select(
                table.c.id, table.c.content_hash, table.c.removed_at, table.c.on_page,
                table.c.link, table.c.credit, table.c.group_heading, table.c.image,
                table.c.title, table.c.listing_date, table.c.summary,
            ).where(table.c.source_id == source_id)
        )
    }  # fmt: skip
    entries, corrected = _reidentify(
        connection,
        source_id,
        entries,
        existing,
        previous_order=previous.page_order or [],
        listing_urls=listing_urls,
    )
    fetch_again(connection, source_id, corrected, now)  # a corrected item's page may be too
    listed: set[str] = set()
    new_entries: list[Entry] = []
    changes: list[dict[str, Any]] = []
    content_changed = shown_changed = 0
    for entry in entries:
        if entry.id in listed:
            continue
        listed.add(entry.id)
        row = existing.get(entry.id)
        if row is None:
            new_entries.append(entry)
            continue
        if row.removed_at is not None:
            continue  # removed by retention: it never comes back
        digest = content_hash(entry)
        shown = (entry.link, entry.credit, entry.group, entry.image, entry.date)
        if (
            digest != row.content_hash
            or entry.id in corrected
            or shown != (row.link, row.credit, row.group_heading, row.image, row.listing_date)
        ):
            change: dict[str, Any] = {
                "b_id": entry.id, "title": entry.title, "summary": entry.summary,
                "labels": list(entry.labels), "link": entry.link, "credit": entry.credit,
                "group_heading": entry.group, "image": entry.image, "content_hash": digest,
                "listing_date": entry.date, "on_page": True,
                "item_key": item_key(entry.title, entry.date),
            }  # fmt: skip
            # a corrected title, summary, labels or date is news to readers: ``updated``
            if (
                digest != row.content_hash
                or entry.id in corrected
                or entry.date != row.listing_date
            ):
                change["updated"] = now
                content_changed += 1
            shown_changed += 1
            changes.append(change)
        elif not row.on_page:
            changes.append({"b_id": entry.id, "on_page": True})
    dropped = [
        {"b_id": id_} for id_, row in existing.items()
        if row.on_page and row.removed_at is None and id_ not in listed
    ]  # fmt: skip
    changes += [{**values, "on_page": False} for values in dropped]
    _apply_changes(connection, source_id, changes)
    if new_entries:
        _insert_new(connection, source_id, new_entries, now)
    order = list(dict.fromkeys(entry.id for entry in entries))
    if order != (previous.page_order or []):
        connection.execute(
            update(sources_table).where(sources_table.c.id == source_id).values(page_order=order)
        )
    removed = _apply_retention(connection, source_id, now, retention)
    total = live_total()
    result = MergeResult(
        new=len(new_entries), updated=content_changed, removed=removed, total=total
    )
    if result.changed or shown_changed:
        connection.execute(
            update(sources_table)
            .where(sources_table.c.id == source_id)
            .values(version=sources_table.c.version + 1)
        )
    return result


def _apply_changes(connection: Connection, source_id: str, changes: list[dict[str, Any]]) -> None:
    """Update the source's entries: each change names its entry (``b_id``) and the columns
    it sets; one executemany per kind of change."""
    table = entries_table
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for values in changes:
        by_fields.setdefault(tuple(sorted(values)), []).append(values)
    for fields, rows in by_fields.items():
        statement = update(table).where(
            table.c.source_id == source_id, table.c.id == bindparam("b_id")
        )
        names = [name for name in fields if name != "b_id"]
        connection.execute(
            statement.values({name: bindparam(f"b_{name}") for name in names}),
            [{f"b_{k}" if k != "b_id" else k: v for k, v in row.items()} for row in rows],
        )


def _insert_new(
    connection: Connection, source_id: str, new_entries: list[Entry], now: dt.datetime
) -> None:
    """Store new entries, each at an instant of its own (bottom of the page first, so that
    page order holds: see ``feeds.ledger.instants``), first seen ``now``."""
    lock_instants(connection)
    candidates = [min(e.published, now) for e in reversed(new_entries)]
    instants = list(reversed(free_instants(connection, candidates)))
    connection.execute(
        entries_table.insert(),
        [
            {
                "source_id": source_id, "id": e.id, "title": e.title, "link": e.link,
                "listing_date": e.date, "published": published, "updated": published,
                "first_seen": now, "summary": e.summary, "labels": list(e.labels),
                "credit": e.credit, "group_heading": e.group, "image": e.image,
                "content_hash": content_hash(e), "on_page": True,
                "instant": int(published.timestamp()),
                "item_key": item_key(e.title, e.date),
            }
            for e, published in zip(new_entries, instants, strict=True)
        ],
    )  # fmt: skip


def _reidentify(
    connection: Connection,
    source_id: str,
    entries: Sequence[Entry],
    existing: Mapping[str, Any],
    *,
    previous_order: Sequence[str],
    listing_urls: Collection[str],
) -> tuple[list[Entry], set[str]]:
    """The entries with the ids of the entries they correct: those of earlier pairs (the
    aliases kept), and pairs of this merge's arrived and departed items (kept as new
    aliases). Also returns the ids of the entries corrected by this merge's pairs."""
    aliases_table = entry_aliases_table
    aliases = {
        row.alias: row.entry_id
        for row in connection.execute(
            select(aliases_table.c.alias, aliases_table.c.entry_id).where(
                aliases_table.c.source_id == source_id
            )
        )
    }

    def aliased(entries: list[Entry]) -> list[Entry]:
        return [
            replace(entry, id=aliases[entry.id])
            if entry.id not in existing and entry.id in aliases
            else entry
            for entry in entries
        ]

    entries = aliased(_twins_found(aliased(list(entries)), existing))
    ids = {entry.id for entry in entries}
    arrived = {entry.id for entry in entries if entry.id not in existing}
    departed = [
        _listed(row, id_)
        for id_, row in existing.items()
        if row.on_page and row.removed_at is None and id_ not in ids
    ]
    if not arrived or not departed:
        return entries, set()
    pairs = pair_corrections(
        [_as_listed(entry) for entry in entries],
        arrived,
        departed,
        previous_order=previous_order,
        listing_urls=listing_urls,
    )
    if not pairs:
        return entries, set()
    connection.execute(
        aliases_table.insert(),
        [
            {"source_id": source_id, "alias": alias, "entry_id": entry_id}
            for alias, entry_id in pairs.items()
        ],
    )
    return [replace(e, id=pairs.get(e.id, e.id)) for e in entries], set(pairs.values())


def _twins_found(entries: list[Entry], existing: Mapping[str, Any]) -> list[Entry]:
    """Items that share a title and a date are told apart in their ids by their summaries
    (``feeds.identity``), so their ids move when one of them changes (its title, its date):
    an item may arrive with the id its twin had. Among the items that share a title and a
    date, each stored entry of that title and date (or of their ids) goes to the item whose
    summary is closest to its own; an item whose id went to another gets an id of its own
    (derived from that id and its summary), which a correction may pair with its entry."""
    groups: dict[tuple[str, dt.date | None], list[int]] = {}
    for at, entry in enumerate(entries):
        groups.setdefault((normalise_text(entry.title), entry.date), []).append(at)
    live = {id_: row for id_, row in existing.items() if row.removed_at is None}
    by_content: dict[tuple[str, dt.date | None], list[str]] = {}
    for id_, row in live.items():
        if row.on_page:
            by_content.setdefault((normalise_text(row.title), row.listing_date), []).append(id_)
    found = list(entries)
    for key, members in groups.items():
        stored = set(by_content.get(key, ())) | {
            entries[at].id
            for at in members
            if entries[at].id in live
            and (normalise_text(live[entries[at].id].title), live[entries[at].id].listing_date)
            == key
        }
        first = entries[members[0]]
        if not stored or (
            len(members) == 1 and stored == {first.id} and live[first.id].summary == first.summary
        ):
            continue  # one item and its own entry, unchanged, or no entry: nothing to settle
        choices = sorted(
            (
                (-closeness(_listed(live[i], i), _as_listed(entries[at])), at, i)
                for at in members
                for i in stored
            ),
        )
        given: dict[int, str] = {}
        for _score, at, stored_id in choices:
            if at not in given and stored_id not in given.values():
                given[at] = stored_id
        for at in members:
            entry = entries[at]
            if at in given:
                found[at] = replace(entry, id=given[at])
            elif entry.id in given.values():
                found[at] = _own_id(entry, at)
    return _one_item_per_id(found, existing)


def _one_item_per_id(entries: list[Entry], existing: Mapping[str, Any]) -> list[Entry]:
    """Where several items arrive with one stored entry's id (a corrected item's alias, and
    an item whose title and date are now what the corrected one's were), the entry goes to
    the closest; the others get ids of their own."""
    holders: dict[str, list[int]] = {}
    for at, entry in enumerate(entries):
        if entry.id in existing:
            holders.setdefault(entry.id, []).append(at)
    found = list(entries)
    for entry_id_, members in holders.items():
        if len(members) > 1:
            stored = _listed(existing[entry_id_], entry_id_)
            keep = max(members, key=lambda at: closeness(stored, _as_listed(entries[at])))
            for at in members:
                if at != keep:
                    found[at] = _own_id(entries[at], at)
    return found


def _own_id(entry: Entry, at: int) -> Entry:
    """The entry with an id of its own, derived from the one it arrived with."""
    return replace(entry, id=entry_id(entry.id, entry.title, entry.date, entry.summary or str(at)))


def _listed(row: Any, entry_id: str) -> Listed:
    return Listed(
        id=entry_id, title=row.title, date=row.listing_date, link=row.link, summary=row.summary
    )


def _as_listed(entry: Entry) -> Listed:
    return Listed(
        id=entry.id, title=entry.title, date=entry.date, link=entry.link, summary=entry.summary
    )


def _apply_retention(
    connection: Connection, source_id: str, now: dt.datetime, retention: Retention
) -> int:
    table = entries_table
    rows = connection.execute(
        select(table.c.id, table.c.published, table.c.on_page)
        .where(table.c.source_id == source_id, table.c.removed_at.is_(None))
        .order_by(table.c.published.desc())
        .offset(retention.keep_at_least)
    ).all()
    cutoff = now - dt.timedelta(days=retention.max_age_days)
    expired = [{"b_id": r.id} for r in rows if not r.on_page and r.published < cutoff]
    if expired:
        connection.execute(
            update(table)
            .where(table.c.source_id == source_id, table.c.id == bindparam("b_id"))
            .values(removed_at=now),
            expired,
        )
        forget_articles(connection, source_id, [values["b_id"] for values in expired])
    return len(expired)
