"""``keycliq promote``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from keycliq_ops.cli.envopt import ENV_ARGUMENT, ENV_OPTION
from keycliq_ops.cli.release_common import (
    RESUME_OPTION,
    ReleaseFlags,
    View,
    help_text,
    release_command,
)

if TYPE_CHECKING:
    from keycliq_ops.release.lifecycle import Action, ActionOutcome
    from keycliq_ops.release.promote import PromotionPlan

HELP = help_text(
    "Promote what staging runs now to production through the Heroku pipeline, when the "
    "ledger has a clean staging deploy of that exact commit (checklist and Dataclip gate "
    "passed) and production is not ahead of staging. Follows the promotion, streams the "
    "production release phase (migrations), runs the production checklist and Dataclips "
    "(A and C by default), and records everything. When the production checks fail it "
    "prints the exact rollback command (or, with --auto-rollback, rolls back at once).",
    [
        "promote                   (same as: keycliq promote -e production)",
        "promote production --dry-run",
        "promote --yes --confirm keycliq-production --answers keycliq-answers.yaml --json   (CI)",
        'promote --override "hotfix INC-42, staging checklist walked by hand"',
        "promote --auto-rollback --param userId=ckz1q2w3e4r5t6y7u8i9o0p1a",
        "promote --resume",
        'promote --no-backup "b041 captured by hand at 09:10"',
    ],
    exit_codes=(
        "0 promoted and checked, 1 refused or a check failed, 2 usage, 3 Heroku failed, "
        "130 interrupted"
    ),
)


def register(app: typer.Typer) -> None:
    app.command("promote", help=HELP)(promote)


@release_command(app_confirmed=True)
def promote(
    ctx: typer.Context,
    env_arg: str | None = ENV_ARGUMENT,
    env_opt: str | None = ENV_OPTION,
    source: str | None = typer.Option(
        None,
        "--from",
        help="Environment to promote from (default: the one with stage staging). "
        "Example: --from staging",
    ),
    override: str | None = typer.Option(
        None,
        "--override",
        metavar="REASON",
        help="Promote although staging has no clean ledger record for its commit; the "
        'reason is recorded. Example: --override "hotfix INC-42"',
    ),
    auto_rollback: bool = typer.Option(
        False,
        "--auto-rollback",
        help="When the production checks fail, roll back at once to the release that ran "
        "before (recorded as its own run). Example: keycliq promote --auto-rollback",
    ),
    resume: bool = RESUME_OPTION,
    no_backup: str | None = typer.Option(
        None,
        "--no-backup",
        metavar="REASON",
        help="Do not capture a Heroku Postgres backup before the schema changes (on by "
        "default in production); the reason is recorded. "
        'Example: --no-backup "b012 taken by hand"',
    ),
    *,
    flags: ReleaseFlags,
) -> None:
    from keycliq_ops.cli.common import load
    from keycliq_ops.cli.envopt import pick_env, resolve_env
    from keycliq_ops.cli.release_common import run_release
    from keycliq_ops.release.promote import PromoteOptions, default_env, promote_action

    loaded = load(ctx)
    env = pick_env(loaded, env_arg, env_opt, default_stage="production", what="promote")
    options = PromoteOptions(
        source=resolve_env(loaded, source) if source else default_env(loaded, "staging", "--from"),
        override=override,
        auto_rollback=auto_rollback,
        resume=resume,
        skip=flags.skip,
        no_backup=no_backup,
    )
    run_release(
        loaded,
        env,
        lambda session: _previewed(promote_action(session, options), flags.as_json),
        flags,
        VIEW,
    )


def _previewed(action: Action[PromotionPlan], as_json: bool) -> Action[PromotionPlan]:
    """The action, once what production gains is shown (stderr, before the plan and the
    confirmation; with --json it is the summary's `preview`)."""
    preview = action.prepared.preview
    if preview is not None and not as_json:
        from rich.markup import escape

        from keycliq_ops.cli.common import err

        for line in preview.lines():
            err().print(escape(line))
    return action


def _lines(outcome: ActionOutcome[PromotionPlan]) -> dict[str, str]:
    plan, lines = outcome.prepared, {}
    if outcome.facts.promotion_id:
        lines["promotion"] = outcome.facts.promotion_id
    if plan.override_used:
        lines["override"] = plan.override or ""
    return lines


def _tail(outcome: ActionOutcome[PromotionPlan]) -> None:
    """After the summary: the auto-rollback's own outcome, or the command to roll back."""
    from keycliq_ops.cli import rollback_cmd
    from keycliq_ops.cli.common import err, out
    from keycliq_ops.cli.release_common import render_action
    from keycliq_ops.release.promote import rollback_command

    rb = outcome.follow_up
    if rb is not None:
        out().print(f"\nauto-rollback to v{rb.prepared.target.version}: {rb.result.outcome}")
        render_action(rb, False, rollback_cmd.VIEW)
        return
    command = rollback_command(outcome)
    if command:
        err().print(f"production runs the new code: to go back, run\n  {command}")


VIEW = View(lines=_lines, tail=_tail)
