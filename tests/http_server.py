"""A real HTTP server on a loopback address for tests: routes answer with set status, headers
and body."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (for timeout tests)
    etag: str | None = None  # answer 304 to a request naming it in If-None-Match
    trickle: float = 0.0  # seconds between 100-byte pieces of the body (a slow server)
    #: seconds between single bytes of the headers, ``header_bytes`` of them (a slower one)
    header_trickle: float = 0.0
    header_bytes: int = 600


@dataclass
class LocalServer:
    """A running server: set ``routes[path]``; ``requests`` records (method, path, headers)."""

    base_url: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    #: set when a request comes (cleared by the test to wait for the next)
    arrived: threading.Event = field(default_factory=threading.Event)
    #: paths whose client hung up while their headers were still trickling
    hung_up: list[str] = field(default_factory=list)
    gave_up: threading.Event = field(default_factory=threading.Event)  # set with each of those

    _arrivals: dict[str, threading.Event] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base_url + path

    def arrival(self, path: str) -> threading.Event:
        """An event set once a request for ``path`` has come."""
        with self._lock:
            return self._arrivals.setdefault(path, threading.Event())


@contextmanager
def local_server(host: str = "127.0.0.1") -> Iterator[LocalServer]:
    """Run a server on a free port of ``host`` (a loopback address) for the duration of the
    block."""
    state = LocalServer(base_url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once on kept-alive connections

        def do_GET(self) -> None:
            state.requests.append(("GET", self.path, dict(self.headers.items())))
            state.arrived.set()
            state.arrival(self.path).set()
            route = state.routes.get(self.path, Route(b"not found", 404))
            if route.header_trickle:
                self.trickle_headers(route)
                return
            if route.delay:
                time.sleep(route.delay)
            if route.etag and self.headers.get("If-None-Match") == route.etag:
                self.send_response(304)
                self.send_header("ETag", route.etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(route.status)
            if route.etag:
                self.send_header("ETag", route.etag)
            headers = {"Content-Length": str(len(route.body)), **route.headers}
            for name, value in headers.items():
                if value:  # an empty value leaves the header out
                    self.send_header(name, value)
            if not headers["Content-Length"]:
                self.close_connection = True
            self.end_headers()
            # the client may give up (size caps, timeouts): that is the point
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                if not route.trickle:
                    self.wfile.write(route.body)
                    return
                for start in range(0, len(route.body), 100):
                    self.wfile.write(route.body[start : start + 100])
                    self.wfile.flush()
                    time.sleep(route.trickle)

        def trickle_headers(self, route: Route) -> None:
            self.close_connection = True
            head = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"x" * route.header_bytes
            try:
                for byte in head:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(route.header_trickle)
            except (BrokenPipeError, ConnectionResetError):
                state.hung_up.append(self.path)
                state.gave_up.set()
                return
            body = route.body
            self.wfile.write(b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

    with serving(Handler, host) as base_url:
        state.base_url = base_url
        yield state


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> Iterator[str]:
    """Serve with ``handler`` on a free port of ``host`` (a thread per request) for the
    duration of the block; its base URL."""
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
