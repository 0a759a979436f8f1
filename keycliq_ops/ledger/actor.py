"""Who and where: the actor and host facts a caller puts on a record."""

from __future__ import annotations

from pathlib import Path

from keycliq_ops.adapters.git import git_config
from keycliq_ops.ledger.records import Actor


def detect_actor(repo: Path | None = None, heroku_email: str | None = None) -> Actor:
    """The git user of ``repo`` (``user.name``/``user.email``) plus the Heroku account email.

    Missing values stay ``None``; git failing is not an error here (the record says unknown).
    """
    folder = repo or Path.cwd()
    return Actor(
        git_name=git_config(folder, "user.name"),
        git_email=git_config(folder, "user.email"),
        heroku_email=heroku_email,
    )
