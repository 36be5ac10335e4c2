"""``[websub]``: feedpub as the WebSub hub of its own feeds (``feeds.serve.hub`` takes
subscriptions, ``feeds.refresh.hub`` verifies and delivers): the lease bounds, the callbacks'
address rules and bounds, retries, and the external hubs told of each change (read by
``feeds.config.read_websub``)."""

from __future__ import annotations

from dataclasses import dataclass

#: A lease the subscriber does not ask for: ten days.
DEFAULT_LEASE_SECONDS = 10 * 24 * 3600
#: The longest ``hub.secret`` the WebSub Recommendation allows, in bytes.
MAX_SECRET_BYTES = 200
#: Where the hub takes requests, under the server's base URL.
HUB_PATH = "/websub"


def hub_of(topic: str) -> str:
    """The hub of one of feedpub's feed URLs (``<base>/feeds/...``): ``<base>/websub``."""
    return topic.rpartition("/feeds/")[0] + HUB_PATH


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSubConfig:
    """How feedpub acts as its feeds' hub.

    Attributes:
        enabled: Advertise the hub (``Link`` headers, ``atom:link``, JSON Feed ``hubs``) and
            take subscriptions at ``/websub``.
        default_lease_seconds: A subscription's lease when its request names none.
        min_lease_seconds, max_lease_seconds: The bounds a requested lease is brought within.
        allow_private_callbacks: Callbacks may be at loopback, private and link-local
            addresses (a hub on a private network, the tests); refused otherwise.
        max_subscriptions: Subscriptions (and requests waiting to be verified) in all.
        max_subscriptions_per_host: ... per callback host.
        requests_per_minute: Subscription requests one client address may make a minute (in
            each server process); more are answered 429.
        timeout_seconds: The longest a verification or a delivery may take, whole.
        max_response_bytes: What is read back of a callback's answer at most.
        retry_seconds: The first wait before a failed delivery is tried again (doubling).
        max_retry_seconds: The longest wait between two tries.
        give_up_seconds: A delivery still failing this long after it was due is given up.
        drop_after_give_ups: A subscription whose deliveries were given up this many times
            in a row is dropped (shown on the status page until renewed).
        poll_seconds: How often a worker looks for changes, requests and due deliveries.
        delivery_threads: How many callbacks one worker talks to at a time.
        external_hubs: Hubs told of every change of a feed (``hub.mode=publish``).
    """

    enabled: bool = True
    default_lease_seconds: int = DEFAULT_LEASE_SECONDS
    min_lease_seconds: int = 3600
    max_lease_seconds: int = 30 * 24 * 3600
    allow_private_callbacks: bool = False
    max_subscriptions: int = 100_000
    max_subscriptions_per_host: int = 1000
    requests_per_minute: int = 60
    timeout_seconds: float = 10.0
    max_response_bytes: int = 64 * 1024
    retry_seconds: float = 30.0
    max_retry_seconds: float = 3600.0
    give_up_seconds: float = 24 * 3600.0
    drop_after_give_ups: int = 3
    poll_seconds: float = 1.0
    delivery_threads: int = 16
    external_hubs: tuple[str, ...] = ()

    def lease(self, requested: int | None) -> int:
        """The lease granted for one requested (``None``: none asked for): within bounds."""
        seconds = self.default_lease_seconds if requested is None else requested
        return max(self.min_lease_seconds, min(self.max_lease_seconds, seconds))
