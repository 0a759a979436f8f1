"""Fixtures for the checklist tests: a loopback web app, checklist files, a config."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from textwrap import dedent
from typing import ClassVar

import pytest


class _App(BaseHTTPRequestHandler):
    """A tiny stand-in for the KeyCliq web app: / and /welcome answer, the rest 404."""

    pages: ClassVar[dict[str, str]] = {
        "/": "<title>KeyCliq</title>welcome",
        "/welcome": "Welcome to KeyCliq",
    }

    def do_GET(self) -> None:
        body = self.pages.get(self.path)
        if self.path == "/old":
            self.send_response(302)
            self.send_header("Location", "/welcome")
            self.end_headers()
            return
        status = 200 if body is not None else 404
        data = (body or "not found").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def web_app() -> Iterator[str]:
    """Base URL of a real HTTP server on loopback."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _App)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text).lstrip("\n"), encoding="utf-8")
    return path


class Clock:
    """A clock that moves one second per reading (results are ordered, tests stay exact)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


SMOKE = """
title: Smoke checklist
sections:
  - title: Deploy
    items:
      - id: deployed
        kind: confirm
        text: Deployed to {app}.
      - id: user
        kind: input
        name: userId
        pattern: "^c[a-z0-9]{5,30}$"
        text: The userId.
      - id: scan
        kind: confirm
        required: false
        text: Optional scan.
  - title: Checks
    items:
      - id: page
        kind: http
        text: Welcome page.
        url: "{app_url}/welcome"
        expect_text: KeyCliq
      - id: ready
        kind: command
        text: The ready marker exists.
        command: PYTHON check_ready.py
"""

ANSWERS = """
version: 1
checklist: smoke
answers:
  deployed:
    answer: yes
    by: Ana <ana@example.com>
    reason: release v3 succeeded
  user:
    value: "ck12345abc"
    by: Ana <ana@example.com>
    reason: account made for this release
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def project(tmp_path: Path, web_app: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git checkout with keycliq.yaml (staging → the loopback app) and a checklist folder."""
    root = Path.cwd()
    write(
        root / "keycliq.yaml",
        f"""
        environments:
          staging:
            app: keycliq-staging
            url: {web_app}
            checklist: smoke
        paths:
          checklists: checklists
        """,
    )
    write(root / "checklists" / "smoke.yaml", SMOKE.replace("PYTHON", sys.executable))
    write(root / "answers.yaml", ANSWERS)
    ready = "import os, sys\nsys.exit(0 if os.path.exists('ready.txt') else 4)\n"
    write(root / "check_ready.py", ready)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "init")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no terminal
    return root
