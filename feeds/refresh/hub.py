"""The WebSub hub's deliveries: verifying subscription requests at their callbacks, sending
each subscriber a feed's new content, and telling external hubs of changes.

Callbacks are untrusted URLs: a ``HubWorker`` talks to them over the fetcher's guarded
connections (no loopback, private or link-local address unless ``allow_private_callbacks``),
with a deadline on each call as a whole, no redirects followed, and only the first
``max_response_bytes`` of an answer read. Requests and deliveries are claimed in the ledger
(``feeds.ledger.hub``), so that with several workers on one database each is handled by one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode, urlsplit

import httpx

from feeds.config import WebSubConfig
from feeds.config.hub import hub_of
from feeds.errors import CallbackError, FeedpubError
from feeds.ledger import hub
from feeds.ledger.store import Ledger
from feeds.refresh.fetch import USER_AGENT, _GuardedTransport
from feeds.refresh.network import (
    ANYWHERE,
    AddressRefusedError,
    Attempt,
    DeadlineExceededError,
    Reach,
    StoppedError,
    enter,
    leave,
)

logger = logging.getLogger(__name__)

#: What a claim of a request or delivery outlasts its call by, for the ledger's writes.
CLAIM_MARGIN_SECONDS = 30.0
_Claimed = TypeVar("_Claimed")


@dataclass(frozen=True, slots=True)
class Answer:
    """A callback's answer: its status and the first bytes of its body."""

    status: int
    body: bytes


