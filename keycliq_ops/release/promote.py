"""``keycliq promote``: staging's release to production, behind the ledger's gate.

``prepare_promote`` reads (never changes) what the promotion needs: what staging runs (the
commit of its current release's build, as ``keycliq status`` finds it), what production
runs, the pipeline and its production-stage apps (the official CLI's rule: every app of
the next stage is a target), and the ledger's verdict on staging's commit.
``run_promote`` then runs the steps under the environment lock with ledger records (see
``deploy.run_release_pipeline``): gate, promotion, production release (release phase
streamed), migrations, the production checklist and Dataclips. When the checks fail, the
outcome carries the exact rollback command, and with ``auto_rollback`` the rollback is run
at once as a second recorded run.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from keycliq_ops.base.errors import GateFailed, HerokuError, UsageError
from keycliq_ops.release.deploy import find_resumable, run_release_pipeline, write_report
from keycliq_ops.release.deploy_steps import MigrationsStep
from keycliq_ops.release.gate_steps import ChecklistStep, DataclipGateStep, check_runnable
from keycliq_ops.release.promote_steps import (
    PromotedReleaseStep,
    PromotionGateStep,
    PromotionStep,
    TwoFactorAsk,
)
from keycliq_ops.release.session import ReleaseContext
from keycliq_ops.release.stepper import Pipeline, PipelineResult, Sink

if TYPE_CHECKING:
    from keycliq_ops.adapters.git import Repo
    from keycliq_ops.config import LoadedConfig
    from keycliq_ops.ledger import Ledger, StoredRecord
    from keycliq_ops.ops.status import ReleaseInfo
    from keycliq_ops.release.rollback import RollbackOutcome

# Failing here means the new code runs in production: the way back is a rollback.
CHECK_STEPS = frozenset({"migrations", "checklist", "dataclips"})
FAILING_DATACLIPS = frozenset({"fail", "error"})  # as the Dataclip gate step judges
Ahead = Literal["ok", "same", "production-ahead", "diverged", "unknown"]


def _short(sha: str | None) -> str:
    return (sha or "?")[:8]


@dataclass(frozen=True)
class Target:
    app: str
    app_id: str


@dataclass(frozen=True)
class GateFinding:
    """The ledger's verdict on the commit staging runs."""

    ok: bool
    reason: str
    hint: str = ""
    record_id: str | None = None

    def describe(self) -> str:
        return self.reason if self.ok else f"refused: {self.reason}"


def judge_staging_record(ledger: Ledger, env: str, commit: str) -> GateFinding:
    """The newest completed ``deploy`` of ``commit`` to ``env`` must have succeeded with
    its checklist and its Dataclip gate passed."""
    for record in ledger.iter(reverse=True):
        if record.action != "deploy" or record.environment != env or record.ref is None:
            continue
        if not record.commit or not (
            record.commit.startswith(commit) or commit.startswith(record.commit)
        ):
            continue
        return _judge(record, env)
    return GateFinding(
        False,
        f"the ledger has no deploy of {_short(commit)} to {env}",
        hint=f"deploy it with `keycliq deploy {env}` (its checklist and Dataclips must pass)",
    )


def _judge(record: StoredRecord, env: str) -> GateFinding:
    run = record.ref

    def refuse(reason: str) -> GateFinding:
        return GateFinding(
            False,
            reason,
            hint=f"fix it and deploy again: `keycliq deploy {env}`",
            record_id=run,
        )

    steps = {s.name: s for s in record.steps}
    if record.outcome != "succeeded":
        bad = next((s for s in record.steps if s.status in ("failed", "aborted")), None)
        where = f" at {bad.name}" if bad else ""
        return refuse(f"its last deploy to {env} (ledger {run}) {record.outcome}{where}")
    checklist = steps.get("checklist")
    if checklist is None or checklist.status not in ("succeeded", "done-before"):
        status = checklist.detail or checklist.status if checklist else "not run"
        return refuse(f"its deploy (ledger {run}) did not pass the checklist ({status})")
    verdict = (record.checklist or {}).get("verdict")
    if verdict != "passed":
        return refuse(f"its deploy (ledger {run}) has checklist verdict {verdict or 'none'}")
    gate = steps.get("dataclips")
    verdicts = {d.id: d.verdict for d in record.dataclips}
    bad_clips = sorted(k for k, v in verdicts.items() if v in FAILING_DATACLIPS)
    if gate is None or gate.status != "succeeded" or not verdicts or bad_clips:
        what = ", ".join(bad_clips) if bad_clips else (gate.status if gate else "not run")
        return refuse(f"its deploy (ledger {run}) did not pass the Dataclip gate ({what})")
    name = (record.checklist or {}).get("checklist", "checklist")
    return GateFinding(
        True,
        f"deploy {run} succeeded: checklist {name} passed, Dataclips "
        f"{' '.join(sorted(verdicts))} passed",
        record_id=run,
    )


