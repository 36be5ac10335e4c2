"""The sockets under the fetcher: where a request may connect, and how long it may take.

An httpcore network backend resolves each host itself, connects only to an address the
request's ``Reach`` permits (the address checked is the one connected to: a host that resolves
elsewhere the second time gains nothing), and bounds every wait on a socket by the request's
deadline as well as by httpx's own timeouts. Every blocking call waits in short slices and
checks between them whether the process is stopping.

Why a backend and not a watchdog thread closing sockets: the bound then holds in the thread
doing the work, at each step (DNS, connect, TLS, each read), with nothing left to race (a
watchdog must find the socket of a request from outside, while the pool may be handing that
connection to another request, and closing a socket another thread blocks on is not portable);
and the same seam sees the peer address of every connection, the reused ones included.
"""

from __future__ import annotations

import contextvars
import errno
import ipaddress
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore

from feeds.errors import FeedpubError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: No single wait on a socket lasts longer than this: a stopping process notices within it.
SLICE_SECONDS = 0.2

#: The networks an address of each non-public kind stands for: a source at one of them is on
#: the operator's own network, and its redirects and next pages may go anywhere in that kind.
KIND_NETWORKS: dict[str, tuple[IPNetwork, ...]] = {
    "loopback": tuple(
        ipaddress.ip_network(n) for n in ("127.0.0.0/8", "0.0.0.0/32", "::1/128", "::/128")
    ),
    "link-local": tuple(ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10")),
    "private": tuple(
        ipaddress.ip_network(n)
        for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
    ),
}


class StoppedError(FeedpubError):
    """The process is stopping: the work in hand was abandoned, and nothing of it is kept."""


class DeadlineExceededError(FeedpubError):
    """A request took longer than its deadline (the fetcher names the URL)."""


class AddressRefusedError(FeedpubError):
    """A request was not sent: its host is at an address it may not reach."""


def address_kind(address: IPAddress) -> str:
    """``public``, or the kind of non-public address: ``loopback`` (with the unspecified
    address, which reaches this machine), ``link-local``, ``private``, ``multicast`` or
    ``reserved`` (shared, documentation, benchmarking and other special ranges)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback or address.is_unspecified:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    return "public" if address.is_global else "reserved"


def own_networks(address: IPAddress) -> tuple[IPNetwork, ...]:
    """The networks a source at ``address`` opens to its redirects and next pages: none for a
    public address, its whole kind for a loopback, link-local or private one, else itself."""
    kind = address_kind(address)
    if kind == "public":
        return ()
    return KIND_NETWORKS.get(kind, (ipaddress.ip_network(address),))


#: Given the address a source's own URL connected to, the non-public networks its redirects
#: and next pages may reach (``own_networks`` unless a test or an operator says otherwise).
OwnNetworks = Callable[[IPAddress], tuple[IPNetwork, ...]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Reach:
    """Where a request may connect: any public address, and ``networks`` (or anywhere)."""

    networks: tuple[IPNetwork, ...] = ()
    anywhere: bool = False

    def permits(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if self.anywhere or address_kind(address) == "public":
            return True
        return any(address.version == n.version and address in n for n in self.networks)


#: A source's own URL, given by the operator: it may be at any address.
ANYWHERE = Reach(anywhere=True)


@dataclass
class Attempt:
    """One fetch under way (its hops share it): what it may reach, when it must be done, the
    process's stop signal, and the address it last talked to."""

    reach: Reach
    deadline_seconds: float
    stopping: threading.Event
    expires: float = field(default=0.0)
    peer: IPAddress | None = None

    def __post_init__(self) -> None:
        self.expires = time.monotonic() + self.deadline_seconds

    def extend(self, seconds: float) -> None:
        """Move the deadline later (a wait for a host's turn is not the request's time)."""
        self.expires += seconds

    def slice(self, timeout: float | None, started: float, on_timeout: type[Exception]) -> float:
        """How long the next wait on a socket may last; raises when the process is stopping,
        the deadline has passed, or ``timeout`` (from ``started``) has."""
        if self.stopping.is_set():
            raise StoppedError("stopping: request abandoned")
        now = time.monotonic()
        left = self.expires - now
        if left <= 0:
            raise DeadlineExceededError(f"not done in {self.deadline_seconds:g} seconds")
        if timeout is not None:
            own = timeout - (now - started)
            if own <= 0:
                raise on_timeout("timed out")
            left = min(left, own)
        return min(left, SLICE_SECONDS)

    def talk_to(self, address: IPAddress) -> None:
        """Record the peer of a connection this request uses, or refuse it."""
        if not self.reach.permits(address):
            raise AddressRefusedError(
                f"refused: {address} is a {address_kind(address)} address, "
                "not public (only the source's own URL may be at one)"
            )
        self.peer = address


_current: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar(
    "feedpub_attempt", default=None
)


def current_attempt() -> Attempt:
    attempt = _current.get()
    if attempt is None:  # a connection outside a fetch: there is none in feedpub
        raise RuntimeError("a guarded connection used outside Fetcher.fetch")
    return attempt


def enter(attempt: Attempt) -> contextvars.Token[Attempt | None]:
    """Make ``attempt`` the request this thread's connections serve (``leave`` undoes)."""
    return _current.set(attempt)


def leave(token: contextvars.Token[Attempt | None]) -> None:
    _current.reset(token)


def _peer_of(sockaddr: tuple[Any, ...]) -> IPAddress:
    return ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])


