"""What feedpub counts for its operators (Prometheus metrics), in the refreshing and the serving
processes alike: ``instruments()`` is the one set of them a process records into. Knows no web
framework; ``feeds.serve.monitoring`` exposes them at ``/metrics``.

``prometheus_client`` decides when it is first imported whether values are kept in memory or,
with ``$PROMETHEUS_MULTIPROC_DIR`` set, in files there that ``/metrics`` sums over every process
(``feedpub serve`` sets it for its server processes and its worker, which it forks or starts
after importing this module). So it is imported on first use, in the process that records.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: Where the processes of one ``feedpub serve`` write their values (prometheus_client's name).
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "feedpub"
#: Render times, in seconds: a feed takes milliseconds, a large one tens of them.
RENDER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: Fetch times, in seconds, up to the longest timeout.
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def prepare_multiprocess_directory() -> Path | None:
    """Have this process's children write their values to one folder: the one
    ``$PROMETHEUS_MULTIPROC_DIR`` names (emptied of an earlier run's files), else a new one,
    which is returned for the caller to remove when its children have ended."""
    given = multiprocess_directory()
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        for old in given.glob("*.db"):
            old.unlink()
        return None
    made = Path(tempfile.mkdtemp(prefix="feedpub-metrics-"))
    os.environ[MULTIPROCESS_ENV] = str(made)
    return made


def multiprocess_directory() -> Path | None:
    """The folder the processes' values are written to, when there is one."""
    value = os.environ.get(MULTIPROCESS_ENV, "")
    return Path(value) if value else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Instruments:
    """This process's metrics, and how each part of feedpub records into them.

    Attributes:
        registry: What they are registered in (in memory; with a multiprocess folder,
            ``/metrics`` reads the folder instead).
    """

    registry: CollectorRegistry
    requests: Counter
    response_bytes: Counter
    renders: Histogram
    cache_entries: Gauge
    cache_bytes: Gauge
    refreshes: Counter
    refresh_seconds: Histogram
    fetch_seconds: Histogram
    fetch_bytes: Counter
    lease_takeovers: Counter
    #: The request counters of each route class and status, found once (``labels`` checks
    #: and locks each time).
    _children: dict[tuple[str, str], tuple[Counter, Counter]] = field(default_factory=dict)

    def request(self, route: str, status: str, sent: int) -> None:
        """An HTTP request answered: its route class (``feed``, ``page``...), its status code
        and the bytes of its body."""
        children = self._children.get((route, status))
        if children is None:  # a few route classes and statuses: kept once made
            children = (self.requests.labels(route, status), self.response_bytes.labels(route))
            self._children[route, status] = children
        children[0].inc()
        if sent:
            children[1].inc(sent)

    def rendered(self, feed_format: str, filtered: bool, seconds: float) -> None:
        """A feed rendered (filtered or not), and how long it took."""
        self.renders.labels(feed_format, "true" if filtered else "false").observe(seconds)

    def cached(self, entries: int, size: int) -> None:
        """What this process's render cache now keeps."""
        self.cache_entries.set(entries)
        self.cache_bytes.set(size)

    def refreshed(self, source_id: str, outcome: str, seconds: float) -> None:
        """A source refreshed, how it ended (``updated``, ``failed``...) and how long it took."""
        self.refreshes.labels(source_id, outcome).inc()
        self.refresh_seconds.labels(source_id).observe(seconds)

    def fetched(self, source_id: str, seconds: float, size: int) -> None:
        """A page of a source fetched: the request's time (waiting for the host's turn left
        out) and the bytes of its body."""
        self.fetch_seconds.labels(source_id).observe(seconds)
        self.fetch_bytes.labels(source_id).inc(size)

    def lease_taken_over(self, source_id: str) -> None:
        """A source claimed from another process whose lease on it had expired."""
        self.lease_takeovers.labels(source_id).inc()


_lock = threading.Lock()
_made: list[Instruments] = []


def instruments() -> Instruments:
    """This process's metrics, made on first use (see the module's docstring)."""
    if not _made:
        with _lock:
            if not _made:
                _made.append(_make())
    return _made[0]


def _make() -> Instruments:
    from prometheus_client import (  # noqa: PLC0415  (imported once the environment is set)
        CollectorRegistry,
        Counter,
        Gauge,
        Histogram,
    )

    registry = CollectorRegistry(auto_describe=True)
    source = ("source",)
    return Instruments(
        registry=registry,
        requests=Counter(
            f"{PREFIX}_http_requests",
            "HTTP requests answered, by route class and status code.",
            ("route", "status"),
            registry=registry,
        ),
        response_bytes=Counter(
            f"{PREFIX}_http_response_bytes",
            "Bytes of response bodies sent, by route class.",
            ("route",),
            registry=registry,
        ),
        renders=Histogram(
            f"{PREFIX}_feed_render_seconds",
            "Feeds rendered (the count) and how long each took, by format and whether a "
            "filter was given.",
            ("format", "filtered"),
            buckets=RENDER_BUCKETS,
            registry=registry,
        ),
        cache_entries=Gauge(
            f"{PREFIX}_render_cache_entries",
            "Rendered feeds kept, summed over the server processes.",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        cache_bytes=Gauge(
            f"{PREFIX}_render_cache_bytes",
            "Bytes of rendered feeds kept, summed over the server processes.",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        refreshes=Counter(
            f"{PREFIX}_refreshes",
            "Refreshes of each source, by outcome (updated, unchanged, not-modified, "
            "suspect, failed).",
            ("source", "outcome"),
            registry=registry,
        ),
        refresh_seconds=Histogram(
            f"{PREFIX}_refresh_seconds",
            "How long each source's refreshes took, fetching, parsing and storing.",
            source,
            buckets=FETCH_BUCKETS,
            registry=registry,
        ),
        fetch_seconds=Histogram(
            f"{PREFIX}_fetch_seconds",
            "How long each request for a source's pages took.",
            source,
            buckets=FETCH_BUCKETS,
            registry=registry,
        ),
        fetch_bytes=Counter(
            f"{PREFIX}_fetch_bytes",
            "Bytes of the source's pages fetched.",
            source,
            registry=registry,
        ),
        lease_takeovers=Counter(
            f"{PREFIX}_lease_takeovers",
            "Sources claimed from a process whose lease had expired (it had crashed or stalled).",
            source,
            registry=registry,
        ),
    )
