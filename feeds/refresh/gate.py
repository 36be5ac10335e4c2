"""Politeness per host: one request at a time, and a least spacing between two, in this
process or among every process sharing a book of turns; every wait can be abandoned. Turns
can also be booked ahead, in the order they are asked for, so that a scheduled refresh
whose host is busy comes back at its turn instead of holding a thread while it waits."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from feeds.errors import FeedpubError
from feeds.refresh.network import SLICE_SECONDS, StoppedError

logger = logging.getLogger(__name__)

#: A booked turn this close (seconds) is taken now: the request waits out the rest.
BOOKING_SLACK_SECONDS = 0.25


#: Takes a turn at a host in a book other processes share (``Ledger.take_turn``): given the
#: host, the time now and the spacing (seconds, since the epoch), returns when the turn comes.
SharedTurns = Callable[[str, float, float], float]


@dataclass
class HostGate:
    """At most one request at a time per host, and at least ``spacing`` seconds between the
    start of one and the start of the next: in this process, or, with ``shared``, among
    every process sharing its book of turns (if the book cannot be reached, this process's
    own spacing still holds). Waiting ends with ``StoppedError`` once ``stop`` is called.
    The clocks and ``sleep`` are injectable for tests."""

    spacing: float
    clock: Callable[[], float] = time.monotonic
    #: How to wait; by default, until the time is up or ``stop`` is called.
    sleep: Callable[[float], None] | None = None
    shared: SharedTurns | None = None
    wall_clock: Callable[[], float] = time.time
    stopping: threading.Event = field(default_factory=threading.Event)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _last_start: dict[str, float] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)
    #: The latest turn booked at each host, and each booking's turn, by host and key.
    _last_booked: dict[str, float] = field(default_factory=dict)
    _bookings: dict[tuple[str, str], float] = field(default_factory=dict)

    def book(self, host: str, key: str) -> float:
        """How many seconds ``key`` (a source, say) should wait before asking ``host``: 0 to
        go now. Turns are booked in the order asked for, a spacing apart after the last
        request started and the last turn booked; asking again with the same key gets the
        same turn (0 once it has come; a turn the host is still busy at moves one spacing
        on). This process's order only: a book shared with other processes is consulted by
        ``hold``, as always."""
        if self.spacing <= 0:
            return 0.0
        with self._guard:
            now = self.clock()
            turn = self._bookings.get((host, key))
            if turn is None:
                last = max(self._last_start.get(host, -self.spacing),
                           self._last_booked.get(host, -self.spacing))  # fmt: skip
                turn = max(now, last + self.spacing)
            elif turn - now <= BOOKING_SLACK_SECONDS:
                lock = self._locks.get(host)
                if lock is not None and lock.locked():  # the request before is still going
                    turn = max(now, self._last_booked.get(host, now)) + self.spacing
            self._last_booked[host] = max(turn, self._last_booked.get(host, turn))
            if turn - now <= BOOKING_SLACK_SECONDS:
                self._bookings.pop((host, key), None)
                return 0.0
            self._bookings[host, key] = turn
            return turn - now

    def cancel(self, host: str, key: str) -> None:
        """Give back ``key``'s booked turn at ``host`` (if it was the last booked there, the
        next is booked as if it had never been)."""
        with self._guard:
            turn = self._bookings.pop((host, key), None)
            if turn is not None and self._last_booked.get(host) == turn:
                self._last_booked[host] = turn - self.spacing

    def hold(self, host: str) -> _HostTurn:
        """A context manager holding ``host``'s turn (waiting for the spacing first)."""
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        return _HostTurn(self, host, lock)

    def stop(self) -> None:
        """End every wait for a turn, now and from now on, with ``StoppedError``."""
        self.stopping.set()

    def wait(self, seconds: float) -> None:
        """Wait ``seconds``, unless stopping (then ``StoppedError``)."""
        self.check()
        if self.sleep is not None:
            self.sleep(seconds)
        else:
            self.stopping.wait(seconds)
        self.check()

    def check(self) -> None:
        """``StoppedError`` once ``stop`` was called."""
        if self.stopping.is_set():
            raise StoppedError("stopping: wait for a host's turn abandoned")

    def wait_for_shared_turn(self, host: str) -> bool:
        """Wait for this request's turn in the shared book; False if there is no book (or no
        spacing) or it cannot be reached."""
        if self.shared is None or self.spacing <= 0:
            return False
        try:
            turn = self.shared(host, self.wall_clock(), self.spacing)
        except FeedpubError as error:
            logger.warning("host %s: shared turns unavailable, spacing this process only: %s",
                           host, error)  # fmt: skip
            return False
        wait = turn - self.wall_clock()
        if wait > 0:
            self.wait(wait)
        return True


class _HostTurn:
    def __init__(self, gate: HostGate, host: str, lock: threading.Lock) -> None:
        self.gate, self.host, self.lock = gate, host, lock

    def __enter__(self) -> None:
        while not self.lock.acquire(timeout=SLICE_SECONDS):
            self.gate.check()
        try:
            self.gate.check()
            if not self.gate.wait_for_shared_turn(self.host):
                last = self.gate._last_start.get(self.host)
                if last is not None:
                    wait = last + self.gate.spacing - self.gate.clock()
                    if wait > 0:
                        self.gate.wait(wait)
        except BaseException:
            self.lock.release()
            raise
        self.gate._last_start[self.host] = self.gate.clock()

    def __exit__(self, *_exc: object) -> None:
        self.lock.release()
