"""``keycliq deploy ENV``: the staging runbook as one gated, resumable pipeline.

``prepare_deploy`` builds the context and the plan (nothing changes); ``run_deploy`` takes
the environment lock, writes the ledger's start record, runs the steps, writes the
completion record and the Markdown deploy report beside the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keycliq_ops.release.deploy_steps import (
    BuildStep,
    MigrationsStep,
    PreflightStep,
    PushStep,
    ReleaseStep,
    TestsStep,
)
from keycliq_ops.release.gate_steps import ChecklistStep, DataclipGateStep, check_runnable
from keycliq_ops.release.session import ReleaseContext
from keycliq_ops.release.stepper import Pipeline, PipelineResult, Sink, StepRecord

if TYPE_CHECKING:
    from keycliq_ops.ledger import StoredRecord


@dataclass
class DeployOptions:
    strict: bool = False
    force: bool = False
    resume: bool = False
    skip: dict[str, str] = field(default_factory=dict)


@dataclass
class DeployOutcome:
    result: PipelineResult
    ledger_id: str | None
    report: Path | None
    resumed_from: str | None = None


def deploy_steps(options: DeployOptions) -> list[Any]:
    return [
        PreflightStep(strict=options.strict),
        TestsStep(),
        PushStep(force=options.force),
        BuildStep(),
        ReleaseStep(),
        MigrationsStep(),
        ChecklistStep(),
        DataclipGateStep(),
    ]


def find_resumable(ctx: ReleaseContext, action: str = "deploy") -> StoredRecord | None:
    """The last run of ``action`` on this environment and commit that did not succeed:
    its completion record (failed/aborted), or its start record when it never completed."""
    completed: set[str] = set()
    for record in ctx.ledger.iter(reverse=True):
        if record.action != action or record.environment != ctx.env_name:
            continue
        if record.outcome == "running":
            if record.id in completed:
                continue
            return record if record.commit == ctx.commit else None
        if record.ref:
            completed.add(record.ref)
        if record.commit != ctx.commit:
            return None
        return record if record.outcome in ("failed", "aborted") else None
    return None


def previous_steps(record: StoredRecord | None) -> dict[str, StepRecord]:
    if record is None:
        return {}
    out: dict[str, StepRecord] = {}
    for step in record.steps:
        out[step.name] = StepRecord.model_validate(
            {
                **step.model_dump(mode="json"),
                "started_at": step.started,
                "title": step.title or step.name,
                "detail": step.detail or "",
                "duration_ms": step.duration_ms or 0,
            }
        )
    return out


def run_release_pipeline(
    ctx: ReleaseContext,
    pipeline: Pipeline[ReleaseContext],
    *,
    action: str,
    skip: dict[str, str],
    resume_record: StoredRecord | None,
    extra_fields: dict[str, Any] | None = None,
) -> tuple[PipelineResult, StoredRecord]:
    """Lock, record the start, run, record the end. Shared by deploy/promote/rollback."""
    from keycliq_ops.ledger import detect_actor
    from keycliq_ops.release.locking import environment_lock

    extra_fields = dict(extra_fields or {})
    extra_details: dict[str, Any] = extra_fields.pop("details", None) or {}
    with environment_lock(ctx.root, ctx.env_name, action):
        start = ctx.ledger.begin(
            action,
            ctx.env_name,
            app=ctx.app,
            commit=ctx.commit,
            branch=ctx.branch,
            actor=detect_actor(ctx.repo.root),
            details={**extra_details, **({"resumes": resume_record.id} if resume_record else {})},
            **extra_fields,
        )
        if resume_record is not None and resume_record.checklist:
            from keycliq_ops.checklists import ChecklistResult

            try:
                ctx.previous_checklist = ChecklistResult.model_validate(resume_record.checklist)
            except ValueError:
                ctx.previous_checklist = None
        result: PipelineResult | None = None
        try:
            result = pipeline.run(ctx, skip=skip, previous=previous_steps(resume_record))
        finally:
            # Even on an unexpected error, never leave only a `running` record behind.
            outcome = result.outcome if result else "failed"
            exit_code = result.exit_code if result else 70
            steps = [s.model_dump(mode="json") for s in result.steps] if result else []
            end = ctx.ledger.complete(
                start,
                outcome,
                exit_code,
                actor=detect_actor(ctx.repo.root, ctx.heroku_email),
                steps=steps,
                build_id=ctx.build.id if ctx.build else None,
                release_id=ctx.release.id if ctx.release else None,
                release_version=ctx.release.version if ctx.release else None,
                checklist=(
                    ctx.checklist_result.model_dump(mode="json") if ctx.checklist_result else None
                ),
                dataclips=ctx.dataclips,
                error=result.error if result else "internal error",
                details={
                    **extra_details,
                    "warnings": ctx.warnings,
                    **({"resumes": resume_record.id} if resume_record else {}),
                },
                **extra_fields,
            )
    assert result is not None
    return result, end


def write_report(ctx: ReleaseContext, record: StoredRecord) -> Path:
    """The Markdown deploy report, named by ledger id and commit, in the reports folder."""
    from keycliq_ops.base.fsutil import atomic_write
    from keycliq_ops.ledger.reports import render_markdown

    run = ctx.ledger.run(record.ref or record.id)
    path = ctx.loaded.reports_dir / f"{run.start.id}-{(ctx.commit or 'unknown')[:8]}.md"
    atomic_write(path, render_markdown(run, ctx.ledger.verify()))
    return path


def run_deploy(ctx: ReleaseContext, options: DeployOptions, sink: Sink) -> DeployOutcome:
    check_runnable(ctx, options.skip)  # a gate that cannot run must stop us before the push
    resume_record = find_resumable(ctx) if options.resume else None
    ctx.resume = resume_record is not None
    pipeline: Pipeline[ReleaseContext] = Pipeline(deploy_steps(options), sink)
    result, end = run_release_pipeline(
        ctx,
        pipeline,
        action="deploy",
        skip=options.skip,
        resume_record=resume_record,
    )
    report = write_report(ctx, end)
    return DeployOutcome(
        result=result,
        ledger_id=end.ref or end.id,
        report=report,
        resumed_from=resume_record.id if resume_record else None,
    )
