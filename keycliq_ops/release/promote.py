"""``keycliq promote``: staging's release to production, behind the ledger's gate.

``prepare_promote`` reads (never changes) what the promotion needs: what staging runs (the
commit of its current release's build, as ``keycliq status`` finds it), what production
runs, the pipeline and its production-stage apps (the official CLI's rule: every app of
the next stage is a target), and the ledger's verdict on staging's commit.
:func:`promote_action` is the action the lifecycle runs (``lifecycle.check`` then
``lifecycle.run_action``): gate, promotion, production release (release phase streamed),
migrations, the production checklist and Dataclips. When the checks fail, the summary
carries the exact rollback command (:func:`rollback_command`), and with ``auto_rollback``
the rollback is the action's follow-up: run at once, as a second recorded run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from keycliq_ops.base.errors import GateFailed, HerokuError, UsageError
from keycliq_ops.dataclips.verdicts import is_failing
from keycliq_ops.release.deploy_steps import MigrationsStep
from keycliq_ops.release.gate_steps import ChecklistStep, DataclipGateStep, Gates
from keycliq_ops.release.lifecycle import Action, ActionOutcome, Confirmation, last_unfinished
from keycliq_ops.release.promote_steps import (
    PromotedReleaseStep,
    PromotionGateStep,
    PromotionStep,
)
from keycliq_ops.release.session import Session

if TYPE_CHECKING:
    from keycliq_ops.adapters.git import Repo
    from keycliq_ops.config import LoadedConfig
    from keycliq_ops.ledger import Ledger, StoredRecord
    from keycliq_ops.ops.status import ReleaseInfo
    from keycliq_ops.release.promote_preview import PromotionPreview

# Failing here means the new code runs in production: the way back is a rollback.
CHECK_STEPS = frozenset({"migrations", "checklist", "dataclips"})
Ahead = Literal["ok", "same", "production-ahead", "diverged", "unknown"]


def _short(sha: str | None) -> str:
    return (sha or "?")[:8]


@dataclass(frozen=True)
class PromotionApp:
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
    its checklist and its Dataclip gate passed. A shared ledger is synced first; when its
    remote cannot be read, the finding says it was decided from the local copy."""
    import dataclasses

    finding = _judge_newest(ledger, env, commit)
    local = ledger.last_sync.decided_locally() if ledger.last_sync is not None else None
    if ledger.remote is not None and local:
        return dataclasses.replace(finding, reason=f"{finding.reason} ({local})")
    return finding


def _judge_newest(ledger: Ledger, env: str, commit: str) -> GateFinding:
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
    bad_clips = sorted(k for k, v in verdicts.items() if is_failing(v))
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
class PromotionProgress:
    """What the promotion's steps learn that the next ones and the ledger need: each
    target's release version before the POST, why the promotion's status was unreadable,
    and the commit production really runs when it is not the gated one (the record says
    so: ``record_fields`` are the run's ledger fields, written at completion)."""

    record_fields: dict[str, Any]
    before: dict[str, int | None] = field(default_factory=dict)
    status_lost: str | None = None
    promoted_commit: str | None = None

    def record_commit(self, commit: str) -> None:
        self.promoted_commit = commit
        self.record_fields["commit"] = commit


