"""Each sandbox app's git remote: a local bare repository with a ``pre-receive`` hook."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

from keycliq_ops.standin import hook_script
from keycliq_ops.standin.failures import StandinError, atomic_write

HOOK_CONFIG = "sandbox-hook.json"


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git; its stdout, or a :class:`StandinError` with git's own message."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise StandinError(f"git {args[0]} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout


def create_bare_repo(path: Path) -> Path:
    """An empty bare repository whose HEAD is ``main``."""
    if not (path / "HEAD").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "--bare", "--initial-branch=main", str(path))
    # A global core.hooksPath would bypass this repository's hooks; pin them here.
    git("config", "core.hooksPath", str(path / "hooks"), cwd=path)
    git("config", "receive.denyDeletes", "true", cwd=path)
    return path


def install_hook(repo: Path, *, app: str, url: str, token: str) -> None:
    """Install (or re-point, after a restart) the push hook of ``repo``."""
    hooks = repo / "hooks"
    hooks.mkdir(exist_ok=True)
    atomic_write(
        repo / HOOK_CONFIG, json.dumps({"app": app, "url": url, "token": token}), mode=0o600
    )
    atomic_write(hooks / "sandbox_pre_receive.py", Path(hook_script.__file__).read_text())
    wrapper = (
        "#!/bin/sh\n"
        "# keycliq sandbox: build and release on push (see sandbox_pre_receive.py)\n"
        f'exec {shlex.quote(sys.executable)} "$(dirname "$0")/sandbox_pre_receive.py"\n'
    )
    atomic_write(hooks / "pre-receive", wrapper, mode=0o755)
