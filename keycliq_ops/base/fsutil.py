"""File helpers: writes that never leave a half-written file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


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


STATE_DIR = ".keycliq"
# What keycliq keeps in .keycliq/ that is machine-local (the ledger, reports and Dataclip
# history are the record: they are meant to be committed).
_LOCAL_ONLY = (
    "# machine-local keycliq files (written by keycliq)\nlocks/\n*.lock\n*.partial\n"
    "checklist-state.json\n"
)


def ensure_state_dir(root: Path) -> Path:
    """``root/.keycliq``, created with a .gitignore for its machine-local files."""
    folder = root / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        # A read-only checkout still deploys; git then simply shows the files.
        with contextlib.suppress(OSError):
            atomic_write(ignore, _LOCAL_ONLY)
    return folder
