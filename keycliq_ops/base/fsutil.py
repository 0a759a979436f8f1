"""File helpers: writes that never leave a half-written file behind."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from keycliq_ops.base.errors import EXIT_EXTERNAL, KeycliqError


class LocalWriteFailed(KeycliqError, OSError):
    """The operating system refused to write a local file (read-only location, disk full,
    permissions): an outside failure (exit 3). Still an ``OSError`` for callers that
    tolerate one."""

    exit_code = EXIT_EXTERNAL


_REASONS = {
    errno.ENOSPC: "no space left on the device (disk full)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


def os_reason(exc: OSError) -> str:
    """A short, plain reason for an ``OSError`` (no errno numbers, no traceback)."""
    return _REASONS.get(exc.errno or 0) or exc.strerror or type(exc).__name__


def _failed(exc: OSError, doing: str, where: Path) -> LocalWriteFailed:
    if isinstance(exc, LocalWriteFailed):
        return exc
    return LocalWriteFailed(
        f"cannot {doing} {where}: {os_reason(exc)}",
        hint="make the location writable (or free space there), then run the command again",
    )


def atomic_write(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    Raises :class:`LocalWriteFailed` (an ``OSError``, exit 3) when the system refuses."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise _failed(exc, "write", path) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _failed(exc, "write", path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


STATE_DIR = ".keycliq"
# What keycliq keeps in .keycliq/ that is machine-local (the ledger, reports and Dataclip
# history are the record: they are meant to be committed).
_LOCAL_HEADER = "# machine-local keycliq files (written by keycliq)\n"
_LOCAL_ONLY = f"{_LOCAL_HEADER}locks/\n*.lock\n*.partial\n*.verified\nchecklist-state.json\n"


def ensure_state_dir(root: Path) -> Path:
    """``root/.keycliq``, created with a .gitignore for its machine-local files."""
    folder = root / STATE_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _failed(exc, "create", folder) from None
    ignore = folder / ".gitignore"
    try:
        current: str | None = ignore.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        current = None
    # Written afresh when missing, or when an older keycliq wrote it (its header) with
    # fewer entries; a .gitignore someone wrote by hand is left alone.
    if (current is None and not ignore.exists()) or (
        current is not None and current.startswith(_LOCAL_HEADER) and current != _LOCAL_ONLY
    ):
        # A read-only checkout still deploys; git then simply shows the files.
        with contextlib.suppress(OSError):
            atomic_write(ignore, _LOCAL_ONLY)
    return folder
