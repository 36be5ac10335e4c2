"""Entries' articles in the ledger: which are due for fetching, what a fetch of one found,
and how many each source has. An article is fetched once for its entry's link; again only when
the link changes, its entry is corrected (``feeds.ledger.merge``), or its last fetch failed
(then at the time its backoff set). Runs on a connection of ``feeds.ledger.store``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from feeds.ledger.tables import articles_table, entries_table, sources_table


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleTask:
    """An entry whose article is to be fetched: its link, and what the last fetch of that
    link left (validators, the digest of the page's bytes, failures in a row)."""

    source_id: str
    entry_id: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    consecutive_failures: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleFetch:
    """What fetching an entry's article found: a body (``content_html``), the page unchanged
    (``unchanged``), or an ``error``; with the validators and digest to keep, and when to try
    again (after an error)."""

    task: ArticleTask
    fetched_at: dt.datetime
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    content_html: str | None = None
    unchanged: bool = False
    error: str | None = None
    next_attempt_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleCounts:
    """A source's articles: how many have a body, how many are failing, the last error."""

    with_content: int = 0
    failing: int = 0
    last_error: str | None = None
    last_error_at: dt.datetime | None = None


def due_articles(
    connection: Connection, source_id: str, now: dt.datetime, *, not_links: Collection[str]
) -> list[ArticleTask]:
    """The source's entries on its page whose article is due, newest first: never fetched for
    their current link, or due again (a failure's backoff is over, or the entry was
    corrected). Entries whose link is in ``not_links`` (the listing's own pages, without
    their fragments) have no article of their own."""
    entries, articles = entries_table, articles_table
    query = (
        select(
            entries.c.id, entries.c.link, articles.c.url, articles.c.etag,
            articles.c.last_modified, articles.c.content_hash, articles.c.consecutive_failures,
        )
        .outerjoin(
            articles,
            and_(articles.c.source_id == entries.c.source_id, articles.c.entry_id == entries.c.id),
        )
        .where(
            entries.c.source_id == source_id, entries.c.on_page, entries.c.removed_at.is_(None),
            or_(
                articles.c.url.is_(None),
                articles.c.url != entries.c.link,
                articles.c.next_attempt_at <= now,
            ),
        )
        .order_by(entries.c.published.desc(), entries.c.id)
    )  # fmt: skip
    tasks = []
    for row in connection.execute(query):
        link = row.link
        if not link.lower().startswith(("http://", "https://")):
            continue
        if link.partition("#")[0] in not_links:
            continue
        same = row.url == link  # validators and digest hold for the link they came from
        tasks.append(
            ArticleTask(
                source_id=source_id,
                entry_id=row.id,
                url=link,
                etag=row.etag if same else None,
                last_modified=row.last_modified if same else None,
                content_hash=row.content_hash if same else None,
                consecutive_failures=(row.consecutive_failures or 0) if same else 0,
            )
        )
    return tasks


def save_article(connection: Connection, fetch: ArticleFetch) -> bool:
    """Store what fetching an article found; True when the entry's content changed (then the
    source's version moves, as feeds showing it must be rendered again)."""
    task, table = fetch.task, articles_table
    key = and_(table.c.source_id == task.source_id, table.c.entry_id == task.entry_id)
    row = connection.execute(select(table.c.url, table.c.content_html).where(key)).first()
    values: dict[str, object] = {"url": task.url}
    changed = False
    if fetch.error is not None:
        values |= {
            "consecutive_failures": task.consecutive_failures + 1,
            "next_attempt_at": fetch.next_attempt_at,
            "last_error": fetch.error,
            "last_error_at": fetch.fetched_at,
        }
        if row is not None and row.url != task.url and row.content_html is not None:
            values["content_html"] = None  # the body of the entry's former link
            values["content_hash"] = None
            changed = True
    else:
        values |= {
            "etag": fetch.etag, "last_modified": fetch.last_modified,
            "fetched_at": fetch.fetched_at, "consecutive_failures": 0, "next_attempt_at": None,
            "last_error": None, "last_error_at": None,
        }  # fmt: skip
        if not fetch.unchanged:
            values["content_hash"] = fetch.content_hash
            values["content_html"] = fetch.content_html
            changed = row is None or row.content_html != fetch.content_html
    if row is None:
        values.setdefault("consecutive_failures", 0)
        connection.execute(
            table.insert().values(source_id=task.source_id, entry_id=task.entry_id, **values)
        )
    else:
        connection.execute(update(table).where(key).values(**values))
    if changed:
        connection.execute(
            update(sources_table)
            .where(sources_table.c.id == task.source_id)
            .values(version=sources_table.c.version + 1)
        )
    return changed


def fetch_again(
    connection: Connection, source_id: str, entry_ids: Collection[str], now: dt.datetime
) -> None:
    """Make the articles of these entries due now (their entries were corrected: the page
    may have been too); their validators stay, so an unchanged page is not read again."""
    if entry_ids:
        table = articles_table
        connection.execute(
            update(table)
            .where(table.c.source_id == source_id, table.c.entry_id.in_(list(entry_ids)))
            .values(next_attempt_at=now)
        )


def forget_articles(connection: Connection, source_id: str, entry_ids: Collection[str]) -> None:
    """Remove the articles of entries that retention removed (their tombstones keep no body)."""
    if entry_ids:
        table = articles_table
        connection.execute(
            delete(table).where(table.c.source_id == source_id,
                                table.c.entry_id.in_(list(entry_ids)))
        )  # fmt: skip


def article_counts(connection: Connection) -> dict[str, ArticleCounts]:
    """Each source's articles of live entries (sources with none are left out)."""
    entries, articles = entries_table, articles_table
    live = and_(
        entries.c.source_id == articles.c.source_id,
        entries.c.id == articles.c.entry_id,
        entries.c.removed_at.is_(None),
    )
    counts = connection.execute(
        select(
            articles.c.source_id,
            func.count(articles.c.content_html),
            func.count(articles.c.last_error),
            func.max(articles.c.last_error_at),
        )
        .join(entries, live)
        .group_by(articles.c.source_id)
    ).all()
    last_errors = {
        row.source_id: row.last_error
        for row in connection.execute(
            select(articles.c.source_id, articles.c.last_error, articles.c.last_error_at)
            .join(entries, live)
            .where(articles.c.last_error.is_not(None))
            .order_by(articles.c.last_error_at, articles.c.entry_id)
        )
    }  # the latest of each source's, as rows come oldest first
    return {
        source_id: ArticleCounts(
            with_content=int(with_content),
            failing=int(failing),
            last_error=last_errors.get(source_id),
            last_error_at=last_error_at,
        )
        for source_id, with_content, failing, last_error_at in counts
    }
