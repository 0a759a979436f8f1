"""Putting a run together from keycliq.yaml and the command line: the environment, its
URL, the DATABASE_URL (fetched only when a dataclip item needs it), the one-off dyno
runner of ``dyno`` items, the commit, the actor.

Used by ``keycliq checklist run`` and by the deploy/promote pipelines. The checklists layer
does not start dynos itself: the caller injects the attached run (the release layer's
``run_attached_lines``) and :class:`DynoCommandRunner` adapts it.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from keycliq_ops.adapters import git
from keycliq_ops.base.errors import UsageError
from keycliq_ops.checklists.checks import DynoOutput

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


# (app, command, on_line, timeout) -> (exit status, dyno name): runs the command in an
# attached one-off dyno of the app, each output line to on_line; KeycliqError when it cannot.
AttachedRun = Callable[[str, str, Callable[[str], None], float], tuple[int, "str | None"]]


MAX_DYNO_LINES = 20_000  # what a dyno item keeps of an output (its JSON is near the end)


@dataclass
class DynoCommandRunner:
    """The :class:`~keycliq_ops.checklists.checks.DynoRunner` of ``app``: ``run`` starts the
    dyno; ``secrets`` (called once, at the first run) gives values to mask in its output."""

    app: str
    run: AttachedRun
    secrets: Callable[[], Iterable[str]] | None = None
    _known: tuple[str, ...] | None = field(default=None, repr=False)

    def __call__(self, command: str, *, timeout: float) -> DynoOutput:
        lines: list[str] = []

        def keep(line: str) -> None:
            lines.append(line)
            if len(lines) > MAX_DYNO_LINES:
                del lines[: len(lines) - MAX_DYNO_LINES]

        status, dyno = self.run(self.app, command, keep, timeout)
        if self._known is None:
            self._known = tuple(self.secrets()) if self.secrets is not None else ()
        return DynoOutput(status=status, lines=lines, dyno=dyno, secrets=self._known)


def dyno_runner(
    app: str | None,
    client: Callable[[], HerokuClient],
    attached: Callable[..., tuple[int, str | None]],
) -> DynoCommandRunner | None:
    """The dyno runner of ``app`` for ``keycliq checklist run``: each run opens a client
    (``client()``), starts the dyno with ``attached(heroku, app, command, on_line,
    timeout=…)``; the app's secret-named config vars are masked in the output. None
    without an app (dyno items are then skipped, never passed)."""
    if app is None:
        return None

    def run(
        app_name: str, command: str, on_line: Callable[[str], None], timeout: float
    ) -> tuple[int, str | None]:
        with client() as heroku:
            return attached(heroku, app_name, command, on_line, timeout=timeout)

    def secrets() -> list[str]:
        from keycliq_ops.base.redact import is_secret_name

        with client() as heroku:
            return [v for k, v in heroku.config_vars(app).items() if is_secret_name(k) and v]

    return DynoCommandRunner(app, run, secrets)


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
