"""The steps of ``keycliq rollback``: create the rollback release, follow it.

The checks afterwards are the environment's (``ChecklistStep``, ``DataclipGateStep``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from keycliq_ops.base.errors import GateFailed
from keycliq_ops.release.promote_steps import (
    TwoFactorAsk,
    follow_with_migrations,
    with_two_factor,
)
from keycliq_ops.release.session import ReleaseContext
from keycliq_ops.release.stepper import StepIO, StepOutcome, StepRecord

if TYPE_CHECKING:
    from keycliq_ops.release.rollback import RollbackPlan


@dataclass
class RollbackStep:
    """``POST /apps/{app}/releases`` with the target release: a new release that runs the
    target's slug with the target's config vars."""

    plan_: RollbackPlan
    ask_two_factor: TwoFactorAsk | None = None
    name: str = "rollback"
    title: str = "Rollback"
    skippable: bool = False

    def plan(self, ctx: ReleaseContext) -> str:
        p = self.plan_
        return (
            f"POST /apps/{p.app}/releases {{release: v{p.target.version}}}: a new release "
            f"running v{p.target.version}'s code and config (now v{p.current.version})"
        )

    def already_done(self, ctx: ReleaseContext, previous: StepRecord | None) -> StepOutcome | None:
        if not (ctx.resume and previous and previous.status in ("succeeded", "done-before")):
            return None
        release_id = previous.data.get("release_id")
        if not release_id:
            return None
        release = ctx.client.release(ctx.app, str(release_id))
        if release.status == "failed":
            return None  # roll back again
        ctx.release = release
        return StepOutcome(
            detail=f"v{release.version} was created by the run being resumed", data=previous.data
        )

    def run(self, ctx: ReleaseContext, io: StepIO) -> StepOutcome:
        p = self.plan_
        release = with_two_factor(
            ctx.client,
            self.ask_two_factor,
            lambda: ctx.client.rollback(ctx.app, p.target.id),
            what=f"rolling {ctx.app} back to v{p.target.version}",
        )
        ctx.release = release
        io.note(f"release v{release.version} {release.status}")
        return StepOutcome(
            detail=f"v{release.version} runs v{p.target.version} again (was v{p.current.version})",
            data={
                "from_version": p.current.version,
                "to_version": p.target.version,
                "release_id": release.id,
                "release_version": release.version,
            },
        )


@dataclass
class RollbackReleaseStep:
    """The rollback release followed to its final status (a release phase is streamed)."""

    name: str = "release"
    title: str = "Release"
    skippable: bool = False

    def plan(self, ctx: ReleaseContext) -> str:
        return "follow the rollback release to succeeded"

    def already_done(self, ctx: ReleaseContext, previous: StepRecord | None) -> StepOutcome | None:
        if ctx.resume and ctx.release is not None and ctx.release.status == "succeeded":
            return StepOutcome(detail=f"v{ctx.release.version} had already succeeded")
        return None

    def run(self, ctx: ReleaseContext, io: StepIO) -> StepOutcome:
        if ctx.release is None:  # pragma: no cover - the rollback step always runs first
            raise GateFailed("no rollback release to follow")
        release, migrations = follow_with_migrations(ctx, ctx.app, ctx.release, io)
        ctx.release = release
        # The rollback restored the target's config vars: the checks read them afresh.
        ctx._config_vars.pop(ctx.env_name, None)
        data = {
            "release_id": release.id,
            "release_version": release.version,
            "migrations": migrations,
        }
        if release.status != "succeeded":
            raise GateFailed(
                f"the rollback release v{release.version} {release.status}",
                hint=f"the app still runs what it ran before; see `heroku releases:output "
                f"{release.version} -a {ctx.app}`",
            )
        return StepOutcome(detail=f"v{release.version} succeeded", data=data)
