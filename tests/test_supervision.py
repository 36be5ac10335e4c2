"""``feedpub serve`` keeps its processes together: its scheduler process, killed, is started
again and refreshing resumes; a server process killed is replaced while the others serve;
``serve`` itself killed outright takes its children with it and frees its port. And the
mechanism's parts (``feeds.processes``) on their own."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from feeds import processes
from feeds.model import UTC
from tests.serving import Served, feedpub_serving, free_port
from tests.test_cli_preview import feedpub_command

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sources" / "samples"
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads processes from /proc"
)


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (from any of its threads) that are still there."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue  # the thread ended meanwhile
    return sorted(child for child in found if alive(child))


def alive(pid: int) -> bool:
    """True while ``pid`` runs (an exited process nobody has reaped yet does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def is_scheduler(pid: int) -> bool:
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    return b"worker" in arguments


def scheduler_of(served: Served) -> int | None:
    assert served.process is not None
    found = [pid for pid in children(served.process.pid) if is_scheduler(pid)]
    return found[0] if len(found) == 1 else None


def server_processes(served: Served) -> list[int]:
    assert served.process is not None
    return [pid for pid in children(served.process.pid) if not is_scheduler(pid)]


def eventually(
    condition: Callable[[], object], seconds: float, what: str | Callable[[], str]
) -> None:
    """Wait until ``condition`` holds, polling; fail saying ``what`` (called then, if a
    function) after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds} s: {what() if callable(what) else what}")
        time.sleep(0.2)


def instant(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def quick_samples(folder: Path) -> None:
    """The bundled configuration and its pages, copied to ``folder``, each page refreshed every
    five seconds, under leases of three (a killed scheduler's run out soon)."""
    for sample in SAMPLES.iterdir():
        shutil.copy(sample, folder / sample.name)
    config = folder / "feedpub.toml"
    text = config.read_text(encoding="utf-8")
    assert "refresh_minutes = 30" in text
    text = text.replace("refresh_minutes = 30", "refresh_seconds = 5")
    config.write_text(text + "\n[scheduler]\nlease_seconds = 3\n", "utf-8")


def test_a_killed_scheduler_process_is_started_again_and_refreshing_resumes(
    tmp_path: Path,
) -> None:
    quick_samples(tmp_path)
    with feedpub_serving(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}") as served:
        eventually(lambda: scheduler_of(served), 30, "a scheduler process")
        killed = scheduler_of(served)
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        killed_at = dt.datetime.now(UTC)
        last: list[object] = []

        def refreshed_since_the_kill() -> bool:
            report = json.loads(served.get("/status.json").body)
            last[:] = [report]
            fetched = [instant(source["last_fetch_at"]) for source in report["sources"]]
            return report["healthy"] and all(at and at > killed_at for at in fetched)

        eventually(refreshed_since_the_kill, 60, lambda: f"every source refreshed again: {last}")
        started_again = scheduler_of(served)
        assert started_again not in (None, killed)
    said = (tmp_path / "serve.log").read_text()
    assert f"feedpub worker (pid {killed}) was killed by SIGKILL; starting it again" in said


def test_a_killed_server_process_is_replaced_and_serve_keeps_serving(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'ledger.db'}"
    with feedpub_serving(tmp_path, database, scheduler=False) as served:
        first = server_processes(served)
        assert len(first) == 2
        os.kill(first[0], signal.SIGKILL)
        eventually(
            lambda: len(server_processes(served)) == 2 and first[0] not in server_processes(served),
            30,
            "a second server process again",
        )
        assert served.process is not None
        assert served.process.poll() is None

        def all_answer() -> bool:  # the replacement may still be starting when it is listed
            try:
                return {served.get("/healthz").status for _ in range(20)} == {200}
            except OSError:
                return False

        eventually(all_answer, 30, "both server processes answering")
        assert {served.get("/healthz").status for _ in range(20)} == {200}


@contextmanager
def serve_process(folder: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``feedpub serve`` (with its scheduler) on a free port, once it answers; whatever of it
    is left is killed afterwards."""
    port = free_port()
    env = {**os.environ, "FEEDPUB_DATABASE_URL": f"sqlite:///{folder / 'ledger.db'}"}
    env.pop("FEEDPUB_CONFIG", None)
    env.pop(processes.PARENT_ENV, None)
    with (folder / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [feedpub_command(), "serve", "--port", str(port), "--workers", "2"],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=log,
        )
    served = Served(f"http://127.0.0.1:{port}", process)
    left: list[int] = []
    try:

        def answering_with_every_process() -> bool:
            try:
                answers = served.get("/healthz").status == 200
            except OSError:
                return False
            left[:] = children(process.pid)
            return answers and len(left) == 3 and any(map(is_scheduler, left))

        eventually(answering_with_every_process, 60, "serve answering, with three children")
        yield process, port
    finally:
        for pid in [process.pid, *left]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=30)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_the_children_of_a_killed_serve_end_and_its_port_is_freed(tmp_path: Path) -> None:
    with serve_process(tmp_path) as (process, port):
        left = children(process.pid)
        process.kill()
        process.wait(timeout=30)
        eventually(lambda: not any(map(alive, left)), 10, f"the children {left} ending")
        eventually(lambda: refused(port), 10, f"port {port} freed")
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))


def test_restarts_wait_longer_while_a_child_keeps_dying() -> None:
    delays = [processes.restart_delay(failures) for failures in range(1, 10)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_supervised_child_that_dies_is_started_again_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runs = tmp_path / "runs"
    script = f"open({str(runs)!r}, 'a').write('run\\n'); raise SystemExit(3)"
    child = processes.Supervised("a test child", [sys.executable, "-c", script])
    with caplog.at_level(logging.WARNING, logger="feeds.processes"):
        child.start()
        try:
            eventually(lambda: runs.exists() and len(runs.read_text().split()) >= 2, 30, "a rerun")
        finally:
            child.stop()
    assert "a test child (pid " in caplog.text
    assert "exited with status 3; starting it again in 1 s" in caplog.text


def test_stopping_a_supervised_child_ends_it_for_good(tmp_path: Path) -> None:
    child = processes.Supervised(
        "a sleeper", [sys.executable, "-c", "import time; time.sleep(600)"]
    )
    child.start()
    eventually(lambda: child.pid is not None, 30, "the child running")
    pid = child.pid
    assert pid is not None
    child.stop()
    assert not alive(pid)
    assert child.pid is None
    assert child.restarts == 0


def test_a_child_whose_parent_is_gone_already_ends_at_once() -> None:
    script = "from feeds import processes; processes.end_with_parent(); import time; time.sleep(60)"
    env = {**os.environ, processes.PARENT_ENV: "1"}  # not this child's parent
    finished = subprocess.run([sys.executable, "-c", script], env=env, timeout=30, check=False)
    assert finished.returncode == -signal.SIGTERM


def test_the_open_file_limit_is_raised_for_the_connections() -> None:
    script = (
        "import resource; from feeds import processes\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "print(processes.raise_open_files(1000), resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    )
    hard = __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)[1]
    if hard != -1 and hard < 1000:
        pytest.skip(f"the hard limit of open files is {hard}")
    said = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=30
    )
    assert said.stdout.split() == ["1000", "1000"]


def test_a_child_that_cannot_start_is_tried_again_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    child = processes.Supervised("a missing program", [str(tmp_path / "no-such-program")])
    with caplog.at_level(logging.WARNING, logger="feeds.processes"):
        child.start()
        try:
            eventually(lambda: child.restarts >= 1, 30, "a second try")
        finally:
            child.stop()
    assert "a missing program (pid None) could not start: [Errno 2]" in caplog.text
