"""The web adapter against a real HTTP server on loopback: answers, redirects, no answer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from keycliq_ops.adapters import web
from keycliq_ops.base.errors import EXIT_EXTERNAL, WebError


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/login":
            body = f"<h1>Sign in</h1> ua={self.headers.get('User-Agent')}".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/old":
            self.send_response(302)
            self.send_header("Location", "/login")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_answer_is_returned_whatever_its_status(site: str) -> None:
    page = web.get(f"{site}/login", timeout=10)
    assert page.status == 200
    assert "Sign in" in page.text
    assert f"ua={web.USER_AGENT}" in page.text
    assert web.get(f"{site}/nope", timeout=10).status == 404


def test_redirects_are_followed_only_when_asked(site: str) -> None:
    followed = web.get(f"{site}/old", timeout=10, follow_redirects=True)
    assert (followed.status, followed.url) == (200, f"{site}/login")
    assert web.get(f"{site}/old", timeout=10, follow_redirects=False).status == 302


def test_no_answer_is_a_web_error_without_the_urls_credentials() -> None:
    url = f"http://admin:hunter2secret@127.0.0.1:{_closed_port()}/login"
    with pytest.raises(WebError) as info:
        web.get(url, timeout=5)
    err = info.value
    assert err.kind == "ConnectError"
    assert err.exit_code == EXIT_EXTERNAL
    assert "hunter2secret" not in err.message and "hunter2secret" not in err.detail
    assert "127.0.0.1" in err.message


def test_a_malformed_url_is_a_web_error_too() -> None:
    with pytest.raises(WebError):
        web.get("http://[not-an-address/", timeout=5)
