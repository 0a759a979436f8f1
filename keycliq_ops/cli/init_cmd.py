"""``keycliq init``: scaffold what a team needs to start (keycliq.yaml with the migration
strategy and test command the repository calls for, an answers-file template, the
repository's checklists/ and dataclips/ folders, the CI workflow)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command(
        "init",
        help="Scaffold what a team needs in its checkout: a commented keycliq.yaml (its "
        "migration strategy read from the repository: a Procfile `release:` line → "
        "release-phase, prisma/migrations/ → one-off `npx prisma migrate deploy`, neither → "
        "db-push `npm run db:push`; its test command from package.json's scripts; each "
        "choice printed and written as a comment), "
        "keycliq-answers.yaml (a template from the checklists), checklists/ and dataclips/ "
        "(your own, layered over the shipped ones) and .github/workflows/deploy.yml (the CI "
        "example). An existing file is never overwritten (it is kept, and said so); "
        "--force rewrites keycliq.yaml only.\n\n"
        "Example: keycliq init --staging-app keycliq-staging --production-app keycliq-prod",
    )(init)


def init(
    directory: Path = typer.Option(Path("."), "--dir", help="Folder to write the files in."),
    pipeline: str = typer.Option("keycliq", help="Heroku pipeline name."),
    staging_app: str = typer.Option("keycliq-staging", help="Staging Heroku app."),
    production_app: str = typer.Option("keycliq-production", help="Production Heroku app."),
    force: bool = typer.Option(
        False, "--force", help="Overwrite an existing keycliq.yaml (no other file)."
    ),
) -> None:
    from keycliq_ops.base.errors import UsageError
    from keycliq_ops.base.fsutil import atomic_write
    from keycliq_ops.cli.common import err
    from keycliq_ops.config import starter
    from keycliq_ops.config.loading import CONFIG_NAME

    if not directory.is_dir():
        raise UsageError(f"{directory} is not a folder")
    console = err()
    decisions = starter.decide(directory)
    strategy = decisions.migrations
    command = f" (`{strategy.command}`)" if strategy.command else ""
    console.print(
        f"migrations: {strategy.strategy}{command}: {strategy.reason}",
        markup=False,
        soft_wrap=True,
    )
    if decisions.test_command:
        tests = f"tests: `{decisions.test_command}`: {decisions.test_why}"
    else:
        tests = (
            f"tests: none proposed: {decisions.test_why} (keycliq.yaml sets tests.command: null)"
        )
    console.print(tests, markup=False, soft_wrap=True)
    files = starter.scaffold(directory, pipeline, staging_app, production_app, decisions)
    written: list[Path] = []
    for f in files:
        target = directory / f.path
        overwrite = force and f.path == Path(CONFIG_NAME)
        if target.exists() and not overwrite:
            why = "; --force rewrites it" if f.path == Path(CONFIG_NAME) else ""
            console.print(f"kept {target} (it exists; not overwritten{why})", markup=False)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, f.text)
        written.append(f.path)
        console.print(f"wrote {target}", markup=False)
    if not written:
        console.print("nothing to write: every file exists", markup=False)
    names = " ".join(str(f.path) for f in files)
    console.print(
        f"next: edit {starter.ANSWERS_NAME} (who answers, and why), check keycliq.yaml with "
        f"`keycliq config validate`, then commit the files: git add {names}",
        markup=False,
        soft_wrap=True,
    )
