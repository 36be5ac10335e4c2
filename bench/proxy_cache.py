"""Benchmark: nginx on the README's ``deploy/nginx-proxy-cache.conf`` in front of ``feedpub
serve`` against nginx serving the same bytes as a static file, for 200s, gzipped 200s and 304s;
and how soon a new entry is served through the cache, against the feed's ``max-age``.

Run: ``.venv/bin/python -m bench.proxy_cache`` (needs ``wrk`` and ``nginx``, as
``bench.serve_throughput``). Prints req/s and p99 for the cache and for two static servers
(the same bytes as a file; and the same, with the feed's own headers added, so that the two
answer alike), loaded in turns, and the cache's share of each one's throughput (the target:
0.9 at least): the medians of ``BENCH_ROUNDS`` rounds (3 unless told), who goes first
rotating; and nginx's CPU a request in each (from ``/proc``, steadier than throughput on a
busy machine). Also
runs the committed configuration, its operator's values filled in, for
``tests/test_proxy_cache.py``.
"""

from __future__ import annotations

import datetime as dt
import grp
import gzip
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.serve_throughput import (
    CONNECTIONS,
    NGINX_CONF,
    ROUNDS,
    SECONDS,
    fetch,
    free_port,
    wait_for,
    wrk_with_cpu,
)
from feeds.config import bundled_config_path
from feeds.ledger.store import Ledger, Retention
from feeds.model import UTC, Entry

DEPLOY_CONF = Path(__file__).resolve().parent.parent / "deploy" / "nginx-proxy-cache.conf"
TOPIC = "all-news"
#: The source a new entry is stored for, to see how soon the cache serves it.
SOURCE = "newsroom"
#: The bundled sources' refresh interval in the copy of its configuration used here: its
#: feeds' max-age is the shortest there is, a minute, so that the cache's freshness is seen
#: within one run.
REFRESH_MINUTES = 2
#: How long after its max-age a feed may take to show the new entry: nginx counts in whole
#: seconds, and the first request after the max-age gets the copy kept before.
FRESHNESS_MARGIN = 3.0
#: The host the committed configuration serves (its ``server_name``, kept as it is).
PUBLIC_HOST = "feeds.example.org"

#: nginx's main configuration around the committed one: everything in the folder it runs in.
MAIN_CONF = """
{user}worker_processes {workers};
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 100000;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    include {root}/feedpub.conf;
}}
"""


#: The headers static nginx makes of a file itself (its CORS header is in ``NGINX_CONF``):
#: any other header of the feed's is added to the second static server's answers.
STATIC_OWN_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "last-modified",
        "etag",
        "accept-ranges",
        "access-control-allow-origin",
    }
)
_CORS_LINE = "add_header Access-Control-Allow-Origin *;"


