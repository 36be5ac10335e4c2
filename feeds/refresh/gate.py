"""Politeness per host: one request at a time, and a least spacing between two, in this
process or among every process sharing a book of turns; every wait can be abandoned."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from feeds.errors import FeedpubError
from feeds.refresh.network import SLICE_SECONDS, StoppedError

logger = logging.getLogger(__name__)


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
