"""Issue 14, findings 8 and 9: no outside call hangs, and an unreachable database is one
bounded attempt per run, exit 3.

Every server here is our own, on loopback: one that accepts and never answers, one that
trickles a byte at a time, one that answers 429 with ``Retry-After: 100000``, a PostgreSQL
port that accepts and hangs up (and counts the connections). Deadlines are a second or
two, passed as parameters; the assertions are on the outcome (exit code 3, the message
naming the deadline that was used), never on wall time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from keycliq_ops.adapters import db, web
from keycliq_ops.adapters.heroku import deadlines
from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.adapters.heroku.rendezvous import read_attached
from keycliq_ops.base.errors import DatabaseError, HerokuError, Interrupted, WebError
from keycliq_ops.standin.attach import make_certificates

TOKEN = "hf-test-token-0123456789"


class Listener:
    """A loopback TCP server; ``serve(conn)`` runs for each connection in its own thread."""

    def __init__(self, serve: Callable[[socket.socket], None]) -> None:
        self._serve = serve
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepts = 0
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepts += 1
            self._conns.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self._serve(conn)

    def wait(self, seconds: float) -> bool:
        """Sleep in the server thread's terms; True when the test is over (stop now)."""
        return self._stop.wait(seconds)

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        for conn in self._conns:
            conn.close()


@pytest.fixture
def listen() -> Iterator[Callable[[Callable[[socket.socket], None]], Listener]]:
    made: list[Listener] = []

    def make(serve: Callable[[socket.socket], None]) -> Listener:
        made.append(Listener(serve))
        return made[-1]

    yield make
    for listener in made:
        listener.close()


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    deadlines.reset_abort()
    db.forget_targets()
    yield
    deadlines.reset_abort()
    db.forget_targets()


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def silent(listener_ref: list[Listener]) -> Callable[[socket.socket], None]:
    def serve(conn: socket.socket) -> None:
        _read_request(conn)
        listener_ref[0].wait(3600)  # never answers

    return serve


def client(port: int, **options: object) -> HerokuClient:
    return HerokuClient(TOKEN, f"http://127.0.0.1:{port}", **options)  # type: ignore[arg-type]


# --------------------------------------------------------------------- Heroku API: hangs


def test_an_api_that_never_answers_ends_at_the_call_deadline_with_exit_3(listen) -> None:  # type: ignore[no-untyped-def]
    ref: list[Listener] = []
    server = listen(silent(ref))
    ref.append(server)
    # The per-read timeout (30 s) is not what ends it: the 1 s call deadline is.
    with (
        client(server.port, timeout=30, call_timeout=1, retry_budget=2.5) as heroku,
        pytest.raises(HerokuError) as info,
    ):
        heroku.account()
    err = info.value
    assert err.exit_code == 3
    assert "GET /account: no complete answer within 1s" in err.message
    assert "stopped waiting" in err.message and TOKEN not in err.message
    assert server.accepts >= 1  # it was asked, and retried within the budget


def test_a_body_trickling_a_byte_at_a_time_ends_at_the_call_deadline(listen) -> None:  # type: ignore[no-untyped-def]
    ref: list[Listener] = []

    def trickle(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
        )
        conn.sendall(b"{")
        while not ref[0].wait(0.2):  # well inside any per-read timeout
            conn.sendall(b" ")

    server = listen(trickle)
    ref.append(server)
    with (
        client(server.port, timeout=30, call_timeout=1.5, retry_budget=2, max_retries=0) as heroku,
        pytest.raises(HerokuError, match=r"no complete answer within 1\.5s") as info,
    ):
        heroku.account()
    assert info.value.exit_code == 3


def test_headers_trickling_a_byte_at_a_time_end_at_the_call_deadline(listen) -> None:  # type: ignore[no-untyped-def]
    ref: list[Listener] = []

    def trickle(conn: socket.socket) -> None:
        _read_request(conn)
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
            if ref[0].wait(0.2):
                return
            conn.sendall(bytes([byte]))

    server = listen(trickle)
    ref.append(server)
    with (
        client(server.port, timeout=30, call_timeout=1, retry_budget=1.5, max_retries=0) as heroku,
        pytest.raises(HerokuError, match=r"no complete answer within 1s"),
    ):
        heroku.app("keycliq-staging")