@dataclass
class PromotionPlan:
    """What a promotion will do, learnt without changing anything."""

    source_env: str
    source_app: str
    source_app_id: str
    target_env: str
    targets: list[Target]
    pipeline_id: str
    pipeline_name: str
    source_release: ReleaseInfo
    commit: str
    production_release: ReleaseInfo | None
    production_commit: str | None
    ahead: Ahead
    ahead_detail: str
    finding: GateFinding
    override: str | None = None
    notes: list[str] = field(default_factory=list)
    promotion_id: str | None = None

    @property
    def override_used(self) -> bool:
        return self.override is not None and not self.finding.ok

    def check_not_ahead(self) -> None:
        """GateFailed unless staging is ahead of production (or production's is unknown)."""
        prod, src = _short(self.production_commit), _short(self.commit)
        if self.ahead == "same":
            raise GateFailed(
                f"{self.targets_text()} already runs {src}, as {self.source_env} does: "
                "nothing to promote",
                hint="`keycliq status` shows what each environment runs",
            )
        if self.ahead == "production-ahead":
            raise GateFailed(
                f"production ({prod}) is ahead of {self.source_env} ({src}): promoting "
                f"would take {self.ahead_detail} out of production",
                hint=f"deploy a commit that contains {prod} to {self.source_env} first "
                f"(`keycliq deploy {self.source_env}`), then promote; `keycliq status` "
                "compares them",
            )
        if self.ahead == "diverged":
            raise GateFailed(
                f"production ({prod}) and {self.source_env} ({src}) have diverged: "
                f"{self.ahead_detail}",
                hint=f"merge production's commits into the branch, deploy it to "
                f"{self.source_env}, then promote",
            )
        if self.ahead == "unknown":
            raise GateFailed(
                f"cannot tell whether production is ahead of {self.source_env}: "
                f"{self.ahead_detail}",
                hint="`git fetch` the shared remote, then promote again",
            )

    def targets_text(self) -> str:
        return ", ".join(t.app for t in self.targets)

    def rollback_command(self) -> str | None:
        """The exact command that returns production to what ran before the promotion."""
        if self.production_release is None:
            return None
        return f"keycliq rollback {self.target_env} --to v{self.production_release.version}"


@dataclass
class PromoteOptions:
    override: str | None = None
    auto_rollback: bool = False
    resume: bool = False
    skip: dict[str, str] = field(default_factory=dict)
    two_factor: TwoFactorAsk | None = None


@dataclass
class PromoteOutcome:
    result: PipelineResult
    ledger_id: str | None
    report: Path | None
    plan: PromotionPlan
    rollback_command: str | None = None
    rollback: RollbackOutcome | None = None
    resumed_from: str | None = None

    @property
    def exit_code(self) -> int:
        return self.result.exit_code