def _quoted(value: str) -> str:
    """``value`` as an nginx string: in double quotes, its own quotes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def static_conf_with_headers(headers: list[tuple[str, str]]) -> str:
    """``NGINX_CONF`` adding to each answer the headers of ``headers`` (a feed's) that
    static nginx does not make itself: the same answers as the cache's, but for its
    ``X-Cache-Status``."""
    if NGINX_CONF.count(_CORS_LINE) != 1:
        raise ValueError(f"NGINX_CONF has not {_CORS_LINE!r} exactly once")
    kept = [(k, v) for k, v in headers if k.lower() not in STATIC_OWN_HEADERS]
    if any("$" in value for _name, value in kept):
        raise ValueError(f"a header nginx would read a variable in: {kept}")
    added = "".join(f"\n        add_header {name} {_quoted(value)};" for name, value in kept)
    return NGINX_CONF.replace(_CORS_LINE, _CORS_LINE + added.replace("{", "{{").replace("}", "}}"))


def nginx_command() -> str:
    """Where nginx is (Debian installs it in /usr/sbin, which a user's PATH may lack)."""
    return shutil.which("nginx") or "/usr/sbin/nginx"


def write_proxy_conf(root: Path, *, listen: str, upstream: str, workers: int = 1) -> Path:
    """Write the committed configuration into ``root`` with the operator's values filled in
    (``listen``, the ``upstream`` address, a cache folder in ``root``), and a main
    configuration including it; the main configuration's path."""
    text = DEPLOY_CONF.read_text()
    values = {
        "listen 80;": f"listen {listen};",
        "server 127.0.0.1:8000;": f"server {upstream};",
        "proxy_cache_path /var/cache/nginx/feedpub": f"proxy_cache_path {root / 'cache'}",
    }
    for placeholder, value in values.items():
        if text.count(placeholder) != 1:
            raise ValueError(f"{DEPLOY_CONF}: {placeholder!r} is not there exactly once")
        text = text.replace(placeholder, value)
    (root / "tmp").mkdir(exist_ok=True)
    (root / "feedpub.conf").write_text(text)
    main = root / "nginx.conf"
    main.write_text(MAIN_CONF.format(root=root, workers=workers, user=user_directive()))
    return main


@contextmanager
def running_nginx(conf: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """nginx on ``conf`` in the foreground, once it accepts connections on ``port``; stopped
    (fast shutdown) afterwards."""
    root = conf.parent
    error_log = str(root / "error.log")  # for what it says before reading ``conf``
    process = subprocess.Popen(
        [nginx_command(), "-p", str(root), "-e", error_log, "-c", str(conf), "-g", "daemon off;"]
    )
    try:
        deadline = time.monotonic() + 10
        while not _accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                said = (root / "error.log").read_text(errors="replace")
                raise RuntimeError(f"nginx did not start on port {port}:\n{said}")
            time.sleep(0.02)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def user_directive() -> str:
    """Whom nginx's workers run as: the user running it. Only nginx started as root changes
    user (to ``nobody`` unless told); started by anyone else, its workers are that user, and
    a ``user`` directive is ignored with a warning."""
    if os.geteuid() != 0:
        return ""
    return f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _get(url: str, headers: dict[str, str]) -> tuple[bytes, str]:
    """A feed's body and ETag, asked of ``url`` as its public host."""
    request = urllib.request.Request(url, headers={"Host": PUBLIC_HOST, **headers})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read(), str(response.headers["ETag"])


def _max_age(url: str) -> int:
    request = urllib.request.Request(url, headers={"Host": PUBLIC_HOST}, method="HEAD")
    with urllib.request.urlopen(request, timeout=5) as response:
        control = str(response.headers["Cache-Control"])
    return int(control.rpartition("max-age=")[2].split(",")[0])


class FreshnessCheck(threading.Thread):
    """Stores a new entry for ``SOURCE`` and asks ``url`` for the feed every 0.2 seconds until
    it holds the entry, for ``limit`` seconds at most; ``seconds`` is how long that took
    (``None`` if it never came) and ``loaded`` whether a load run was on when it came."""

    def __init__(self, url: str, database_url: str, limit: float) -> None:
        super().__init__(daemon=True)
        self.url, self.database_url, self.limit = url, database_url, limit
        self.seconds: float | None = None
        self.loaded = False
        self.loading = threading.Event()  # set while a load run is on

    def run(self) -> None:
        now = dt.datetime.now(UTC)
        title = f"Proxy cache freshness check {now:%H:%M:%S.%f}"
        entry = Entry(
            id=f"urn:uuid:{now.strftime('%H%M%S%f')[:8]}-0000-5000-8000-000000000000",
            source_id=SOURCE,
            title=title,
            link="https://news.northfield.example/newsroom/freshness-check",
            date=now.date(),
            published=now,
            summary="Stored by bench.proxy_cache.",
            labels=(),
        )
        ledger = Ledger.open(self.database_url)
        try:
            with ledger.transaction() as transaction:
                transaction.merge(SOURCE, [entry], now=now, retention=Retention())
        finally:
            ledger.close()
        started = time.monotonic()
        while time.monotonic() - started < self.limit:
            body, _etag = _get(self.url, {})
            if title.encode() in body:
                self.seconds = time.monotonic() - started
                self.loaded = self.loading.is_set()
                return
            time.sleep(0.2)


def main() -> None:
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is not installed: apt-get install wrk nginx-light")
    root = Path(tempfile.mkdtemp(prefix="feedpub-bench-proxy-"))
    root.chmod(0o755)  # static nginx's workers run as another user
    site = root / "site"
    shutil.copytree(bundled_config_path().parent, site)  # the sample listings beside it
    config = site / "feedpub.toml"
    config.write_text(
        config.read_text().replace("refresh_minutes = 30", f"refresh_minutes = {REFRESH_MINUTES}")
    )
    database_url = f"sqlite:///{root / 'feeds.db'}"
    env = {**os.environ, "FEEDPUB_DATABASE_URL": database_url, "FEEDPUB_CONFIG": str(config)}
    feedpub = str(Path(sys.executable).parent / "feedpub")
    subprocess.run([feedpub, "refresh"], cwd=root, env=env, check=True, capture_output=True)
    port, static_port, proxy_port = free_port(), free_port(), free_port()
    serve = ["serve", "--no-scheduler", "--port", str(port), "--workers", "2", "--threads", "2"]
    server = subprocess.Popen(
        [feedpub, *serve],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    headed_port = free_port()
    static_root, headed_root, proxy_root = root / "static", root / "headed", root / "proxy"
    proxy_root.mkdir()
    static_confs = [static_root / "nginx.conf", headed_root / "nginx.conf"]
    try:
        feed_url = f"http://127.0.0.1:{port}/feeds/{TOPIC}.rss"
        wait_for(feed_url)
        time.sleep(1.5)  # past the servers' version check interval
        headers, body = fetch(feed_url, {"Host": PUBLIC_HOST})
        statics = {}
        for conf, (template, static_port_) in zip(
            static_confs,
            ((NGINX_CONF, static_port), (static_conf_with_headers(headers), headed_port)),
            strict=True,
        ):
            static = conf.parent / "www" / "feeds" / f"{TOPIC}.rss"
            static.parent.mkdir(parents=True)
            (conf.parent / "tmp").mkdir()
            static.write_bytes(body)
            (static.parent / f"{TOPIC}.rss.gz").write_bytes(gzip.compress(body, 6, mtime=0))
            conf.write_text(template.format(root=conf.parent, port=static_port_))
            subprocess.run([nginx_command(), "-c", str(conf)], check=True)
            url = f"http://127.0.0.1:{static_port_}/feeds/{TOPIC}.rss"
            wait_for(url)
            statics[conf.parent.name] = (url, int((conf.parent / "nginx.pid").read_text()))
        proxy_conf = write_proxy_conf(
            proxy_root,
            listen=f"127.0.0.1:{proxy_port} reuseport",
            upstream=f"127.0.0.1:{port}",
            workers=2,
        )
        with running_nginx(proxy_conf, proxy_port) as proxy:
            proxy_url = f"http://127.0.0.1:{proxy_port}/feeds/{TOPIC}.rss"
            _measure(statics, (proxy_url, proxy.pid), body, database_url)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        for conf in static_confs:
            if (conf.parent / "nginx.pid").exists():
                subprocess.run([nginx_command(), "-c", str(conf), "-s", "stop"], check=False)
        shutil.rmtree(root, ignore_errors=True)


def _median(runs: list[tuple[float, str]]) -> tuple[float, str]:
    """The median req/s of ``runs`` and the p99 of that run (the lower middle one of an even
    number)."""
    ordered = sorted(runs)
    return ordered[(len(ordered) - 1) // 2]


def _measure(
    statics: dict[str, tuple[str, int]],
    proxy: tuple[str, int],
    body: bytes,
    database_url: str,
) -> None:
    """Load the cache and the static servers (``statics``: ``static``, the same bytes;
    ``headed``, with the feed's headers too; each its URL and nginx's process id) in turns,
    ``ROUNDS`` times each case, and print the medians, the cache's share of each static
    server's throughput, and each one's CPU a request."""
    proxy_url = proxy[0]
    max_age = _max_age(proxy_url)
    cached = time.monotonic()
    for encoding in ({}, {"Accept-Encoding": "gzip"}):  # both copies in the cache
        _get(proxy_url, encoding)
    freshness = FreshnessCheck(proxy_url, database_url, max_age + FRESHNESS_MARGIN)
    freshness.start()
    # the first run (the cache's 200s) is centred on when the copies expire (nginx counts
    # whole seconds: half a second late, on average), so that they are revalidated under load
    idle = cached + max_age + 0.5 - SECONDS / 2 - time.monotonic()
    print(f"feed: /feeds/{TOPIC}.rss, {len(body):,} bytes ({len(gzip.compress(body)):,} gzipped)")
    print(f"load: wrk -t2 -c{CONNECTIONS} -d{SECONDS}s; feedpub serve: 2 workers x 2 threads")
    print("static: nginx, 2 workers, the same bytes as a file (gzip_static, open_file_cache)")
    print("headed: the same static nginx, adding the feed's own headers to each answer")
    print("cache: nginx, 2 workers, deploy/nginx-proxy-cache.conf in front of feedpub serve")
    print(f"an entry was stored as the feed was cached; {idle:.0f} s idle, so that the cached")
    print(f"copies (max-age {max_age} s) expire during the first run")
    time.sleep(max(0.0, idle))
    print(f"{ROUNDS} rounds, the three loaded in turns (who goes first rotates); medians")
    servers = (proxy, statics["static"], statics["headed"])
    urls = tuple(url for url, _pid in servers)
    cases = (("200", False, False), ("gzip", True, False), ("304", False, True))
    runs: dict[tuple[str, str], list[tuple[float, str]]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    for round_ in range(ROUNDS):
        for case, gzipped, conditional in cases:
            for url, pid in (servers[(round_ + n) % len(servers)] for n in range(len(servers))):
                headers = {"Host": PUBLIC_HOST}
                if gzipped:
                    headers["Accept-Encoding"] = "gzip"
                if conditional:
                    headers["If-None-Match"] = _get(url, {})[1]
                freshness.loading.set()
                rate, p99, cpu = wrk_with_cpu(pid, url, headers)
                runs.setdefault((case, url), []).append((rate, p99))
                cpus.setdefault((case, url), []).append(cpu)
                freshness.loading.clear()
    print(
        f"{'case':<6} {'cache req/s':>12} {'p99':>9} {'static req/s':>13} {'p99':>9} "
        f"{'headed req/s':>13} {'p99':>9} {'/static':>8} {'/headed':>8}"
    )
    for case, _gzipped, _conditional in cases:
        (ours, our_p99), (static, static_p99), (headed, headed_p99) = (
            _median(runs[(case, url)]) for url in urls
        )
        print(
            f"{case:<6} {ours:>12,.0f} {our_p99:>9} {static:>13,.0f} {static_p99:>9} "
            f"{headed:>13,.0f} {headed_p99:>9} {ours / static:>8.2f} {ours / headed:>8.2f}"
        )
        for name, url in (("static", urls[1]), ("headed", urls[2])):
            each = (
                f"{a[0] / b[0]:.2f}"
                for a, b in zip(runs[(case, proxy_url)], runs[(case, url)], strict=True)
            )
            print(f"       /{name} by round: {' '.join(each)}")
    print("nginx's CPU a request, user and system, in µs (medians; master and workers)")
    print(f"{'case':<6} {'cache':>8} {'static':>8} {'headed':>8}")
    for case, _gzipped, _conditional in cases:
        used = (statistics.median(cpus[(case, url)]) for url in urls)
        print(f"{case:<6} " + " ".join(f"{cpu:>8.1f}" for cpu in used))
    freshness.join()
    if freshness.seconds is None:
        limit = max_age + FRESHNESS_MARGIN
        print(f"fresh: NO, the entry stored was not served within {limit:.0f} s")
    else:
        when = "under load" if freshness.loaded else "between load runs"
        print(
            f"fresh: the entry stored was served through the cache {freshness.seconds:.1f} s "
            f"later ({when}; max-age {max_age} s, limit {max_age + FRESHNESS_MARGIN:.0f} s)"
        )


if __name__ == "__main__":
    main()