def test_retry_after_is_capped_and_the_retries_fit_a_budget(listen) -> None:  # type: ignore[no-untyped-def]
    def rate_limited(conn: socket.socket) -> None:
        while True:
            _read_request(conn)
            body = b'{"id": "rate_limit", "message": "Your account reached the API rate limit"}'
            conn.sendall(
                b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 100000\r\n"
                b"Content-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )

    server = listen(rate_limited)
    waits: list[float] = []
    # A recording sleep: every wait is capped at 30 s, the retries stop after max_retries.
    with (
        client(server.port, max_retries=3, retry_budget=1e6, sleep=waits.append) as heroku,
        pytest.raises(HerokuError) as info,
    ):
        heroku.account()
    assert waits == [30.0, 30.0, 30.0]
    assert info.value.exit_code == 3
    assert (
        "429 rate_limit" in info.value.message and "gave up after 4 attempts" in info.value.message
    )

    # A budget shorter than the (capped) wait: no wait at all, exit 3 at once, saying why.
    waits.clear()
    with (
        client(server.port, max_retries=3, retry_budget=10, sleep=waits.append) as heroku,
        pytest.raises(HerokuError) as info,
    ):
        heroku.account()
    assert waits == []
    assert "the next wait, 30s, would pass the 10s budget" in info.value.message


def test_a_log_stream_ends_at_the_deadline_its_caller_chose(listen) -> None:  # type: ignore[no-untyped-def]
    ref: list[Listener] = []

    def stream(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        n = 0
        while not ref[0].wait(0.1):
            line = f"line {n}\n".encode()
            conn.sendall(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            n += 1

    server = listen(stream)
    ref.append(server)
    url = f"http://127.0.0.1:{server.port}/streams/release-output"
    got: list[str] = []
    with (
        client(server.port, stream_timeout=30) as heroku,
        pytest.raises(HerokuError, match=r"still open after 1\.5s") as info,
    ):
        for line in heroku.stream_lines(url, deadline=1.5):
            got.append(line)
    assert info.value.exit_code == 3
    assert got and got[0] == "line 0"


def test_abort_ends_a_call_blocked_in_another_thread(listen) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C reaches the main thread only: abort_all() is how the blocked workers learn."""
    ref: list[Listener] = []
    server = listen(silent(ref))
    ref.append(server)
    outcome: list[BaseException] = []

    def call() -> None:
        with client(server.port, timeout=300, call_timeout=300, retry_budget=600) as heroku:
            try:
                heroku.account()
            except BaseException as exc:
                outcome.append(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    while server.accepts == 0:
        time.sleep(0.05)
    deadlines.abort_all()
    worker.join(timeout=20)  # generous: it ends within a slice (0.25 s)
    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Interrupted)
    assert outcome[0].exit_code == 130


def test_sigint_interrupts_a_call_blocked_in_the_main_thread(listen) -> None:  # type: ignore[no-untyped-def]
    ref: list[Listener] = []
    server = listen(silent(ref))
    ref.append(server)

    def press_ctrl_c() -> None:
        while server.accepts == 0:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    with (
        client(server.port, timeout=300, call_timeout=300, retry_budget=600) as heroku,
        pytest.raises(KeyboardInterrupt),
    ):
        heroku.account()


# --------------------------------------------------------------------- one-off dynos, web


def test_a_hung_rendezvous_ends_at_the_dyno_timeout_with_exit_3(  # type: ignore[no-untyped-def]
    listen, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref: list[Listener] = []
    monkeypatch.setenv("KEYCLIQ_RENDEZVOUS_CA", str(make_certificates(tmp_path / "tls")))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(tmp_path / "tls" / "server.pem", tmp_path / "tls" / "server.key")

    def rendezvous(raw: socket.socket) -> None:
        with tls.wrap_socket(raw, server_side=True) as conn:  # Heroku's rendezvous is TLS
            conn.recv(1024)  # the secret
            conn.sendall(b"rendezvous\r\n")
            while not ref[0].wait(0.2):  # output trickles, never an exit status
                conn.sendall(b".")

    server = listen(rendezvous)
    ref.append(server)
    lines: list[str] = []
    with pytest.raises(HerokuError, match=r"gave no exit status within 1\.5s") as info:
        read_attached(f"rendezvous://127.0.0.1:{server.port}/s3cret", lines.append, timeout=1.5)
    assert info.value.exit_code == 3


def test_an_http_probe_that_trickles_ends_at_its_timeout(listen) -> None:  # type: ignore[no-untyped-def]
    ref: list[Listener] = []

    def trickle(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not ref[0].wait(0.2):
            conn.sendall(b"x")

    server = listen(trickle)
    ref.append(server)
    with pytest.raises(WebError) as info:
        web.get(f"http://127.0.0.1:{server.port}/login", timeout=1.5)
    assert info.value.kind == "Timeout"
    assert "no complete answer within 1.5s" in info.value.detail


def test_the_default_transports_wait_in_slices() -> None:
    """The deadlines above hold only if httpx really uses the sliced backend."""
    assert deadlines.uses_sliced_backend(deadlines.http_transport())
    with HerokuClient(TOKEN, "http://127.0.0.1:9") as heroku:
        transport = heroku._t._http._transport
        assert deadlines.uses_sliced_backend(transport)


# --------------------------------------------------------------------- the database (9)


def postgres_that_hangs_up(listener_ref: list[Listener]) -> Callable[[socket.socket], None]:
    """Accepts, refuses TLS/GSS encryption as a server without them would, then closes."""

    def serve(conn: socket.socket) -> None:
        conn.settimeout(5)
        for _ in range(3):
            head = conn.recv(8)
            if len(head) == 8 and head[4:] in (b"\x04\xd2\x16\x2f", b"\x04\xd2\x16\x30"):
                conn.sendall(b"N")  # SSLRequest / GSSENCRequest: not supported
                continue
            break
        conn.close()

    return serve


def test_the_dataclip_gate_makes_one_connection_attempt_when_the_database_is_down(listen) -> None:  # type: ignore[no-untyped-def]
    from keycliq_ops.config.loading import SHIPPED_DATACLIPS
    from keycliq_ops.dataclips import load_catalog, run_dataclips

    ref: list[Listener] = []
    server = listen(postgres_that_hangs_up(ref))
    ref.append(server)
    url = f"postgresql://kcuser:hunter2secret@127.0.0.1:{server.port}/kc"
    catalog = load_catalog(SHIPPED_DATACLIPS)
    ids = ["E1", "E2", "E3", "E4", "F", "G", "H"]  # four workers, all wanting a connection
    for _ in range(2):  # and a second run in the same minute: answered from memory
        with pytest.raises(DatabaseError) as info:
            run_dataclips(catalog, ids, url, params={"userId": "u1"})
        err = info.value
        assert err.exit_code == 3
        assert f"127.0.0.1:{server.port}/kc" in err.message
        assert "hunter2secret" not in err.message and "kcuser" not in err.message
    assert server.accepts == 1


def test_checklist_run_with_the_database_down_is_exit_3_after_one_attempt(
    world, cli, listen
) -> None:  # type: ignore[no-untyped-def]
    ref: list[Listener] = []
    server = listen(postgres_that_hangs_up(ref))
    ref.append(server)
    url = f"postgresql://kcuser:hunter2secret@127.0.0.1:{server.port}/keycliq"
    answers = Path(world.repo) / "keycliq-answers.yaml"
    assert answers.exists()
    result = cli("checklist", "run", "staging", "--answers", str(answers), "--database-url", url)
    assert result.code == 3, result.output
    assert f"127.0.0.1:{server.port}/keycliq" in result.stderr
    assert "hunter2secret" not in result.output and "kcuser" not in result.output
    assert server.accepts == 1

    # The same through KEYCLIQ_DATABASE_URL, a minute later (nothing remembered): one more.
    db.forget_targets()
    os.environ["KEYCLIQ_DATABASE_URL"] = url
    try:
        result = cli("checklist", "run", "staging", "--answers", str(answers), "--json")
    finally:
        del os.environ["KEYCLIQ_DATABASE_URL"]
    assert result.code == 3, result.output
    assert server.accepts == 2
