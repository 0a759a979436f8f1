"""Run one command as a child process and pass its output on as it comes.

The child's stdout and stderr are read line by line (one thread each) and handed to
``emit("out" | "err", line)`` unchanged, so what the demo shows is exactly what the
command printed; the text is kept too, for the demo's checks. The child has no terminal
(stdin is ``/dev/null``), as in CI.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

Emit = Callable[[str, str], None]

INTERRUPT_GRACE = 15.0


@dataclass(frozen=True)
class Finished:
    exit_code: int | None  # None: killed after the timeout
    output: str  # stdout and stderr, interleaved as they arrived


def run_streamed(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    emit: Emit,
    timeout: float,
) -> Finished:
    """Run ``argv`` to the end (or ``timeout``), streaming its output through ``emit``.

    On Ctrl-C the child gets SIGINT (it prints its own "interrupted" and records it), is
    waited for briefly, and the KeyboardInterrupt goes on.
    """
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
    )
    lock = threading.Lock()
    seen: list[str] = []

    def pump(stream: object, name: str) -> None:
        assert hasattr(stream, "readline")
        passing = True
        for line in iter(stream.readline, ""):
            with lock:
                seen.append(line)
                if passing:
                    try:
                        emit(name, line)
                    except OSError:  # our reader went away: keep draining the child
                        passing = False

    threads = [
        threading.Thread(target=pump, args=(proc.stdout, "out"), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, "err"), daemon=True),
    ]
    for thread in threads:
        thread.start()
    code: int | None
    try:
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=INTERRUPT_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    finally:
        for thread in threads:
            thread.join(timeout=5)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    return Finished(code, "".join(seen))
