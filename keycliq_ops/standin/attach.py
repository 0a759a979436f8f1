"""The rendezvous service of attached one-off dynos, over TLS on 127.0.0.1.

Heroku's ``attach_url`` is ``rendezvous://host:port/<secret>``: the client opens TLS to
host:port, sends the secret and CRLF, then reads the process output; Heroku's CLI always
speaks TLS there, and forwards its stdin (ending it with an EOT byte, ``\\x04``).

The stand-in does the same. At start-up it makes its own certificate authority and a
server certificate for ``127.0.0.1``/``localhost`` signed by it (``openssl`` run as a
subprocess; the keys never leave the state folder, mode 0600). Clients trust that CA only:
keycliq through ``KEYCLIQ_RENDEZVOUS_CA`` (the path of :attr:`RendezvousServer.ca_file`),
Heroku's CLI (node) through ``NODE_EXTRA_CA_CERTS``. Once connected the stand-in answers
``rendezvous`` CRLF (as Heroku does; the CLI drops that first line), then the output, which
ends with the exit-status marker line the Heroku CLI parses
(``\\uFFFF heroku-command-exit-status: N``). The stand-in's dynos have no stdin: what the
client sends after the secret is read and dropped; once the output has ended the
connection closes when the client has sent its EOT (or hung up).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from keycliq_ops.standin.world import DynoRow

CA_FILE = "ca.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server.key"
CA_SUBJECT = "/O=keycliq stand-in/CN=keycliq stand-in rendezvous CA"
SERVER_NAMES = "subjectAltName=IP:127.0.0.1,DNS:localhost"
EOT = b"\x04"  # what a client sends when its input ends
CLIENT_END_SECONDS = 10.0


class CertificateError(RuntimeError):
    """``openssl`` could not make the rendezvous certificate."""


def _openssl(*args: str, cwd: Path) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise CertificateError(
            "openssl is not on PATH: the rendezvous needs it to make its TLS key"
        )
    done = subprocess.run(
        [exe, *args], cwd=cwd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CertificateError(f"openssl {args[0]} failed (exit {done.returncode}): {last}")


def make_certificates(folder: Path) -> Path:
    """A fresh CA and a server certificate for 127.0.0.1 signed by it; the CA file's path."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req", "-x509", *curve, "-keyout", "ca.key", "-out", CA_FILE, "-days", "30",
        "-subj", CA_SUBJECT,
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip
    _openssl(
        "req", "-x509", *curve, "-keyout", KEY_FILE, "-out", CERT_FILE, "-days", "30",
        "-CA", CA_FILE, "-CAkey", "ca.key", "-subj", "/CN=127.0.0.1",
        "-addext", SERVER_NAMES,
        "-addext", "basicConstraints=critical,CA:FALSE",
        "-addext", "keyUsage=critical,digitalSignature",
        "-addext", "extendedKeyUsage=serverAuth",
        cwd=folder,
    )  # fmt: skip
    for name in ("ca.key", KEY_FILE):
        os.chmod(folder / name, 0o600)
    # The CA's key is not needed any more: nothing else can be signed with it.
    (folder / "ca.key").unlink()
    return folder / CA_FILE


class _AttachHandler(socketserver.StreamRequestHandler):
    server: RendezvousServer
    timeout = 60  # the TLS handshake and the secret line

    def setup(self) -> None:
        self.request.settimeout(self.timeout)  # a client that never finishes the handshake
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        self.connection = self.request
        super().setup()

    def handle(self) -> None:
        secret = self._read_secret()
        if secret is None:
            return
        dyno = self.server.lookup(secret)
        if dyno is None:
            self._send(b"! unknown rendezvous secret\r\n")
            return
        self.connection.settimeout(None)
        if not self._send(b"rendezvous\r\n"):  # as Heroku: the connection is up
            return
        for text in dyno.output.follow():
            if not self._send(text.replace("\n", "\r\n").encode()):
                return
        self._await_client_end()

    def _read_secret(self) -> str | None:
        """The first line, read byte by byte: what follows it (stdin, the EOT) stays unread
        on the connection, not in a buffer."""
        line = b""
        try:
            while len(line) < 512 and not line.endswith(b"\n"):
                byte = self.connection.recv(1)
                if not byte:
                    return None
                line += byte
        except (OSError, ssl.SSLError):
            return None
        return line.decode("ascii", "replace").strip()

    def _send(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (OSError, ssl.SSLError):
            return False
        return True

    def _await_client_end(self) -> None:
        """The output has ended: wait for the client's end of input (its EOT byte, or its
        hanging up) before closing, so that the client's last write (Heroku's CLI sends the
        EOT when its stdin ends) never meets a closed connection. Bounded: a client that
        sends neither is let go after :data:`CLIENT_END_SECONDS`."""
        with contextlib.suppress(OSError, ssl.SSLError, ValueError):
            self.connection.settimeout(CLIENT_END_SECONDS)
            while True:
                data = self.connection.recv(65536)
                if not data or EOT in data:
                    return

    def finish(self) -> None:
        with contextlib.suppress(OSError, ssl.SSLError, ValueError):
            super().finish()
        with contextlib.suppress(OSError, ssl.SSLError, ValueError):
            self.connection.settimeout(2)
            self.connection.unwrap()  # close_notify: the output ended, not a dropped line


_CA_BY_ADDRESS: dict[tuple[str, int], Path] = {}
_CA_LOCK = threading.Lock()


def ca_file_for(address: tuple[str, int] | None) -> Path | None:
    """The CA file of the running rendezvous at ``address`` (``Engine.attach_address``)."""
    if address is None:
        return None
    with _CA_LOCK:
        return _CA_BY_ADDRESS.get(address)


class RendezvousServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, lookup: Callable[[str], DynoRow | None], cert_dir: Path | None = None
    ) -> None:
        self._own_dir = cert_dir is None
        folder = (
            Path(tempfile.mkdtemp(prefix="keycliq-rendezvous-")) if cert_dir is None else cert_dir
        )
        self.cert_dir = folder
        self.ca_file = make_certificates(folder)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.load_cert_chain(folder / CERT_FILE, folder / KEY_FILE)
        self.tls = tls
        super().__init__(("127.0.0.1", 0), _AttachHandler)
        self.lookup = lookup
        with _CA_LOCK:
            _CA_BY_ADDRESS[("127.0.0.1", self.port)] = self.ca_file
        # A short poll interval: stop() (shutdown) returns within it, not half a second.
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client: object
    ) -> None:
        """A client that fails the handshake or hangs up is not a traceback."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with _CA_LOCK:
            _CA_BY_ADDRESS.pop(("127.0.0.1", self.port), None)
        self.shutdown()
        self.server_close()
        if self._own_dir:
            shutil.rmtree(self.cert_dir, ignore_errors=True)
