"""Which signal interrupted this process: the entry point notes it before it raises
``KeyboardInterrupt``, the step runner and the lifecycle read it for the exit code and the
words (kept light: ``keycliq --help`` imports it)."""

from __future__ import annotations

import signal

from keycliq_ops.base.errors import EXIT_INTERRUPTED

_received: list[int] = []  # the signals that interrupted this process, in order


def note_signal(signum: int) -> None:
    """Remember that ``signum`` interrupted the process (the entry point's handlers call
    this before they raise ``KeyboardInterrupt``)."""
    _received.append(signum)


def forget_signals() -> None:
    """A new command starts: no signal has interrupted it yet."""
    _received.clear()


def interruption() -> tuple[int, str]:
    """The exit code and the words for what interrupted the process: a SIGTERM (CI
    cancelling the job) is exit 143 ``terminated (SIGTERM)``; Ctrl-C (SIGINT) exit 130
    ``interrupted (Ctrl-C)``."""
    if signal.SIGTERM in _received:
        return 128 + signal.SIGTERM, "terminated (SIGTERM)"
    return EXIT_INTERRUPTED, "interrupted (Ctrl-C)"