def _resolve(host: str, port: int, attempt: Attempt, timeout: float | None) -> list[Any]:
    """``getaddrinfo`` on a thread of its own, so that a resolver that hangs bounds nothing."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        return [(family, (str(literal), port))]
    done = threading.Event()
    answer: list[Any] = []

    def look_up() -> None:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            answer.extend((info[0], info[4]) for info in found)
        except OSError as error:
            answer.append(error)
        finally:
            done.set()

    threading.Thread(target=look_up, name=f"resolve {host}", daemon=True).start()
    started = time.monotonic()
    while not done.wait(attempt.slice(timeout, started, httpcore.ConnectTimeout)):
        pass
    if answer and isinstance(answer[0], OSError):
        raise httpcore.ConnectError(f"cannot resolve {host}: {answer[0]}")
    return answer


class GuardedBackend(httpcore.NetworkBackend):
    """Connects where the current request's ``Reach`` permits, within its deadline."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        attempt = current_attempt()
        started = time.monotonic()
        refused: AddressRefusedError | None = None
        failure: OSError | None = None
        for family, sockaddr in _resolve(host, port, attempt, timeout):
            address = _peer_of(sockaddr)
            try:
                attempt.talk_to(address)
            except AddressRefusedError as error:
                refused = error
                continue
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                if local_address:
                    sock.bind((local_address, 0))
                for option in socket_options or ():
                    sock.setsockopt(*option)
                _connect(sock, sockaddr, attempt, timeout, started)
            except OSError as error:
                sock.close()
                failure = error
                continue
            except BaseException:
                sock.close()
                raise
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return GuardedStream(sock, address)
        if failure is not None:
            raise httpcore.ConnectError(str(failure)) from failure
        if refused is not None:
            raise refused
        raise httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("feedpub does not fetch over Unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _ready(sock: socket.socket, *, write: bool, wait: float) -> bool:
    """True when ``sock`` can be written (or read) within ``wait`` seconds (``poll`` where
    there is one: ``select`` knows no descriptor past 1023)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLOUT if write else select.POLLIN)
        return bool(poller.poll(wait * 1000))
    ready = select.select([], [sock], [], wait) if write else select.select([sock], [], [], wait)
    return bool(ready[0] or ready[1])


def _connect(
    sock: socket.socket, sockaddr: Any, attempt: Attempt, timeout: float | None, started: float
) -> None:
    sock.setblocking(False)
    code = sock.connect_ex(sockaddr)
    if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
        raise OSError(code, errno.errorcode.get(code, str(code)))
    if code != 0:
        while True:
            wait = attempt.slice(timeout, started, httpcore.ConnectTimeout)
            if _ready(sock, write=True, wait=wait):
                break
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            raise OSError(code, errno.errorcode.get(code, str(code)))
    sock.setblocking(True)


class GuardedStream(httpcore.NetworkStream):
    """A connection whose every read, write and handshake is checked and bounded by the
    request using it at the time (a kept-alive connection serves several)."""

    def __init__(self, sock: socket.socket, peer: IPAddress) -> None:
        self._sock = sock
        self.peer = peer

    def _patiently(
        self, operation: Callable[[], Any], timeout: float | None, on_timeout: type[Exception]
    ) -> Any:
        attempt = current_attempt()
        attempt.talk_to(self.peer)
        started = time.monotonic()
        while True:
            self._sock.settimeout(attempt.slice(timeout, started, on_timeout))
            try:
                return operation()
            except TimeoutError:
                continue

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            data: bytes = self._patiently(
                lambda: self._sock.recv(max_bytes), timeout, httpcore.ReadTimeout
            )
        except OSError as error:
            raise httpcore.ReadError(str(error)) from error
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        attempt = current_attempt()
        attempt.talk_to(self.peer)
        # a request is small: it fits in the socket's buffer, so this never waits long
        self._sock.settimeout(attempt.slice(timeout, time.monotonic(), httpcore.WriteTimeout))
        try:
            self._sock.sendall(buffer)
        except TimeoutError as error:
            raise httpcore.WriteTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.WriteError(str(error)) from error

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = ssl_context.wrap_socket(
            self._sock, server_hostname=server_hostname, do_handshake_on_connect=False
        )
        stream = GuardedStream(tls, self.peer)
        try:
            stream._patiently(tls.do_handshake, timeout, httpcore.ConnectTimeout)
        except FeedpubError:
            tls.close()
            raise
        except (ssl.SSLError, OSError) as error:
            tls.close()
            raise httpcore.ConnectError(str(error)) from error
        return stream

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._sock if isinstance(self._sock, ssl.SSLSocket) else None
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":  # a kept-alive connection the server closed, or garbled
            try:
                return _ready(self._sock, write=False, wait=0)
            except (OSError, ValueError):
                return True
        return None
