"""``keycliq deploy ENV``."""

from __future__ import annotations

from pathlib import Path

import typer

from keycliq_ops.cli.release_common import (
    ANSWERS_OPTION,
    DRY_RUN_OPTION,
    JSON_EVENTS_OPTION,
    PARAM_OPTION,
    REASON_OPTION,
    RESUME_OPTION,
    SKIP_OPTION,
    YES_OPTION,
)


def register(app: typer.Typer) -> None:
    app.command(
        "deploy",
        help=(
            "Deploy this checkout's commit to an environment: preflight, tests, git push, "
            "build, release (migrations in the release phase), checklist, Dataclip gate, "
            "ledger record and report.\n\n"
            "\b\nExamples:\n"
            "  keycliq deploy staging\n"
            "  keycliq deploy staging --dry-run\n"
            "  keycliq deploy staging --yes --answers keycliq-answers.yaml --json   (CI)\n"
            "  keycliq deploy staging --resume\n"
            "  keycliq deploy staging --skip tests --reason 'ran in CI already'"
        ),
    )(deploy)


def deploy(
    ctx: typer.Context,
    env: str = typer.Argument(..., help="Environment from keycliq.yaml, e.g. staging."),
    yes: bool = YES_OPTION,
    answers: Path | None = ANSWERS_OPTION,
    as_json: bool = JSON_EVENTS_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
    resume: bool = RESUME_OPTION,
    skip: list[str] = SKIP_OPTION,
    reason: str | None = REASON_OPTION,
    strict: bool = typer.Option(
        False, "--strict", help="Fail (not warn) when the commit is not on the shared remote."
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Force the git push (replaces what is deployed; only when you mean it).",
    ),
    param: list[str] = PARAM_OPTION,
) -> None:
    from keycliq_ops.cli.common import err
    from keycliq_ops.cli.progress import make_sink
    from keycliq_ops.cli.release_common import (
        bind_sink,
        build_context,
        choose_prompter,
        close_sink,
        confirm,
        plan_and_exit,
        preview,
        render_outcome,
        skips,
    )
    from keycliq_ops.release.deploy import DeployOptions, deploy_steps, run_deploy
    from keycliq_ops.release.gate_steps import check_runnable
    from keycliq_ops.release.stepper import Pipeline

    options = DeployOptions(strict=strict, force=force, resume=resume, skip=skips(skip, reason))
    rctx = build_context(ctx, env, params=param)
    try:
        rctx.prompter = choose_prompter(answers)
        header = f"deploy {rctx.branch or '(detached)'} @ {rctx.commit[:8]} to {env} ({rctx.app})"
        plan = Pipeline(deploy_steps(options), lambda e: None).plan(rctx)
        if dry_run:
            plan_and_exit(plan, as_json, header)
            return
        preview(header, plan, as_json)
        check_runnable(rctx, options.skip)  # before asking: a run that cannot finish never starts
        confirm(f"Deploy {rctx.commit[:8]} to {rctx.app}", yes)
        sink = make_sink(as_json, err())
        try:
            bind_sink(rctx.prompter, sink)
            outcome = run_deploy(rctx, options, sink)
        finally:
            close_sink(sink)
    finally:
        rctx.client.close()
    result = outcome.result
    facts = {"ledger": outcome.ledger_id or "-", "report": str(outcome.report or "-")}
    if rctx.release:
        facts["release"] = f"v{rctx.release.version}"
    render_outcome(
        result,
        facts,
        as_json,
        {
            "action": "deploy",
            "environment": env,
            "app": rctx.app,
            "commit": rctx.commit,
            "outcome": result.outcome,
            "exit_code": result.exit_code,
            "failed_step": result.failed_step,
            "error": result.error,
            "hint": result.hint,
            "ledger_id": outcome.ledger_id,
            "report": str(outcome.report) if outcome.report else None,
            "release_version": rctx.release.version if rctx.release else None,
            "warnings": rctx.warnings,
            "steps": [s.model_dump(mode="json") for s in result.steps],
        },
    )
    if result.exit_code:
        raise typer.Exit(result.exit_code)
