"""``keycliq secrets``: rotate a secret config var with a ledger record; list them masked."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, load, out
from keycliq_ops.cli.envopt import ENV_ARGUMENT, ENV_OPTION

if TYPE_CHECKING:
    from keycliq_ops.ops.secrets import PreparedRotation, RotationPlan, SecretsListing
    from keycliq_ops.release.lifecycle import ActionOutcome

app = typer.Typer(
    help="Rotate secret config vars (recorded in the ledger) and list them, masked.\n\n"
    "Examples: keycliq secrets rotate SESSION_SECRET -e staging · "
    "keycliq secrets list production",
    no_args_is_help=True,
)


@app.command(
    "rotate",
    help="Replace a secret config var's value: a new Heroku release, followed to the end, "
    "and a secret-rotation record in the ledger (digests only, never values). "
    "SESSION_SECRET is generated (32 random bytes, hex; rotating it signs everyone out); "
    "a third-party key (OPENAI_API_KEY, CLOUDINARY_API_SECRET, RESEND_API_KEY …) is read "
    "from stdin. DATABASE_URL is refused (heroku pg:credentials:rotate). "
    "Exit 0 rotated, 2 refused or usage, 3 Heroku failed.\n\n"
    "Example: keycliq secrets rotate SESSION_SECRET -e staging --confirm keycliq-staging",
)
def rotate(
    ctx: typer.Context,
    var: str = typer.Argument(
        ..., metavar="VAR", help="The config var to rotate. Example: SESSION_SECRET"
    ),
    env_opt: str | None = ENV_OPTION,
    value_from_stdin: bool = typer.Option(
        False,
        "--value-from-stdin",
        help="Read the new value from stdin (one line; hidden prompt in a terminal). "
        "Example: pbpaste | keycliq secrets rotate OPENAI_API_KEY -e staging "
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

    from keycliq_ops.cli.envopt import pick_env
    from keycliq_ops.cli.release_common import ReleaseFlags, View, run_release
    from keycliq_ops.ops.secrets import check_var, prepare_rotation, rotation_action

    loaded = load(ctx)
    env_name = pick_env(loaded, env_opt, what="secrets rotate")
    check_var(var)  # refuse before reading stdin or calling Heroku
    given: str | None = None
    if value_from_stdin:
        if sys.stdin.isatty():
            given = typer.prompt(f"New {var}", hide_input=True, err=True)
        else:
            given = sys.stdin.readline().strip()
    flags = ReleaseFlags(
        yes=yes, as_json=as_json, dry_run=dry_run, confirm=confirm, json_events=False
    )
    run_release(
        loaded,
        env_name,
        lambda session: rotation_action(
            session, prepare_rotation(session.client, loaded, env_name, var, given)
        ),
        flags,
        View(tail=_rotated),
        need_checkout=False,
    )


def _rotated(outcome: ActionOutcome[PreparedRotation]) -> None:
    plan, release = outcome.prepared.plan, outcome.facts.release
    _show(plan)
    if outcome.result.outcome != "succeeded":
        return
    version = f"v{release.version}" if release is not None else "-"
    out().print(f"release:  {version} {release.status if release else ''}".rstrip())
    out().print(f"recorded: ledger {outcome.ledger_id}")
    out().print(f"[green]rotated[/] {plan.var} on {plan.app}")


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
    "(from the ledger).\n\nExamples: keycliq secrets list production --json · "
    "keycliq secrets list -e production",
)
def list_(
    ctx: typer.Context,
    env_arg: str | None = ENV_ARGUMENT,
    env_opt: str | None = ENV_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    from keycliq_ops.cli.common import heroku_client
    from keycliq_ops.cli.envopt import pick_env
    from keycliq_ops.ledger import Ledger
    from keycliq_ops.ops.secrets import list_secrets

    loaded = load(ctx)
    env_name = pick_env(loaded, env_arg, env_opt, what="secrets list")
    from keycliq_ops.ledger.sync import team_remote

    ledger = Ledger(loaded.ledger_path, remote=team_remote(loaded))  # the team's rotations
    listing = list_secrets(heroku_client(), loaded, env_name, ledger)
    if as_json:
        emit_json(listing)
        return
    _render_listing(listing)


def _render_listing(listing: SecretsListing) -> None:
    """A table when every name and value fits whole on its row at the console's width;
    else one block per variable (``NAME  VALUE`` on its own line, the rest below it).
    Names and values are never cut nor wrapped mid-word."""
    from rich.table import Table
    from rich.text import Text

    rows = [
        (
            row.name,
            row.value,
            "yes" if row.secret else "",
            row.last_rotated.strftime("%Y-%m-%d %H:%M UTC") if row.last_rotated else "-",
            f"v{row.release_version}" if row.release_version is not None else "-",
            row.ledger_id or "-",
        )
        for row in listing.vars
    ]
    headers = ("var", "value", "secret", "last rotated", "release", "ledger id")
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    # each cell has one space of padding either side, plus one border between columns
    needed = sum(widths) + 3 * len(widths) + 1
    o = out()
    title = f"{listing.app} ({listing.environment})"
    if needed <= o.width:
        table = Table(title=title, title_justify="left")
        for column in headers:
            table.add_column(column, no_wrap=True)
        for cells in rows:
            table.add_row(*(Text(c) for c in cells))
        o.print(table)
        return
    o.print(title, markup=False, highlight=False, soft_wrap=True)
    name_w = max((len(r[0]) for r in rows), default=0)
    for name, value, secret, rotated, release, ledger_id in rows:
        o.print(f"  {name.ljust(name_w)}  {value}", markup=False, highlight=False, soft_wrap=True)
        details = f"secret: {secret or 'no'} · last rotated: {rotated} · release: {release}"
        o.print(
            f"  {'':{name_w}}  {details} · ledger id: {ledger_id}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
