"""``stream_lines`` over real loopback HTTP: live lines, reconnects, where the token goes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.base.errors import HerokuError
from tests.adapters.heroku.heroku_helpers import TOKEN, Sleeps


class StreamServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: dict[str, int] = {}
        self.auth_seen: list[str | None] = []
        self.release = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StreamServer

    def log_message(self, *args: object) -> None:
        pass

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        hits = self.server.hits[path] = self.server.hits.get(path, 0) + 1
        self.server.auth_seen.append(self.headers.get("Authorization"))
        if path == "/gone":
            body = b'{"id": "not_found", "message": "stream expired"}'
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if path == "/live":
            self._chunk("-----> Building on the Heroku-24 stack\n")
            self.server.release.wait(timeout=30)
            self._chunk("-----> Build succeeded!\r\n")
        elif path in ("/drop-once", "/drop-always"):
            # The stream replays from the start on every connection, as Heroku's do.
            self._chunk("line 1\nline 2\nline ")
            if path == "/drop-always" or hits == 1:
                self.close_connection = True
                return  # no terminating chunk: the reader sees a broken stream
            self._chunk("3\nline 4\n")
        else:
            self._chunk("only line")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


@pytest.fixture
def server() -> Iterator[StreamServer]:
    srv = StreamServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()


def make(server: StreamServer, sleeps: Sleeps, host: str = "127.0.0.1") -> HerokuClient:
    return HerokuClient(TOKEN, f"http://{host}:{server.port}", sleep=sleeps, max_retries=2)


def test_lines_arrive_while_the_stream_is_open(server: StreamServer, sleeps: Sleeps) -> None:
    with make(server, sleeps) as client:
        lines = client.stream_lines(f"http://127.0.0.1:{server.port}/live")
        # The first line is read before the server is allowed to send the rest.
        assert next(lines) == "-----> Building on the Heroku-24 stack"
        server.release.set()
        assert list(lines) == ["-----> Build succeeded!"]


def test_reconnects_and_skips_replayed_lines(server: StreamServer, sleeps: Sleeps) -> None:
    with make(server, sleeps) as client:
        got = list(client.stream_lines(f"http://127.0.0.1:{server.port}/drop-once"))
    assert got == ["line 1", "line 2", "line 3", "line 4"]
    assert server.hits["/drop-once"] == 2
    assert client.stream_count == 2 and client.request_count == 0
    assert len(sleeps) == 1


def test_no_reconnect_fails_with_what_was_read(server: StreamServer, sleeps: Sleeps) -> None:
    got: list[str] = []
    with make(server, sleeps) as client, pytest.raises(HerokuError) as info:
        got.extend(
            client.stream_lines(f"http://127.0.0.1:{server.port}/drop-always", reconnect=False)
        )
    assert got == ["line 1", "line 2"]
    assert "after 2 lines" in info.value.message
    assert server.hits["/drop-always"] == 1


def test_reconnects_are_bounded(server: StreamServer, sleeps: Sleeps) -> None:
    got: list[str] = []
    with make(server, sleeps) as client, pytest.raises(HerokuError):
        got.extend(client.stream_lines(f"http://127.0.0.1:{server.port}/drop-always?x=secret"))
    assert got == ["line 1", "line 2"]
    assert server.hits["/drop-always"] == 3  # first try + max_retries reconnects


def test_expired_stream_is_an_error(server: StreamServer, sleeps: Sleeps) -> None:
    with make(server, sleeps) as client, pytest.raises(HerokuError) as info:
        list(client.stream_lines(f"http://127.0.0.1:{server.port}/gone?token=abc"))
    assert info.value.status == 404
    assert "token=abc" not in info.value.message  # signed query strings stay out of messages


def test_token_goes_only_to_the_api_origin(server: StreamServer, sleeps: Sleeps) -> None:
    with make(server, sleeps, host="127.0.0.1") as client:
        assert list(client.stream_lines(f"http://127.0.0.1:{server.port}/one")) == ["only line"]
        # Same server, other origin (as build-output.heroku.com is to api.heroku.com).
        assert list(client.stream_lines(f"http://localhost:{server.port}/one")) == ["only line"]
    assert server.auth_seen == [f"Bearer {TOKEN}", None]
