"""Refreshing one source: fetch, parse, guard against layout changes, store, record the outcome.

``Refresher.refresh`` is the one function that does it (``Refresher.refresh_if_due`` does it
for the scheduler, under a lease on the source that no other process holds). A failure
(network, HTTP error, a page that cannot be read) is recorded on the source and logged with its
id; the source's published entries stay. A page whose layout seems to have changed publishes
nothing and flags the source as suspect, with the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from feeds import metrics
from feeds.config import SourceConfig
from feeds.errors import FeedpubError, FetchError
from feeds.identity import listing_key
from feeds.ledger.store import Ledger, MergeResult, Retention, SourceState
from feeds.model import (
    UTC,
    Adapter,
    AdapterFactory,
    ArticleExtractor,
    PageContext,
    ParseResult,
)
from feeds.refresh.articles import refresh_articles
from feeds.refresh.browser import Renderer, RenderRequest
from feeds.refresh.fetch import Document, Fetcher, NotModified, RetryLaterError
from feeds.refresh.listing_pages import (
    Suspect,
    guard,
    merge_pages,
    page_url,
    templated_next_page,
    with_notes,
)
from feeds.refresh.network import StoppedError
from feeds.refresh.outcomes import RefreshOutcome, Status, outcome_status
from feeds.text import read_document

logger = logging.getLogger(__name__)

#: A scheduled run this early is still on time (a run that started late makes the next one
#: seem early): this much, or a tenth of the source's interval if that is shorter.
DUE_TOLERANCE = dt.timedelta(seconds=30)
#: How long a scheduled refresh's claim on its source lasts unless renewed
#: (``Refresher.renew_leases``, every third of it): a crashed process's sources are taken over
#: by another after this.
DEFAULT_LEASE = dt.timedelta(minutes=2)


def process_owner_id() -> str:
    """A lease owner's name unique to this process: host, process id and a random suffix
    (process ids are reused, and containers share them)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def due_tolerance(source: SourceConfig) -> dt.timedelta:
    """How early a scheduled run of the source may come and still refresh it."""
    return min(DUE_TOLERANCE, source.refresh_interval / 10)


def _digest(documents: list[Document]) -> str:
    hasher = hashlib.sha256()
    for document in documents:
        hasher.update(document.content)
    return hasher.hexdigest()[:32]


