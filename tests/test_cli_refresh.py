"""``feedpub refresh`` and ``feedpub worker``, run as processes on a real SQLite file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from feeds import processes
from feeds.ledger.store import Ledger
from tests.http_server import LocalServer, Route
from tests.refresh_kit import dump, item, page
from tests.test_cli_preview import feedpub, feedpub_command

CONFIG = """
[publisher]
name = "Test feeds"
contact = "mailto:feeds@example.org"

[fetch]
host_spacing_seconds = 0
timeout_seconds = 2

[[sources]]
id = "office"
title = "Office news"
url = "{base}/news"

[[sources]]
id = "broken"
title = "A broken source"
url = "{base}/broken"
"""


def write_config(tmp_path: Path, server: LocalServer, text: str = CONFIG) -> Path:
    path = tmp_path / "feedpub.toml"
    path.write_text(text.format(base=server.base_url), encoding="utf-8")
    return path


def database_env(tmp_path: Path) -> dict[str, str]:
    return {"FEEDPUB_DATABASE_URL": f"sqlite:///{tmp_path / 'feeds.db'}"}


def test_refresh_prints_a_summary_and_fails_if_a_source_failed(
    tmp_path: Path, server: LocalServer
) -> None:
    config = write_config(tmp_path, server)
    server.routes["/news"] = page(item("Alpha", 20, "One."), item("Beta", 19, "Two."))
    server.routes["/broken"] = Route(b"oops", status=500)
    result = feedpub("refresh", "--config", str(config), env=database_env(tmp_path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["source", "status", "new", "updated", "total", "time"]
    assert lines[1].split()[:5] == ["office", "updated", "2", "0", "2"]
    assert lines[2].split()[:5] == ["broken", "failed", "0", "0", "0"]
    assert f"broken: {server.base_url}/broken: HTTP 500 Internal Server Error" in result.stderr
    assert "1 of 2 sources failed: broken" in result.stderr
    user_agents = {request[2]["User-Agent"] for request in server.requests}
    assert user_agents == {"feedpub/0.1.0 (+mailto:feeds@example.org)"}


def test_refresh_of_named_sources_only(tmp_path: Path, server: LocalServer) -> None:
    config = write_config(tmp_path, server)
    server.routes["/news"] = page(item("Alpha", 20, "One."))
    result = feedpub("refresh", "office", "--config", str(config), env=database_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert [r[1] for r in server.requests] == ["/news"]
    unknown = feedpub("refresh", "nope", "--config", str(config), env=database_env(tmp_path))
    assert unknown.returncode == 1
    assert "no source 'nope'" in unknown.stderr


def test_a_new_process_on_the_same_database_changes_nothing(
    tmp_path: Path, server: LocalServer
) -> None:
    config = write_config(tmp_path, server)
    server.routes["/news"] = page(
        item("Alpha", 20, "One."), item("Undated", None, "Event text.", "Event")
    )
    env = database_env(tmp_path)
    assert feedpub("refresh", "office", "--config", str(config), env=env).returncode == 0
    ledger = Ledger.open(env["FEEDPUB_DATABASE_URL"])
    before = dump(ledger)
    # the page's bytes change (so it is parsed again), its items do not
    server.routes["/news"] = Route(
        page(item("Alpha", 20, "One."), item("Undated", None, "Event text.", "Event")).body + b"\n"
    )
    again = feedpub("refresh", "office", "--config", str(config), env=env)
    assert again.returncode == 0, again.stderr
    # the page's bytes changed, no entry did: said in words, not as "updated, 0 new, 0 updated"
    row = again.stdout.splitlines()[1]
    assert row.split()[:6] == ["office", "page", "changed,", "no", "entry", "changed"]
    assert row.split()[6:9] == ["0", "0", "2"]
    assert dump(ledger) == before
    ledger.close()


def test_a_malformed_config_is_a_one_line_error_naming_file_and_key(
    tmp_path: Path, server: LocalServer
) -> None:
    config = write_config(
        tmp_path, server, CONFIG + '\n[[topics]]\nid = "x"\ntitle = "X"\ncolour = "red"\n'
    )
    result = feedpub("refresh", "--config", str(config), env=database_env(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: {config}: topics[0].colour: unknown key"


def test_the_worker_refreshes_on_schedule_and_stops_cleanly(
    tmp_path: Path, server: LocalServer
) -> None:
    config = write_config(tmp_path, server)
    server.routes["/news"] = page(item("Alpha", 20, "One."))
    server.routes["/broken"] = page(item("Beta", 19, "Two."))
    env = database_env(tmp_path)
    command = feedpub_command()
    process = subprocess.Popen(
        [command, "worker", "--config", str(config)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        ledger = Ledger.open(env["FEEDPUB_DATABASE_URL"])
        deadline = time.monotonic() + 60
        while len(ledger.entries()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [s.entry.title for s in ledger.entries()] == ["Alpha", "Beta"]
        ledger.close()
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert b"feedpub worker: stopped" in stderr
    assert b"Traceback" not in stderr


#: ``feedpub worker`` as its console command runs it, whose loop, once the scheduler has started,
#: says what the process's collector is set to and returns (the worker then stops).
_WORKER_SAYING_ITS_COLLECTOR = """
import gc, sys
import server
from feeds import processes

def started(start):
    start()
    print(gc.get_threshold(), gc.get_freeze_count() > 0)

processes.run_until_stopped = started
sys.argv = ["feedpub", "worker", "--config", sys.argv[1]]
server.main()
"""


def test_the_worker_runs_with_its_start_up_frozen_and_its_collector_thresholds(
    tmp_path: Path, server: LocalServer
) -> None:
    config = write_config(tmp_path, server)
    result = subprocess.run(
        [sys.executable, "-c", _WORKER_SAYING_ITS_COLLECTOR, str(config)],
        env={**os.environ, **database_env(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{processes.WORKER_GC_THRESHOLDS} True"]
    assert "feedpub worker: stopped" in result.stderr


def test_the_worker_stops_within_seconds_of_sigterm_abandoning_a_fetch_under_way(
    tmp_path: Path, server: LocalServer
) -> None:
    # the source's headers trickle in for minutes, within every timeout: only stopping ends it
    server.routes["/crawl"] = Route(b"late", header_trickle=0.05, header_bytes=3000)
    config = write_config(
        tmp_path,
        server,
        '[publisher]\nname = "Test feeds"\n\n[fetch]\ntimeout_seconds = 600\n\n'
        '[[sources]]\nid = "crawl"\ntitle = "A crawling source"\nurl = "{base}/crawl"\n',
    )
    env = database_env(tmp_path)
    process = subprocess.Popen(
        [feedpub_command(), "worker", "--config", str(config)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert server.arrival("/crawl").wait(timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    assert process.returncode == 0, stderr
    assert b"feedpub worker: stopped" in stderr
    assert b"Traceback" not in stderr
    ledger = Ledger.open(env["FEEDPUB_DATABASE_URL"])
    state = ledger.state("crawl")
    ledger.close()
    # nothing half done: the lease given back, the abandoned fetch neither a failure nor a fetch
    assert (state.lease_owner, state.last_fetch_at, state.last_error) == (None, None, None)
    assert server.gave_up.wait(timeout=30)
