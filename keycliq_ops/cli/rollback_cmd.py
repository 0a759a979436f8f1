"""``keycliq rollback ENV``."""

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
    SKIP_OPTION,
    TWO_FACTOR_OPTION,
)

if TYPE_CHECKING:
    from keycliq_ops.release.rollback import RollbackOutcome

HELP = (
    "Roll an environment back to an earlier release: by default the newest earlier release "
    "whose ledger record succeeded (else the previous one), or --to vNN. Confirms (type the "
    "app name, or --confirm APP), creates the rollback release, waits for it, runs the "
    "environment's checklist and Dataclips, records it, and prints the command that undoes "
    "it. Database migrations are NOT rolled back: it says which ran since, when the ledger "
    "knows.\n\n"
    "Exit codes: 0 rolled back and checked, 1 a check failed (the rollback release stays), "
    "2 usage, 3 Heroku failed, 130 interrupted.\n\n"
    "\b\nExamples:\n"
    "  keycliq rollback production\n"
    "  keycliq rollback production --to v41\n"
    "  keycliq rollback production --dry-run\n"
    "  keycliq rollback production --to v41 --yes --confirm keycliq-production "
    "--answers keycliq-answers.yaml --json   (CI)\n"
    "  keycliq rollback production --resume"
)


def register(app: typer.Typer) -> None:
    app.command("rollback", help=HELP)(rollback)


def rollback(
    ctx: typer.Context,
    env: str = typer.Argument(..., help="Environment from keycliq.yaml, e.g. production."),
    to: str | None = typer.Option(
        None,
        "--to",
        metavar="VERSION",
        help="The release to return to (default: the newest earlier release with a "
        "succeeded ledger record, else the previous one). Example: --to v41",
    ),
    confirm: str | None = CONFIRM_APP_OPTION,
    two_factor_code: str | None = TWO_FACTOR_OPTION,
    yes: bool = NO_QUESTIONS_OPTION,
    answers: Path | None = ANSWERS_OPTION,
    as_json: bool = JSON_EVENTS_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue the last failed or interrupted rollback of ENV at the step that "
        "stopped it (the same target; a rollback release already made is not made again). "
        "Example: keycliq rollback production --resume",
    ),
    skip: list[str] = SKIP_OPTION,
    reason: str | None = REASON_OPTION,
    param: list[str] = PARAM_OPTION,
) -> None:
    from keycliq_ops.cli.common import err
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
    from keycliq_ops.release.rollback import (
        RollbackOptions,
        prepare_rollback,
        rollback_steps,
        run_rollback,
    )
    from keycliq_ops.release.stepper import Pipeline

    rctx = build_context(ctx, env, params=param)
    try:
        plan = prepare_rollback(rctx, to=to, resume=resume)
        options = RollbackOptions(skip=skips(skip, reason))
        header = (
            f"rollback {plan.app} from v{plan.current.version} to v{plan.target.version} "
            f"({(plan.commit or 'unknown commit')[:8]}): {plan.why()}"
        )
        rctx.prompter = choose_prompter(answers)
        steps = Pipeline(rollback_steps(plan, options), lambda e: None).plan(rctx)
        if dry_run:
            plan_and_exit(steps, as_json, header)
            if not as_json:
                err().print(f"warning: {plan.migration_warning()}")
            return
        preview(header, steps, as_json)
        if not as_json:
            err().print(f"[yellow]warning[/]: {plan.migration_warning()}")
        check_runnable(rctx, options.skip)
        confirm_app(
            f"Roll {plan.app} back to v{plan.target.version}", plan.app, given=confirm, yes=yes
        )
        sink = make_sink(as_json, err())
        try:
            bind_sink(rctx.prompter, sink)
            options.two_factor = two_factor_asker(two_factor_code, sink, yes=yes)
            outcome = run_rollback(rctx, plan, options, sink)
        finally:
            close_sink(sink)
    finally:
        rctx.client.close()
    render_rollback(outcome, as_json=as_json)
    if outcome.result.exit_code:
        raise typer.Exit(outcome.result.exit_code)


def rollback_summary(outcome: RollbackOutcome) -> dict[str, Any]:
    result, plan = outcome.result, outcome.plan
    return {
        "action": "rollback",
        "environment": plan.env,
        "app": plan.app,
        "commit": plan.commit,
        "outcome": result.outcome,
        "exit_code": result.exit_code,
        "failed_step": result.failed_step,
        "error": result.error,
        "hint": result.hint,
        "ledger_id": outcome.ledger_id,
        "report": str(outcome.report) if outcome.report else None,
        "from_version": plan.current.version,
        "to_version": plan.target.version,
        "chosen_by": plan.chosen_by,
        "release_version": _new_version(outcome),
        "undo_command": outcome.undo_command,
        "migrations_not_rolled_back": plan.migrations,
        "warning": plan.migration_warning(),
        "after_promote": plan.after_promote,
        "steps": [s.model_dump(mode="json") for s in result.steps],
    }


def _new_version(outcome: RollbackOutcome) -> int | None:
    step = outcome.result.step("rollback")
    version = step.data.get("release_version") if step else None
    return int(version) if version is not None else None


def render_rollback(outcome: RollbackOutcome, *, as_json: bool) -> None:
    """The rollback's outcome: summary, the migrations warning, the undo command."""
    from keycliq_ops.cli.common import err, out
    from keycliq_ops.cli.release_common import render_outcome

    plan = outcome.plan
    facts = {
        "ledger": outcome.ledger_id or "-",
        "report": str(outcome.report or "-"),
        "rolled back": f"v{plan.current.version} -> v{plan.target.version} "
        f"({(plan.commit or 'unknown')[:8]})",
    }
    version = _new_version(outcome)
    if version is not None:
        facts["release"] = f"v{version}"
    render_outcome(outcome.result, facts, as_json, rollback_summary(outcome))
    if as_json:
        return
    err().print(f"[yellow]warning[/]: {plan.migration_warning()}")
    if outcome.undo_command:
        out().print(f"to undo this rollback: {outcome.undo_command}")
