"""The steps of ``keycliq promote``: the gate, the promotion, the production release.

The checks after the release are the deploy's (``MigrationsStep``) and every action's
(``ChecklistStep``, ``DataclipGateStep``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keycliq_ops.base.errors import ExternalError, GateFailed, HerokuError
from keycliq_ops.release.follow import WaitTimeout, wait_for
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
)
from keycliq_ops.release.two_factor import act

if TYPE_CHECKING:
    from keycliq_ops.adapters.heroku.resources import PromotionTarget, Release
    from keycliq_ops.release.promote import PromotionPlan

FINAL_TARGET = frozenset({"succeeded", "failed"})
RECENT = 10  # releases read per target app to find a promotion's release


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
        p.check_no_deploy_running(s.ledger)
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
        """On resume (or a re-run that continues an unfinished run): the promotion the run
        being continued made, whether or not its status was read. Never promote twice: a
        promotion is made again only when Heroku says its targets failed, or when no
        promotion was recorded and no target carries the source's slug."""
        if not facts.resuming:
            return None
        p = self.plan_
        data = previous.data if previous is not None else {}
        p.progress.before = _versions(data.get("before")) or p.progress.before
        promotion_id = data.get("promotion_id")
        if isinstance(promotion_id, str) and promotion_id:
            try:
                targets: list[PromotionTarget] | None = s.client.promotion_targets(promotion_id)
            except HerokuError as exc:
                if exc.error_id == "two_factor":
                    raise
                targets = None  # its status is unreadable: it was made all the same
            if targets is not None and any(t.status == "failed" for t in targets):
                return None  # that promotion failed (nothing changed there): promote again
            return made_before(f"promotion {promotion_id[:8]}", previous, promotion_id=promotion_id)
        found = _release_of_source(s, p, s.app, p.progress.before.get(s.app))
        if found is None or found.status in ("failed", "expired"):
            return None  # nothing promoted, or its release failed (nothing changed): promote
        return StepOutcome(
            detail=f"{s.app} v{found.version} ({found.status}) already carries "
            f"{p.source_app} v{p.source_release.version}'s slug: not promoted again",
            data={**data, "found_release_id": found.id, "before": dict(p.progress.before)},
        )

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        p = self.plan_
        before = recheck_source(s, p)
        p.progress.before = before
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
        promoted = promotion.source.release.id if promotion.source.release else None
        data: dict[str, Any] = {
            "promotion_id": promotion.id,
            "before": before,
            "gated_release_id": p.source_release.id,
            "source_release_id": promoted,
        }
        warnings: list[str] = []
        if promoted is not None and promoted != p.source_release.id:
            warnings.append(
                f"Heroku promoted {p.source_app}'s release {promoted[:8]}, not "
                f"v{p.source_release.version} that the gate judged (staging changed meanwhile)"
            )
            io.note("warning: " + warnings[-1])
        try:
            views = wait_for_targets(
                s, p, promotion.id, io, lambda vs: all(v.release_id or v.final for v in vs)
            )
        except (WaitTimeout, HerokuError) as exc:
            return StepOutcome(
                data=data,
                promotion_id=promotion.id,
                warnings=warnings,
                error=ExternalError(
                    f"promotion {promotion.id[:8]} was made, but neither its status nor the "
                    f"targets' releases could be read: {exc.message}",
                    hint="`keycliq promote --resume` continues from Heroku's state; it never "
                    "promotes twice",
                ),
            )
        data["targets"] = [v.data() for v in views]
        # A target that failed with a release is reported by the release step, with the
        # release phase's output; one that failed without a release is over here.
        failed = [v for v in views if v.status == "failed" and v.release_id is None]
        made = ", ".join(
            f"{v.app} {'release created' if v.release_id else v.status}" for v in views
        )
        got = StepOutcome(
            detail=f"promotion {promotion.id[:8]}: {made}",
            data=data,
            promotion_id=promotion.id,
            warnings=warnings,
        )
        if failed:
            got.error = GateFailed(
                "; ".join(
                    f"promotion to {v.app} failed: {v.error_message or 'no message'}"
                    for v in failed
                ),
                hint="nothing changed on the failed target(s); see `heroku pipelines:info "
                f"{p.pipeline_name}` and promote again when the cause is fixed",
            )
        return got


def recheck_source(s: Session, p: PromotionPlan) -> dict[str, int | None]:
    """Just before the POST: staging still runs the release the gate judged (the promotion
    takes the source's *current* release: it cannot be pinned), and each target's newest
    release version (its promotion's release is the one after it)."""
    releases = s.client.releases(p.source_app, limit=RECENT)
    now = next((r for r in releases if r.current), None)
    if now is None or now.id != p.source_release.id:
        what = f"v{now.version} ({now.description})" if now is not None else "no release"
        raise GateFailed(
            f"{p.source_app} changed since the gate judged it: it now runs {what}, the gate "
            f"judged v{p.source_release.version} @ {_short(p.commit)}; nothing was promoted",
            hint="promote again: the gate then judges what staging runs now "
            "(`keycliq status` shows it)",
        )
    before: dict[str, int | None] = {}
    for target in p.targets:
        newest = s.client.releases(target.app, limit=1)
        before[target.app] = newest[0].version if newest else None
    return before


