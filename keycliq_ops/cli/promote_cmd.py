"""``keycliq promote``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from keycliq_ops.cli.release_common import (
    ANSWERS_OPTION,
    CONFIRM_APP_OPTION,
    DRY_RUN_OPTION,
    JSON_EVENTS_OPTION,
    NO_QUESTIONS_OPTION,
    PARAM_OPTION,
    REASON_OPTION,
    RESUME_OPTION,
    SKIP_OPTION,
    TWO_FACTOR_OPTION,
)

if TYPE_CHECKING:
    from keycliq_ops.release.promote import PromoteOutcome, PromotionPlan
    from keycliq_ops.release.rollback import RollbackOutcome

HELP = (
    "Promote what staging runs now to production through the Heroku pipeline, when the "
    "ledger has a clean staging deploy of that exact commit (checklist and Dataclip gate "
    "passed) and production is not ahead of staging. Follows the promotion, streams the "
    "production release phase (migrations), runs the production checklist and Dataclips "
    "(A and C by default), and records everything. When the production checks fail it "
    "prints the exact rollback command (or, with --auto-rollback, rolls back at once).\n\n"
    "Exit codes: 0 promoted and checked, 1 refused or a check failed, 2 usage, 3 Heroku "
    "failed, 130 interrupted.\n\n"
    "\b\nExamples:\n"
    "  keycliq promote\n"
    "  keycliq promote --dry-run\n"
    "  keycliq promote --yes --confirm keycliq-production --answers keycliq-answers.yaml "
    "--json   (CI)\n"
    '  keycliq promote --override "hotfix INC-42, staging checklist walked by hand"\n'
    "  keycliq promote --auto-rollback --param userId=ckz1q2w3e4r5t6y7u8i9o0p1a\n"
    "  keycliq promote --resume"
)


def register(app: typer.Typer) -> None:
    app.command("promote", help=HELP)(promote)


def promote(
    ctx: typer.Context,
    target: str | None = typer.Argument(
        None,
        help="Environment to promote to (default: the one with stage production). "
        "Example: production",
    ),
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
    confirm: str | None = CONFIRM_APP_OPTION,
    two_factor_code: str | None = TWO_FACTOR_OPTION,
    yes: bool = NO_QUESTIONS_OPTION,
    answers: Path | None = ANSWERS_OPTION,
    as_json: bool = JSON_EVENTS_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
    resume: bool = RESUME_OPTION,
    skip: list[str] = SKIP_OPTION,
    reason: str | None = REASON_OPTION,
    param: list[str] = PARAM_OPTION,
) -> None:
    from keycliq_ops.cli.common import err, load
    from keycliq_ops.cli.progress import make_sink
    from keycliq_ops.cli.release_common import (
        bind_sink,
        build_context,
        choose_prompter,
        close_sink,
        confirm_app,
        plan_and_exit,
        preview,
        skips,
        two_factor_asker,
    )
    from keycliq_ops.release.gate_steps import check_runnable
    from keycliq_ops.release.promote import (
        PromoteOptions,
        default_env,
        prepare_promote,
        promote_steps,
        run_promote,
    )
    from keycliq_ops.release.stepper import Pipeline

    loaded = load(ctx)
    target = target or default_env(loaded, "production", "keycliq promote ENV")
    source = source or default_env(loaded, "staging", "--from")
    rctx = build_context(ctx, target, params=param)
    options = PromoteOptions(
        override=override,
        auto_rollback=auto_rollback,
        resume=resume,
        skip=skips(skip, reason),
    )
    try:
        plan = prepare_promote(rctx, source_env=source, override=override)
        header = _header(plan)
        rctx.prompter = choose_prompter(answers)
        steps = Pipeline(promote_steps(plan, options), lambda e: None).plan(rctx)
        if dry_run:
            plan_and_exit(steps, as_json, header)
            return
        preview(header, steps, as_json)
        check_runnable(rctx, options.skip)
        confirm_app(
            f"Promote {plan.commit[:8]} to {plan.targets_text()}", rctx.app, given=confirm, yes=yes
        )
        sink = make_sink(as_json, err())
        try:
            bind_sink(rctx.prompter, sink)
            options.two_factor = two_factor_asker(two_factor_code, sink, yes=yes)
            outcome = run_promote(rctx, plan, options, sink)
        finally:
            close_sink(sink)
    finally:
        rctx.client.close()
    _render(outcome, rctx.app, target, as_json)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def _header(plan: PromotionPlan) -> str:
    now = (
        f"v{plan.production_release.version} @ {(plan.production_commit or '?')[:8]}"
        if plan.production_release
        else "no release"
    )
    return (
        f"promote {plan.source_app} v{plan.source_release.version} @ {plan.commit[:8]} to "
        f"{plan.targets_text()} (now {now})"
    )


def _render(outcome: PromoteOutcome, app: str, env: str, as_json: bool) -> None:
    from keycliq_ops.cli.common import err, out
    from keycliq_ops.cli.release_common import render_outcome

    result, plan = outcome.result, outcome.plan
    facts = {"ledger": outcome.ledger_id or "-", "report": str(outcome.report or "-")}
    step = result.step("release")
    if step and step.data.get("release_version"):
        facts["release"] = f"v{step.data['release_version']}"
    if plan.promotion_id:
        facts["promotion"] = plan.promotion_id
    if plan.override_used:
        facts["override"] = plan.override or ""
    summary: dict[str, Any] = {
        "action": "promote",
        "environment": env,
        "app": app,
        "source": plan.source_env,
        "commit": plan.commit,
        "outcome": result.outcome,
        "exit_code": result.exit_code,
        "failed_step": result.failed_step,
        "error": result.error,
        "hint": result.hint,
        "ledger_id": outcome.ledger_id,
        "report": str(outcome.report) if outcome.report else None,
        "promotion_id": plan.promotion_id,
        "release_version": step.data.get("release_version") if step else None,
        "override_reason": plan.override if plan.override_used else None,
        "rollback_command": outcome.rollback_command,
        "rollback": _rollback_summary(outcome.rollback),
        "steps": [s.model_dump(mode="json") for s in result.steps],
    }
    render_outcome(result, facts, as_json, summary)
    if as_json:
        return
    if outcome.rollback is not None:
        rb = outcome.rollback
        from keycliq_ops.cli.rollback_cmd import render_rollback

        out().print(f"\nauto-rollback to v{rb.plan.target.version}: {rb.result.outcome}")
        render_rollback(rb, as_json=False)
    elif outcome.rollback_command:
        err().print(f"production runs the new code: to go back, run\n  {outcome.rollback_command}")


def _rollback_summary(outcome: RollbackOutcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    from keycliq_ops.cli.rollback_cmd import rollback_summary

    return rollback_summary(outcome)
