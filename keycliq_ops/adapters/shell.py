"""Running a local command with a time limit: the checklists' ``command`` items and the
deploy's test command.

:func:`run` starts the command (an argument list, run without a shell, or one shell command
line) in its own process group with stdin closed and stderr merged into stdout, hands each
output line to ``on_line`` as it arrives, keeps the last ``keep_lines`` lines, and stops the
whole group (SIGTERM, then SIGKILL after :data:`KILL_GRACE` seconds) when it runs longer
than ``timeout`` or when the caller is interrupted. A command that cannot be started raises
:class:`~keycliq_ops.base.errors.CommandError`; every other outcome (an exit status, a
timeout) is a :class:`CommandResult`, for the caller to judge.

Example::

    result = run(["npm", "test"], cwd=root, timeout=600, on_line=print)
    if not result.ok:
        print(result.describe())
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from keycliq_ops.base.errors import CommandError

KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL for a command that overran
KEEP_LINES = 200


@dataclass(frozen=True)
class CommandResult:
    """How a command ended. ``returncode`` is None when it was stopped for its time limit."""

    returncode: int | None
    output: str  # its last lines (stdout and stderr merged), newline-separated
    timed_out: bool
    timeout: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def describe(self) -> str:
        """``exit 0``, ``exit 2`` or ``stopped after 30s``."""
        if self.timed_out:
            return f"stopped after {self.timeout:g}s"
        return f"exit {self.returncode}"


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass  # already gone
    except PermissionError:
        pass  # the group's leader exited and its id was reused: nothing of ours is left


def _stop(proc: subprocess.Popen[bytes], reader: _Lines | None = None) -> None:
    """SIGTERM the command's process group, reading what it still prints; SIGKILL what is
    left of the group after a grace. Returns once the command's process has exited."""
    _signal_group(proc.pid, signal.SIGTERM)
    grace = time.monotonic() + KILL_GRACE
    try:
        if reader is not None:
            reader.read_until(grace)
        proc.wait(timeout=max(0.0, grace - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    finally:
        _signal_group(proc.pid, signal.SIGKILL)  # also children that ignored SIGTERM
        proc.wait()


def run(
    command: Sequence[str] | str,
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    keep_lines: int = KEEP_LINES,
) -> CommandResult:
    """Run ``command`` in ``cwd`` for at most ``timeout`` seconds (see the module docstring).

    ``command`` is an argument list (no shell) or a string (one ``sh -c`` command line).
    ``env`` replaces the environment (default: this process's). Output is decoded as UTF-8
    (bad bytes replaced); lines are passed without their line ending.
    """
    shell = isinstance(command, str)
    argv: str | list[str] = command if isinstance(command, str) else list(command)
    name = command if isinstance(command, str) else (command[0] if command else "")
    if not shell and not argv:
        raise CommandError("no command given", reason="not-found")
    try:
        proc = subprocess.Popen(
            argv,
            shell=shell,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    except FileNotFoundError:
        if not cwd.is_dir():
            raise CommandError(f"cannot run {name}: no folder {cwd}", reason="os") from None
        raise CommandError(f"command not found: {name}", reason="not-found") from None
    except PermissionError:
        raise CommandError(f"cannot run {name}", reason="not-executable") from None
    except OSError as exc:
        raise CommandError(f"cannot run {name}: {exc.strerror or exc}", reason="os") from None
    kept: deque[str] = deque(maxlen=max(1, keep_lines))

    def emit(raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        kept.append(line)
        if on_line is not None:
            on_line(line)

    assert proc.stdout is not None
    reader = _Lines(proc.stdout.fileno(), emit)
    deadline = time.monotonic() + timeout
    finished = False
    try:
        # The deadline holds whatever the command does: print or not, exit while a
        # background child keeps the pipe open, or close the pipe and run on.
        finished = reader.read_until(deadline) and _waited(proc, deadline)
    finally:
        if not finished:  # its time is up, Ctrl-C, or on_line raised: stop the group
            _stop(proc, reader)
        else:
            _signal_group(proc.pid, signal.SIGKILL)  # what it left behind in its group
        reader.flush()
        proc.stdout.close()
    if not finished:
        return CommandResult(None, "\n".join(kept), True, timeout)
    return CommandResult(proc.returncode, "\n".join(kept), False, timeout)


class _Lines:
    """The command's output pipe, read without blocking past a deadline, as lines."""

    def __init__(self, fd: int, emit: Callable[[bytes], None]) -> None:
        self._fd = fd
        self._emit = emit
        self._partial = b""
        self.closed = False
        os.set_blocking(fd, False)

    def read_until(self, deadline: float) -> bool:
        """Read until the pipe closes (True) or ``deadline`` passes (False)."""
        with selectors.DefaultSelector() as sel:
            sel.register(self._fd, selectors.EVENT_READ)
            while not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                if sel.select(min(left, 1.0)):
                    self._read()
        return True

    def _read(self) -> None:
        try:
            chunk = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        if not chunk:
            self.closed = True
            return
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        for line in lines:
            self._emit(line)

    def flush(self) -> None:
        """The last line, when the output did not end with a newline."""
        if self._partial:
            line, self._partial = self._partial, b""
            self._emit(line)


def _waited(proc: subprocess.Popen[bytes], deadline: float) -> bool:
    """Whether the command's process exited before ``deadline`` (its pipe is closed)."""
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return False
    return True