@dataclass(frozen=True)
class TargetView:
    """One target of the promotion: as Heroku's promotion-targets say, or, when they cannot
    be read, as the target app's releases show it (``from_app``)."""

    app: str
    app_id: str
    status: str  # pending | succeeded | failed
    release_id: str | None
    error_message: str | None = None
    target_id: str | None = None
    from_app: bool = False

    @property
    def final(self) -> bool:
        return self.status in FINAL_TARGET

    def data(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "target_id": self.target_id,
            "status": self.status,
            "release_id": self.release_id,
            "error_message": self.error_message,
            **({"read_from": "app releases"} if self.from_app else {}),
        }


def _versions(value: object) -> dict[str, int | None]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v if isinstance(v, int) else None for k, v in value.items()}


def _release_of_source(
    s: Session, p: PromotionPlan, app: str, before: int | None
) -> Release | None:
    """The newest release of ``app`` made after version ``before`` (any code: it is what
    the app now runs or is releasing), or, with no ``before``, the newest one carrying the
    gated source slug; failed and expired releases are not it."""
    for release in s.client.releases(app, limit=RECENT):
        if release.status in ("failed", "expired") and before is None:
            continue
        if before is not None:
            if release.version > before:
                return release
            return None
        if release.code_id is not None and release.code_id == p.source_slug_id:
            return release
    return None


def read_targets(s: Session, p: PromotionPlan, promotion_id: str | None) -> list[TargetView]:
    """Each target's state: Heroku's promotion-targets; when they cannot be read (or no
    promotion id is known), the target app's releases (the truth of what it runs)."""
    if promotion_id is not None and not p.progress.status_lost:
        try:
            return [_view(p, t) for t in s.client.promotion_targets(promotion_id)]
        except HerokuError as exc:
            if exc.error_id == "two_factor":
                raise
            p.progress.status_lost = exc.message
    views = []
    for target in p.targets:
        release = _release_of_source(s, p, target.app, p.progress.before.get(target.app))
        status = "pending"
        if release is not None and release.status == "succeeded":
            status = "succeeded"
        elif release is not None and release.status in ("failed", "expired"):
            status = "failed"
        views.append(
            TargetView(
                app=target.app,
                app_id=target.app_id,
                status=status,
                release_id=release.id if release else None,
                from_app=True,
            )
        )
    return views


def wait_for_targets(
    s: Session,
    p: PromotionPlan,
    promotion_id: str | None,
    io: StepIO,
    done: Any,
) -> list[TargetView]:
    said: list[str] = []

    def fetch() -> list[TargetView]:
        views = read_targets(s, p, promotion_id)
        if p.progress.status_lost and not said:
            said.append(p.progress.status_lost)
            io.note(
                f"promotion status unreadable ({p.progress.status_lost}): reading the "
                "targets' releases instead"
            )
        return views

    return wait_for(
        fetch,
        done,
        timeout=s.loaded.config.timeouts.promotion,
        what=f"promotion {(promotion_id or 'found')[:8]}",
        sleep=s.sleep,
        on_poll=lambda vs: io.note(", ".join(f"{v.app} {v.status}" for v in vs)),
    )


def _view(plan: PromotionPlan, t: PromotionTarget) -> TargetView:
    return TargetView(
        app=_app_name(plan, t.app.id),
        app_id=t.app.id,
        status=t.status,
        release_id=t.release.id if t.release else None,
        error_message=t.error_message,
        target_id=t.id,
    )


