"""A real terminal for screen tests: keycliq runs in a tmux pane of a given size, and the
test reads what the terminal shows (tmux is the terminal emulator: cursor moves, erased
lines and redraws are applied, as a person would see them).

``Screen.text()`` is the whole transcript (the scrollback and the visible screen, as the
terminal holds it), ``Screen.visible()`` only the rows on screen. The tmux server is the
test's own (its socket in the test's temp folder), started with no user configuration.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXIT_MARK = "__keycliq_exit="


def need_tmux() -> str:
    found = shutil.which("tmux")
    if found is None:
        pytest.fail("the screen tests need tmux (apt-get install tmux)")
    return found


class Screen:
    def __init__(self, tmp: Path, *, cols: int, rows: int) -> None:
        self.tmux = need_tmux()
        self.cols, self.rows = cols, rows
        self.socket = tmp / "tmux.sock"
        self.script = tmp / "screen-run.sh"
        self.started = False

    def _tmux(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [self.tmux, "-S", str(self.socket), "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"tmux {args[0]}: {done.stderr.strip()}")
        return done.stdout

    def start(self, args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> None:
        """Run ``keycliq ARGS`` (this interpreter's) in the pane; the exit status is printed
        after it ends, and the pane stays open to be read."""
        environment = {**os.environ, **(env or {})}
        environment.pop("TMUX", None)
        environment.setdefault("NO_COLOR", "1")
        environment.pop("COLUMNS", None)
        environment.pop("LINES", None)
        lines = ["#!/bin/sh", "unset COLUMNS LINES"]  # the terminal's size, not the tests'
        lines += [
            f"export {name}={shlex.quote(value)}"
            for name, value in sorted(environment.items())
            if name.isidentifier() and name not in ("TERM", "PWD", "OLDPWD", "SHLVL")
        ]
        lines.append(f"cd {shlex.quote(str(cwd))}")
        command = shlex.join([sys.executable, "-m", "keycliq_ops", *args])
        lines.append(f'{command}; echo "{EXIT_MARK}$?"; exec sleep 3600')
        self.script.write_text("\n".join(lines) + "\n")
        self._tmux(
            "new-session",
            "-d",
            "-s",
            "kq",
            "-x",
            str(self.cols),
            "-y",
            str(self.rows),
            f"sh {shlex.quote(str(self.script))}",
        )
        self._tmux("set-option", "-t", "kq", "history-limit", "20000")
        self.started = True

    def close(self) -> None:
        if self.started:
            self._tmux("kill-server", check=False)
            self.started = False

    def send(self, text: str, *, enter: bool = True) -> None:
        self._tmux("send-keys", "-t", "kq", "-l", text)
        if enter:
            self._tmux("send-keys", "-t", "kq", "Enter")

    def text(self, *, joined: bool = False) -> str:
        """The whole transcript: scrollback and screen (``joined``: rows the terminal
        wrapped are joined back into their line)."""
        flags = ["-J"] if joined else []
        return self._tmux("capture-pane", "-p", *flags, "-S", "-", "-E", "-", "-t", "kq")

    def visible(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "kq")

    def wait_for(self, needle: str, *, timeout: float = 120.0, after: int = 0) -> int:
        """Wait until ``needle`` is in the transcript (beyond character ``after``); returns
        where it ends. Fails with the screen when it does not come."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text(joined=True)
            at = text.find(needle, after)
            if at >= 0:
                return at + len(needle)
            if EXIT_MARK in text and needle != EXIT_MARK:
                raise AssertionError(f"keycliq ended before {needle!r} showed:\n{text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} never showed:\n{text}")
            time.sleep(0.2)

    def exit_code(self, *, timeout: float = 300.0) -> int:
        self.wait_for(EXIT_MARK, timeout=timeout)
        text = self.text(joined=True)
        tail = text[text.rindex(EXIT_MARK) + len(EXIT_MARK) :]
        return int(tail.split()[0])


def keep_capture(name: str, screen: Screen, *, what: str) -> None:
    """Write the transcript to ``docs/terminal/NAME`` when KEYCLIQ_KEEP_CAPTURES is set (how
    the captures in docs/terminal/ were made)."""
    target = os.environ.get("KEYCLIQ_KEEP_CAPTURES")
    if not target:
        return
    text = screen.text().rstrip("\n")
    text = "\n".join(line.rstrip() for line in text.splitlines() if EXIT_MARK not in line)
    body = (
        f"# {what}\n\nCaptured by `tests/cli/test_screen.py` from a real terminal "
        f"(tmux, {screen.cols}×{screen.rows}, NO_COLOR): the whole transcript as the terminal "
        "holds it, scrollback included.\n\n```text\n" + text.rstrip() + "\n```\n"
    )
    path = Path(target) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
