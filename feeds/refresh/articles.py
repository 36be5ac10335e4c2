"""Fetching entries' articles (``full_text`` sources): after a listing's refresh, the pages of
its entries that are due (``feeds.ledger.articles``), at most the source's budget of them,
through the refresh's own fetcher and politeness, each extracted and stored. Each article
fails on its own: its entry stays published without content and its fetch is retried after a
backoff; the listing's refresh and the other articles go on."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass

from feeds.config import SourceConfig
from feeds.errors import FeedpubError, ParseError
from feeds.ledger.articles import ArticleFetch, ArticleTask
from feeds.ledger.store import Ledger
from feeds.model import ArticleExtractor
from feeds.refresh.fetch import Document, Fetcher, NotModified, RetryLaterError
from feeds.refresh.network import StoppedError
from feeds.text import read_document

logger = logging.getLogger(__name__)

#: The media types an article page may have (or none said).
HTML_TYPES = ("text/html", "application/xhtml+xml")
#: The longest error message kept for an article.
_ERROR_LENGTH = 500

#: How long to wait before trying an article again after its n-th failure in a row, given a
#: server's ``Retry-After`` (seconds) if it sent one.
Backoff = Callable[[int, float | None], dt.timedelta]


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleTally:
    """What one refresh did with its source's articles."""

    fetched: int = 0  # a new or changed body stored
    unchanged: int = 0  # answered 304, or the same bytes as before
    failed: int = 0
    due: int = 0  # due, and left for a later refresh by the budget

    @property
    def tried(self) -> int:
        return self.fetched + self.unchanged + self.failed


def article_digest(content: bytes) -> str:
    """A digest of an article page's bytes: the same bytes are not extracted again."""
    return hashlib.sha256(content).hexdigest()[:32]


def listing_links(source: SourceConfig, listing_urls: Collection[str]) -> set[str]:
    """The URLs of the listing itself, without fragments: an entry linking there (an item
    without a link of its own, or an anchor on the page) has no article to fetch."""
    urls = {source.page_url, source.public_form(source.url), *listing_urls}
    return {url.partition("#")[0] for url in urls}


def refresh_articles(
    *,
    source: SourceConfig,
    ledger: Ledger,
    fetcher: Fetcher,
    extract: ArticleExtractor,
    listing: Document | NotModified,
    listing_urls: Collection[str],
    clock: Callable[[], dt.datetime],
    backoff: Backoff,
) -> ArticleTally:
    """Fetch, extract and store the source's due articles, newest entry first, at most
    ``source.full_text_budget`` of them. Their links are held to the address rules of the
    ``listing`` they came from (``Fetcher.fetch(..., follows=, any_site=True)``). A server
    asking to come back later ends the round: the rest wait for the next refresh."""
    due = ledger.due_articles(source.id, clock(), not_links=listing_links(source, listing_urls))
    chosen = due[: source.full_text_budget]
    fetched = unchanged = failed = 0
    for task in chosen:
        try:
            found = _fetch_one(
                source, fetcher=fetcher, extract=extract, listing=listing, task=task, clock=clock
            )
        except StoppedError:
            raise
        except Exception as error:
            retry_after = error.retry_after if isinstance(error, RetryLaterError) else None
            message = source.redact(str(error) if isinstance(error, FeedpubError) else repr(error))
            if isinstance(error, FeedpubError):
                logger.warning("source %s: article of %s failed: %s", source.id, task.entry_id,
                               message)  # fmt: skip
            else:
                logger.exception("source %s: article of %s failed unexpectedly", source.id,
                                 task.entry_id)  # fmt: skip
            now = clock()
            failures = task.consecutive_failures + 1
            ledger.save_article(
                ArticleFetch(
                    task=task, fetched_at=now, error=message[:_ERROR_LENGTH],
                    next_attempt_at=now + backoff(failures, retry_after),
                )
            )  # fmt: skip
            failed += 1
            if isinstance(error, RetryLaterError):
                break
            continue
        ledger.save_article(found)
        if found.unchanged:
            unchanged += 1
        else:
            fetched += 1
    tally = ArticleTally(
        fetched=fetched, unchanged=unchanged, failed=failed, due=len(due) - fetched - unchanged
        - failed,
    )  # fmt: skip
    if tally.tried or tally.due:
        logger.info(
            "source %s: articles: %d fetched, %d unchanged, %d failed, %d left for later",
            source.id, tally.fetched, tally.unchanged, tally.failed, tally.due,
        )  # fmt: skip
    return tally


def _fetch_one(
    source: SourceConfig,
    *,
    fetcher: Fetcher,
    extract: ArticleExtractor,
    listing: Document | NotModified,
    task: ArticleTask,
    clock: Callable[[], dt.datetime],
) -> ArticleFetch:
    """Fetch one article (conditionally, with its validators) and extract its body; raises
    ``FeedpubError`` for a page that cannot be fetched or gives no article."""
    answer = fetcher.fetch(
        # on the source's own site, with the credentials its URL has (as its next pages)
        source.fetch_form(task.url), etag=task.etag, last_modified=task.last_modified,
        follows=listing, any_site=True,
    )  # fmt: skip
    now = clock()
    if isinstance(answer, NotModified):
        return ArticleFetch(
            task=task, fetched_at=now, unchanged=True,
            etag=answer.etag or task.etag, last_modified=answer.last_modified or task.last_modified,
        )  # fmt: skip
    digest = article_digest(answer.content)
    if digest == task.content_hash:
        return ArticleFetch(
            task=task, fetched_at=now, unchanged=True, etag=answer.etag,
            last_modified=answer.last_modified,
        )  # fmt: skip
    media_type = (answer.content_type or "").partition(";")[0].strip().lower()
    if media_type and media_type not in HTML_TYPES:
        raise ParseError(task.url, f"not an HTML page (Content-Type: {media_type})")
    decoded = read_document(answer.content, source=answer.url, charset=answer.charset)
    body = extract(decoded.text, url=answer.url, selector=source.full_text_selector)
    return ArticleFetch(
        task=task, fetched_at=now, etag=answer.etag, last_modified=answer.last_modified,
        content_hash=digest, content_html=body,
    )  # fmt: skip
