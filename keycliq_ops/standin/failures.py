"""The stand-in's own failures and small helpers (it imports no keycliq core module).

:class:`StandinError` carries a one-line ``message``, an optional ``hint`` and a ``kind``:
``usage`` (a bad flag, fault spec, folder or scale: the caller's to fix) or ``outside``
(PostgreSQL, git or the stand-in's own process failed). The CLI glue
(``keycliq_ops.cli.sandbox_cmd`` / ``demo_cmd``) turns it into keycliq's error of the same
meaning (exit 2 or 3); the stand-in itself never decides an exit code.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Literal

Kind = Literal["usage", "outside"]

# URL credentials: scheme://user:password@host (bounded repeats keep it linear).
_URL_CREDENTIALS = re.compile(
    r"(?<![a-z0-9+.-])(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)(?P<userinfo>[^@/\s]{1,512})@", re.I
)


class StandinError(Exception):
    """A failure of the stand-in, said in one line."""

    def __init__(self, message: str, *, hint: str | None = None, kind: Kind = "outside") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.kind: Kind = kind

    def __str__(self) -> str:
        return self.message


def usage(message: str, *, hint: str | None = None) -> StandinError:
    """A :class:`StandinError` the caller can fix (a bad flag, spec, folder or value)."""
    return StandinError(message, hint=hint, kind="usage")


def redact_url(text: str) -> str:
    """``text`` with the ``user:password@`` part of every URL replaced by ``•••@``."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}•••@", text)


def atomic_write(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
