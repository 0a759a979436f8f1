"""``keycliq init``: write a commented starter keycliq.yaml."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command(
        "init",
        help="Write a commented starter keycliq.yaml in the current folder.\n\n"
        "Example: keycliq init --staging-app keycliq-staging --production-app keycliq-prod",
    )(init)


def init(
    directory: Path = typer.Option(Path("."), "--dir", help="Folder to write keycliq.yaml in."),
    pipeline: str = typer.Option("keycliq", help="Heroku pipeline name."),
    staging_app: str = typer.Option("keycliq-staging", help="Staging Heroku app."),
    production_app: str = typer.Option("keycliq-production", help="Production Heroku app."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing keycliq.yaml."),
) -> None:
    from keycliq_ops.base.errors import UsageError
    from keycliq_ops.base.fsutil import atomic_write
    from keycliq_ops.cli.common import err
    from keycliq_ops.config.loading import CONFIG_NAME
    from keycliq_ops.config.starter import render_starter

    target = directory / CONFIG_NAME
    if target.exists() and not force:
        raise UsageError(f"{target} exists", hint="pass --force to overwrite it")
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a folder")
    atomic_write(target, render_starter(pipeline, staging_app, production_app))
    err().print(f"wrote {target}; check it with `keycliq config validate`")
