"""How a refresh ended: its status, what it merged, and the table ``feedpub refresh`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from feeds.ledger.store import MergeResult
from feeds.model import Diagnostic
from feeds.refresh.articles import ArticleTally


class Status(StrEnum):
    """How a refresh ended."""

    UPDATED = "updated"  # fetched, parsed and stored (maybe with nothing new)
    UNCHANGED = "unchanged"  # fetched the same bytes as last time: nothing parsed
    NOT_MODIFIED = "not-modified"  # the server said 304: nothing parsed
    SUSPECT = "suspect"  # the page no longer looks like it did: nothing published
    FAILED = "failed"  # could not fetch or read the page: nothing published


@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshOutcome:
    """What one refresh of one source did."""

    source_id: str
    status: Status
    merge: MergeResult = field(default_factory=MergeResult)
    seconds: float = 0.0
    error: str | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    articles: ArticleTally = field(default_factory=ArticleTally)

    @property
    def failed(self) -> bool:
        """True when the refresh published nothing because something was wrong."""
        return self.status in (Status.FAILED, Status.SUSPECT)


def outcome_status(outcome: RefreshOutcome) -> str:
    """How a refresh ended, in words: an update that changed no entry says so."""
    if outcome.status == Status.UPDATED and not outcome.merge.changed:
        return "page changed, no entry changed"
    return str(outcome.status)


def outcomes_table(outcomes: list[RefreshOutcome]) -> str:
    """The summary ``feedpub refresh`` prints: a row per source (status, new, updated, total,
    time)."""
    width = max([len("source"), *(len(o.source_id) for o in outcomes)])
    status_width = max([len("status"), *(len(outcome_status(o)) for o in outcomes)])
    rows = [
        f"{'source':<{width}}  {'status':<{status_width}} "
        f"{'new':>5} {'updated':>7} {'total':>6} {'time':>7}"
    ]
    for outcome in outcomes:
        merge = outcome.merge
        rows.append(
            f"{outcome.source_id:<{width}}  {outcome_status(outcome):<{status_width}} "
            f"{merge.new:>5} {merge.updated:>7} {merge.total:>6} {outcome.seconds:>6.2f}s"
        )
    return "\n".join(rows)
