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


@dataclass
class DeployOptions:
    strict: bool = False
    force: bool = False
    resume: bool = False
    skip: dict[str, str] = field(default_factory=dict)


def deploy_action(session: Session, options: DeployOptions) -> Action[DeployOptions]:
    """Deploy the checkout's commit to ``session``'s environment (read-only until run)."""
    gates = Gates(session, options.skip)
    resume = (
        last_unfinished(session.ledger, "deploy", session.env_name, commit=session.commit)
        if options.resume
        else None
    )
    return Action(
        name="deploy",
        session=session,
        prepared=options,
        header=f"deploy {session.branch or '(detached)'} @ {session.commit[:8]} to "
        f"{session.env_name} ({session.app})",
        steps=[
            PreflightStep(strict=options.strict),
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
    )
