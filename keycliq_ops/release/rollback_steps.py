"""The steps of ``keycliq rollback``: create the rollback release, follow it.

The checks afterwards are the environment's (``ChecklistStep``, ``DataclipGateStep``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from keycliq_ops.base.errors import GateFailed
from keycliq_ops.release.following import follow_with_migrations
from keycliq_ops.release.stepper import StepBase, StepOutcome, made_before, resumed_value
from keycliq_ops.release.two_factor import act

if TYPE_CHECKING:
    from keycliq_ops.release.rollback import RollbackPlan
    from keycliq_ops.release.session import Session
    from keycliq_ops.release.stepper import Facts, StepIO, StepRecord


@dataclass
class RollbackStep(StepBase):
    """``POST /apps/{app}/releases`` with the target release: a new release that runs the
    target's code (its slug on Cedar, its OCI image on Fir) with the target's config vars."""

    plan_: RollbackPlan
    name: str = "rollback"
    title: str = "Rollback"

    def plan(self, s: Session) -> str:
        target, now = self.plan_.target.version, self.plan_.current.version
        return (
            f"POST /apps/{self.plan_.app}/releases {{release: v{target}}}: a new release "
            f"running v{target}'s code and config (now v{now})"
        )

    def already_done(
        self, s: Session, facts: Facts, previous: StepRecord | None
    ) -> StepOutcome | None:
        release_id = resumed_value(facts, previous, "release_id")
        if release_id is None:
            return None
        release = s.client.release(s.app, release_id)
        if release.status == "failed":
            return None  # roll back again
        return made_before(f"v{release.version}", previous, release=release)

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        p = self.plan_
        release = act(
            s,
            lambda: s.client.rollback(s.app, p.target.id),
            what=f"rolling {s.app} back to v{p.target.version}",
        )
        io.note(f"release v{release.version} {release.status}")
        return StepOutcome(
            release=release,
            detail=f"v{release.version} runs v{p.target.version} again (was v{p.current.version})",
            data={
                "from_version": p.current.version,
                "to_version": p.target.version,
                "release_id": release.id,
                "release_version": release.version,
                # The code it runs again: the slug id (Cedar) or the image id (Fir).
                **p.target.code_record(),
            },
        )


@dataclass
class RollbackReleaseStep(StepBase):
    """The rollback release followed to its final status (a release phase is streamed)."""

    name: str = "release"
    title: str = "Release"

    def plan(self, s: Session) -> str:
        return "follow the rollback release to succeeded"

    def already_done(
        self, s: Session, facts: Facts, previous: StepRecord | None
    ) -> StepOutcome | None:
        release = facts.release
        if facts.resuming and release is not None and release.status == "succeeded":
            return StepOutcome(detail=f"v{release.version} had already succeeded")
        return None

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        if facts.release is None:  # pragma: no cover - the rollback step always runs first
            raise GateFailed("no rollback release to follow")
        release, watch = follow_with_migrations(s, s.app, facts.release, io)
        # The rollback restored the target's config vars: the checks read them afresh.
        s.forget_config_vars()
        got = StepOutcome(
            detail=f"v{release.version} succeeded",
            data={
                "release_id": release.id,
                "release_version": release.version,
                "migrations": watch.migrations,
            },
            release=release,
        )
        if release.status != "succeeded":
            got.data = {}
            got.error = GateFailed(
                f"the rollback release v{release.version} {release.status}",
                hint=f"the app still runs what it ran before; see `heroku releases:output "
                f"{release.version} -a {s.app}`",
            )
        return got
