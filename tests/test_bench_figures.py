"""The benchmarks' readings of their tools' output (a figure is read from where the tool
prints it, not from a line that merely looks alike), and the static server they compare the
proxy cache with, and the CPU time they count a server's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bench.constant_app import constant_app
from bench.proxy_cache import (
    nginx_command,
    running_nginx,
    static_conf_with_headers,
    user_directive,
)
from bench.serve_throughput import milliseconds, tree_cpu_seconds, wrk_figures
from tests.serving import free_port

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000/feeds/all-news.rss
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms    1.20ms  40.00ms   80.99%
    Req/Sec    10.30k   600.00    11.00k    70.00%
  Latency Distribution
     50%    2.90ms
     75%    3.50ms
     90%    4.20ms
     99%    7.80ms
  205000 requests in 10.00s, 1.20GB read
Requests/sec:  20500.00
Transfer/sec:    122.00MB
"""


def test_the_p99_is_read_from_the_latency_distribution() -> None:
    assert wrk_figures(WRK_OUTPUT) == (20500.0, "7.80ms")


def test_a_run_without_a_distribution_or_with_errors_gives_no_figures() -> None:
    without = WRK_OUTPUT.replace("Latency Distribution", "Latency")
    assert wrk_figures(without) is None
    errors = WRK_OUTPUT + "  Non-2xx or 3xx responses: 12\n"
    assert wrk_figures(errors) is None


@pytest.mark.parametrize(
    ("latency", "expected"), [("850.00us", 0.85), ("5.39ms", 5.39), ("1.02s", 1020.0)]
)
def test_wrk_latencies_are_read_in_milliseconds(latency: str, expected: float) -> None:
    assert milliseconds(latency) == pytest.approx(expected)


def test_a_latency_wrk_does_not_print_is_refused() -> None:
    with pytest.raises(ValueError, match="not a latency"):
        milliseconds("5.39")


def test_the_headed_static_server_answers_with_the_feeds_own_headers(tmp_path: Path) -> None:
    """``bench.proxy_cache``'s second static server, run by nginx: its answers carry the
    headers given (quotes and all), and nginx's own for a file, once each."""
    if not Path(nginx_command()).exists():
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run installs it)")
    feed = tmp_path / "www" / "feeds" / "all-news.rss"
    feed.parent.mkdir(parents=True)
    (tmp_path / "tmp").mkdir()
    feed.write_bytes(b"<rss/>")
    given = [
        ("Content-Type", "application/rss+xml; charset=utf-8"),
        ("Cache-Control", "public, max-age=60"),
        ("Vary", "Accept, Accept-Encoding"),
        ("Link", '<https://feeds.example.org/hub>; rel="hub"'),
        ("ETag", '"abc"'),
    ]
    port = free_port()
    conf = tmp_path / "nginx.conf"
    text = static_conf_with_headers(given).format(root=tmp_path, port=port)
    conf.write_text(user_directive() + text)  # its workers read the test's folder
    with running_nginx(conf, port):
        url = f"http://127.0.0.1:{port}/feeds/all-news.rss"
        with urllib.request.urlopen(url, timeout=5) as response:
            headers = response.headers
            assert response.read() == b"<rss/>"
    assert headers["Cache-Control"] == "public, max-age=60"
    assert headers["Vary"] == "Accept, Accept-Encoding"
    assert headers["Link"] == '<https://feeds.example.org/hub>; rel="hub"'
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert len(headers.get_all("ETag") or []) == 1  # nginx's own, not the feed's too
    with pytest.raises(ValueError, match="variable"):
        static_conf_with_headers([("X-Note", "costs $5")])


def test_a_servers_cpu_time_counts_the_processes_under_it() -> None:
    """``tree_cpu_seconds`` counts a process's children: a shell whose child has used 0.5 s
    of CPU (by its own clock) has used about that much, itself nearly none (``/proc`` counts
    in clock ticks, sampled: a little less may be counted)."""
    busy = (
        "import sys, time\n"
        "while time.process_time() < 0.5: pass\n"
        "print('done', flush=True)\n"
        "time.sleep(60)\n"
    )
    shell = subprocess.Popen(
        ["/bin/sh", "-c", f'"{sys.executable}" -c "$BUSY"; :'],
        env={**os.environ, "BUSY": busy},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert shell.stdout is not None
    try:
        assert shell.stdout.readline() == "done\n"
        assert tree_cpu_seconds(shell.pid) >= 0.4
    finally:
        for child in _children(shell.pid):
            os.kill(child, signal.SIGKILL)
        shell.kill()
        shell.wait()
        shell.stdout.close()


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def test_the_floor_answers_as_the_feed_did() -> None:
    """``bench.constant_app``, the floor both serving benchmarks measure against: a 304 with
    its own headers for an ETag given exactly, the gzipped answer when Accept-Encoding names
    gzip, the plain one otherwise (an ETag not given exactly included)."""
    plain = [("Content-Type", "application/rss+xml"), ("ETag", '"p"')]
    zipped = [("Content-Type", "application/rss+xml"), ("Content-Encoding", "gzip")]
    not_modified = [("ETag", '"p"')]
    app = constant_app(
        plain=(plain, b"<rss/>"), gzipped=(zipped, b"\x1f\x8b"), not_modified={'"p"': not_modified}
    )
    answers: list[tuple[str, list[tuple[str, str]]]] = []

    def call(environ: dict[str, str]) -> bytes:
        body = app(environ, lambda status, headers: answers.append((status, headers)))
        return b"".join(body)

    assert call({}) == b"<rss/>"
    assert answers[-1] == ("200 OK", plain)
    assert call({"HTTP_ACCEPT_ENCODING": "br, gzip"}) == b"\x1f\x8b"
    assert answers[-1] == ("200 OK", zipped)
    assert call({"HTTP_IF_NONE_MATCH": '"p"'}) == b""
    assert answers[-1] == ("304 Not Modified", not_modified)
    assert call({"HTTP_IF_NONE_MATCH": 'W/"p"'}) == b"<rss/>"
