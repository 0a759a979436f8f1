"""One release action per environment at a time on this machine (a file lock).

The lock lives in ``.keycliq/locks/<env>.lock`` beside the config; a sidecar ``.json`` says
who holds it (pid, host, command, since), so a refusal can name the other run. The OS
releases the lock when the holder dies, so a crash never leaves the environment locked.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from keycliq_ops.base.errors import GateFailed


def _holder(info_path: Path) -> str:
    try:
        data = json.loads(info_path.read_text())
        return (
            f"pid {data.get('pid')} on {data.get('host')} since {data.get('since')} "
            f"({data.get('command')})"
        )
    except (OSError, ValueError):
        return "another keycliq process"


@contextmanager
def environment_lock(root: Path, environment: str, action: str) -> Iterator[None]:
    """Hold the lock of ``environment`` for the duration; refuse at once when it is held."""
    from keycliq_ops.base.fsutil import ensure_state_dir

    folder = ensure_state_dir(root) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    lock_path = folder / f"{environment}.lock"
    info_path = folder / f"{environment}.json"
    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise GateFailed(
            f"another {action} of {environment} is running: {_holder(info_path)}",
            hint="wait for it to finish; the lock is released when that process ends",
        ) from None
    try:
        info_path.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": datetime.now(UTC).isoformat(timespec="seconds"),
                    "command": f"keycliq {action} {environment}",
                    "argv": sys.argv[1:4],
                }
            )
        )
        yield
    finally:
        info_path.unlink(missing_ok=True)
        lock.release()
