"""Reading the ledger's entry rows as entries: through the model, which cleans and bounds what
a row holds (one stored by an earlier version, or by hand), leaving out a row it refuses."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from feeds.model import Entry, LeftOut, StoredEntry

logger = logging.getLogger(__name__)


def _stored(row: Any) -> StoredEntry:
    """The entry a row holds, cleaned and bounded by the model (a row stored by an earlier
    version, or written by hand, is read as the entry it would be today). ``ValueError`` for
    a row that cannot be an entry."""
    try:
        labels = tuple(row.labels)
    except TypeError as error:
        raise ValueError(f"its labels are not a list: {row.labels!r}") from error
    return StoredEntry(
        entry=Entry(
            id=row.id,
            source_id=row.source_id,
            title=row.title,
            link=row.link,
            date=row.listing_date,
            published=row.published,
            summary=row.summary,
            labels=labels,
            credit=row.credit,
            group=row.group_heading,
            image=row.image,
        ),
        first_seen=row.first_seen,
        updated=row.updated,
        content_html=getattr(row, "content_html", None) or "",
    )


def readable_entries(
    rows: Iterable[Any], left_out: Callable[[LeftOut], object]
) -> Iterator[StoredEntry]:
    """The entries of the rows; a row that cannot be an entry is left out, logged with its
    source and id, and told to ``left_out``."""
    for row in rows:
        try:
            yield _stored(row)
        except ValueError as error:
            logger.warning("entry %s of source %s left out: %s", row.id, row.source_id, error)
            left_out(LeftOut(source_id=row.source_id, entry_id=row.id, reason=str(error)))
