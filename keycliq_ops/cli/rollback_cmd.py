"""``keycliq rollback [ENV]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from keycliq_ops.cli.envopt import ENV_ARGUMENT, ENV_OPTION
from keycliq_ops.cli.release_common import ReleaseFlags, View, help_text, release_command

if TYPE_CHECKING:
    from keycliq_ops.release.lifecycle import ActionOutcome
    from keycliq_ops.release.rollback import RollbackPlan

HELP = help_text(
    "Roll an environment back to an earlier release: by default the newest earlier "
    "release whose ledger record succeeded (else the previous one), or --to vNN. Confirms"
    " (type the app name, or --confirm APP), creates the rollback release, waits for it, "
    "runs the environment's checklist and Dataclips, records it, and prints the command "
    "that undoes it. Database migrations are NOT rolled back: it says which ran since, "
    "when the ledger knows.",
    [
        "rollback production       (same as: keycliq rollback -e production)",
        "rollback production --to v41",
        "rollback -e production --dry-run",
        "rollback production --to v41 --yes --confirm keycliq-production "
        "--answers keycliq-answers.yaml --json   (CI)",
        "rollback production --resume",
    ],
    exit_codes=(
        "0 rolled back and checked, 1 a check failed (the rollback release stays), 2 "
        "usage, 3 Heroku failed, 130 interrupted"
    ),
)


@release_command(app_confirmed=True)
def rollback(
    ctx: typer.Context,
    to: str | None = typer.Option(
        None,
        "--to",
        metavar="VERSION",
        help="The release to return to (default: the newest earlier release with a "
        "succeeded ledger record, else the previous one). Example: --to v41",
    ),
    env_arg: str | None = ENV_ARGUMENT,
    env_opt: str | None = ENV_OPTION,
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue the last failed or interrupted rollback of ENV at the step that "
        "stopped it (the same target; a rollback release already made is not made again). "
        "Example: keycliq rollback production --resume",
    ),
    *,
    flags: ReleaseFlags,
) -> None:
    from keycliq_ops.cli.common import load
    from keycliq_ops.cli.envopt import pick_env
    from keycliq_ops.cli.release_common import run_release
    from keycliq_ops.release.rollback import RollbackOptions, rollback_action

    loaded = load(ctx)
    env = pick_env(loaded, env_arg, env_opt, what="rollback")
    options = RollbackOptions(to=to, resume=resume, skip=flags.skip)
    run_release(loaded, env, lambda session: rollback_action(session, options), flags, VIEW)


def rollback_lines(outcome: ActionOutcome[RollbackPlan]) -> dict[str, str]:
    plan = outcome.prepared
    return {
        "rolled back": f"v{plan.current.version} -> v{plan.target.version} "
        f"({(plan.commit or 'unknown')[:8]})"
    }


def rollback_tail(outcome: ActionOutcome[RollbackPlan]) -> None:
    """After the summary: the migrations warning and the undo command."""
    from keycliq_ops.cli.common import err, out
    from keycliq_ops.release.rollback import undo_command

    err().print(f"[yellow]warning[/]: {outcome.prepared.migration_warning()}")
    undo = undo_command(outcome)
    if undo:
        out().print(f"to undo this rollback: {undo}")


VIEW = View(lines=rollback_lines, tail=rollback_tail)


def register(app: typer.Typer) -> None:
    app.command("rollback", help=HELP)(rollback)
