"""The WebSub hub's public side: the subscription requests ``POST /websub`` takes, and the
watcher that publishes each subscribed feed's new content.

``HubIntake`` checks a request (its mode, a topic that is one of this server's feed URLs as
it writes them, an http(s) callback, a lease, a secret within the WebSub bound), holds each
client address to a rate and the hub to its bounds on subscriptions, and records it for a
worker to verify (``feeds.refresh.hub``). A request for a topic that is not here is refused
and the callback told so (``hub.mode=denied``). ``ChangeWatcher`` renders, once its sources'
versions move, every feed someone subscribes to, exactly as it is served, and records it
(``feeds.ledger.hub.publish``): a change queues one delivery per subscriber.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from feeds.config import WebSubConfig
from feeds.config.hub import HUB_PATH, MAX_SECRET_BYTES
from feeds.errors import FeedpubError
from feeds.ledger import hub
from feeds.ledger.store import Ledger
from feeds.serve.filters import PARAMETERS, FeedFilter, FilterError, read_filter
from feeds.serve.http import FEED_PATH
from feeds.serve.publish import FeedPublisher
from feeds.serve.representation import FeedFormat

logger = logging.getLogger(__name__)

MAX_CALLBACK_CHARACTERS = 2000
#: The longest topic URL taken (a feed URL with its filter).
MAX_TOPIC_CHARACTERS = 4000
#: Client addresses whose request rate is remembered (the least recently seen forgotten).
MAX_TRACKED_CLIENTS = 10_000
_MODES = (hub.SUBSCRIBE, hub.UNSUBSCRIBE)


def hub_url(base: str) -> str:
    """The hub's URL for a server's base URL."""
    return f"{base}{HUB_PATH}"


@dataclass(frozen=True, slots=True)
class HubAnswer:
    """What ``POST /websub`` answers: a status, a reason for people, extra headers."""

    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedTopic:
    """A topic URL read back: the feed it is, and the base URL it was served under."""

    url: str
    topic_id: str
    feed_format: FeedFormat
    base: str
    filters: FeedFilter


class UnknownTopic(str):
    """Why a topic URL is no feed: it names a topic that is not here (a 404, not a 400)."""


def read_topic(url: str, topics: Sequence[str] | frozenset[str]) -> FeedTopic | str:
    """The feed a topic URL is (one of ``topics``, its filter written canonically), or why
    it is none (an ``UnknownTopic`` when it names a topic that is not here)."""
    base, separator, rest = url.rpartition("/feeds/")
    if not separator or not base:
        return "not a feed URL of this server (/feeds/<topic>.<format>)"
    path, _, query = rest.partition("?")
    match = FEED_PATH.match(f"/feeds/{path}")
    if match is None:
        return "not a feed URL of this server (/feeds/<topic>.<format>)"
    if match["topic"] not in topics:
        return UnknownTopic(f"there is no topic {match['topic']!r} here")
    pairs = parse_qsl(query, keep_blank_values=True)
    try:
        filters = read_filter(pairs)
    except FilterError as error:
        return f"its filter cannot be used: {error}"
    if pairs != list(filters.pairs) or any(name not in PARAMETERS for name, _ in pairs):
        canonical = f"?{urlencode(filters.pairs)}" if filters.pairs else ""
        return f"not the feed's own URL: subscribe to {base}/feeds/{path}{canonical}"
    return FeedTopic(
        url=url,
        topic_id=match["topic"],
        feed_format=FeedFormat(match["format"]),
        base=base,
        filters=filters,
    )


def _printable(text: str) -> bool:
    return text.isprintable() and " " not in text


def _callback_problem(callback: str) -> str | None:
    if not callback:
        return "hub.callback is missing"
    if len(callback) > MAX_CALLBACK_CHARACTERS:
        return f"hub.callback is longer than {MAX_CALLBACK_CHARACTERS} characters"
    if not _printable(callback):
        return "hub.callback holds spaces or control characters"
    try:
        parts = urlsplit(callback)
        port = parts.port
    except ValueError:
        return "hub.callback is not a URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "hub.callback must be an http(s) URL with a host"
    if parts.username is not None or parts.password is not None:
        return "hub.callback must not hold a user name or password"
    if port == 0:
        return "hub.callback's port is 0"
    if parts.fragment:
        return "hub.callback must not hold a fragment (#...)"
    return None


class _Buckets:
    """A token bucket per client address: ``rate`` requests a minute, as many at once."""

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take one request's token: 0 if there was one, else the seconds until there is."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.per_second)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - tokens) / self.per_second
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > MAX_TRACKED_CLIENTS:
                self._buckets.popitem(last=False)
            return wait


class HubIntake:
    """Takes subscription requests for the topics of ``topics`` (their ids), held to the
    ``websub`` bounds and rate; ``wall`` is the clock requests are recorded with (seconds
    since the epoch), ``clock`` the one rates are counted with."""

    def __init__(
        self,
        websub: WebSubConfig,
        ledger: Ledger,
        topics: Sequence[str],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.websub = websub
        self.ledger = ledger
        self.topics = frozenset(topics)
        self.wall = wall
        self.buckets = _Buckets(websub.requests_per_minute, clock)

    def take(self, form: Sequence[tuple[str, str]], *, client: str, base: str) -> HubAnswer:
        """Answer one request: its form's fields, the client's address, and the base URL the
        request came to (the topic must be one of this server's feeds under it)."""
        wait = self.buckets.take(client)
        if wait > 0:
            return HubAnswer(
                429,
                f"too many requests from {client}: "
                f"{self.websub.requests_per_minute} a minute at most",
                (("Retry-After", str(max(1, round(wait)))),),
            )
        fields: dict[str, str] = {}
        for name, value in form:
            if name.startswith("hub.") and name in fields:
                return HubAnswer(400, f"{name} is given more than once")
            fields.setdefault(name, value)
        mode = fields.get("hub.mode", "")
        if mode == "publish":
            return HubAnswer(400, "this hub publishes only its own feeds: it needs no pings")
        if mode not in _MODES:
            return HubAnswer(400, "hub.mode must be subscribe or unsubscribe")
        callback = fields.get("hub.callback", "").strip()
        problem = _callback_problem(callback)
        if problem:
            return HubAnswer(400, problem)
        topic_url = fields.get("hub.topic", "").strip()
        if not topic_url:
            return HubAnswer(400, "hub.topic is missing")
        if len(topic_url) > MAX_TOPIC_CHARACTERS or not _printable(topic_url):
            return HubAnswer(400, "hub.topic is not a feed URL of this server")
        secret = fields.get("hub.secret")
        if secret is not None and len(secret.encode()) > MAX_SECRET_BYTES:
            return HubAnswer(400, f"hub.secret is longer than {MAX_SECRET_BYTES} bytes")
        if secret is not None and not secret:
            return HubAnswer(400, "hub.secret is empty")
        lease = fields.get("hub.lease_seconds", "").strip()
        if lease and not (lease.isascii() and lease.isdigit() and len(lease) <= 12):
            return HubAnswer(400, "hub.lease_seconds must be a whole number of seconds")
        found = read_topic(topic_url, self.topics)
        if isinstance(found, FeedTopic) and not topic_url.startswith(f"{base}/feeds/"):
            found = f"not a feed URL of this server: its feeds are at {base}/feeds/"
        host = (urlsplit(callback).hostname or "").lower()
        if isinstance(found, str):
            # the callback is told too (as WebSub asks), within the same bounds
            self._record(hub.HubRequest(
                mode=hub.DENIED, topic=topic_url, callback=callback, callback_host=host,
                reason=found,
            ), bounded=True)  # fmt: skip
            status = 404 if isinstance(found, UnknownTopic) else 400
            return HubAnswer(status, f"hub.topic: {found}")
        request = hub.HubRequest(
            mode=mode,
            topic=topic_url,
            callback=callback,
            callback_host=host,
            secret=secret if mode == hub.SUBSCRIBE else None,
            lease_seconds=self.websub.lease(int(lease) if lease else None),
        )
        refused = self._record(request, bounded=mode == hub.SUBSCRIBE)
        if refused:
            return HubAnswer(429, refused, (("Retry-After", "3600"),))
        return HubAnswer(202, f"accepted: the {mode} request will be verified at its callback")

    def _record(self, request: hub.HubRequest, *, bounded: bool) -> str | None:
        """Record a request to verify, unless it would take the hub past its bounds (a
        renewal never does): why not, or ``None``."""
        with self.ledger.transaction() as transaction:
            connection = transaction.connection
            if bounded and not hub.is_subscribed(connection, request.topic, request.callback):
                total, per_host = hub.held(connection, request.callback_host)
                if total >= self.websub.max_subscriptions:
                    return "the hub holds as many subscriptions as it may: try again later"
                if per_host >= self.websub.max_subscriptions_per_host:
                    return (
                        f"{request.callback_host} holds as many subscriptions as one callback "
                        "host may"
                    )
            hub.add_request(connection, request, self.wall())
        return None


class ChangeWatcher:
    """Publishes the new content of every subscribed feed once one of its sources has
    changed (``watch_once``, called by ``run`` every ``poll_seconds``). ``publisher`` renders
    as the server does, so subscribers get the bytes a request would; external hubs, if any,
    are told of each change of the canonical feeds under ``canonical_base``; ``queued`` is
    called when deliveries were queued (to wake the worker that sends them)."""

    def __init__(
        self,
        publisher: FeedPublisher,
        websub: WebSubConfig,
        *,
        canonical_base: str = "",
        queued: Callable[[], None] = lambda: None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.publisher = publisher
        self.ledger = publisher.ledger
        self.websub = websub
        self.canonical_base = canonical_base
        self.queued = queued
        self.wall = wall
        self._published: dict[str, int] = {}  # a topic URL: the version last published
        self._pinged: dict[str, int] = {}
        self.stopping = threading.Event()
        self._wake = threading.Event()

    def wake(self) -> None:
        """Look now (a refresh in this process just stored a page), not at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """End ``run``."""
        self.stopping.set()
        self._wake.set()

    def _version(self, topic_id: str, versions: dict[str, int]) -> int:
        sources = self.publisher.topics[topic_id].sources
        if not sources:
            return sum(versions.values())
        return sum(versions.get(source_id, 0) for source_id in sources)

    def watch_once(self) -> int:
        """Publish what changed since the last call: how many deliveries were queued."""
        versions = self.ledger.source_versions()
        with self.ledger.reading() as connection:  # a read: no write lock every poll
            subscribed = hub.subscribed_topics(connection)
        topic_ids = list(self.publisher.topics)
        queued = 0
        for url in subscribed:
            found = read_topic(url, topic_ids)
            if isinstance(found, str):
                continue  # a topic taken out of the configuration: nothing to deliver
            version = self._version(found.topic_id, versions)
            if self._published.get(url) == version:
                continue
            try:
                queued += self._publish(found, version)
            except (FeedpubError, LookupError) as error:
                logger.warning("hub: %s not published: %s", url, error)
                continue
            self._published[url] = version
        self._ping(topic_ids, versions)
        if queued:
            self.queued()
        return queued

    def _publish(self, found: FeedTopic, version: int) -> int:
        feed = self.publisher.feed(
            found.topic_id, found.feed_format, base_url=found.base, filters=found.filters
        )
        with self.ledger.transaction() as transaction:
            return hub.publish(
                transaction.connection,
                found.url,
                version=version,
                content_type=found.feed_format.content_type,
                body=feed.plain.body,
                now=self.wall(),
            )

    def _ping(self, topic_ids: list[str], versions: dict[str, int]) -> None:
        """Queue a ping of each external hub for each canonical feed whose sources moved
        (none on the first look: nothing is known to have changed)."""
        if not self.websub.external_hubs or not self.canonical_base:
            return
        for topic_id in topic_ids:
            version = self._version(topic_id, versions)
            before = self._pinged.get(topic_id)
            self._pinged[topic_id] = version
            if before is None or before == version:
                continue
            with self.ledger.transaction() as transaction:
                for feed_format in FeedFormat:
                    url = f"{self.canonical_base}/feeds/{topic_id}.{feed_format}"
                    hub.queue_pings(
                        transaction.connection, self.websub.external_hubs, url, self.wall()
                    )

    def run(self) -> None:
        """Watch until ``stop``, every ``poll_seconds`` (or at once when woken); a failure is
        logged and the watch goes on."""
        while not self.stopping.is_set():
            self._wake.clear()
            try:
                self.watch_once()
            except FeedpubError as error:
                logger.warning("hub: changes not watched: %s", error)
            except Exception:
                logger.exception("hub: changes not watched")
            self._wake.wait(self.websub.poll_seconds)
