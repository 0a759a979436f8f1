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
subject) and ``env_opt: str | None = ENV_OPTION``, then call :func:`pick_env`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from keycliq_ops.config import LoadedConfig

ENV_ARGUMENT = typer.Argument(
    None,
    metavar="[ENV]",
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
