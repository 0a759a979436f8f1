"""``keycliq deploy ENV``: the staging runbook as one gated, resumable action.

:func:`deploy_action` is the action (its steps, nothing changed yet); the lifecycle
(``lifecycle.check`` then ``lifecycle.run_action``) runs it under the environment lock with
ledger records and writes the Markdown report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keycliq_ops.release.deploy_steps import (
    BuildStep,
    MigrationsStep,
    PreflightStep,
    PushStep,
    ReleaseStep,
    TestsStep,
)
from keycliq_ops.release.gate_steps import ChecklistStep, DataclipGateStep, Gates
from keycliq_ops.release.lifecycle import Action, Confirmation, last_unfinished
from keycliq_ops.release.session import Session


def _nothing_to_resume(session: Session) -> None:
    """``--resume`` with no unfinished deploy of the commit: a usage error (exit 2) that says
    what the last deploy of the environment was, rather than silently running it all."""
    from keycliq_ops.base.errors import UsageError

    commit, env = session.commit[:8], session.env_name
    last = next(
        (
            r
            for r in session.ledger.iter(reverse=True)
            if r.action == "deploy" and r.environment == env and r.outcome != "running"
        ),
        None,
    )
    if last is not None and last.commit == session.commit:
        why = f"the last deploy of {commit} to {env} succeeded ({last.ref or last.id})"
    elif last is not None:
        why = f"the last deploy to {env} was of {(last.commit or '?')[:8]}, not {commit}"
    else:
        why = f"the ledger has no deploy of {commit} to {env}"
    raise UsageError(
        f"--resume: nothing to resume: {why}",
        hint=f"run `keycliq deploy {env}` without --resume to deploy it (again)",
    )


@dataclass
class DeployOptions:
    strict: bool = False
    force: bool = False
    resume: bool = False
    skip: dict[str, str] = field(default_factory=dict)
    accept_migration_risk: str | None = None  # the reason, recorded
    no_backup: str | None = None  # --no-backup REASON: the backup step is skipped, recorded


def deploy_action(session: Session, options: DeployOptions) -> Action[DeployOptions]:
    """Deploy the checkout's commit to ``session``'s environment (read-only until run)."""
    gates = Gates(session, options.skip)
    resume = (
        last_unfinished(session.ledger, "deploy", session.env_name, commit=session.commit)
        if options.resume
        else None
    )
    if options.resume and resume is None:
        _nothing_to_resume(session)
    if options.accept_migration_risk is not None and not options.accept_migration_risk.strip():
        from keycliq_ops.base.errors import UsageError

        raise UsageError(
            '--accept-migration-risk needs a reason, e.g. --accept-migration-risk "column '
            'unused since v40"'
        )
    from keycliq_ops.release.backup_steps import with_backup

    action = Action(
        name="deploy",
        session=session,
        prepared=options,
        header=f"deploy {session.branch or '(detached)'} @ {session.commit[:8]} to "
        f"{session.env_name} ({session.app})",
        steps=[
            PreflightStep(
                strict=options.strict,
                accept_migration_risk=options.accept_migration_risk,
                skipped=tuple(options.skip),
                gates=gates,
            ),
            TestsStep(),
            PushStep(force=options.force),
            BuildStep(),
            ReleaseStep(),
            MigrationsStep(),
            ChecklistStep(gates),
            DataclipGateStep(gates),
        ],
        confirmation=Confirmation(f"Deploy {session.commit[:8]} to {session.app}"),
        gates=gates,
        skip=options.skip,
        resume_record=resume,
        probe=session.reach_heroku,  # an unreachable Heroku: exit 3 before anything else
        ledger_details=(
            {"accept_migration_risk": options.accept_migration_risk}
            if options.accept_migration_risk is not None
            else {}
        ),
    )
    return with_backup(action, before="push", no_backup=options.no_backup)
