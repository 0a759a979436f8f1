"""The verified prefix: what the last full walk proved, so reads and appends need not repeat it.

``<ledger>.verified`` (machine-local, git-ignored) holds one JSON object: the ledger file's
identity and change stamp (device, inode, size, mtime and ctime in nanoseconds) when its
first ``end`` bytes were walked and found to be an intact chain of ``records`` records whose
last hash is ``head``. Whoever proves more (a full walk, an append made under the lock onto a
verified chain) writes it afresh.

A command trusts it only when the file's stamp is *exactly* the one recorded and the line
ending at ``end`` still carries ``head``. Any other write to the file (an editor, ``sed -i``,
``git checkout``, a copy) changes its ctime, which no user can set back, so the next command
walks the whole file again. The cache is an optimisation only: it is never needed, a missing,
unreadable or unwritable one costs a full walk, nothing more.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Stamp:
    """What changes whenever a file's bytes change (ctime cannot be set by a user)."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> Stamp:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass(frozen=True)
class Verified:
    """Bytes ``[0, end)`` of the file with ``stamp`` are ``records`` intact, linked records."""

    stamp: Stamp
    end: int
    records: int
    head: str | None  # hash of the last record (None for an empty ledger)


def load(path: Path) -> Verified | None:
    """The recorded verified prefix, or None (missing, unreadable, or not ours)."""
    try:
        data = json.loads(path.read_bytes()[:4096])
        stamp = Stamp(**data["stamp"])
        found = Verified(stamp, int(data["end"]), int(data["records"]), data["head"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if found.head is not None and not isinstance(found.head, str):
        return None
    return found


def save(path: Path, verified: Verified) -> None:
    """Record ``verified`` (a temporary file renamed over the old one; errors ignored)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        tmp.write_text(json.dumps(asdict(verified), sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def forget(path: Path) -> None:
    """Drop the record (the file changed in a way that no longer matches it)."""
    with contextlib.suppress(OSError):
        path.unlink()
