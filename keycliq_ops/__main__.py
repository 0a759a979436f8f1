"""Entry point: ``keycliq`` and ``python -m keycliq_ops``.

This module is the single error boundary: a :class:`KeycliqError` from anywhere becomes
one line on stderr (plus a hint) and its exit code; Ctrl-C becomes exit 130 with one line.
It imports nothing heavy, and answers ``--version`` without loading the CLI framework.

The global ``-c/--config FILE`` may also be given after the command name
(``keycliq deploy staging -c other.yaml``): :func:`config_first` moves it to the front
before the command line is parsed (no subcommand uses ``-c`` for anything else).
"""

from __future__ import annotations

import os
import sys


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

    from keycliq_ops.base.errors import EXIT_INTERNAL, KeycliqError

    try:
        from keycliq_ops.cli.app import app

        app(args=args, prog_name="keycliq")
    except KeycliqError as exc:
        _fail(exc.message, exc.hint, exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", None, 130)
    except SystemExit as exc:
        if exc.code == 130:
            sys.stderr.write("interrupted\n")
        raise
    except Exception as exc:
        if os.environ.get("KEYCLIQ_DEBUG"):
            raise
        _fail(
            f"internal error (a bug in keycliq): {type(exc).__name__}: {exc}",
            "run again with KEYCLIQ_DEBUG=1 to see the traceback, and report it",
            EXIT_INTERNAL,
        )


if __name__ == "__main__":
    main()
