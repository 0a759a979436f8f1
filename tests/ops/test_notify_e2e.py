"""``notify:`` webhooks on a real ``keycliq deploy staging`` against the stand-in, posting
to receivers on 127.0.0.1: one that answers 200 and keeps what it got, one that answers
500, one that never answers. Only exit codes and the recorded delivery states are
asserted, never timings."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from keycliq_ops.base.redact import is_secret_name
from tests.world import World

DEPLOY = ("deploy", "staging", "--yes", "--answers", "keycliq-answers.yaml")


class Receiver:
    """A webhook receiver: ``/ok`` keeps the body and answers 200, ``/fail`` answers 500,
    ``/hang`` waits until the test ends."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.hits: dict[str, int] = {}
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                if self.path == "/hang":
                    outer.release.wait(60)
                    return
                if self.path == "/ok":
                    outer.bodies.append(json.loads(body))
                    self.send_response(200)
                else:
                    self.send_response(500)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def configure(repo: Path, targets: str, *, commit: bool = True) -> None:
    """Add ``notify:`` to the checkout's keycliq.yaml, committed (a deploy wants a clean
    tree; the commit is not on origin, which only warns)."""
    path = repo / "keycliq.yaml"
    path.write_text(path.read_text() + "\nnotify:\n" + targets)
    if commit:
        subprocess.run(
            [
                "git",
                "-c",
                "user.name=ops",
                "-c",
                "user.email=ops@example.com",
                "commit",
                "-qam",
                "notify the team",
            ],
            cwd=repo,
            check=True,
        )


def completion(world: World) -> dict[str, Any]:
    end = world.last_record()
    assert end["outcome"] != "running"
    return end


def test_a_deploy_posts_started_and_finished(
    world: World,
    cli: Any,
    receiver: Receiver,
) -> None:
    configure(
        world.repo,
        f"  - name: team-chat\n    url: {receiver.url('/ok')}\n"
        "    events: [deploy.started, deploy.finished, gate.failed]\n",
    )
    result = cli(*DEPLOY)
    assert result.code == 0, result.output
    events = [b["keycliq"]["event"] for b in receiver.bodies]
    assert events == ["deploy.started", "deploy.finished"]
    started, finished = receiver.bodies
    end = completion(world)
    assert started["text"].startswith("keycliq: deploy")
    assert "keycliq-staging" in started["text"] and "started" in started["text"]
    assert finished["keycliq"]["outcome"] == "succeeded"
    assert finished["keycliq"]["release_version"] == end["release_version"]
    assert finished["keycliq"]["ledger_id"] == end["ref"]
    assert f"v{end['release_version']}" in finished["text"]
    # Delivery is in the ledger's completion record.
    notes = end["details"]["notifications"]
    assert [(n["event"], n["target"], n["state"]) for n in notes] == [
        ("deploy.started", "team-chat", "delivered"),
        ("deploy.finished", "team-chat", "delivered"),
    ]
    # Never a secret in a body: no config var value, no token, no database URL.
    sent = json.dumps(receiver.bodies)
    config = world.sandbox.engine.app("keycliq-staging").config
    assert world.sandbox.token not in sent
    leaked = [name for name, value in config.items() if is_secret_name(name) and value in sent]
    assert not leaked
    assert "postgres" not in sent


def test_a_hanging_or_failing_receiver_changes_nothing(
    world: World,
    cli: Any,
    receiver: Receiver,
) -> None:
    configure(
        world.repo,
        f"  - name: hangs\n    url: {receiver.url('/hang')}\n    timeout: 1\n"
        f"  - name: breaks\n    url: {receiver.url('/fail')}\n    timeout: 2\n    retries: 2\n"
        f"  - url_env: KEYCLIQ_TEST_UNSET_HOOK\n    events: [deploy.finished]\n",
    )
    result = cli(*DEPLOY)
    assert result.code == 0, result.output
    end = completion(world)
    assert end["outcome"] == "succeeded" and end["exit_code"] == 0
    notes = {(n["event"], n["target"]): n for n in end["details"]["notifications"]}
    hang = notes[("deploy.finished", "hangs")]
    assert hang["state"] == "failed" and hang["error"] == "no answer within 1s"
    assert hang["attempts"] == 1  # the timeout bounds the retries too
    broke = notes[("deploy.finished", "breaks")]
    assert broke["state"] == "failed" and broke["status"] == 500
    assert broke["attempts"] == 3  # bounded: one try and two retries
    unset = notes[("deploy.finished", "KEYCLIQ_TEST_UNSET_HOOK")]
    assert unset["state"] == "failed" and unset["attempts"] == 0
    assert "$KEYCLIQ_TEST_UNSET_HOOK is unset" in unset["error"]
    assert {n["state"] for n in notes.values()} == {"failed"}
    assert receiver.hits["/fail"] == 6  # started and finished, three attempts each
    # The run's report and summary are those of a plain successful deploy.
    assert "notified" not in result.stdout


def test_notify_targets_are_validated(
    world: World,
    cli: Any,
) -> None:
    configure(world.repo, "  - url: http://127.0.0.1:9/x\n    url_env: ALSO\n", commit=False)
    result = cli("config", "validate")
    assert result.code == 2
    assert "notify" in result.output and "exactly one of url and url_env" in result.output
