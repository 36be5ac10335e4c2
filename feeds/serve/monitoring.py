"""``/metrics`` for Prometheus, and the count of every request: a WSGI layer outside the app
(and outside ``FeedMiddleware``), present only when ``[metrics] enabled`` is set.

What processes count (``feeds.metrics``) is summed over all of them when they write to a
multiprocess folder; what the ledger knows of each source (failures in a row, suspect, entries,
last success, next refresh) is read from it at each scrape, so it holds whichever process
refreshed. Imported only when metrics are on, after ``feedpub serve`` has set the environment
``prometheus_client`` reads on import (see ``feeds.metrics``). Knows no Flask.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from feeds import metrics
from feeds.config import MetricsConfig
from feeds.serve.http import FEED_PATH, StartResponse, WSGIApplication, WSGIEnvironment
from feeds.serve.overview import SourceHealth

METRICS_PATH = "/metrics"
#: Route classes by path prefix (the first that fits); a feed URL is ``feed``.
_ROUTES = (
    ("/feeds/", "static"),
    ("/embed/", "embed"),
    ("/topics/", "page"),
    ("/status", "status"),
    ("/healthz", "status"),
    (METRICS_PATH, "metrics"),
)
_PAGES = frozenset({"/", "/feeds.opml"})


def route_class(path: str) -> str:
    """The class of route a path is counted under: ``feed``, ``page``, ``embed``, ``status``,
    ``static``, ``metrics`` or ``other`` (a few, whatever clients ask for)."""
    if FEED_PATH.match(path):
        return "feed"
    if path in _PAGES:
        return "page"
    for prefix, name in _ROUTES:
        if path.startswith(prefix):
            return name
    return "other"


def _timestamp(value: dt.datetime | None) -> float:
    return float("nan") if value is None else value.timestamp()


class SourceCollector(Collector):
    """Each source's health, from the ledger, at each scrape."""

    def __init__(self, health: Callable[[], Sequence[SourceHealth]]) -> None:
        self.health = health

    def collect(self) -> Iterator[Metric]:
        prefix = f"{metrics.PREFIX}_source"
        families = {
            "failures": GaugeMetricFamily(
                f"{prefix}_consecutive_failures",
                "Refreshes of the source that failed in a row (0: the last one worked).",
                labels=["source"],
            ),
            "suspect": GaugeMetricFamily(
                f"{prefix}_suspect",
                "1 while the layout-change guard holds the source's page back.",
                labels=["source"],
            ),
            "entries": GaugeMetricFamily(
                f"{prefix}_entries", "The source's published entries.", labels=["source"]
            ),
            "overdue": GaugeMetricFamily(
                f"{prefix}_overdue",
                "1 when the source's next refresh is late by more than its interval.",
                labels=["source"],
            ),
            "success": GaugeMetricFamily(
                f"{prefix}_last_success_timestamp_seconds",
                "When the source was last refreshed without failing (NaN: never).",
                labels=["source"],
            ),
            "next": GaugeMetricFamily(
                f"{prefix}_next_refresh_timestamp_seconds",
                "When the source is next due (NaN: never refreshed yet).",
                labels=["source"],
            ),
            "interval": GaugeMetricFamily(
                f"{prefix}_refresh_interval_seconds",
                "How often the source is meant to be refreshed.",
                labels=["source"],
            ),
        }
        for health in self.health():
            labels = [health.source.id]
            state = health.state
            families["failures"].add_metric(labels, state.consecutive_failures)
            families["suspect"].add_metric(labels, 1 if health.suspect else 0)
            families["entries"].add_metric(labels, health.entry_count)
            families["overdue"].add_metric(labels, 1 if health.overdue else 0)
            families["success"].add_metric(labels, _timestamp(state.last_success_at))
            families["next"].add_metric(labels, _timestamp(state.next_attempt_at))
            families["interval"].add_metric(labels, health.source.refresh_interval.total_seconds())
        yield from families.values()


class _Together(Collector):
    """Several collectors read as one."""

    def __init__(self, *parts: Collector) -> None:
        self.parts = parts

    def collect(self) -> Iterator[Metric]:
        for part in self.parts:
            yield from part.collect()


def _forget_ended_processes(directory: Path) -> None:
    """Drop the gauges of server processes that ended (a process started again has another
    id): the render cache's size is summed over the living ones only."""
    for path in glob.glob(str(directory / "gauge_live*_*.db")):
        pid = path.rpartition("_")[2].removesuffix(".db")
        if pid.isdigit() and not _alive(int(pid)):
            mark_process_dead(int(pid), str(directory))  # type: ignore[no-untyped-call]  # prometheus_client leaves it untyped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: alive
        return True
    return True


def exposition(health: Callable[[], Sequence[SourceHealth]]) -> bytes:
    """The metrics in Prometheus' text format: every process's counts, and the sources'
    health read now."""
    counted: Collector = metrics.instruments().registry
    directory = metrics.multiprocess_directory()
    if directory is not None:
        _forget_ended_processes(directory)
        counted = MultiProcessCollector(None, str(directory))  # type: ignore[no-untyped-call]  # as above
    return generate_latest(_Together(counted, SourceCollector(health)))


class MonitoringMiddleware:
    """Counts every answer of ``app`` (route class, status, bytes) and answers ``/metrics``
    to the clients ``config`` allows (others get a 403)."""

    def __init__(
        self,
        app: WSGIApplication,
        config: MetricsConfig,
        health: Callable[[], Sequence[SourceHealth]],
    ) -> None:
        self.app = app
        self.config = config
        self.health = health
        self.instruments = metrics.instruments()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        route = route_class(path)
        head = environ.get("REQUEST_METHOD") == "HEAD"

        def counting(status: str, headers: list[tuple[str, str]], *rest: object) -> object:
            sent = 0
            if not head:
                for name, value in headers:
                    if name.lower() == "content-length" and value.isdigit():
                        sent = int(value)
            self.instruments.request(route, status[:3], sent)
            return start_response(status, headers, *rest)

        if path == METRICS_PATH:
            return self._metrics(environ, counting)
        return self.app(environ, counting)

    def _metrics(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        if not self.config.allows(environ.get("REMOTE_ADDR", "")):
            body = b"Forbidden: metrics are not shown to this address\n"
            content_type = "text/plain; charset=utf-8"
            status = "403 Forbidden"
        else:
            body = exposition(self.health)
            content_type = CONTENT_TYPE_LATEST
            status = "200 OK"
        start_response(
            status,
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]
