"""``keycliq migrations``: what the migrations about to be applied would do."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from keycliq_ops.cli.common import JSON_OPTION
from keycliq_ops.cli.envopt import ENV_ARGUMENT, ENV_OPTION

if TYPE_CHECKING:
    from keycliq_ops.release.migration_lint import LintReport

app = typer.Typer(
    help="The migrations an environment's database has not applied, looked at before they "
    "run.\n\nExample: keycliq migrations lint staging",
    no_args_is_help=True,
)


@app.command(
    "lint",
    help="Lint with squawk the migrations of a commit (default: this checkout's HEAD, what "
    "`keycliq deploy` would ship) that the environment's database has not applied, as the "
    "deploy's preflight does: each finding as file:line rule: message, with squawk's help "
    "and the table's estimated rows in that database; levels from migrations.lint in "
    "keycliq.yaml. Exit 1 when a finding is an error, 0 otherwise.\n\n"
    "\b\nExamples:\n"
    "  keycliq migrations lint staging\n"
    "  keycliq migrations lint production --commit origin/main --json",
)
def lint(
    ctx: typer.Context,
    env_arg: str | None = ENV_ARGUMENT,
    env_opt: str | None = ENV_OPTION,
    commit: str | None = typer.Option(
        None,
        "--commit",
        metavar="REV",
        help="The commit whose migrations to lint (default: HEAD). Example: --commit main",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    from keycliq_ops.adapters import db
    from keycliq_ops.adapters.git import Repo
    from keycliq_ops.base.errors import UsageError
    from keycliq_ops.cli.common import emit_json, heroku_client, load
    from keycliq_ops.cli.envopt import pick_env
    from keycliq_ops.config.app_repo import read_at_commit
    from keycliq_ops.release.migration_lint import lint_pending

    loaded = load(ctx)
    env_name = pick_env(loaded, env_arg, env_opt, what="lint the migrations of")
    app_name = loaded.env(env_name).app
    repo = Repo.discover(loaded.root)
    sha = repo.resolve(commit or "HEAD")
    if sha is None:
        raise UsageError(f"--commit {commit}: no such commit in {repo.root}")
    files = read_at_commit(repo, sha)
    with heroku_client() as client:
        url = db.database_url_of(lambda: client.config_vars(app_name), app_name)
    report = lint_pending(files, url, loaded.config.migrations, target=app_name)
    if as_json:
        emit_json({"environment": env_name, "app": app_name, **report.as_data()})
    else:
        _render(report)
    if report.errors:
        raise typer.Exit(1)


def _render(report: LintReport) -> None:
    from rich.markup import escape

    from keycliq_ops.cli.common import out

    console = out()
    console.print(escape(f"{report.origin}: {report.reason}"))
    if report.status != "linted":
        return
    for line in report.lines():
        text = escape(line)
        stripped = line.lstrip()
        if stripped.startswith("error:"):
            text = text.replace("error:", "[red]error[/]:", 1)
        elif stripped.startswith("warning:"):
            text = text.replace("warning:", "[yellow]warning[/]:", 1)
        console.print(text)
    console.print(escape(report.summary()))
