"""Entry point: ``keycliq`` and ``python -m keycliq_ops``.

This module is the single error boundary: a :class:`KeycliqError` from anywhere becomes
one line on stderr (plus a hint) and its exit code; Ctrl-C becomes exit 130 with one line.
It imports nothing heavy, and answers ``--version`` without loading the CLI framework.
"""

from __future__ import annotations

import os
import sys

EXIT_INTERNAL = 70


def _fail(message: str, hint: str | None, code: int) -> None:
    from keycliq_ops.base.redact import redact_url

    sys.stderr.write(f"error: {redact_url(message)}\n")
    if hint:
        sys.stderr.write(f"hint: {redact_url(hint)}\n")
    sys.stderr.flush()
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from keycliq_ops import __version__

        sys.stdout.write(f"keycliq {__version__}\n")
        return

    from keycliq_ops.base.errors import KeycliqError

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
