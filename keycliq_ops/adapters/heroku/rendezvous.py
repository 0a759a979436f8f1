"""Attached one-off dynos: run a command, read its output, learn its exit status.

Heroku's ``attach_url`` is ``rendezvous://host:port/<secret>``: open TLS to host:port, send
the secret and CRLF, read the output. Nothing in the API gives the exit status, so — as the
official CLI does — the command is run as
``<command>; echo "\\uFFFF heroku-command-exit-status: $?"`` and that line is parsed out of
the output. A loopback host (the local stand-in) is spoken
to without TLS.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Callable
from urllib.parse import urlsplit

from keycliq_ops.base.errors import HerokuError

EXIT_MARKER = "\uffff heroku-command-exit-status: "
_EXIT_LINE = re.compile(r"\uffff heroku-command-exit-status: (\d+)")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def with_exit_marker(command: str) -> str:
    return f'{command}; echo "{EXIT_MARKER}$?"'


def read_attached(
    attach_url: str, on_line: Callable[[str], None], *, timeout: float = 600.0
) -> int:
    """Stream the dyno's output lines to ``on_line``; return the exit status."""
    parts = urlsplit(attach_url)
    if parts.scheme != "rendezvous" or not parts.hostname or not parts.port:
        raise HerokuError(f"unexpected attach_url scheme {parts.scheme!r}")
    secret = parts.path.lstrip("/")
    try:
        raw = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        sock: socket.socket = raw
        if parts.hostname not in _LOOPBACK:
            sock = ssl.create_default_context().wrap_socket(raw, server_hostname=parts.hostname)
        with sock:
            sock.sendall(secret.encode() + b"\r\n")
            return _read(sock.makefile("rb"), on_line)
    except (OSError, ssl.SSLError) as exc:
        raise HerokuError(
            f"lost the one-off dyno's output ({type(exc).__name__})",
            hint="the command may still be running: see `heroku ps` and `heroku logs`",
        ) from None


def _read(stream: object, on_line: Callable[[str], None]) -> int:
    first = True
    status: int | None = None
    for raw in stream:  # type: ignore[attr-defined]
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if first and line == "rendezvous":
            first = False
            continue
        first = False
        match = _EXIT_LINE.search(line)
        if match:
            status = int(match.group(1))
            before = line[: match.start()]
            if before.strip():
                on_line(before)
            continue
        on_line(line)
    if status is None:
        raise HerokuError(
            "the one-off dyno's output ended without an exit status",
            hint="the dyno may have been stopped or timed out: see `heroku logs`",
        )
    return status