def default_env(loaded: LoadedConfig, stage: str, flag: str) -> str:
    """The one environment of keycliq.yaml at ``stage``."""
    found = [name for name, _ in loaded.config.env_by_stage(stage)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise UsageError(
            f"no environment with stage {stage} in {loaded.path}",
            hint=f"add one (stage: {stage}) or name it with {flag}",
        )
    raise UsageError(
        f"several {stage} environments ({', '.join(found)})", hint=f"name one with {flag}"
    )


def prepare_promote(
    ctx: ReleaseContext, *, source_env: str | None = None, override: str | None = None
) -> PromotionPlan:
    """Learn what the promotion of ``source_env`` to ``ctx.env_name`` would do (read-only).

    Sets ``ctx.commit`` to the commit the source runs (the ledger records that, not the
    local checkout's) and ``ctx.heroku_email``.
    """
    from keycliq_ops.ops.status import collect_status

    source_env = source_env or default_env(ctx.loaded, "staging", "--from")
    if source_env == ctx.env_name:
        raise UsageError(f"cannot promote {source_env} to itself", hint="see --from")
    source = ctx.loaded.env(source_env)
    if override is not None and not override.strip():
        raise UsageError('--override needs a reason, e.g. --override "hotfix for INC-42"')
    client = ctx.client
    with ThreadPoolExecutor(max_workers=4) as pool:
        status_f = pool.submit(collect_status, ctx.loaded, client, ctx.repo)
        account_f = pool.submit(client.account)
        coupling_f = pool.submit(client.app_pipeline_coupling, source.app)
        # Read now so that the app's secrets are known to the ledger's scrubber before any
        # output (a release phase's) can be recorded.
        vars_f = pool.submit(ctx.config_vars)
        report, account, coupling = status_f.result(), account_f.result(), coupling_f.result()
        vars_f.result()
        couplings_f = pool.submit(client.pipeline_couplings, coupling.pipeline.id)
        pipeline_f = pool.submit(client.pipeline, coupling.pipeline.id)
        couplings, pipeline = couplings_f.result(), pipeline_f.result()
        stage = ctx.env.stage
        coupled = [c for c in couplings if c.stage == stage]
        apps = list(pool.map(lambda c: client.app(c.app.id), coupled))
    ctx.heroku_email = account.email
    envs = {e.name: e for e in report.environments}
    for name in (source_env, ctx.env_name):
        if envs[name].error:
            raise HerokuError(f"cannot read {name}: {envs[name].error}", hint=envs[name].hint)
    src, prod = envs[source_env], envs[ctx.env_name]
    if src.release is None:
        raise GateFailed(f"{source.app} has no current release to promote")
    if src.commit is None:
        raise GateFailed(
            f"cannot tell which commit {source.app} v{src.release.version} runs "
            "(no build of its slug, no commit in its description)",
            hint="`keycliq status` shows what each environment runs",
        )
    targets = [Target(app=a.name, app_id=a.id) for a in apps]
    if ctx.app not in {t.app for t in targets}:
        raise GateFailed(
            f"{ctx.app} is not coupled at stage {stage} of pipeline {pipeline.name}",
            hint="check `stage:` in keycliq.yaml and the app's pipeline coupling",
        )
    ctx.commit = src.commit.sha
    ctx.app_id = next(t.app_id for t in targets if t.app == ctx.app)
    notes: list[str] = []
    if coupling.stage != source.stage:
        notes.append(f"{source.app} is coupled at stage {coupling.stage}, not {source.stage}")
    prod_sha = prod.commit.sha if prod.commit else None
    ahead, ahead_detail = compare_commits(ctx.repo, prod_sha, ctx.commit, source_env)
    if prod_sha is None:
        notes.append(
            f"the commit {ctx.app} runs is unknown: could not check that production is not "
            f"ahead of {source_env}"
        )
    return PromotionPlan(
        source_env=source_env,
        source_app=source.app,
        source_app_id=coupling.app.id,
        target_env=ctx.env_name,
        targets=targets,
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.name,
        source_release=src.release,
        commit=ctx.commit,
        production_release=prod.release,
        production_commit=prod_sha,
        ahead=ahead,
        ahead_detail=ahead_detail,
        finding=judge_staging_record(ctx.ledger, source_env, ctx.commit),
        override=override,
        notes=notes,
    )


def compare_commits(
    repo: Repo, prod: str | None, staging: str, source_env: str
) -> tuple[Ahead, str]:
    """May ``staging`` replace ``prod``? ``ok`` when it contains production's commit (or
    production's is unknown); else why not, with the commits production would lose."""
    if prod is None:
        return "ok", "production's commit is unknown"
    missing = [s for s in (prod, staging) if not repo.has_commit(s)]
    if missing:
        return "unknown", f"commit {_short(missing[0])} is not in this checkout"
    prod_full, staging_full = repo.resolve(prod), repo.resolve(staging)
    assert prod_full is not None and staging_full is not None
    if prod_full == staging_full:
        return "same", ""
    extra = repo.commits_between(staging_full, prod_full)  # in production, not in staging
    if not extra:
        return "ok", ""
    listed = ", ".join(f"{c.sha[:8]} {c.subject}" for c in extra[:3])
    listed += " …" if len(extra) > 3 else ""
    if repo.is_ancestor(staging_full, prod_full):
        return "production-ahead", f"{len(extra)} commit(s): {listed}"
    return "diverged", f"production has {len(extra)} commit(s) {source_env} has not: {listed}"


def promote_steps(plan: PromotionPlan, options: PromoteOptions) -> list[Any]:
    return [
        PromotionGateStep(plan),
        PromotionStep(plan, ask_two_factor=options.two_factor),
        PromotedReleaseStep(plan),
        MigrationsStep(),
        ChecklistStep(),
        DataclipGateStep(),
    ]


def run_promote(
    ctx: ReleaseContext, plan: PromotionPlan, options: PromoteOptions, sink: Sink
) -> PromoteOutcome:
    check_runnable(ctx, options.skip)
    resume_record = find_resumable(ctx, "promote") if options.resume else None
    ctx.resume = resume_record is not None
    pipeline: Pipeline[ReleaseContext] = Pipeline(promote_steps(plan, options), sink)
    extra: dict[str, Any] = {
        "details": {
            "promotion": {
                "source": plan.source_env,
                "source_app": plan.source_app,
                "source_release": plan.source_release.version,
                "targets": [t.app for t in plan.targets],
                "production_release_before": (
                    plan.production_release.version if plan.production_release else None
                ),
                "staging_record": plan.finding.record_id,
            }
        }
    }
    if plan.override_used:
        extra["override_reason"] = plan.override
    result, end = run_release_pipeline(
        ctx,
        pipeline,
        action="promote",
        skip=options.skip,
        resume_record=resume_record,
        extra_fields=extra,
    )
    report = write_report(ctx, end)
    ledger_id = end.ref or end.id
    outcome = PromoteOutcome(
        result=result,
        ledger_id=ledger_id,
        report=report,
        plan=plan,
        resumed_from=resume_record.id if resume_record else None,
    )
    if result.outcome == "failed" and result.failed_step in CHECK_STEPS:
        outcome.rollback_command = plan.rollback_command()
        if options.auto_rollback and plan.production_release is not None:
            outcome.rollback = _auto_rollback(ctx, plan, options, sink, ledger_id)
    return outcome


def _auto_rollback(
    ctx: ReleaseContext,
    plan: PromotionPlan,
    options: PromoteOptions,
    sink: Sink,
    promote_id: str,
) -> RollbackOutcome:
    """Roll production back to the release that ran before the promotion: its own run."""
    from keycliq_ops.release.rollback import (
        RollbackOptions,
        prepare_rollback,
        rollback_steps,
        run_rollback,
    )

    assert plan.production_release is not None
    rctx = dataclasses.replace(
        ctx,
        release=None,
        build=None,
        checklist_result=None,
        previous_checklist=None,
        dataclips=[],
        warnings=[],
        resume=False,
        _config_vars={},
    )
    rplan = prepare_rollback(rctx, to=plan.production_release.version)
    rplan.after_promote = promote_id
    names = {s.name for s in rollback_steps(rplan, RollbackOptions())}
    skip = {k: v for k, v in options.skip.items() if k in names}
    return run_rollback(
        rctx, rplan, RollbackOptions(skip=skip, two_factor=options.two_factor), sink
    )
