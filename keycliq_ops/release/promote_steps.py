"""The steps of ``keycliq promote``: the gate, the promotion, the production release.

The checks after the release reuse the deploy's (``MigrationsStep``, ``ChecklistStep``,
``DataclipGateStep``); ``keycliq rollback`` shares :func:`with_two_factor` and
:func:`follow_with_migrations`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from keycliq_ops.base.errors import GateFailed, TwoFactorRequired, UsageError
from keycliq_ops.release.follow import (
    FINAL_RELEASE,
    MigrationWatch,
    follow_release,
    stream_into,
    wait_for,
)
from keycliq_ops.release.session import ReleaseContext
from keycliq_ops.release.stepper import StepIO, StepOutcome, StepRecord

if TYPE_CHECKING:
    from keycliq_ops.adapters.heroku.client import HerokuClient
    from keycliq_ops.adapters.heroku.resources import PromotionTarget, Release
    from keycliq_ops.release.promote import PromotionPlan

T = TypeVar("T")
# Asked for a two-factor code (the API's message as the question); None: none to give.
TwoFactorAsk = Callable[[str], "str | None"]
TWO_FACTOR_ATTEMPTS = 3
FINAL_TARGET = frozenset({"succeeded", "failed"})


def _short(sha: str | None) -> str:
    return (sha or "?")[:8]


def with_two_factor(
    client: HerokuClient, ask: TwoFactorAsk | None, call: Callable[[], T], *, what: str
) -> T:
    """``call()``; when Heroku answers ``two_factor``, get a code from ``ask``, set it on the
    client (sent as ``Heroku-Two-Factor-Code`` from then on) and repeat the request. The
    request was refused, so repeating it cannot do the act twice."""
    refused = 0
    while True:
        try:
            return call()
        except TwoFactorRequired as exc:
            if refused and refused >= TWO_FACTOR_ATTEMPTS:
                raise TwoFactorRequired(
                    f"{what}: Heroku refused the two-factor code {refused} times",
                    status=exc.status,
                    error_id=exc.error_id,
                    hint="check the code in your authenticator app (codes expire after "
                    "30 s) and run the same command again",
                ) from None
            code = ask(exc.message) if ask is not None else None
            if not code or not code.strip():
                if refused:
                    raise TwoFactorRequired(
                        f"{what}: Heroku refused the two-factor code",
                        status=exc.status,
                        error_id=exc.error_id,
                        hint="pass a fresh --two-factor-code, or run in a terminal to be asked",
                    ) from None
                raise UsageError(
                    f"{what}: Heroku asks for a two-factor code and there is no terminal "
                    "to ask for it",
                    hint="pass --two-factor-code CODE (from your authenticator app)",
                ) from None
            client.two_factor_code = code.strip()
            refused += 1


def follow_with_migrations(
    ctx: ReleaseContext, app: str, release: Release, io: StepIO, *, prefix: str = ""
) -> tuple[Release, list[str]]:
    """Follow ``release`` to a final status, streaming its release phase; also return the
    migrations the output says were applied (the ledger keeps them for rollbacks)."""
    watch = MigrationWatch(io, prefix)
    stream = ctx.loaded.config.migrations.strategy == "release-phase"
    if stream and release.status in FINAL_RELEASE:
        # Already over (a fast release phase): its output is still there to read, and it
        # is what says which migrations ran, or why it failed.
        stream_into(ctx.client, release.output_stream_url, watch)
        return release, watch.migrations
    final = follow_release(
        ctx.client,
        app,
        release,
        watch,
        timeout=ctx.loaded.config.timeouts.release,
        stream=stream,
        sleep=ctx.sleep,
    )
    return final, watch.migrations


class _FailedWithData(GateFailed):
    """A gate failure that also carries step data (the engine records ``data``)."""

    def __init__(self, message: str, *, hint: str | None, data: dict[str, Any]) -> None:
        super().__init__(message, hint=hint)
        self.data = data


# ------------------------------------------------------------------------------ gate


@dataclass
class PromotionGateStep:
    """Staging's commit has a clean deploy record (or an override); production is not
    ahead of staging; the configured production app is a target of the promotion."""

    plan_: PromotionPlan
    name: str = "gate"
    title: str = "Promotion gate"
    skippable: bool = False

    def plan(self, ctx: ReleaseContext) -> str:
        p = self.plan_
        return (
            f"{p.source_env} runs {_short(p.commit)} (v{p.source_release.version}): "
            f"{p.finding.describe()}; production "
            f"{_short(p.production_commit)} must not be ahead of it"
        )

    def already_done(self, ctx: ReleaseContext, previous: StepRecord | None) -> StepOutcome | None:
        return None  # local and cheap: always judged again

    def run(self, ctx: ReleaseContext, io: StepIO) -> StepOutcome:
        p = self.plan_
        data: dict[str, Any] = {
            "source_env": p.source_env,
            "source_app": p.source_app,
            "source_release": p.source_release.version,
            "commit": p.commit,
            "staging_record": p.finding.record_id,
            "production_commit": p.production_commit,
            "production_release": p.production_release.version if p.production_release else None,
        }
        if not (ctx.resume and p.ahead == "same"):  # resumed: it may be our own promotion
            p.check_not_ahead()
        for warning in p.notes:
            io.note("warning: " + warning)
            if warning not in ctx.warnings:
                ctx.warnings.append(warning)
        if p.finding.ok:
            return StepOutcome(detail=p.finding.describe(), data=data)
        if p.override is None:
            raise _FailedWithData(
                f"refusing to promote {_short(p.commit)}: {p.finding.reason}",
                hint=p.finding.hint
                + ', or pass --override "why" to promote anyway (recorded in the ledger)',
                data=data,
            )
        message = f"override: {p.override} (would refuse: {p.finding.reason})"
        io.note(message)
        ctx.warnings.append(message)
        return StepOutcome(detail=message, data={**data, "override": p.override})


# ------------------------------------------------------------------------- promotion


@dataclass
class PromotionStep:
    """``POST /pipeline-promotions`` (a two-factor answer is asked for), then wait until
    every target has its release (or failed)."""

    plan_: PromotionPlan
    ask_two_factor: TwoFactorAsk | None = None
    name: str = "promote"
    title: str = "Promotion"
    skippable: bool = False

    def plan(self, ctx: ReleaseContext) -> str:
        p = self.plan_
        return (
            f"POST /pipeline-promotions: pipeline {p.pipeline_name}, source {p.source_app} "
            f"v{p.source_release.version}, targets {', '.join(t.app for t in p.targets)}; "
            "follow its targets"
        )

    def already_done(self, ctx: ReleaseContext, previous: StepRecord | None) -> StepOutcome | None:
        if not (ctx.resume and previous and previous.status in ("succeeded", "done-before")):
            return None
        promotion_id = previous.data.get("promotion_id")
        if not promotion_id:
            return None
        targets = ctx.client.promotion_targets(str(promotion_id))
        if any(t.status == "failed" for t in targets):
            return None  # that promotion failed: promote again
        self.plan_.promotion_id = str(promotion_id)
        return StepOutcome(
            detail=f"promotion {str(promotion_id)[:8]} was created by the run being resumed",
            data=previous.data,
        )

    def run(self, ctx: ReleaseContext, io: StepIO) -> StepOutcome:
        p = self.plan_
        promotion = with_two_factor(
            ctx.client,
            self.ask_two_factor,
            lambda: ctx.client.create_promotion(
                p.pipeline_id,
                p.source_app_id,
                [t.app_id for t in p.targets],
                source_release_id=p.source_release.id,
            ),
            what=f"promoting {p.source_app} to {', '.join(t.app for t in p.targets)}",
        )
        p.promotion_id = promotion.id
        io.note(f"promotion {promotion.id[:8]} {promotion.status}")
        targets = wait_for(
            lambda: ctx.client.promotion_targets(promotion.id),
            lambda ts: all(t.release is not None or t.status in FINAL_TARGET for t in ts),
            timeout=ctx.loaded.config.timeouts.promotion,
            what=f"promotion {promotion.id[:8]}",
            sleep=ctx.sleep,
            on_poll=lambda ts: io.note(_targets_note(p, ts)),
        )
        data = {"promotion_id": promotion.id, "targets": _targets_data(p, targets)}
        # A target that failed with a release is reported by the release step, with the
        # release phase's output; one that failed without a release is over here.
        failed = [t for t in targets if t.status == "failed" and t.release is None]
        if failed:
            raise _FailedWithData(
                _failure_text(p, failed),
                hint="nothing changed on the failed target(s); see `heroku pipelines:info "
                f"{p.pipeline_name}` and promote again when the cause is fixed",
                data=data,
            )
        made = ", ".join(
            f"{_app_name(p, t.app.id)} {'release created' if t.release else t.status}"
            for t in targets
        )
        return StepOutcome(detail=f"promotion {promotion.id[:8]}: {made}", data=data)


def _app_name(plan: PromotionPlan, app_id: str) -> str:
    return next((t.app for t in plan.targets if t.app_id == app_id), app_id)


def _targets_note(plan: PromotionPlan, targets: list[PromotionTarget]) -> str:
    return ", ".join(f"{_app_name(plan, t.app.id)} {t.status}" for t in targets)


def _targets_data(plan: PromotionPlan, targets: list[PromotionTarget]) -> list[dict[str, Any]]:
    return [
        {
            "app": _app_name(plan, t.app.id),
            "target_id": t.id,
            "status": t.status,
            "release_id": t.release.id if t.release else None,
            "error_message": t.error_message,
        }
        for t in targets
    ]


def _failure_text(plan: PromotionPlan, failed: list[PromotionTarget]) -> str:
    return "; ".join(
        f"promotion to {_app_name(plan, t.app.id)} failed: {t.error_message or 'no message'}"
        for t in failed
    )


@dataclass
class PromotedReleaseStep:
    """Each target's release followed to its final status, its release phase (the
    migrations) streamed; a failed release or a failed target fails, whatever else said."""

    plan_: PromotionPlan
    name: str = "release"
    title: str = "Production release"
    skippable: bool = False

    def plan(self, ctx: ReleaseContext) -> str:
        phase = (
            ", streaming the release phase (migrations)"
            if ctx.loaded.config.migrations.strategy == "release-phase"
            else ""
        )
        return f"follow each target's release to succeeded{phase}; then the targets' status"

    def already_done(self, ctx: ReleaseContext, previous: StepRecord | None) -> StepOutcome | None:
        if not (ctx.resume and previous and previous.status in ("succeeded", "done-before")):
            return None
        release_id = previous.data.get("release_id")
        if not release_id:
            return None
        release = ctx.client.release(ctx.app, str(release_id))
        if release.status != "succeeded":
            return None
        ctx.release = release
        return StepOutcome(detail=f"v{release.version} had already succeeded", data=previous.data)

    def run(self, ctx: ReleaseContext, io: StepIO) -> StepOutcome:
        p = self.plan_
        if p.promotion_id is None:  # pragma: no cover - the promotion step always runs first
            raise GateFailed("no promotion to follow")
        promotion_id = p.promotion_id
        targets = ctx.client.promotion_targets(promotion_id)
        several = len(targets) > 1
        migrations: list[str] = []
        releases: dict[str, Release] = {}
        for target in targets:
            if target.release is None:
                continue
            app = _app_name(p, target.app.id)
            release = ctx.client.release(app, target.release.id)
            io.note(f"{app} v{release.version} {release.status}")
            final, applied = follow_with_migrations(
                ctx, app, release, io, prefix=f"{app}: " if several else ""
            )
            releases[app] = final
            if app == ctx.app:
                ctx.release = final
                migrations = applied
        # The targets' own status is final once their releases are (Heroku's rule).
        targets = wait_for(
            lambda: ctx.client.promotion_targets(promotion_id),
            lambda ts: all(t.status in FINAL_TARGET for t in ts),
            timeout=ctx.loaded.config.timeouts.promotion,
            what=f"promotion {promotion_id[:8]}",
            sleep=ctx.sleep,
            on_poll=lambda ts: io.note(_targets_note(p, ts)),
        )
        data: dict[str, Any] = {
            "promotion_id": promotion_id,
            "targets": _targets_data(p, targets),
            "release_id": ctx.release.id if ctx.release else None,
            "release_version": ctx.release.version if ctx.release else None,
            "migrations": migrations,
        }
        bad_releases = {a: r for a, r in releases.items() if r.status != "succeeded"}
        failed = [t for t in targets if t.status == "failed"]
        if failed or bad_releases:
            problems = [_failure_text(p, failed)] if failed else []
            for app, rel in bad_releases.items():
                if not any(_app_name(p, t.app.id) == app for t in failed):
                    problems.append(f"release v{rel.version} of {app} {rel.status}")
            version = ctx.release.version if ctx.release else "N"
            raise _FailedWithData(
                "; ".join(problems),
                hint="the new code is not running there; read the release phase output "
                f"above (`heroku releases:output {version} -a {ctx.app}`), fix, deploy to "
                "staging and promote again",
                data=data,
            )
        mine = ctx.release
        detail = f"v{mine.version} succeeded" if mine else "targets succeeded"
        if migrations:
            detail += f" (applied {len(migrations)} migration(s))"
        return StepOutcome(detail=detail, data=data)


# ------------------------------------------------------------------- checks (shared)