def _app_name(plan: PromotionPlan, app_id: str) -> str:
    return next((t.app for t in plan.targets if t.app_id == app_id), app_id)


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
        promotion_id = facts.promotion_id  # None: found on the target (a resumed run's)
        views = wait_for_targets(
            s, p, promotion_id, io, lambda vs: all(v.release_id or v.final for v in vs)
        )
        several = len(views) > 1
        migrations: list[str] = []
        releases: dict[str, Release] = {}
        seen: dict[str, list[str]] = {}  # the release phase output, to read a failure
        mine: Release | None = None
        for view in views:
            if view.release_id is None:
                continue
            app = view.app
            release = s.client.release(app, view.release_id)
            io.note(f"{app} v{release.version} {release.status}")
            final, watch = follow_with_migrations(
                s, app, release, io, prefix=f"{app}: " if several else ""
            )
            releases[app] = final
            seen[app] = list(watch.seen)
            if app == s.app:
                mine, migrations = final, watch.migrations
        # The targets' own status is final once their releases are (Heroku's rule).
        views = wait_for_targets(s, p, promotion_id, io, lambda vs: all(v.final for v in vs))
        promoted = [promoted_code(s, p, app, rel) for app, rel in releases.items()]
        wrong = [c for c in promoted if not c["passed_gate"]]
        data: dict[str, Any] = {
            "promotion_id": promotion_id,
            "targets": [v.data() for v in views],
            "release_id": mine.id if mine else None,
            "release_version": mine.version if mine else None,
            "migrations": migrations,
            "promoted": promoted,
        }
        if p.progress.status_lost:
            data["status_lost"] = p.progress.status_lost
        for code in promoted:
            if code["app"] == s.app and code["commit"] and not code["passed_gate"]:
                p.progress.record_commit(code["commit"])  # the truth, in the ledger record
        bad_releases = {a: r for a, r in releases.items() if r.status != "succeeded"}
        failed = [v for v in views if v.status == "failed"]
        if failed or bad_releases:
            problems = (
                [
                    "; ".join(
                        f"promotion to {v.app} failed: {v.error_message or 'no message'}"
                        for v in failed
                    )
                ]
                if failed
                else []
            )
            readings = []
            for app, rel in bad_releases.items():
                if rel.output_stream_url and seen.get(app):
                    readings.append(explain_failure(seen[app], None, "the release phase", app=app))
                if not any(v.app == app for v in failed):
                    reading = f": {readings[-1].message}" if readings else ""
                    problems.append(f"release v{rel.version} of {app} {rel.status}{reading}")
            problems += [
                f"it carried {_short(c['commit'])}, which did not pass {p.source_env}"
                for c in wrong
            ]
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
        if wrong:
            data["mismatch"] = True
            data["rollback_needed"] = any(c["app"] == s.app for c in wrong)
            error = GateFailed(_wrong_text(p, wrong), hint=_wrong_hint(p))
            return StepOutcome(data=data, release=mine, error=error)
        detail = f"v{mine.version} succeeded" if mine else "targets succeeded"
        if migrations:
            detail += f" (applied {len(migrations)} migration(s))"
        return StepOutcome(detail=detail, data=data, release=mine)


def promoted_code(s: Session, p: PromotionPlan, app: str, release: Release) -> dict[str, Any]:
    """What ``release`` (a target's new release) runs, and whether it is the code the gate
    judged: the same code as staging's gated release (its slug on Cedar, its image on
    Fir: ``source_slug_id`` holds the gated release's ``code_id``), and the same commit."""
    slug = release.code_id
    # With no code to compare, the commit alone decides.
    same = p.source_slug_id is not None and slug == p.source_slug_id
    commit = p.commit if same else _commit_of(s, p, app, release)
    passed = same or (p.source_slug_id is None and commit is not None and commit == p.commit)
    return {
        "app": app,
        "release_id": release.id,
        "release_version": release.version,
        "status": release.status,
        "slug_id": slug,
        **({"image_id": release.image_id} if release.image_id else {}),
        "commit": commit,
        "gated_slug_id": p.source_slug_id,
        "gated_commit": p.commit,
        "passed_gate": passed,
    }


def _commit_of(s: Session, p: PromotionPlan, app: str, release: Release) -> str | None:
    """The commit of a release whose slug is not the gated one: the build of its slug (on
    the source app, where promoted slugs are built, or on the app itself), else its
    description."""
    from keycliq_ops.ops.status import BUILD_WINDOW, release_commit

    builds = [
        *s.client.builds(p.source_app, limit=BUILD_WINDOW),
        *s.client.builds(app, limit=BUILD_WINDOW),
    ]
    repo = s.repo
    # Fir: a build names no image; the source's releases lead from the image to its build.
    releases = s.client.releases(p.source_app, limit=RECENT) if release.image_id else None
    return release_commit(release, builds, repo, releases)


def _wrong_text(p: PromotionPlan, wrong: list[dict[str, Any]]) -> str:
    parts = []
    for c in wrong:
        runs = _short(c["commit"]) if c["commit"] else f"an unknown commit (slug {c['slug_id']})"
        parts.append(
            f"{c['app']} now runs {runs} (v{c['release_version']}), not {_short(p.commit)} "
            f"that the gate judged: {runs} did not pass {p.source_env}"
        )
    return (
        "; ".join(parts) + f" (Heroku promotes {p.source_app}'s current release, which changed "
        "after the gate)"
    )


def _wrong_hint(p: PromotionPlan) -> str:
    command = p.rollback_command()
    if command is None:
        return "roll production back to the release it ran before (`heroku releases`)"
    if p.auto_rollback:
        return f"rolling back at once (--auto-rollback): `{command}`"
    return f"roll back now: `{command}`; then promote again once staging passed"
