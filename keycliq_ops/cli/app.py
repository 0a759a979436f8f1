"""The ``keycliq`` command tree (topic / verb, as the Heroku CLI).

Each topic lives in its own module under ``keycliq_ops.cli`` and imports only typer at
module level, so that ``keycliq --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from keycliq_ops import __version__
from keycliq_ops.cli import (
    checklist_cmd,
    config_cmd,
    costs_cmd,
    dataclips_cmd,
    demo_cmd,
    deploy_cmd,
    init_cmd,
    ledger_cmd,
    logs_cmd,
    migrations_cmd,
    playbook_cmd,
    promote_cmd,
    report_cmd,
    rollback_cmd,
    sandbox_cmd,
    secrets_cmd,
    status_cmd,
)
from keycliq_ops.cli.common import add_exit_codes, install_masking, state

app = typer.Typer(
    name="keycliq",
    help=(
        "Release tool for the KeyCliq app on Heroku: deploy to staging behind tests, "
        "checklists and Dataclip gates, promote to production, roll back, and keep a "
        "tamper-evident ledger of it all.\n\n"
        "Exit codes: 0 ok, 1 a gate failed, 2 usage or config error, "
        "3 an outside system failed (API, git, database), 70 internal error (a bug), "
        "130 interrupted (each command's --help lists its own).\n\n"
        "-e/--env ENV names the environment on every command that acts on one: a name "
        "from keycliq.yaml (staging) or its Heroku app name (keycliq-staging). "
        "-c/--config FILE may come before or after the command."
    ),
    epilog=(
        "\b\nExamples:\n"
        "  keycliq status                    where each environment stands\n"
        "  keycliq deploy staging            the whole staging runbook\n"
        "  keycliq dataclips run A C -e staging\n"
        "  keycliq logs -e production -c ../other/keycliq.yaml\n"
        "  keycliq promote                   staging's release to production"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"keycliq {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="Path to keycliq.yaml (default: found by walking up from the current folder; "
        "or $KEYCLIQ_CONFIG). May also be given after the command: "
        "keycliq deploy staging -c other.yaml",
        envvar="KEYCLIQ_CONFIG",
        show_envvar=False,
    ),
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        help="Print the version and exit.",
        callback=_version,
        is_eager=True,
    ),
) -> None:
    # The output boundary: from here on, nothing reaches stdout or stderr with a secret.
    install_masking()
    state(ctx).config_path = config


# In the order of a release: where things stand, ship, check, record, operate, set up.
status_cmd.register(app)
deploy_cmd.register(app)
promote_cmd.register(app)
rollback_cmd.register(app)
logs_cmd.register_logs(app)
logs_cmd.register_watch(app)
report_cmd.register(app)
costs_cmd.register(app)
demo_cmd.register(app)
init_cmd.register(app)
app.add_typer(dataclips_cmd.app, name="dataclips")
app.add_typer(checklist_cmd.app, name="checklist")
app.add_typer(ledger_cmd.app, name="ledger")
app.add_typer(playbook_cmd.app, name="playbook")
app.add_typer(secrets_cmd.app, name="secrets")
app.add_typer(config_cmd.app, name="config")
app.add_typer(migrations_cmd.app, name="migrations")
app.add_typer(sandbox_cmd.app, name="sandbox")

# Last, after every command is registered (other topics included): each one's exit codes.
add_exit_codes(app)