@dataclass
class Refresher:
    """Refreshes sources into a ledger; one per process, shared by scheduler threads."""

    ledger: Ledger
    fetcher: Fetcher
    adapters: Mapping[str, AdapterFactory]
    max_backoff: dt.timedelta = dt.timedelta(hours=24)
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(UTC)
    rng: random.Random = field(default_factory=random.Random)
    #: Who holds the leases this refresher takes (``refresh_if_due``): made once, per process.
    owner: str = field(default_factory=process_owner_id)
    #: How long a lease lasts unless renewed (``renew_leases``).
    lease: dt.timedelta = DEFAULT_LEASE
    #: What extracts the articles of ``full_text`` sources (``sources.article``); without it,
    #: no article is fetched.
    extract_article: ArticleExtractor | None = None
    #: What renders ``render = "browser"`` sources (its browser starts on first use).
    renderer: Renderer = field(default_factory=Renderer)
    #: Called after each refresh that stored a page (what watches for changes looks now).
    stored: Callable[[RefreshOutcome], object] = lambda _outcome: None

    _runs: int = field(default=0, init=False, repr=False)
    _idle: threading.Condition = field(default_factory=threading.Condition, init=False, repr=False)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count a scheduled run as under way for its duration (``wait_idle``)."""
        with self._idle:
            self._runs += 1
        try:
            yield
        finally:
            with self._idle:
                self._runs -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no scheduled run is under way (at most ``timeout`` seconds); whether
        none is."""
        with self._idle:
            return self._idle.wait_for(lambda: self._runs == 0, timeout)

    @property
    def stopping(self) -> bool:
        """True once ``stop`` was called."""
        return self.fetcher.stopping.is_set()

    def stop(self) -> None:
        """Abandon the refreshes under way (their fetches and waits for a host's turn end with
        ``StoppedError``, nothing of them stored) and start none from now on."""
        self.fetcher.stop()

    def turn_wait(self, source: SourceConfig) -> float:
        """Seconds until the source's page may be asked of its host without waiting behind
        this process's other requests there (a turn booked in order: ``HostGate.book``); 0
        to go now, and for a source not fetched over HTTP."""
        host = _http_host(source.url)
        return 0.0 if host is None else self.fetcher.gate.book(host, source.id)

    def cancel_turn(self, source: SourceConfig) -> None:
        """Give back the turn ``turn_wait`` booked for the source."""
        host = _http_host(source.url)
        if host is not None:
            self.fetcher.gate.cancel(host, source.id)

    def renew_leases(self) -> int:
        """Extend every lease this process holds by ``lease`` from now (the scheduler does it
        every third of that, so a refresh however long keeps its source while the process
        lives); how many were renewed."""
        return self.ledger.renew(self.owner, self.clock(), self.lease)

    def refresh_if_due(self, source: SourceConfig) -> RefreshOutcome | None:
        """Refresh a source if it is due and no other process is refreshing it: take its lease
        in the database (``Ledger.claim``), refresh, give the lease back. ``None`` when
        skipped: the source is backing off, another process holds it, or this one is
        stopping."""
        if self.stopping:
            return None
        now = self.clock()
        held = self.ledger.state(source.id)
        if not self.ledger.claim(
            source.id, self.owner, now, self.lease, tolerance=due_tolerance(source)
        ):
            return None
        if held.lease_owner not in (None, self.owner):  # its lease had expired: a takeover
            logger.warning(
                "source %s: taken over from %s, whose lease had expired",
                source.id, held.lease_owner, extra={"source": source.id},
            )  # fmt: skip
            metrics.instruments().lease_taken_over(source.id)
        try:
            return self.refresh(source)
        finally:
            self.ledger.release(source.id, self.owner)

    def is_due(self, source: SourceConfig, now: dt.datetime | None = None) -> bool:
        """True when the source's next attempt (after backoff) has come."""
        state = self.ledger.state(source.id)
        now = now or self.clock()
        return state.next_attempt_at is None or state.next_attempt_at <= now + due_tolerance(source)

    def refresh_all(
        self,
        chosen: Sequence[SourceConfig],
        *,
        threads: int = 4,
        accept_changes: bool = False,
        done: Callable[[RefreshOutcome], object] = lambda _outcome: None,
    ) -> list[RefreshOutcome]:
        """Refresh these sources now, ``threads`` at a time, calling ``done`` as each ends;
        the outcomes come back in the order the sources were given."""
        outcomes: dict[str, RefreshOutcome] = {}
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = [
                pool.submit(self.refresh, source, accept_changes=accept_changes)
                for source in chosen
            ]
            try:
                for future in as_completed(futures):
                    outcome = future.result()
                    outcomes[outcome.source_id] = outcome
                    done(outcome)
            except BaseException:  # Ctrl-C: the other refreshes are abandoned, not awaited
                self.stop()
                raise
        return [outcomes[source.id] for source in chosen]

    def close(self) -> None:
        """Close the fetcher's connections, the browser, and the ledger's connections."""
        self.fetcher.close()
        self.renderer.close()
        self.ledger.close()

    def refresh(self, source: SourceConfig, *, accept_changes: bool = False) -> RefreshOutcome:
        """Refresh one source now. ``accept_changes`` publishes a page the layout guard would
        hold back (after a real redesign of the listing). A refresh abandoned because the
        process is stopping raises ``StoppedError`` and records nothing."""
        started = time.perf_counter()
        now = self.clock()
        state = self.ledger.state(source.id)
        try:
            outcome = self._refresh(source, state, now, accept_changes=accept_changes)
        except Suspect as suspect:
            logger.warning("source %s is suspect: %s", source.id, suspect.reason)
            reason = source.redact(suspect.reason)
            self._record(
                replace(
                    state, last_fetch_at=now, last_error=reason, last_error_at=now,
                    suspect_reason=reason, last_status=Status.SUSPECT,
                    next_attempt_at=now + source.refresh_interval,
                )
            )  # fmt: skip
            outcome = RefreshOutcome(source_id=source.id, status=Status.SUSPECT, error=reason)
        except StoppedError:
            logger.info("source %s: refresh abandoned, stopping", source.id)
            raise
        except Exception as error:
            # recorded and shown on the status page: no credentials of the source's URL
            message = source.redact(str(error) if isinstance(error, FeedpubError) else repr(error))
            if isinstance(error, FeedpubError):
                logger.warning("source %s failed: %s", source.id, message)
            else:
                logger.exception("source %s failed unexpectedly", source.id)
            failures = state.consecutive_failures + 1
            retry_after = error.retry_after if isinstance(error, RetryLaterError) else None
            self._record(
                replace(
                    state, last_fetch_at=now, last_error=message, last_error_at=now,
                    consecutive_failures=failures, last_status=Status.FAILED,
                    next_attempt_at=now + self.backoff(source, failures, retry_after),
                )
            )  # fmt: skip
            outcome = RefreshOutcome(source_id=source.id, status=Status.FAILED, error=message)
        outcome = replace(outcome, seconds=time.perf_counter() - started)
        self._report(source, outcome)
        if outcome.status is Status.UPDATED:
            self.stored(outcome)
        return outcome

    @staticmethod
    def _report(source: SourceConfig, outcome: RefreshOutcome) -> None:
        """Count the refresh, and log it with its fields (for ``--log-format json``): the
        source, its URL without credentials, the outcome and how long it took."""
        metrics.instruments().refreshed(source.id, str(outcome.status), outcome.seconds)
        logger.info(
            "source %s: %s in %.2f s",
            source.id, outcome_status(outcome), outcome.seconds,
            extra={
                "source": source.id,
                "url": source.page_url,
                "outcome": str(outcome.status),
                "duration": round(outcome.seconds, 3),
                **({"error": outcome.error} if outcome.error else {}),
            },
        )  # fmt: skip

    def _fetch(
        self,
        source: SourceConfig,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        follows: Document | None = None,
    ) -> Document | NotModified:
        """Fetch a page of the source (rendered in the browser if it says so), counting the
        request's time (its wait for the host's turn left out) and the bytes of the page."""
        started = time.perf_counter()
        answer: Document | NotModified
        if source.render:
            request = RenderRequest(
                url=url, wait_for=source.wait_for, timeout_seconds=source.render_timeout_seconds,
                images=source.render_images, same_site_only=source.render_same_site_only,
            )  # fmt: skip
            answer = self.renderer.render(
                request, fetcher=self.fetcher, source=url, follows=follows
            )
        else:
            answer = self.fetcher.fetch(
                url, etag=etag, last_modified=last_modified, follows=follows
            )
        seconds = max(0.0, time.perf_counter() - started - answer.waited_seconds)
        size = len(answer.content) if isinstance(answer, Document) else 0
        metrics.instruments().fetched(source.id, seconds, size)
        return answer

    def backoff(
        self, source: SourceConfig, failures: int, retry_after: float | None
    ) -> dt.timedelta:
        """How long to wait after the n-th consecutive failure: the refresh interval, doubled
        per failure, with +-25% jitter, capped; never less than the server's ``Retry-After``
        unless that is longer than ``max_backoff``."""
        interval = source.refresh_interval
        delay = min(self.max_backoff, interval * (1 << min(failures - 1, 20)))
        delay *= self.rng.uniform(0.75, 1.25)
        if retry_after is not None:
            delay = max(delay, min(self.max_backoff, dt.timedelta(seconds=retry_after)))
        return delay

    def _unchanged(self, source: SourceConfig, status: Status) -> RefreshOutcome:
        total = self.ledger.live_count(source.id)
        return RefreshOutcome(source_id=source.id, status=status, merge=MergeResult(total=total))

    def _record(self, state: SourceState) -> None:
        with self.ledger.transaction() as transaction:
            transaction.save_state(state)

    def _refresh(
        self, source: SourceConfig, state: SourceState, now: dt.datetime, *, accept_changes: bool
    ) -> RefreshOutcome:
        adapter = self.adapters[source.kind](source.selectors)
        trust_validators = state.suspect_reason is None
        first = self._fetch(
            source,
            source.url,
            etag=state.etag if trust_validators else None,
            last_modified=state.last_modified if trust_validators else None,
        )
        # the interval runs from when the request was sent, after its turn at the host came:
        # the source never sees two of our requests closer than that
        requested = now + dt.timedelta(seconds=first.waited_seconds)
        success = replace(
            state, last_fetch_at=requested, last_success_at=requested, consecutive_failures=0,
            suspect_reason=None, next_attempt_at=requested + source.refresh_interval,
        )  # fmt: skip
        if not isinstance(first, Document):
            self._record(replace(success, last_status=Status.NOT_MODIFIED))
            return self._with_articles(source, first, self._unchanged(source, Status.NOT_MODIFIED))
        success = replace(success, etag=first.etag, last_modified=first.last_modified)
        if source.page_limit == 1 and trust_validators and _digest([first]) == state.content_hash:
            self._record(replace(success, last_status=Status.UNCHANGED))
            return self._with_articles(source, first, self._unchanged(source, Status.UNCHANGED))

        documents, results = self._read_pages(source, adapter, first, now)
        entries = merge_pages(source, results, now)
        diagnostics = tuple(d for result in results for d in result.diagnostics)
        with self.ledger.transaction() as transaction:
            if not accept_changes:
                guard(source, transaction, results, entries)
            merge = transaction.merge(
                source.id,
                entries,
                now=now,
                retention=Retention(
                    keep_at_least=source.keep_at_least, max_age_days=source.max_age_days
                ),
                listing_urls={page_url(source, document) for document in documents},
            )
            transaction.save_state(
                replace(success, content_hash=_digest(documents), last_status=Status.UPDATED)
            )
        logger.info(
            "source %s: %d new, %d updated, %d removed, %d published",
            source.id, merge.new, merge.updated, merge.removed, merge.total,
        )  # fmt: skip
        outcome = RefreshOutcome(
            source_id=source.id, status=Status.UPDATED, merge=merge, diagnostics=diagnostics
        )
        pages = [page_url(source, document) for document in documents]
        return self._with_articles(source, first, outcome, listing_urls=pages)

    def _with_articles(
        self,
        source: SourceConfig,
        listing: Document | NotModified,
        outcome: RefreshOutcome,
        *,
        listing_urls: Sequence[str] = (),
    ) -> RefreshOutcome:
        """The outcome of a listing's refresh, after fetching its due articles
        (``feeds.refresh.articles``) if the source wants full text. Stopping ends the round:
        the listing is stored already, the articles left wait for the next refresh."""
        if not source.full_text or self.extract_article is None:
            return outcome
        try:
            tally = refresh_articles(
                source=source, ledger=self.ledger, fetcher=self.fetcher,
                extract=self.extract_article, listing=listing, listing_urls=listing_urls,
                clock=self.clock,
                backoff=lambda failures, wait: self.backoff(source, failures, wait),
            )  # fmt: skip
        except StoppedError:
            logger.info("source %s: articles abandoned, stopping", source.id)
            return outcome
        return replace(outcome, articles=tally)

    def _read_pages(
        self, source: SourceConfig, adapter: Adapter, first: Document, now: dt.datetime
    ) -> tuple[list[Document], list[ParseResult]]:
        documents = [first]
        results: list[ParseResult] = []
        seen_urls = {first.url}
        while True:
            document = documents[-1]
            decoded = read_document(document.content, source=document.url, charset=document.charset)
            for note in decoded.notes:  # a page that declares the wrong charset
                logger.warning(
                    "source %s: %s: %s", source.id, source.public_form(document.url), note
                )
            context = PageContext(
                source_id=source.id,
                page_url=page_url(source, document),
                timezone=source.timezone,
                seen_at=now,
                identity_key=listing_key(source.page_url),
            )
            results.append(with_notes(adapter(decoded.text, context), decoded.notes))
            # a link the page gives is held to the source's rules; a templated one is the
            # operator's own
            given = results[-1].next_page
            next_url = given or templated_next_page(source, results)
            if len(documents) >= source.page_limit or not next_url or next_url in seen_urls:
                return documents, results
            if not results[-1].entries:
                return documents, results
            seen_urls.add(next_url)
            try:
                page = self._fetch(
                    source, source.fetch_form(next_url), follows=first if given else None
                )
            except FetchError as error:
                logger.warning(
                    "source %s: page %d skipped: %s", source.id, len(documents) + 1, error
                )
                return documents, results
            if not isinstance(page, Document):
                return documents, results
            documents.append(page)


def _http_host(url: str) -> str | None:
    """The host an http(s) URL is fetched from (as the fetcher spaces it), else ``None``."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return None
    return (parts.hostname or "").lower()
