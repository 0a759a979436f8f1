"""The rendezvous service of attached one-off dynos, over plain TCP on 127.0.0.1.

Heroku's ``attach_url`` is ``rendezvous://host:port/<secret>``: the client opens TLS to
host:port, sends the secret and CRLF, then reads the process output. The stand-in speaks
the same protocol without TLS (loopback only): it first answers ``rendezvous`` CRLF (as
Heroku does once connected; the CLI drops that line), then the output, which ends with
the exit-status marker line the Heroku CLI parses
(``\\uFFFF heroku-command-exit-status: N``).
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable

from keycliq_ops.standin.world import DynoRow


class _AttachHandler(socketserver.StreamRequestHandler):
    server: RendezvousServer

    def handle(self) -> None:
        secret = self.rfile.readline(512).decode("ascii", "replace").strip()
        dyno = self.server.lookup(secret)
        if dyno is None:
            self.wfile.write(b"! unknown rendezvous secret\r\n")
            return
        try:
            self.wfile.write(b"rendezvous\r\n")  # as Heroku: the connection is up
            for text in dyno.output.follow():
                self.wfile.write(text.replace("\n", "\r\n").encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return


class RendezvousServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, lookup: Callable[[str], DynoRow | None]) -> None:
        super().__init__(("127.0.0.1", 0), _AttachHandler)
        self.lookup = lookup
        # A short poll interval: stop() (shutdown) returns within it, not half a second.
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