def with_query(url: str, params: Sequence[tuple[str, str]]) -> str:
    """The URL with ``params`` added to whatever query it has (WebSub keeps a callback's
    own query)."""
    base, _, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    if base.endswith(("?", "&")):
        joiner = ""
    return f"{base}{joiner}{urlencode(params)}" + (f"#{fragment}" if fragment else "")


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` of a body for a subscriber's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def shown(url: str) -> str:
    """A callback as messages name it: its scheme and host (its path may be a secret)."""
    parts = urlsplit(url)
    return f"callback {parts.scheme}://{parts.netloc}"


class HubWorker:
    """Verifies requests, delivers changes and pings external hubs (``work_once``, called by
    ``run`` until stopped). ``wall`` is the clock the ledger's instants are read on."""

    def __init__(
        self,
        ledger: Ledger,
        websub: WebSubConfig,
        *,
        agent: str = USER_AGENT,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = ledger
        self.websub = websub
        self.wall = wall
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.reach = ANYWHERE if websub.allow_private_callbacks else Reach()
        self.policy = hub.RetryPolicy(
            retry_seconds=websub.retry_seconds,
            max_retry_seconds=websub.max_retry_seconds,
            give_up_seconds=websub.give_up_seconds,
            drop_after_give_ups=websub.drop_after_give_ups,
        )
        self.lease = websub.timeout_seconds + CLAIM_MARGIN_SECONDS
        self.batch = max(16, 4 * websub.delivery_threads)
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self.client = httpx.Client(
            timeout=httpx.Timeout(websub.timeout_seconds),
            follow_redirects=False,
            headers={"User-Agent": agent},
            transport=_GuardedTransport(),
            trust_env=False,
        )
        self.pool = ThreadPoolExecutor(websub.delivery_threads, thread_name_prefix="websub")

    def close(self) -> None:
        """Stop, and close the connections."""
        self.stop()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    def stop(self) -> None:
        """Abandon the calls under way (within a fraction of a second) and end ``run``."""
        self.stopping.set()
        self._wake.set()

    def wake(self) -> None:
        """Look for work now (a change was just queued), not at the next poll."""
        self._wake.set()

    def call(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Sequence[tuple[str, str]] = (),
        reach: Reach | None = None,
    ) -> Answer:
        """One call to a callback (or a hub): its answer, or ``CallbackError``."""
        attempt = Attempt(
            reach=reach or self.reach,
            deadline_seconds=self.websub.timeout_seconds,
            stopping=self.stopping,
        )
        token = enter(attempt)
        name = shown(url)
        try:
            with self.client.stream(method, url, content=content, headers=list(headers)) as got:
                body = bytearray()
                for chunk in got.iter_bytes():
                    body += chunk
                    if len(body) >= self.websub.max_response_bytes:
                        break
                return Answer(got.status_code, bytes(body[: self.websub.max_response_bytes]))
        except DeadlineExceededError as error:
            raise CallbackError(
                url, name, f"too slow: no answer in {self.websub.timeout_seconds:g} seconds"
            ) from error
        except AddressRefusedError as error:
            raise CallbackError(url, name, str(error)) from error
        except httpx.TimeoutException as error:
            raise CallbackError(url, name, f"timed out ({type(error).__name__})") from error
        except httpx.HTTPError as error:
            raise CallbackError(url, name, f"{type(error).__name__}: {error}") from error
        finally:
            leave(token)

    # verification

    def verify(self, request: hub.HubRequest) -> bool:
        """Ask the callback to confirm a request (WebSub 5.3): True when it echoed the
        challenge exactly with a 2xx. A denial is only told (``hub.mode=denied``)."""
        params = [("hub.mode", request.mode), ("hub.topic", request.topic)]
        if request.mode == hub.DENIED:
            params.append(("hub.reason", request.reason or "refused"))
            self.call("GET", with_query(request.callback, params))
            return True
        challenge = secrets.token_urlsafe(32)
        params.append(("hub.challenge", challenge))
        if request.mode == hub.SUBSCRIBE:
            params.append(("hub.lease_seconds", str(request.lease_seconds or 0)))
        answer = self.call("GET", with_query(request.callback, params))
        return 200 <= answer.status < 300 and answer.body == challenge.encode()

    def _verify_one(self, request: hub.HubRequest) -> None:
        try:
            verified = self.verify(request)
            error = None if verified else "the callback did not echo the challenge"
        except CallbackError as failure:
            verified, error = False, failure.reason
        except StoppedError:
            return  # the claim runs out, and another worker (or the next start) takes it
        with self.ledger.transaction() as transaction:
            hub.finish_request(
                transaction.connection, request, self.owner, verified=verified, now=self.wall()
            )
        if error and request.mode != hub.DENIED:
            logger.info("hub: %s of %s not verified: %s", request.mode, request.topic, error)

    def _claim_and_handle(
        self, claim: Callable[..., Sequence[_Claimed]], handle: Callable[[_Claimed], object]
    ) -> int:
        """Claim a batch of work in one transaction, then handle each (in parallel, outside
        any transaction): how many were claimed."""
        with self.ledger.transaction() as transaction:
            claimed = claim(transaction.connection, self.owner, self.wall(), self.lease, self.batch)
        list(self.pool.map(handle, claimed))
        return len(claimed)

    def verify_requests(self) -> int:
        """Verify the requests waiting (in parallel): how many were claimed."""
        return self._claim_and_handle(hub.claim_requests, self._verify_one)

    # delivery

    def deliver(self, delivery: hub.Delivery) -> None:
        """Send a subscriber the feed (WebSub 7): ``CallbackError`` unless it took it."""
        headers = [
            ("Content-Type", delivery.content_type),
            ("Link", f'<{hub_of(delivery.topic)}>; rel="hub"'),
            ("Link", f'<{delivery.topic}>; rel="self"'),
        ]
        if delivery.secret:
            headers.append(("X-Hub-Signature", signature(delivery.secret, delivery.body)))
        answer = self.call("POST", delivery.callback, content=delivery.body, headers=headers)
        if not 200 <= answer.status < 300:
            raise CallbackError(delivery.callback, shown(delivery.callback),
                                f"answered HTTP {answer.status}")  # fmt: skip

    def _deliver_one(self, delivery: hub.Delivery) -> str:
        try:
            self.deliver(delivery)
        except CallbackError as failure:
            with self.ledger.transaction() as transaction:
                outcome = hub.delivery_failed(
                    transaction.connection, delivery, self.owner, self.wall(),
                    error=str(failure), policy=self.policy,
                )  # fmt: skip
            logger.info("hub: delivery of %s failed (%s): %s", delivery.topic, outcome, failure)
            return outcome
        except StoppedError:
            return "stopped"
        with self.ledger.transaction() as transaction:
            hub.delivered(transaction.connection, delivery, self.owner, self.wall())
        return "delivered"

    def deliver_due(self) -> int:
        """Send the deliveries due (in parallel): how many were claimed."""
        return self._claim_and_handle(hub.claim_deliveries, self._deliver_one)

    # external hubs

    def _ping_one(self, ping: hub.Ping) -> None:
        form = urlencode([("hub.mode", "publish"), ("hub.url", ping.topic),
                          ("hub.topic", ping.topic)]).encode()  # fmt: skip
        error: str | None = None
        try:
            answer = self.call(
                "POST", ping.hub, content=form, reach=ANYWHERE,
                headers=[("Content-Type", "application/x-www-form-urlencoded")],
            )  # fmt: skip
            if not 200 <= answer.status < 300:
                error = f"hub {ping.hub} answered HTTP {answer.status}"
        except CallbackError as failure:
            error = f"hub {ping.hub}: {failure.reason}"
        except StoppedError:
            return
        with self.ledger.transaction() as transaction:
            hub.ping_done(transaction.connection, ping, self.owner, self.wall(),
                          error=error, policy=self.policy)  # fmt: skip
        if error:
            logger.info("hub: %s not told of %s: %s", ping.hub, ping.topic, error)

    def ping_hubs(self) -> int:
        """Tell external hubs of the changes due: how many pings were claimed."""
        return self._claim_and_handle(hub.claim_pings, self._ping_one)

    def work_once(self) -> int:
        """One pass: leases ended, requests verified, deliveries sent, hubs told; how many
        things were claimed (more may be waiting when that is not 0)."""
        with self.ledger.transaction() as transaction:
            hub.expire(transaction.connection, self.wall())
        return self.verify_requests() + self.deliver_due() + self.ping_hubs()

    def run(self) -> None:
        """Work until ``stop``: at once again while there was work, else at the next poll
        (or ``wake``); a failure is logged and the work goes on."""
        while not self.stopping.is_set():
            self._wake.clear()
            busy = 0
            try:
                busy = self.work_once()
            except FeedpubError as error:
                logger.warning("hub: %s", error)
            except Exception:
                logger.exception("hub: a pass failed")
            if not busy:
                self._wake.wait(self.websub.poll_seconds)
