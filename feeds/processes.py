"""Keeping a command's processes together: a child started again when it dies (after a delay
that grows while it keeps dying), children that end when their parent does (Linux), enough
open files for the connections a server process holds, and the garbage collector's settings
of a long-running worker."""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence

logger = logging.getLogger(__name__)

#: The process id children compare their parent's with (see ``end_with_parent``).
PARENT_ENV = "FEEDPUB_PARENT_PID"
#: ``prctl``'s option asking for a signal when the parent ends (``<linux/prctl.h>``).
_PR_SET_PDEATHSIG = 1
#: A child that ran this long before dying had worked: its next restart waits the least.
STEADY_SECONDS = 60.0
FIRST_DELAY_SECONDS = 1.0
MOST_DELAY_SECONDS = 60.0


def end_with_parent(signal_number: int = signal.SIGTERM) -> None:
    """Have this process sent ``signal_number`` when its parent ends, if ``$FEEDPUB_PARENT_PID``
    names the parent (a process started by ``feedpub serve``); sent now if the parent has ended
    already. The kernel's parent-death signal (Linux only: elsewhere only the check runs)."""
    value = os.environ.get(PARENT_ENV, "")
    if not value.isdigit():
        return
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal_number, 0, 0, 0) != 0:
            error = ctypes.get_errno()
            logger.warning("cannot ask to end with the parent: %s", os.strerror(error))
    if os.getppid() != int(value):  # the parent ended before the request took effect
        os.kill(os.getpid(), signal_number)


#: The collector's thresholds in a worker and in each web server process
#: (``gc.set_threshold``): a young collection once this many more container objects have been
#: made than freed, not Python's 700, which a parse of a 20,000-item page passes some 350
#: times; the older generations relative to it as by default. Measured on the parse
#: benchmarks: the collector's share of a large page's parse falls from 11-15% (ILO) to about
#: 2-3%, peak memory unchanged (README, Benchmarks).
WORKER_GC_THRESHOLDS = (50_000, 10, 10)


def settle_collector(thresholds: tuple[int, int, int] = WORKER_GC_THRESHOLDS) -> None:
    """Set the garbage collector of a long-running process once it has started: what is alive
    now (modules, configuration, connections) is moved where no collection scans it again
    (``gc.freeze``), and young collections run at ``thresholds``. Process-wide: called by the
    command's entry point, never by a library."""
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    gc.set_threshold(*thresholds)
    logger.debug(
        "collector: %s start-up objects frozen, thresholds %s", gc.get_freeze_count(), thresholds
    )


def run_until_stopped(start: Callable[[], None]) -> None:
    """Call ``start``, then return once SIGTERM or Ctrl-C (SIGINT) asks this process to stop."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        start()
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass


def raise_open_files(wanted: int) -> int:
    """Raise this process's (soft) limit of open files towards ``wanted``, as far as the hard
    limit allows; children inherit it. Returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        if soft < wanted:
            logger.warning(
                "open files are limited to %s (the hard limit), not the %s wanted: "
                "a server process holds fewer connections",
                soft, wanted,
            )  # fmt: skip
    return soft


def restart_delay(failures: int) -> float:
    """Seconds to wait before starting a child again after it died ``failures`` times in a
    row, each within ``STEADY_SECONDS`` of starting: 1, 2, 4, ... at most 60."""
    return min(MOST_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2.0 ** max(0, failures - 1))


def _ending(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


class Supervised:
    """A child process kept running until ``stop``: started again whenever it ends, after
    ``restart_delay``, each time logged. The child runs in its own process group, so a
    terminal's Ctrl-C reaches only the parent, which stops it.

    Children are started with ``posix_spawn``, not ``subprocess``: a process another thread
    forks meanwhile (a server process) would keep the pipe ``subprocess`` waits on open, and
    the start would never return."""

    def __init__(
        self, name: str, command: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.command = list(command)
        self.env = dict(env) if env is not None else None
        self.restarts = 0
        self._pid: int | None = None  # while set, the child is not reaped: its id is its own
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        # The thread that starts a child must outlive it: the kernel's parent-death signal
        # follows the thread, not the process.
        self._thread = threading.Thread(target=self._run, name=f"supervising {name}", daemon=True)

    @property
    def pid(self) -> int | None:
        """The running child's process id (``None`` between two runs)."""
        return self._pid

    def start(self) -> Supervised:
        """Start the child (and keep it running); returns this."""
        self._thread.start()
        return self

    def _run(self) -> None:
        failures = 0
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                started = time.monotonic()
                try:
                    pid = self._pid = os.posix_spawn(
                        self.command[0],
                        self.command,
                        os.environ if self.env is None else self.env,
                        setpgroup=0,
                        setsigdef=(signal.SIGINT, signal.SIGTERM),
                    )
                except OSError as error:
                    pid, ending = None, f"could not start: {error}"
            if pid is not None:
                os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # ended, not reaped yet
                with self._lock:
                    ending = _ending(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
                    self._pid = None
            if self._stopping.is_set():
                return
            failures = 1 if time.monotonic() - started >= STEADY_SECONDS else failures + 1
            delay = restart_delay(failures)
            logger.warning(
                "%s (pid %s) %s; starting it again in %.0f s", self.name, pid, ending, delay
            )
            if self._stopping.wait(delay):
                return
            self.restarts += 1

    def _signal(self, signal_number: int) -> None:
        with self._lock:
            if self._pid is not None:
                os.kill(self._pid, signal_number)

    def stop(self, timeout: float = 30.0) -> None:
        """End the child (SIGTERM; SIGKILL after ``timeout`` seconds) and start it no more."""
        with self._lock:
            self._stopping.set()
        self._signal(signal.SIGTERM)
        if not self._thread.is_alive():
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("%s (pid %s) did not stop: killing it", self.name, self._pid)
            self._signal(signal.SIGKILL)
            self._thread.join()
