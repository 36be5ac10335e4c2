"""The floor of ``bench.serve_throughput``: a WSGI app that answers every request with the bytes
and headers ``feedpub serve`` answered with, doing the least Python work a request can take,
served by granian on ``feedpub serve``'s settings.

Run: ``.venv/bin/python -m bench.constant_app RESPONSES --port 8001`` (``RESPONSES``: the
``responses.json`` that ``bench.serve_throughput`` writes; ``--workers``, ``--threads`` as
``feedpub serve``'s).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from server import run_granian

#: Where the app's worker processes find the ``responses.json`` it answers with.
RESPONSES_ENV = "FEEDPUB_FLOOR_RESPONSES"

Headers = list[tuple[str, str]]
StartResponse = Callable[[str, Headers], Any]
WSGIApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def write_responses(
    path: Path,
    *,
    plain: tuple[Headers, bytes],
    gzipped: tuple[Headers, bytes],
    not_modified: dict[str, Headers],
) -> None:
    """Write what the app answers: the headers and body of a 200 and of a gzipped 200, and the
    headers of a 304 by the ETag it answers (each header list as the server is to send it,
    less its own ``Server`` and ``Date``)."""
    (path.parent / "plain.body").write_bytes(plain[1])
    (path.parent / "gzip.body").write_bytes(gzipped[1])
    responses = {
        "plain": {"headers": plain[0], "body": "plain.body"},
        "gzip": {"headers": gzipped[0], "body": "gzip.body"},
        "not_modified": not_modified,
    }
    path.write_text(json.dumps(responses, indent=1))


def make_app() -> WSGIApplication:
    """The app, answering with ``$FEEDPUB_FLOOR_RESPONSES`` (``constant_app``)."""
    path = Path(os.environ[RESPONSES_ENV])
    responses = json.loads(path.read_text())

    def read(name: str) -> tuple[Headers, bytes]:
        headers = [(str(k), str(v)) for k, v in responses[name]["headers"]]
        return headers, (path.parent / responses[name]["body"]).read_bytes()

    return constant_app(
        plain=read("plain"),
        gzipped=read("gzip"),
        not_modified={
            etag: [(str(k), str(v)) for k, v in headers]
            for etag, headers in responses["not_modified"].items()
        },
    )


def constant_app(
    *,
    plain: tuple[Headers, bytes],
    gzipped: tuple[Headers, bytes],
    not_modified: dict[str, Headers],
) -> WSGIApplication:
    """An app answering with these: a 304 (with its headers) when If-None-Match is one of
    the ETags of ``not_modified`` exactly, ``gzipped`` when Accept-Encoding names gzip, else
    ``plain``."""
    plain_headers, plain_body = plain[0], [plain[1]]
    gzip_headers, gzip_body = gzipped[0], [gzipped[1]]
    answers: dict[str | None, Headers] = dict(not_modified.items())

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        headers = answers.get(environ.get("HTTP_IF_NONE_MATCH"))
        if headers is not None:
            start_response("304 Not Modified", headers)
            return []  # a list: granian sends a list's bytes at once, iterates anything else
        if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
            start_response("200 OK", gzip_headers)
            return gzip_body
        start_response("200 OK", plain_headers)
        return plain_body

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("responses", type=Path, help="the responses.json to answer with")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()
    os.environ[RESPONSES_ENV] = str(arguments.responses.resolve())
    run_granian(
        "bench.constant_app:make_app",
        host=arguments.host,
        port=arguments.port,
        workers=arguments.workers,
        threads=arguments.threads,
    )


if __name__ == "__main__":
    main()
