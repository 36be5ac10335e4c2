"""nginx on the README's ``deploy/nginx-proxy-cache.conf``, as committed but for the operator's
values (filled in for 127.0.0.1 and a folder of its own), as ``tests/test_proxy_cache.py`` runs
it.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEPLOY_CONF = Path(__file__).resolve().parent.parent / "deploy" / "nginx-proxy-cache.conf"
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
    main.write_text(MAIN_CONF.format(root=root, workers=workers, user=_user_directive()))
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


def _user_directive() -> str:
    """Whom nginx's workers run as: the user running it. Only nginx started as root changes
    user (to ``nobody`` unless told); started by anyone else, its workers are that user, and
    a ``user`` directive is ignored with a warning."""
    if os.geteuid() != 0:
        return ""
    return f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
