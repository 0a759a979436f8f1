"""``keycliq secrets``: rotate a secret config var with a ledger record; list them masked."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, err, load, out

if TYPE_CHECKING:
    from keycliq_ops.ops.secrets import RotationPlan

app = typer.Typer(
    help="Rotate secret config vars (recorded in the ledger) and list them, masked.\n\n"
    "Examples: keycliq secrets rotate SESSION_SECRET --env staging · "
    "keycliq secrets list --env production",
    no_args_is_help=True,
)

ENV_OPTION = typer.Option(
    ..., "--env", "-e", help="The environment (from keycliq.yaml). Example: --env staging"
)


@app.command(
    "rotate",
    help="Replace a secret config var's value: a new Heroku release, followed to the end, "
    "and a secret-rotation record in the ledger (digests only, never values). "
    "SESSION_SECRET is generated (32 random bytes, hex; rotating it signs everyone out); "
    "a third-party key (OPENAI_API_KEY, CLOUDINARY_API_SECRET, RESEND_API_KEY …) is read "
    "from stdin. DATABASE_URL is refused (heroku pg:credentials:rotate). "
    "Exit 0 rotated, 2 refused or usage, 3 Heroku failed.\n\n"
    "Example: keycliq secrets rotate SESSION_SECRET --env staging --confirm keycliq-staging",
)
def rotate(
    ctx: typer.Context,
    var: str = typer.Argument(
        ..., metavar="VAR", help="The config var to rotate. Example: SESSION_SECRET"
    ),
    env_name: str = ENV_OPTION,
    value_from_stdin: bool = typer.Option(
        False,
        "--value-from-stdin",
        help="Read the new value from stdin (one line; hidden prompt in a terminal). "
        "Example: pbpaste | keycliq secrets rotate OPENAI_API_KEY --env staging "
        "--value-from-stdin --confirm keycliq-staging",
    ),
    confirm: str | None = typer.Option(
        None,
        "--confirm",
        metavar="APP",
        help="The app's name, to confirm without typing it (CI). "
        "Example: --confirm keycliq-staging",
    ),
    yes: bool = typer.Option(
        False,
        "--yes",
        "-y",
        help="Ask nothing (CI); the rotation itself still needs --confirm APP. Example: --yes",
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Check everything and show what would change; change nothing. Example: --dry-run",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    import sys

    from keycliq_ops.base.redact import Redactor
    from keycliq_ops.cli.common import heroku_client
    from keycliq_ops.cli.release_common import client_token_of, confirm_app
    from keycliq_ops.ledger import Ledger
    from keycliq_ops.ops.secrets import apply_rotation, check_var, prepare_rotation

    loaded = load(ctx)
    loaded.env(env_name)
    check_var(var)  # refuse before reading stdin or calling Heroku
    given: str | None = None
    if value_from_stdin:
        if sys.stdin.isatty():
            given = typer.prompt(f"New {var}", hide_input=True, err=True)
        else:
            given = sys.stdin.readline().strip()
    client = heroku_client()
    prepared = prepare_rotation(client, loaded, env_name, var, given)
    plan = prepared.plan
    if dry_run:
        if as_json:
            emit_json({"dry_run": True, **plan.model_dump(mode="json")})
        else:
            _show(plan)
            out().print("(dry run: nothing was changed)")
        return
    confirm_app(f"Rotate {var} on {plan.app}", plan.app, given=confirm, yes=yes)
    redact = Redactor([prepared.old_value, prepared.new_value])
    ledger = Ledger(loaded.ledger_path, secrets=[client_token_of(client)])
    result = apply_rotation(
        client,
        ledger,
        prepared,
        timeout=loaded.config.timeouts.release,
        on_line=lambda line: err().print(f"  {redact(line)}", markup=False),
        on_note=lambda note: err().print(redact(note), style="dim", markup=False),
    )
    if as_json:
        emit_json(result)
        return
    _show(result)
    version = f"v{result.release_version}" if result.release_version is not None else "-"
    out().print(f"release:  {version} {result.release_status or ''}".rstrip())
    out().print(f"recorded: ledger {result.ledger_id}")
    out().print(f"[green]rotated[/] {var} on {plan.app}")


def _show(plan: RotationPlan) -> None:
    o = out()
    o.print(f"{plan.var} on {plan.app} ({plan.environment}), new value {plan.source}")
    o.print(f"old:      {plan.old}  sha256 {plan.old_digest}…", markup=False)
    o.print(f"new:      {plan.new}  sha256 {plan.new_digest}…", markup=False)
    if plan.note:
        o.print(f"[yellow]note[/]: {plan.note}")


@app.command(
    "list",
    help="The app's config vars, secret values masked, with when each was last rotated "
    "(from the ledger).\n\nExample: keycliq secrets list --env production --json",
)
def list_(ctx: typer.Context, env_name: str = ENV_OPTION, as_json: bool = JSON_OPTION) -> None:
    from keycliq_ops.cli.common import heroku_client
    from keycliq_ops.ledger import Ledger
    from keycliq_ops.ops.secrets import list_secrets

    loaded = load(ctx)
    loaded.env(env_name)
    listing = list_secrets(heroku_client(), loaded, env_name, Ledger(loaded.ledger_path))
    if as_json:
        emit_json(listing)
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{listing.app} ({listing.environment})", title_justify="left")
    for column in ("var", "value", "secret", "last rotated", "release", "ledger id"):
        table.add_column(column)
    for row in listing.vars:
        table.add_row(
            row.name,
            Text(row.value),
            "yes" if row.secret else "",
            row.last_rotated.strftime("%Y-%m-%d %H:%M UTC") if row.last_rotated else "-",
            f"v{row.release_version}" if row.release_version is not None else "-",
            row.ledger_id or "-",
        )
    out().print(table)
