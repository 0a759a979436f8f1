"""Entry point: ``keycliq`` and ``python -m keycliq_ops``.

This module is the single error boundary: a :class:`KeycliqError` from anywhere becomes
one line on stderr (plus a hint) and its exit code; Ctrl-C (SIGINT) becomes exit 130 and a
SIGTERM (CI cancelling a job) exit 143, each with one line. Both signals raise
``KeyboardInterrupt`` (noted first, so that a release records ``aborted`` with the right
exit code: see ``keycliq_ops.release.stepper.interruption``).
It imports nothing heavy, and answers ``--version`` without loading the CLI framework.

The global ``-c/--config FILE`` may also be given after the command name
(``keycliq deploy staging -c other.yaml``): :func:`config_first` moves it to the front
before the command line is parsed (no subcommand uses ``-c`` for anything else).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any


def _fail(message: str, hint: str | None, code: int) -> None:
    from keycliq_ops.base.redact import redact_url

    sys.stderr.write(f"error: {redact_url(message)}\n")
    if hint:
        sys.stderr.write(f"hint: {redact_url(hint)}\n")
    sys.stderr.flush()
    sys.exit(code)


_CONFIG = ("-c", "--config")


def config_first(args: list[str]) -> list[str]:
    """``args`` with every ``-c FILE`` / ``-cFILE`` / ``--config FILE`` / ``--config=FILE``
    found after the command name moved, in order, to the front (where the root command
    reads it). Nothing after a literal ``--`` is touched; a ``-c`` without a value stays where
    it is (the parser then says what is wrong)."""
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        i += 2 if args[i] in _CONFIG else 1
    front, rest = list(args[:i]), []
    j = i
    while j < len(args):
        word = args[j]
        if word == "--":
            rest.extend(args[j:])
            break
        if word in _CONFIG and j + 1 < len(args):
            front += ["--config", args[j + 1]]
            j += 2
            continue
        if word.startswith("--config="):
            front.append(word)
        elif word.startswith("-c") and len(word) > 2 and not word.startswith("--"):
            front += ["--config", word[2:]]
        else:
            rest.append(word)
        j += 1
    return front + rest


def main(argv: list[str] | None = None) -> None:
    args = config_first(sys.argv[1:] if argv is None else list(argv))
    if args in (["--version"], ["-V"]):
        from keycliq_ops import __version__

        sys.stdout.write(f"keycliq {__version__}\n")
        return

    from keycliq_ops.base.errors import EXIT_INTERNAL, Interrupted, KeycliqError
    from keycliq_ops.base.signals import interruption

    restore = _catch_signals()
    try:
        from keycliq_ops.cli.app import app

        app(args=args, prog_name="keycliq")
    except Interrupted as exc:
        _fail(exc.message, exc.hint, interruption()[0])
    except KeycliqError as exc:
        _fail(exc.message, exc.hint, exc.exit_code)
    except KeyboardInterrupt:
        code, words = interruption()
        _fail(words, None, code)
    except SystemExit as exc:
        if exc.code in (130, 143):  # the CLI framework turns KeyboardInterrupt into 130
            code, words = interruption()
            sys.stderr.write(f"{words}\n")
            sys.stderr.flush()
            raise SystemExit(code) from None
        raise
    except Exception as exc:
        if os.environ.get("KEYCLIQ_DEBUG"):
            raise
        _fail(
            f"internal error (a bug in keycliq): {type(exc).__name__}: {exc}",
            "run again with KEYCLIQ_DEBUG=1 to see the traceback, and report it",
            EXIT_INTERNAL,
        )
    finally:
        restore()


def _catch_signals() -> Callable[[], None]:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt``, the signal noted first; returns
    what puts the previous handlers back. An ignored signal (a background job's SIGINT)
    stays ignored; outside the main thread nothing is changed."""
    import signal
    import threading

    from keycliq_ops.base.signals import forget_signals, note_signal

    forget_signals()
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    # Outside calls (adapters.heroku.deadlines) stop when the process is interrupted; a new
    # command in the same process (tests) starts with none stopped. Only a module already
    # imported can have a call blocked in it, so --help imports nothing for this.
    deadlines = sys.modules.get("keycliq_ops.adapters.heroku.deadlines")
    if deadlines is not None:
        deadlines.reset_abort()

    def on_signal(signum: int, _frame: object) -> None:
        note_signal(signum)
        loaded = sys.modules.get("keycliq_ops.adapters.heroku.deadlines")
        if loaded is not None:
            loaded.abort_all()  # calls blocked in worker threads end within a slice too
        raise KeyboardInterrupt

    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) != signal.SIG_IGN:
            previous[sig] = signal.signal(sig, on_signal)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

    return restore


if __name__ == "__main__":
    main()
