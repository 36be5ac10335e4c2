"""Work one thread is doing that others may wait for: a render or a read in flight.

Knows nothing of feeds; ``feeds.serve.publish`` keeps one per cache key being worked on.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Pending(Generic[T]):
    """The result of work under way in one thread: ``finish`` or ``fail`` it there, and
    ``result`` waits for it in any other (and raises what the work raised)."""

    __slots__ = ("_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: tuple[T] | None = None
        self._error: BaseException | None = None

    def finish(self, value: T) -> None:
        """Hand the result to whoever waits for it."""
        self._value = (value,)
        self._done.set()

    def fail(self, error: BaseException) -> None:
        """Hand the error to whoever waits for the result."""
        self._error = error
        self._done.set()

    def result(self) -> T:
        """The result, once the work is done; what it raised if it failed."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._value is not None  # noqa: S101  (finish or fail came first)
        return self._value[0]
