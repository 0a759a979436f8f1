"""Putting a run together from keycliq.yaml and the command line: the environment, its
URL, the DATABASE_URL (fetched only when a dataclip item needs it), the commit, the actor.

Used by ``keycliq checklist run`` and by the deploy/promote pipelines.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from keycliq_ops.adapters import git
from keycliq_ops.base.errors import UsageError

if TYPE_CHECKING:
    from keycliq_ops.adapters.heroku.client import HerokuClient
    from keycliq_ops.config import Environment, LoadedConfig


@dataclass(frozen=True)
class ProbeTarget:
    """The environment a checklist is walked for (all None without keycliq.yaml)."""

    env: str | None
    app: str | None
    url: str | None


def resolve_target(loaded: LoadedConfig | None, checklist: str, env: str | None) -> ProbeTarget:
    """``env`` if given; else the environment whose checklist is ``checklist``; else the
    environment named like the checklist; else none (an error only if ``env`` was given)."""
    if loaded is None:
        if env is not None:
            raise UsageError(f"--env {env}: no keycliq.yaml to find environments in")
        return ProbeTarget(None, None, None)
    chosen: tuple[str, Environment] | None = None
    if env is not None:
        chosen = (env, loaded.env(env))
    else:
        envs = loaded.config.environments
        named = [(n, e) for n, e in envs.items() if e.checklist == checklist]
        if len(named) > 1:
            raise UsageError(
                f"environments {', '.join(n for n, _ in named)} all walk checklist "
                f"{checklist!r}; pass --env"
            )
        if len(named) == 1:
            chosen = named[0]
        elif checklist in envs:
            chosen = (checklist, envs[checklist])
    if chosen is None:
        return ProbeTarget(None, None, None)
    return ProbeTarget(chosen[0], chosen[1].app, chosen[1].url)


def database_url_provider(
    explicit: str | None,
    app: str | None,
    client: Callable[[], HerokuClient],
) -> Callable[[], str] | None:
    """A provider returning ``explicit``, else the app's DATABASE_URL config var; None
    when there is neither (a run with dataclip items then stops before it starts).

    Called only when a dataclip item runs, so a checklist without one never asks Heroku.
    """
    if not explicit and app is None:
        return None

    def provide() -> str:
        from keycliq_ops.adapters.db import database_url_of

        if explicit:
            return explicit
        assert app is not None

        def fetch() -> dict[str, str | None]:
            with client() as heroku:
                return dict(heroku.config_vars(app))

        return database_url_of(fetch, app)

    return provide


def head_commit(folder: Path) -> str | None:
    """The commit checked out in ``folder`` (None outside a git repository)."""
    return git.head_commit(folder)


def actor(folder: Path) -> str:
    """Who runs this: git's user.name <user.email> in ``folder``, else the OS user."""
    name = git.git_config(folder, "user.name") or ""
    email = git.git_config(folder, "user.email") or ""
    if name and email:
        return f"{name} <{email}>"
    if name or email:
        return name or email
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return os.environ.get("USER", "unknown")
