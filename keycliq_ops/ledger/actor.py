"""Who and where: the actor and host facts a caller puts on a record."""

from __future__ import annotations

import subprocess
from pathlib import Path

from keycliq_ops.ledger.records import Actor


def _git_config(repo: Path, key: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "config", "--get", key],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value else None


def detect_actor(repo: Path | None = None, heroku_email: str | None = None) -> Actor:
    """The git user of ``repo`` (``user.name``/``user.email``) plus the Heroku account email.

    Missing values stay ``None``; git failing is not an error here (the record says unknown).
    """
    folder = repo or Path.cwd()
    return Actor(
        git_name=_git_config(folder, "user.name"),
        git_email=_git_config(folder, "user.email"),
        heroku_email=heroku_email,
    )
