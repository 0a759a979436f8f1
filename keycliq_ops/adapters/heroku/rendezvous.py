"""Attached one-off dynos: run a command, read its output, learn its exit status.

Heroku's ``attach_url`` is ``rendezvous://host:port/<secret>``: open TLS to host:port, send
the secret and CRLF (then, keycliq having no input to forward, the EOT byte that ends it, as
the official CLI does when its stdin is empty), read the output. Nothing in the API gives
the exit status, so — as the official CLI does — the command is run as
``<command>; echo "\\uFFFF heroku-command-exit-status: $?"`` and that line is parsed out of
the output.

The connection is always TLS with the certificate verified (host name included), never
"verify off". Heroku's certificate is checked against the system trust store. When
``KEYCLIQ_RENDEZVOUS_CA`` names a PEM file (the local stand-in writes its own CA and
``keycliq sandbox up`` exports its path), that file is the only trust anchor instead.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import urlsplit

from keycliq_ops.adapters.heroku import deadlines
from keycliq_ops.base.errors import HerokuError, Interrupted

EXIT_MARKER = "\uffff heroku-command-exit-status: "
_EXIT_LINE = re.compile(r"\uffff heroku-command-exit-status: (\d+)")
CONNECT_TIMEOUT = 30.0
EOT = b"\x04"  # end of input: keycliq forwards no stdin to a one-off dyno
CA_ENV = "KEYCLIQ_RENDEZVOUS_CA"


def tls_context(env: dict[str, str] | None = None) -> ssl.SSLContext:
    """The TLS settings of a rendezvous: the system's trust store, or only the CA file
    ``KEYCLIQ_RENDEZVOUS_CA`` names. A file that cannot be read is a HerokuError naming it."""
    env = dict(os.environ) if env is None else env
    cafile = env.get(CA_ENV, "").strip()
    if not cafile:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise HerokuError(
            f"{CA_ENV}={cafile}: cannot read a PEM certificate there ({type(exc).__name__})",
            hint=f"point {CA_ENV} at the stand-in's ca.pem, or unset it to use the system's",
        ) from None


def with_exit_marker(command: str) -> str:
    return f'{command}; echo "{EXIT_MARKER}$?"'


def read_attached(
    attach_url: str,
    on_line: Callable[[str], None],
    *,
    timeout: float = 600.0,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> int:
    """Stream the dyno's output lines to ``on_line``; return the exit status.

    ``timeout`` bounds the whole session (connecting included): a dyno still talking, or
    silent, after it is a HerokuError (exit 3). Every socket wait is sliced
    (:mod:`.deadlines`), so :func:`.deadlines.abort_all` ends it within a fraction of a
    second (Interrupted)."""
    parts = urlsplit(attach_url)
    if parts.scheme != "rendezvous" or not parts.hostname or not parts.port:
        raise HerokuError(f"unexpected attach_url scheme {parts.scheme!r}")
    secret = parts.path.lstrip("/")
    ends = time.monotonic() + timeout
    sock: socket.socket | None = None
    try:
        with deadlines.bounded(ends):
            context = tls_context()
            sock = deadlines.connect(parts.hostname, parts.port, min(connect_timeout, timeout))
            sock = deadlines.handshake(sock, context, parts.hostname, connect_timeout)
            # The secret, then the end of our (empty) input, as Heroku's CLI sends it.
            deadlines.sendall(sock, secret.encode() + b"\r\n" + EOT)
            return _read(_lines(sock), on_line)
    except deadlines.AbortedIO:
        raise Interrupted("interrupted while reading the one-off dyno's output") from None
    except TimeoutError:
        if time.monotonic() >= ends:
            raise HerokuError(
                f"the one-off dyno gave no exit status within {timeout:g}s; stopped waiting",
                hint="the command may still be running: see `heroku ps` and `heroku logs`",
            ) from None
        raise HerokuError(
            f"could not reach the one-off dyno at {parts.hostname}:{parts.port} "
            f"within {connect_timeout:g}s",
            hint="the command may still be running: see `heroku ps` and `heroku logs`",
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise HerokuError(
            f"the one-off dyno's rendezvous {parts.hostname}:{parts.port} presented a "
            f"certificate that is not trusted ({exc.verify_message})",
            hint=f"for the local stand-in set {CA_ENV} to its ca.pem "
            "(`keycliq sandbox up` prints the exports)",
        ) from None
    except (OSError, ssl.SSLError) as exc:
        raise HerokuError(
            f"lost the one-off dyno's output ({type(exc).__name__})",
            hint="the command may still be running: see `heroku ps` and `heroku logs`",
        ) from None
    finally:
        if sock is not None:
            sock.close()


def _lines(sock: socket.socket) -> Iterator[bytes]:
    """The socket's bytes split into lines (the last one may lack its newline)."""
    pending = b""
    while True:
        chunk = deadlines.recv(sock, 65536)
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line + b"\n"
    if pending:
        yield pending


def _read(stream: Iterable[bytes], on_line: Callable[[str], None]) -> int:
    first = True
    status: int | None = None
    for raw in stream:
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
