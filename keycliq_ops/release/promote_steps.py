"""The steps of ``keycliq promote``: the gate, the promotion, the production release.

The checks after the release are the deploy's (``MigrationsStep``) and every action's
(``ChecklistStep``, ``DataclipGateStep``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keycliq_ops.base.errors import GateFailed
from keycliq_ops.release.follow import wait_for
from keycliq_ops.release.following import (
    FollowsRelease,
    follow_with_migrations,
    streaming_clause,
)
from keycliq_ops.release.migration_check import explain_failure
from keycliq_ops.release.session import Session
from keycliq_ops.release.stepper import (
    Facts,
    StepBase,
    StepIO,
    StepOutcome,
    StepRecord,
    made_before,
    resumed_value,
)
from keycliq_ops.release.two_factor import act

if TYPE_CHECKING:
    from keycliq_ops.adapters.heroku.resources import PromotionTarget, Release
    from keycliq_ops.release.promote import PromotionPlan

FINAL_TARGET = frozenset({"succeeded", "failed"})


def _short(sha: str | None) -> str:
    return (sha or "?")[:8]


# ------------------------------------------------------------------------------ gate


@dataclass
class PromotionGateStep(StepBase):
    """Staging's commit has a clean deploy record (or an override); production is not
    ahead of staging; the configured production app is a target of the promotion."""

    plan_: PromotionPlan
    name: str = "gate"
    title: str = "Promotion gate"

    def plan(self, s: Session) -> str:
        p = self.plan_
        return (
            f"{p.source_env} runs {_short(p.commit)} (v{p.source_release.version}): "
            f"{p.finding.describe()}; production "
            f"{_short(p.production_commit)} must not be ahead of it"
        )

    # --resume: local and cheap: always judged again

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
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
        if not (facts.resuming and p.ahead == "same"):  # resumed: it may be our own promotion
            p.check_not_ahead()
        warnings = list(p.notes)
        for warning in warnings:
            io.note("warning: " + warning)
        if p.finding.ok:
            return StepOutcome(detail=p.finding.describe(), data=data, warnings=warnings)
        if p.override is None:
            return StepOutcome(
                data=data,
                warnings=warnings,
                error=GateFailed(
                    f"refusing to promote {_short(p.commit)}: {p.finding.reason}",
                    hint=p.finding.hint
                    + ', or pass --override "why" to promote anyway (recorded in the ledger)',
                ),
            )
        message = f"override: {p.override} (would refuse: {p.finding.reason})"
        io.note(message)
        return StepOutcome(
            detail=message, data={**data, "override": p.override}, warnings=[*warnings, message]
        )


# ------------------------------------------------------------------------- promotion


@dataclass
class PromotionStep(StepBase):
    """``POST /pipeline-promotions`` (a two-factor answer is asked for), then wait until
    every target has its release (or failed)."""

    plan_: PromotionPlan
    name: str = "promote"
    title: str = "Promotion"

    def plan(self, s: Session) -> str:
        p = self.plan_
        return (
            f"POST /pipeline-promotions: pipeline {p.pipeline_name}, source {p.source_app} "
            f"v{p.source_release.version}, targets {', '.join(t.app for t in p.targets)}; "
            "follow its targets"
        )

    def already_done(
        self, s: Session, facts: Facts, previous: StepRecord | None
    ) -> StepOutcome | None:
        promotion_id = resumed_value(facts, previous, "promotion_id")
        targets = s.client.promotion_targets(promotion_id) if promotion_id else []
        if promotion_id is None or any(t.status == "failed" for t in targets):
            return None  # nothing made, or that promotion failed: promote again
        return made_before(f"promotion {promotion_id[:8]}", previous, promotion_id=promotion_id)

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        p = self.plan_
        promotion = act(
            s,
            lambda: s.client.create_promotion(
                p.pipeline_id,
                p.source_app_id,
                [t.app_id for t in p.targets],
                source_release_id=p.source_release.id,
            ),
            what=f"promoting {p.source_app} to {', '.join(t.app for t in p.targets)}",
        )
        io.note(f"promotion {promotion.id[:8]} {promotion.status}")
        targets = wait_for(
            lambda: s.client.promotion_targets(promotion.id),
            lambda ts: all(t.release is not None or t.status in FINAL_TARGET for t in ts),
            timeout=s.loaded.config.timeouts.promotion,
            what=f"promotion {promotion.id[:8]}",
            sleep=s.sleep,
            on_poll=lambda ts: io.note(_targets_note(p, ts)),
        )
        data = {"promotion_id": promotion.id, "targets": _targets_data(p, targets)}
        # A target that failed with a release is reported by the release step, with the
        # release phase's output; one that failed without a release is over here.
        failed = [t for t in targets if t.status == "failed" and t.release is None]
        made = ", ".join(
            f"{_app_name(p, t.app.id)} {'release created' if t.release else t.status}"
            for t in targets
        )
        got = StepOutcome(
            detail=f"promotion {promotion.id[:8]}: {made}", data=data, promotion_id=promotion.id
        )
        if failed:
            got.error = GateFailed(
                _failure_text(p, failed),
                hint="nothing changed on the failed target(s); see `heroku pipelines:info "
                f"{p.pipeline_name}` and promote again when the cause is fixed",
            )
        return got


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
class PromotedReleaseStep(FollowsRelease):
    """Each target's release followed to its final status, its release phase (the
    migrations) streamed; a failed release or a failed target fails, whatever else said."""

    plan_: PromotionPlan
    name: str = "release"
    title: str = "Production release"

    def plan(self, s: Session) -> str:
        phase = streaming_clause(s, sep=", ")
        return f"follow each target's release to succeeded{phase}; then the targets' status"

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        p = self.plan_
        if facts.promotion_id is None:  # pragma: no cover - the promotion step runs first
            raise GateFailed("no promotion to follow")
        promotion_id = facts.promotion_id
        targets = s.client.promotion_targets(promotion_id)
        several = len(targets) > 1
        migrations: list[str] = []
        releases: dict[str, Release] = {}
        seen: dict[str, list[str]] = {}  # the release phase output, to read a failure
        mine: Release | None = None
        for target in targets:
            if target.release is None:
                continue
            app = _app_name(p, target.app.id)
            release = s.client.release(app, target.release.id)
            io.note(f"{app} v{release.version} {release.status}")
            final, watch = follow_with_migrations(
                s, app, release, io, prefix=f"{app}: " if several else ""
            )
            releases[app] = final
            seen[app] = list(watch.seen)
            if app == s.app:
                mine, migrations = final, watch.migrations
        # The targets' own status is final once their releases are (Heroku's rule).
        targets = wait_for(
            lambda: s.client.promotion_targets(promotion_id),
            lambda ts: all(t.status in FINAL_TARGET for t in ts),
            timeout=s.loaded.config.timeouts.promotion,
            what=f"promotion {promotion_id[:8]}",
            sleep=s.sleep,
            on_poll=lambda ts: io.note(_targets_note(p, ts)),
        )
        data: dict[str, Any] = {
            "promotion_id": promotion_id,
            "targets": _targets_data(p, targets),
            "release_id": mine.id if mine else None,
            "release_version": mine.version if mine else None,
            "migrations": migrations,
        }
        bad_releases = {a: r for a, r in releases.items() if r.status != "succeeded"}
        failed = [t for t in targets if t.status == "failed"]
        if failed or bad_releases:
            problems = [_failure_text(p, failed)] if failed else []
            readings = []
            for app, rel in bad_releases.items():
                if rel.output_stream_url and seen.get(app):
                    readings.append(explain_failure(seen[app], None, "the release phase", app=app))
                if not any(_app_name(p, t.app.id) == app for t in failed):
                    reading = f": {readings[-1].message}" if readings else ""
                    problems.append(f"release v{rel.version} of {app} {rel.status}{reading}")
            version = mine.version if mine else "N"
            first = f"{readings[0].hint}; " if readings else ""
            return StepOutcome(
                data=data,
                release=mine,
                error=GateFailed(
                    "; ".join(problems),
                    hint=f"{first}the new code is not running there; read the release phase "
                    f"output above (`heroku releases:output {version} -a {s.app}`), fix, deploy "
                    "to staging and promote again",
                ),
            )
        detail = f"v{mine.version} succeeded" if mine else "targets succeeded"
        if migrations:
            detail += f" (applied {len(migrations)} migration(s))"
        return StepOutcome(detail=detail, data=data, release=mine)
