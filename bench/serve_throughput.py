"""Benchmark: a topic feed served by ``feedpub serve`` against the floor of its server (a
constant-bytes WSGI app, ``bench.constant_app``, answering the same bytes and headers on the same
granian settings) and against nginx serving the same bytes as a static file (the practical limit
on this machine), for 200s, gzipped 200s and 304s, the three in turn for each case.

Run: ``.venv/bin/python -m bench.serve_throughput`` (needs ``wrk`` and ``nginx`` from Debian's
packages: ``apt-get install wrk nginx-light``; ``BENCH_SECONDS`` sets each load run's length,
default 10, ``BENCH_ROUNDS`` how many times each is run, default 3, ``BENCH_THREADS`` the
threads of each server process, default 2). Everything listens on 127.0.0.1 only; each load
run is bounded in time. Prints the medians of requests per second and of p99 latency for the
three servers, and feedpub's share of the floor's throughput and of nginx's (with the share
in each round); then the CPU time each server used a request (all of its processes', from
``/proc``), which the machine's other load moves less than its throughput.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

from bench.constant_app import Headers, write_responses

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
#: How many times each case is run on each server, in turn (``BENCH_ROUNDS``): the figures
#: printed are the medians, so that one disturbed run moves none of them.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = 64
TOPIC = "all-news"
#: ``feedpub serve``'s processes and threads, and the floor's (``BENCH_THREADS``: threads each).
WORKERS = 2
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
#: The headers granian adds to an app's answer.
SERVERS_OWN_HEADERS = ("server", "date", "connection")
#: Where ``python -m bench.constant_app`` is run from, so that its workers import it.
ROOT = Path(__file__).resolve().parent.parent

NGINX_CONF = """
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    types {{ application/rss+xml rss; }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_min_uses 1;
    open_file_cache_errors on;
    keepalive_requests 100000;
    gzip_static on;
    etag on;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    server {{
        listen 127.0.0.1:{port} reuseport;
        root {root}/www;
        add_header Access-Control-Allow-Origin *;
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def fetch(url: str, headers: dict[str, str]) -> tuple[Headers, bytes]:
    """The headers of a GET's answer (less the server's own: ``Server``, ``Date`` and the
    ``Connection: close`` urllib asks for) and its body as sent (gzipped when it was); a 304's
    too."""

    def own(message: Message) -> Headers:
        return [(k, v) for k, v in message.items() if k.lower() not in SERVERS_OWN_HEADERS]

    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return own(response.headers), response.read()
    except urllib.error.HTTPError as error:
        if error.code != 304:
            raise
        return own(error.headers), b""


def etag_of(headers: Headers) -> str:
    return next(v for k, v in headers if k.lower() == "etag")


def head_etag(url: str, gzip_wanted: bool) -> str:
    headers = {"Accept-Encoding": "gzip"} if gzip_wanted else {}
    request = urllib.request.Request(url, headers=headers, method="HEAD")
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.headers["ETag"])


def wrk(
    url: str, headers: dict[str, str], *, threads: int = 2, connections: int = CONNECTIONS
) -> tuple[float, str]:
    """Requests per second and the p99 latency of a ``wrk`` run."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{SECONDS}s", "--latency", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = wrk_figures(output)
    if figures is None:
        raise SystemExit(f"wrk failed or saw errors:\n{output}")
    return figures


def wrk_figures(output: str) -> tuple[float, str] | None:
    """Requests per second and p99 from ``wrk --latency``'s output (the p99 from its
    "Latency Distribution" block only: the thread statistics above it also end in
    percentages: "80.99%" followed by the next line would pass for a p99); ``None`` when it
    failed or saw errors."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    _before, found, distribution = output.partition("Latency Distribution")
    p99 = re.search(r"^\s*99%\s+(\S+)\s*$", distribution, re.MULTILINE) if found else None
    if rate is None or p99 is None or "Non-2xx or 3xx responses" in output:
        return None
    return float(rate[1]), p99[1]


def copy_responses(url: str, path: Path) -> tuple[bytes, bytes]:
    """Write what the floor is to answer with (``bench.constant_app.write_responses``): the
    feed's answers, a 200, a gzipped 200 and their 304s; return its plain and gzipped bytes."""
    plain, body = fetch(url, {})
    zipped, zipped_body = fetch(url, {"Accept-Encoding": "gzip"})
    write_responses(
        path,
        plain=(plain, body),
        gzipped=(zipped, zipped_body),
        not_modified={
            etag_of(plain): fetch(url, {"If-None-Match": etag_of(plain)})[0],
            etag_of(zipped): fetch(
                url, {"Accept-Encoding": "gzip", "If-None-Match": etag_of(zipped)}
            )[0],
        },
    )
    return body, zipped_body


def start_floor(responses: Path, port: int) -> subprocess.Popen[bytes]:
    """The constant-bytes app answering ``responses``, on ``feedpub serve``'s granian settings."""
    command = [sys.executable, "-m", "bench.constant_app", str(responses), "--port", str(port)]
    command += ["--workers", str(WORKERS), "--threads", str(THREADS)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def tree_cpu_seconds(root_pid: int) -> float:
    """The CPU time, user and system, that the process ``root_pid`` and those under it (a
    server's workers) have used so far, read from ``/proc``."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()  # from the state on: field 3
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])  # utime, stime
    under = {root_pid}
    grown = True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in under} - under
        under |= more
        grown = bool(more)
    return sum(ticks.get(pid, 0) for pid in under) / os.sysconf("SC_CLK_TCK")


def wrk_with_cpu(pid: int, url: str, headers: dict[str, str]) -> tuple[float, str, float]:
    """``wrk``'s run on ``url`` with the CPU time the server ``pid`` used meanwhile: its
    requests per second, its p99, and the server's CPU a request, in microseconds."""
    before = tree_cpu_seconds(pid)
    rate, p99 = wrk(url, headers)
    used = tree_cpu_seconds(pid) - before
    return rate, p99, used / (rate * SECONDS) * 1e6


def milliseconds(latency: str) -> float:
    """A latency as ``wrk`` prints it (``850.00us``, ``5.39ms``, ``1.02s``), in ms."""
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if latency.endswith(unit):
            return float(latency.removesuffix(unit)) * factor
    raise ValueError(f"not a latency: {latency!r}")


def compare(servers: list[tuple[str, int]]) -> None:
    """Load each server (its URL and process id: feedpub's, the floor's, nginx's) in turn for
    each case, ``ROUNDS`` times (each round in another order of the servers), and print the
    medians of their figures and of feedpub's shares, then each one's CPU a request."""
    print(
        f"{'case':<6} {'feedpub req/s':>14} {'p99 ms':>7} {'floor req/s':>12} {'p99 ms':>7} "
        f"{'nginx req/s':>12} {'p99 ms':>7} {'/floor':>7} {'/nginx':>7}  /floor by round"
    )
    cases = (("200", False, False), ("gzip", True, False), ("304", False, True))
    cpu_lines = []
    for case, gzipped, conditional in cases:
        runs: list[list[tuple[float, float, float]]] = [[], [], []]
        for round_number in range(ROUNDS):
            for index in ((round_number + n) % 3 for n in range(3)):
                url, pid = servers[index]
                headers = {"Accept-Encoding": "gzip"} if gzipped else {}
                if conditional:
                    headers["If-None-Match"] = head_etag(url, gzipped)
                rate, p99, cpu = wrk_with_cpu(pid, url, headers)
                runs[index].append((rate, milliseconds(p99), cpu))
        rates = [statistics.median(run[0] for run in found) for found in runs]
        p99s = [statistics.median(run[1] for run in found) for found in runs]
        cpus = [statistics.median(run[2] for run in found) for found in runs]
        shares = " ".join(
            f"{ours[0] / least[0]:.2f}" for ours, least in zip(*runs[:2], strict=True)
        )
        print(
            f"{case:<6} {rates[0]:>14,.0f} {p99s[0]:>7.2f} {rates[1]:>12,.0f} {p99s[1]:>7.2f} "
            f"{rates[2]:>12,.0f} {p99s[2]:>7.2f} {rates[0] / rates[1]:>7.2f} "
            f"{rates[0] / rates[2]:>7.2f}  {shares}"
        )
        cpu_lines.append(
            f"{case:<6} {cpus[0]:>14.1f} {cpus[1]:>12.1f} {cpus[2]:>12.1f} "
            f"{cpus[0] - cpus[1]:>+14.1f}"
        )
    print("server CPU a request, user and system, in µs (medians; every process of each server)")
    print(f"{'case':<6} {'feedpub':>14} {'floor':>12} {'nginx':>12} {'feedpub-floor':>14}")
    print(*cpu_lines, sep="\n")


def main() -> None:
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is not installed: apt-get install wrk nginx-light")
    feedpub = str(Path(sys.executable).parent / "feedpub")
    root = Path(tempfile.mkdtemp(prefix="feedpub-bench-"))
    root.chmod(0o755)  # nginx's workers run as another user
    env = {**os.environ, "FEEDPUB_DATABASE_URL": f"sqlite:///{root / 'feeds.db'}"}
    env.pop("FEEDPUB_CONFIG", None)
    subprocess.run([feedpub, "refresh"], cwd=root, env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [
            feedpub,
            "serve",
            "--no-scheduler",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    floor: subprocess.Popen[bytes] | None = None
    floor_port = free_port()
    nginx_port = free_port()
    (root / "www" / "feeds").mkdir(parents=True)
    (root / "tmp").mkdir()
    (root / "floor").mkdir()
    try:
        feed_url = f"http://127.0.0.1:{port}/feeds/{TOPIC}.rss"
        wait_for(feed_url)
        time.sleep(1.5)
        responses = root / "floor" / "responses.json"
        body, zipped_body = copy_responses(feed_url, responses)
        floor = start_floor(responses, floor_port)
        floor_url = f"http://127.0.0.1:{floor_port}/feeds/{TOPIC}.rss"
        static = root / "www" / "feeds" / f"{TOPIC}.rss"
        static.write_bytes(body)
        (static.parent / f"{TOPIC}.rss.gz").write_bytes(zipped_body)
        (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, port=nginx_port))
        subprocess.run(["nginx", "-c", str(root / "nginx.conf")], check=True)
        nginx_url = f"http://127.0.0.1:{nginx_port}/feeds/{TOPIC}.rss"
        wait_for(nginx_url)
        wait_for(floor_url)
        print(f"feed: /feeds/{TOPIC}.rss, {len(body):,} bytes ({len(zipped_body):,} gzipped)")
        print(
            f"load: wrk -t2 -c{CONNECTIONS} -d{SECONDS}s, medians of {ROUNDS} rounds; feedpub "
            f"serve and the floor: {WORKERS} workers x {THREADS} threads of granian"
        )
        print("floor: a constant-bytes WSGI app, the same bytes and headers (bench.constant_app)")
        print(
            "nginx: 2 workers, the same bytes as a static file (gzip_static, open_file_cache, "
            "reuseport)"
        )
        nginx_pid = int((root / "nginx.pid").read_text())
        compare([(feed_url, server.pid), (floor_url, floor.pid), (nginx_url, nginx_pid)])
    finally:
        for process in (server, floor):
            if process is not None:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=30)
        if (root / "nginx.pid").exists():
            subprocess.run(["nginx", "-c", str(root / "nginx.conf"), "-s", "stop"], check=False)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