@dataclass
class PromotionPlan:
    """What a promotion will do, learnt without changing anything."""

    source_env: str
    source_app: str
    source_app_id: str
    target_env: str
    targets: list[PromotionApp]
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
    source_slug_id: str | None = None  # the gated release's slug (Cedar)
    production_slug_id: str | None = None
    auto_rollback: bool = False
    progress: PromotionProgress = field(default_factory=lambda: PromotionProgress({}))
    preview: PromotionPreview | None = None  # what production gains (before confirmation)

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

    def check_no_deploy_running(self, ledger: Ledger) -> None:
        """GateFailed while a deploy of the source environment is running per the ledger (a
        start record with no completion whose process is alive on this host, or, from
        another host, younger than the ledger's staleness): it may change what the
        source runs between the gate and the promotion."""
        from keycliq_ops.ledger import Filters

        running = ledger.latest(
            1, Filters(environment=self.source_env, action="deploy", status="running")
        )
        if not running:
            return
        start = running[0].start
        raise GateFailed(
            f"a deploy of {self.source_env} is running (ledger {start.id}, pid {start.pid} "
            f"on {start.host}, commit {_short(start.commit)}): the promotion would take "
            f"whatever {self.source_app} runs when it lands",
            hint="wait for that deploy to finish, then promote; `keycliq ledger list` shows it",
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
    source: str | None = None
    override: str | None = None
    auto_rollback: bool = False
    resume: bool = False
    skip: dict[str, str] = field(default_factory=dict)
    no_backup: str | None = None  # --no-backup REASON: the backup step is skipped, recorded


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
    session: Session, *, source_env: str | None = None, override: str | None = None
) -> PromotionPlan:
    """Learn what the promotion of ``source_env`` to ``session``'s environment would do
    (read-only). The plan's ``commit`` is the one the source runs (the ledger records that,
    not the local checkout's)."""
    from keycliq_ops.ops.status import collect_status

    source_env = source_env or default_env(session.loaded, "staging", "--from")
    if source_env == session.env_name:
        raise UsageError(f"cannot promote {source_env} to itself", hint="see --from")
    source = session.loaded.env(source_env)
    if override is not None and not override.strip():
        raise UsageError('--override needs a reason, e.g. --override "hotfix for INC-42"')
    client, repo = session.client, session.checkout()
    with ThreadPoolExecutor(max_workers=4) as pool:
        status_f = pool.submit(collect_status, session.loaded, client, repo)
        account_f = pool.submit(session.account)
        coupling_f = pool.submit(client.app_pipeline_coupling, source.app)
        # Read now (both apps: a checklist answer may quote either) so that their secrets
        # are known to the ledger's scrubber before any output can be recorded.
        vars_f = pool.submit(session.prefetch_config_vars)
        report, coupling = status_f.result(), coupling_f.result()
        account_f.result()
        vars_f.result()
        couplings_f = pool.submit(client.pipeline_couplings, coupling.pipeline.id)
        pipeline_f = pool.submit(client.pipeline, coupling.pipeline.id)
        couplings, pipeline = couplings_f.result(), pipeline_f.result()
        stage = session.env.stage
        coupled = [c for c in couplings if c.stage == stage]
        apps = list(pool.map(lambda c: client.app(c.app.id), coupled))
    envs = {e.name: e for e in report.environments}
    for name in (source_env, session.env_name):
        if envs[name].error:
            raise HerokuError(f"cannot read {name}: {envs[name].error}", hint=envs[name].hint)
    src, prod = envs[source_env], envs[session.env_name]
    if src.release is None:
        raise GateFailed(f"{source.app} has no current release to promote")
    if src.commit is None:
        raise GateFailed(
            f"cannot tell which commit {source.app} v{src.release.version} runs "
            "(no build of its slug, no commit in its description)",
            hint="`keycliq status` shows what each environment runs",
        )
    with ThreadPoolExecutor(max_workers=2) as pool:
        src_rel_f = pool.submit(client.release, source.app, src.release.id)
        prod_rel_f = (
            pool.submit(client.release, session.app, prod.release.id) if prod.release else None
        )
        src_rel = src_rel_f.result()
        prod_rel = prod_rel_f.result() if prod_rel_f is not None else None
    targets = [PromotionApp(app=a.name, app_id=a.id) for a in apps]
    if session.app not in {t.app for t in targets}:
        raise GateFailed(
            f"{session.app} is not coupled at stage {stage} of pipeline {pipeline.name}",
            hint="check `stage:` in keycliq.yaml and the app's pipeline coupling",
        )
    commit = src.commit.sha
    notes: list[str] = []
    if coupling.stage != source.stage:
        notes.append(f"{source.app} is coupled at stage {coupling.stage}, not {source.stage}")
    prod_sha = prod.commit.sha if prod.commit else None
    ahead, ahead_detail = compare_commits(repo, prod_sha, commit, source_env)
    if prod_sha is None:
        notes.append(
            f"the commit {session.app} runs is unknown: could not check that production is "
            f"not ahead of {source_env}"
        )
    return PromotionPlan(
        source_env=source_env,
        source_app=source.app,
        source_app_id=coupling.app.id,
        target_env=session.env_name,
        targets=targets,
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.name,
        source_release=src.release,
        commit=commit,
        production_release=prod.release,
        production_commit=prod_sha,
        ahead=ahead,
        ahead_detail=ahead_detail,
        finding=judge_staging_record(session.ledger, source_env, commit),
        override=override,
        notes=notes,
        source_slug_id=src_rel.code_id,
        production_slug_id=prod_rel.code_id if prod_rel is not None else None,
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


def promote_action(session: Session, options: PromoteOptions) -> Action[PromotionPlan]:
    """Promote what the source environment runs to ``session``'s (read-only until run)."""
    plan = prepare_promote(session, source_env=options.source, override=options.override)
    plan.auto_rollback = options.auto_rollback
    session = session.for_commit(plan.commit)
    plan.preview = _preview(session, plan)
    gates = Gates(session, options.skip)
    unfinished = last_unfinished(session.ledger, "promote", session.env_name, commit=plan.commit)
    resume = unfinished if options.resume else None
    if resume is None and unfinished is not None and _promoted_by(plan, unfinished):
        # A re-run after a run that promoted and did not finish its checks (it died, or
        # lost the promotion's status): continue it; never promote a second time.
        resume = unfinished
        plan.notes.append(
            f"production already runs {_short(plan.commit)} ({plan.source_env}'s slug), "
            f"promoted by ledger run {unfinished.ref or unfinished.id}, whose checks did not "
            "pass: continuing that run (nothing is promoted again)"
        )
    if resume is not None:
        started = _before_of(session.ledger, resume)
        if started is not None:
            plan.progress.before = {session.app: started}
    before = plan.production_release
    now = f"v{before.version} @ {_short(plan.production_commit)}" if before else "no release"

    def extras(outcome: ActionOutcome[PromotionPlan]) -> dict[str, Any]:
        then = outcome.follow_up
        return {
            "promotion_id": outcome.facts.promotion_id,
            "promoted_commit": plan.progress.promoted_commit,
            "rollback_command": rollback_command(outcome),
            "rollback": then.summary() if then is not None else None,
        }

    def follow_up(outcome: ActionOutcome[PromotionPlan]) -> Action[Any] | None:
        if not (options.auto_rollback and before is not None and rollback_command(outcome)):
            return None
        from keycliq_ops.release.rollback import ROLLBACK_STEPS, RollbackOptions, rollback_action

        skip = {k: v for k, v in options.skip.items() if k in ROLLBACK_STEPS}
        return rollback_action(
            session.fresh(),
            RollbackOptions(to=str(before.version), skip=skip),
            after_promote=outcome.ledger_id,
        )

    fields: dict[str, Any] = {"override_reason": plan.override} if plan.override_used else {}
    plan.progress.record_fields = fields
    from keycliq_ops.release.backup_steps import with_backup

    action = Action(
        name="promote",
        session=session,
        prepared=plan,
        header=f"promote {plan.source_app} v{plan.source_release.version} @ "
        f"{_short(plan.commit)} to {plan.targets_text()} (now {now})",
        steps=[
            PromotionGateStep(plan),
            PromotionStep(plan),
            PromotedReleaseStep(plan),
            MigrationsStep(),
            ChecklistStep(gates),
            DataclipGateStep(gates),
        ],
        confirmation=Confirmation(
            f"Promote {_short(plan.commit)} to {plan.targets_text()}", app=session.app
        ),
        gates=gates,
        skip=options.skip,
        resume_record=resume,
        ledger_fields=fields,
        ledger_details={
            "promotion": {
                "source": plan.source_env,
                "source_app": plan.source_app,
                "source_release": plan.source_release.version,
                "targets": [t.app for t in plan.targets],
                "production_release_before": before.version if before else None,
                "staging_record": plan.finding.record_id,
            },
            "promotion_preview": plan.preview.as_data(),
        },
        about={
            "source": plan.source_env,
            "override_reason": fields.get("override_reason"),
            "preview": plan.preview.as_data(),
        },
        extras=extras,
        follow_up=follow_up,
    )
    return with_backup(action, before="promote", no_backup=options.no_backup)


def _preview(session: Session, plan: PromotionPlan) -> PromotionPreview:
    """What production gains from the promotion (see ``promote_preview``)."""
    from keycliq_ops.release.promote_preview import preview_promotion

    return preview_promotion(
        session.checkout(),
        source_env=plan.source_env,
        commit=plan.commit,
        production_commit=plan.production_commit,
        ledger=session.ledger,
        staging_release_at=plan.source_release.created_at,
        database_url=session.database_url,
    )


def rollback_command(outcome: ActionOutcome[PromotionPlan]) -> str | None:
    """When production runs what it must not (the checks after the promotion failed, or it
    runs code that did not pass the gate): the command that returns it to what ran before."""
    result = outcome.result
    if result.outcome != "failed":
        return None
    if result.failed_step in CHECK_STEPS:
        return outcome.prepared.rollback_command()
    release = result.step("release")
    if result.failed_step == "release" and release and release.data.get("rollback_needed"):
        return outcome.prepared.rollback_command()
    return None


def _promoted_by(plan: PromotionPlan, record: StoredRecord) -> bool:
    """Did the unfinished run of ``record`` promote what production now runs? Production
    carries the source's gated slug (or, with no slug to compare, its commit)."""
    if plan.ahead != "same":
        return False
    if plan.source_slug_id is not None:
        return plan.production_slug_id == plan.source_slug_id
    return True


def _before_of(ledger: Ledger, record: StoredRecord) -> int | None:
    """Production's release version before the run of ``record`` promoted (its start's
    details)."""
    start = ledger.find(record.ref) if record.ref else record
    details = (start or record).details.get("promotion")
    value = details.get("production_release_before") if isinstance(details, dict) else None
    return value if isinstance(value, int) else None
