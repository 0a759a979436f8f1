"""Overall deadlines and interruption for every socket keycliq reads from Heroku or the web.

A per-read timeout does not bound a call: a server that sends one byte a second never trips
it. So every blocking socket operation here runs in short *slices* (at most
:data:`SLICE` seconds each); between slices it checks

* the deadline of the call in progress on this thread (set with :func:`bounded`), and
* the process-wide abort flag (:func:`abort_all`), so a thread blocked on a socket ends
  within a slice once the process is being interrupted (Ctrl-C reaches only the main
  thread; worker threads learn of it from the flag).

A slice that times out is simply resumed: plain TCP sockets and TLS sockets (OpenSSL keeps a
partial record) both allow it. What runs out raises :class:`DeadlineExceeded` (an
``OSError``, so httpcore maps it to a transport error) or :class:`AbortedIO`.

:class:`SlicedBackend` is an httpcore network backend built on this; :func:`http_transport`
is the httpx transport that uses it. :func:`connect` / :func:`recv` serve raw sockets (the
one-off dynos' rendezvous).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

SLICE = 0.25  # seconds a blocked socket waits before the deadline and abort are checked

_ABORT = threading.Event()
_local = threading.local()
_IN_PROGRESS = frozenset({errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK, errno.EAGAIN})


class DeadlineExceeded(TimeoutError):
    """The overall deadline of the call passed while waiting on a socket."""


class AbortedIO(OSError):
    """The process is being interrupted (:func:`abort_all`)."""


def abort_all() -> None:
    """Make every socket wait (in any thread) end within :data:`SLICE` seconds with
    :class:`AbortedIO`, and every :func:`sleep` at once. For the CLI's Ctrl-C/SIGTERM path."""
    _ABORT.set()


def reset_abort() -> None:
    """Allow I/O again (tests; a long-lived process after handling an interruption)."""
    _ABORT.clear()


def aborted() -> bool:
    return _ABORT.is_set()


def sleep(seconds: float) -> None:
    """``time.sleep`` that ends at once on :func:`abort_all` (raising :class:`AbortedIO`)."""
    if _ABORT.wait(max(0.0, seconds)):
        raise AbortedIO("interrupted")


def current() -> float | None:
    """The monotonic deadline of the call in progress on this thread (None: none)."""
    return getattr(_local, "deadline", None)


@contextlib.contextmanager
def bounded(deadline: float | None) -> Iterator[None]:
    """Socket waits on this thread end at ``deadline`` (``time.monotonic()`` based);
    a nested call keeps the earlier of the two deadlines."""
    previous = current()
    if deadline is not None and previous is not None:
        deadline = min(deadline, previous)
    _local.deadline = deadline if deadline is not None else previous
    try:
        yield
    finally:
        _local.deadline = previous


def _slice(limit: float | None) -> float:
    """The next wait: at most SLICE, and not past ``limit`` nor the call's deadline.
    Raises when one of them has passed or the process is being interrupted."""
    if _ABORT.is_set():
        raise AbortedIO("interrupted")
    now = time.monotonic()
    wait = SLICE
    deadline = current()
    if deadline is not None:
        if now >= deadline:
            raise DeadlineExceeded("the overall deadline passed")
        wait = min(wait, deadline - now)
    if limit is not None:
        if now >= limit:
            raise TimeoutError("timed out")
        wait = min(wait, limit - now)
    return max(wait, 0.001)


def _until(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def recv(sock: socket.socket, max_bytes: int, timeout: float | None = None) -> bytes:
    """``sock.recv`` in slices; ``timeout``: longest silence (socket.timeout after it)."""
    limit = _until(timeout)
    while True:
        sock.settimeout(_slice(limit))
        try:
            return sock.recv(max_bytes)
        except (TimeoutError, ssl.SSLWantReadError):
            continue


def sendall(sock: socket.socket, data: bytes, timeout: float | None = None) -> None:
    view = memoryview(data)
    limit = _until(timeout)
    while view:
        sock.settimeout(_slice(limit))
        try:
            sent = sock.send(view)
        except (TimeoutError, ssl.SSLWantWriteError):
            continue
        view = view[sent:]
        limit = _until(timeout)


def connect(host: str, port: int, timeout: float | None = None) -> socket.socket:
    """A connected TCP socket (each address tried in turn, waiting in slices)."""
    limit = _until(timeout)
    last: OSError | None = None
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            err = sock.connect_ex(address)
            while err in _IN_PROGRESS:
                _, writable, _ = select.select([], [sock], [], _slice(limit))
                if writable:
                    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, f"connecting to {host}:{port}: {os.strerror(err)}")
            sock.setblocking(True)
            return sock
        except OSError as exc:
            sock.close()
            if isinstance(exc, AbortedIO | TimeoutError):
                raise
            last = exc
        except BaseException:
            sock.close()
            raise
    raise last or OSError(f"no address for {host}:{port}")


def handshake(
    sock: socket.socket, context: ssl.SSLContext, server_hostname: str | None, timeout: float | None
) -> ssl.SSLSocket:
    """Wrap ``sock`` in TLS, the handshake waiting in slices."""
    tls = context.wrap_socket(sock, server_hostname=server_hostname, do_handshake_on_connect=False)
    limit = _until(timeout)
    while True:
        tls.settimeout(_slice(limit))
        try:
            tls.do_handshake()
            return tls
        except (TimeoutError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            continue


# --------------------------------------------------------------------------- httpcore


class SlicedStream(httpcore.NetworkStream):
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
            return recv(self._sock, max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
                sendall(self._sock, buffer, timeout)

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            try:
                return SlicedStream(handshake(self._sock, ssl_context, server_hostname, timeout))
            except BaseException:
                self._sock.close()
                raise

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock._sslobj  # type: ignore[attr-defined]
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            readable, _, _ = select.select([self._sock], [], [], 0)
            return bool(readable)
        return None


class SlicedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend with every wait sliced (see the module)."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            sock = connect(host, port, timeout)
        for option in socket_options or ():
            sock.setsockopt(*option)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return SlicedStream(sock)

    def sleep(self, seconds: float) -> None:
        sleep(seconds)


@contextlib.contextmanager
def _mapped(timeout_exc: type[Exception], error_exc: type[Exception]) -> Iterator[None]:
    try:
        yield
    except (TimeoutError, DeadlineExceeded) as exc:
        # DeadlineExceeded subclasses TimeoutError (== socket.timeout): keep what it was.
        raise timeout_exc(str(exc) or "timed out") from exc
    except OSError as exc:
        raise error_exc(str(exc) or type(exc).__name__) from exc


def http_transport() -> httpx.HTTPTransport:
    """An httpx transport whose connections use :class:`SlicedBackend` (proxies from the
    environment are still honoured by httpx's own mounts, with per-read timeouts only)."""
    transport = httpx.HTTPTransport()
    pool = transport._pool
    if isinstance(pool, httpcore.ConnectionPool):
        pool._network_backend = SlicedBackend()
    return transport


def uses_sliced_backend(transport: httpx.BaseTransport) -> bool:
    """Whether ``transport`` waits in slices (for the tests: guards the wiring above)."""
    pool = getattr(transport, "_pool", None)
    return isinstance(getattr(pool, "_network_backend", None), SlicedBackend)
