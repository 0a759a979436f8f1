"""A baseline revision checked out beside this one, for the benches that compare the two
(``suite.py``, ``demo.py``): a temporary git worktree, ``uv sync``-ed, removed afterwards."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


@contextmanager
def baseline_worktree(revision: str, prefix: str) -> Iterator[tuple[Path, Path]]:
    """``(worktree of revision, scratch folder)``; both are gone when the block ends."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    base = scratch / "baseline"
    subprocess.run(
        ["git", "worktree", "add", "--detach", "-q", str(base), revision], cwd=HERE, check=True
    )
    try:
        subprocess.run(["uv", "sync", "-q"], cwd=base, check=True)
        yield base, scratch
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=HERE, check=False)
        shutil.rmtree(scratch, ignore_errors=True)
