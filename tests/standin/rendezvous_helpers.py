"""Reading an attached one-off dyno's rendezvous as Heroku's CLI does: TLS (trusting the
stand-in's own CA only), the secret and CRLF, the EOT that ends the (empty) input, then
everything the dyno sends until the stand-in closes the connection."""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

from keycliq_ops.standin.attach import ca_file_for


def read_rendezvous(attach_url: str, *, timeout: float = 60) -> bytes:
    url = urlsplit(attach_url)
    assert url.scheme == "rendezvous" and url.hostname == "127.0.0.1" and url.port
    ca = ca_file_for((url.hostname, url.port))
    assert ca is not None, f"no running stand-in rendezvous at {url.hostname}:{url.port}"
    context = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection((url.hostname, url.port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=url.hostname) as conn,
    ):
        conn.sendall(url.path.lstrip("/").encode() + b"\r\n\x04")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return data
