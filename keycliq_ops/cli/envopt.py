"""One way to name an environment, on every command.

The rule (docs/decisions.md, "Naming an environment"):

- ``-e/--env ENV`` names the environment on every command that acts on one. ``ENV`` is an
  environment of keycliq.yaml (``staging``) or the Heroku app it names
  (``keycliq-staging``): both resolve to the same environment.
- Where the environment is the command's only subject (``deploy``, ``promote``,
  ``rollback``, ``logs``, ``watch``, ``config check``, ``secrets list``) it may also be given
  as the first argument: ``keycliq deploy staging`` is ``keycliq deploy -e staging``.
  Giving both, naming two environments, is a usage error.

Commands declare ``env_arg: str | None = ENV_ARGUMENT`` (when the environment is their
subject) and ``env_opt: str | None = ENV_OPTION``, then call :func:`pick_env`. Commands
over several environments (``config check``, ``status``) take ``ENVS_OPTION`` (repeatable)
and call :func:`pick_envs`; commands that need the Heroku app and may run without a
keycliq.yaml (``dataclips run``/``trend``) call :func:`pick_app`; filters over recorded
history (``ledger list -e``) call :func:`filter_env`, which lets an environment no longer in
keycliq.yaml through.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from keycliq_ops.config import LoadedConfig

ENV_ARGUMENT = typer.Argument(
    None,
    metavar="ENV",
    help="The environment (from keycliq.yaml, or its Heroku app name); same as -e ENV.",
    show_default=False,
)
ENV_OPTION = typer.Option(
    None,
    "--env",
    "-e",
    metavar="ENV",
    help="The environment: a name from keycliq.yaml (e.g. staging) or its Heroku app name "
    "(e.g. keycliq-staging). Example: -e staging",
    show_default=False,
)

ENVS_OPTION = typer.Option(
    [],
    "--env",
    "-e",
    metavar="ENV",
    help="An environment: a name from keycliq.yaml (e.g. staging) or its Heroku app name "
    "(e.g. keycliq-staging). Repeatable. Example: -e staging -e production",
    show_default=False,
)


def resolve_env(loaded: LoadedConfig, name: str) -> str:
    """An environment name of keycliq.yaml for ``name``: the name itself, or the one
    environment whose Heroku app is ``name``. Unknown: UsageError (exit 2)."""
    environments = loaded.config.environments
    if name in environments:
        return name
    by_app = [env for env, e in environments.items() if e.app == name]
    if len(by_app) == 1:
        return by_app[0]
    loaded.env(name)  # raises the usual "unknown environment (known: …)"
    raise AssertionError("unreachable")  # pragma: no cover


def pick_env(
    loaded: LoadedConfig,
    *given: str | None,
    default_stage: str | None = None,
    what: str = "this command",
) -> str:
    """The environment named by the argument and/or ``-e`` (``given``, in any order), else
    the one environment at ``default_stage`` when there is one. Raises UsageError when
    none is named and there is no default, or when two different ones are named."""
    from keycliq_ops.base.errors import UsageError

    named = {resolve_env(loaded, g) for g in given if g}
    if len(named) > 1:
        raise UsageError(
            f"two environments named ({', '.join(sorted(named))}): name one",
            hint="give the environment once, as the argument or with -e ENV",
        )
    if named:
        return named.pop()
    if default_stage is not None:
        found = [name for name, _ in loaded.config.env_by_stage(default_stage)]
        if len(found) == 1:
            return found[0]
        if found:
            raise UsageError(
                f"{what}: several {default_stage} environments ({', '.join(found)})",
                hint=f"name one with -e ENV (e.g. -e {found[0]})",
            )
    known = ", ".join(loaded.config.environments) or "none"
    example = next(iter(loaded.config.environments), "staging")
    raise UsageError(
        f"{what} needs an environment (known: {known})",
        hint=f"name it with -e ENV, e.g. -e {example}",
    )


def pick_envs(
    loaded: LoadedConfig, arguments: Sequence[str] | None, options: Sequence[str] | None
) -> list[str]:
    """The environments named by the arguments and/or ``-e`` (resolved, in order, each
    once), else every environment of keycliq.yaml. Given both ways, they must name the same
    environments (UsageError otherwise)."""
    from keycliq_ops.base.errors import UsageError

    by_arg = list(dict.fromkeys(resolve_env(loaded, n) for n in arguments or ()))
    by_opt = list(dict.fromkeys(resolve_env(loaded, n) for n in options or ()))
    if by_arg and by_opt and set(by_arg) != set(by_opt):
        raise UsageError(
            f"environments named twice, differently ({', '.join(by_arg)} as arguments, "
            f"{', '.join(by_opt)} with -e): name them once",
            hint="give the environments as arguments or with -e ENV, not both",
        )
    return by_arg or by_opt or list(loaded.config.environments)


def pick_app(loaded: LoadedConfig | None, *given: str | None) -> str | None:
    """The Heroku app of the environment named by ``given`` (``-e`` and its deprecated
    aliases; an environment or an app name), None when none is named. Without a
    keycliq.yaml the name is taken as the app's. Two different ones: UsageError."""
    from keycliq_ops.base.errors import UsageError

    names = [g for g in given if g]
    apps = set(names) if loaded is None else {loaded.env(resolve_env(loaded, n)).app for n in names}
    if len(apps) > 1:
        raise UsageError(
            f"two environments named ({', '.join(sorted(apps))}): name one",
            hint="give the environment once, with -e ENV",
        )
    return apps.pop() if apps else None


def filter_env(loaded: LoadedConfig | None, name: str | None) -> str | None:
    """An environment filter over recorded history: an environment of keycliq.yaml or its
    app name resolves to the environment; any other name (an environment since removed
    from keycliq.yaml, or no keycliq.yaml at all) is matched as written."""
    if name is None or loaded is None:
        return name
    environments = loaded.config.environments
    if name in environments:
        return name
    by_app = [env for env, e in environments.items() if e.app == name]
    return by_app[0] if len(by_app) == 1 else name
