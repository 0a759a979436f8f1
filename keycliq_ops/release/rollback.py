"""``keycliq rollback ENV [--to VERSION]``: back to an earlier release, checked and recorded.

``prepare_rollback`` picks the release to return to (``--to``; else the newest earlier
release whose ledger record succeeded; else the previous release with code), the commit it
runs, and what the ledger knows about migrations since (they are NOT rolled back: the
database keeps its schema, which is the "fast rollback" playbook's caveat).
:func:`rollback_action` is the action the lifecycle runs: it creates the rollback release,
follows it, runs the environment's checks, records the run; :func:`undo_command` says how
to undo it.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from keycliq_ops.base.errors import GateFailed, HerokuError, UsageError
from keycliq_ops.release.follow import applied_migrations
from keycliq_ops.release.gate_steps import ChecklistStep, DataclipGateStep, Gates
from keycliq_ops.release.lifecycle import Action, ActionOutcome, Confirmation, last_unfinished
from keycliq_ops.release.rollback_steps import RollbackReleaseStep, RollbackStep
from keycliq_ops.release.session import Session

if TYPE_CHECKING:
    from keycliq_ops.adapters.heroku.resources import Release
    from keycliq_ops.ledger import Ledger, StoredRecord

RELEASE_WINDOW = 50
ROLLBACK_STEPS = ("rollback", "release", "checklist", "dataclips")
_VERSION = re.compile(r"^[vV]?(\d+)$")
ChosenBy = Literal["--to", "ledger", "previous", "resume"]


def parse_version(text: str | int) -> int:
    """``v42`` or ``42`` → 42."""
    m = _VERSION.match(str(text).strip())
    if not m or int(m.group(1)) < 1:
        raise UsageError(f"--to {text!r} is not a release version", hint="e.g. --to v42")
    return int(m.group(1))


@dataclass
class RollbackPlan:
    env: str
    app: str
    current: Release
    target: Release
    chosen_by: ChosenBy
    commit: str | None
    ledger_record: str | None = None
    migrations: list[str] = field(default_factory=list)
    migrations_known: bool = False
    after_promote: str | None = None
    resume_record: StoredRecord | None = None

    def undo_command(self) -> str:
        """The command that returns to what runs now."""
        return f"keycliq rollback {self.env} --to v{self.current.version}"

    def why(self) -> str:
        return {
            "--to": "asked for with --to",
            "ledger": f"the newest earlier release with a succeeded ledger record "
            f"({self.ledger_record})",
            "previous": "the previous release (no earlier release has a succeeded ledger record)",
            "resume": "the target of the run being resumed",
        }[self.chosen_by]

    def migration_warning(self) -> str:
        head = (
            f"database migrations are not rolled back: {self.app}'s database keeps the "
            f"schema of v{self.current.version}"
        )
        if self.migrations:
            return (
                f"{head}; migrations that ran since v{self.target.version} (ledger): "
                + ", ".join(self.migrations)
            )
        if self.migrations_known:
            return f"{head}; the ledger records no migration since v{self.target.version}"
        return (
            f"{head}; the ledger does not know which migrations ran since "
            f"v{self.target.version} (`heroku run npx prisma migrate status -a {self.app}`)"
        )


@dataclass
class RollbackOptions:
    to: str | None = None
    resume: bool = False
    skip: dict[str, str] = field(default_factory=dict)


def undo_command(outcome: ActionOutcome[RollbackPlan]) -> str | None:
    """The command that undoes the rollback, once its release exists (whatever the checks
    said)."""
    step = outcome.result.step("rollback")
    if step is None or step.status not in ("succeeded", "done-before"):
        return None
    return outcome.prepared.undo_command()


def prepare_rollback(
    session: Session, *, to: str | int | None = None, resume: bool = False
) -> RollbackPlan:
    """Pick the release to return to and learn what it runs (read-only). With ``resume``,
    the target is the one of the last rollback of this environment that did not succeed.
    The plan's ``commit`` is the target's (None when no build names it).
    """
    ctx = session
    client, app = ctx.client, ctx.app
    resume_record = last_unfinished(ctx.ledger, "rollback", ctx.env_name) if resume else None
    if resume and resume_record is None:
        raise UsageError(
            f"--resume: the last rollback of {ctx.env_name} did not fail or stop: "
            "nothing to resume",
            hint="`keycliq ledger list --action rollback` shows them",
        )
    if resume_record is not None and to is not None:
        raise UsageError("--resume continues the last rollback: leave out --to")
    with ThreadPoolExecutor(max_workers=3) as pool:
        releases_f = pool.submit(client.releases, app, limit=RELEASE_WINDOW)
        account_f = pool.submit(ctx.account)
        vars_f = pool.submit(ctx.prefetch_config_vars)  # the scrubber learns every app's secrets
        releases = releases_f.result()
        account_f.result()
        vars_f.result()
    current = next((r for r in releases if r.current), None)
    if current is None:
        raise GateFailed(f"{app} has no current release to roll back from")
    ledger_record: str | None = None
    chosen_by: ChosenBy
    if resume_record is not None:
        rb = (resume_record.details or {}).get("rollback") or {}
        if not rb.get("to") or not rb.get("from"):
            raise UsageError(f"ledger record {resume_record.id} does not say what it rolled to")
        current = client.release(app, int(rb["from"]))
        target = client.release(app, int(rb["to"]))
        chosen_by = "resume"
    elif to is not None:
        version = parse_version(to)
        target = next((r for r in releases if r.version == version), None) or _release(ctx, version)
        _check_target(app, target, current)
        chosen_by = "--to"
    else:
        target, ledger_record = default_target(ctx.ledger, app, releases, current)
        chosen_by = "ledger" if ledger_record else "previous"
    commit = _commit_of(ctx, target)
    migrations, known = migrations_since(ctx.ledger, app, target.version, current.version)
    return RollbackPlan(
        env=ctx.env_name,
        app=app,
        current=current,
        target=target,
        chosen_by=chosen_by,
        commit=commit,
        ledger_record=ledger_record,
        migrations=migrations,
        migrations_known=known,
        resume_record=resume_record,
    )


def _release(ctx: Session, version: int) -> Release:
    try:
        return ctx.client.release(ctx.app, version)
    except HerokuError as exc:
        if exc.status == 404 and exc.error_id != "two_factor":
            raise UsageError(
                f"{ctx.app} has no release v{version}",
                hint=f"`heroku releases -a {ctx.app}` lists them",
            ) from None
        raise


def _check_target(app: str, target: Release, current: Release) -> None:
    if target.version == current.version:
        raise UsageError(
            f"v{target.version} is {app}'s current release: nothing to roll back",
            hint=f"`heroku releases -a {app}` lists the earlier ones",
        )
    if target.status != "succeeded":
        raise GateFailed(
            f"v{target.version} of {app} {target.status}: cannot return to it",
            hint="pick a release that succeeded (`heroku releases -a " + app + "`)",
        )
    if target.code is None:
        raise GateFailed(
            f"v{target.version} of {app} has no code (no slug or image: {target.description!r})",
            hint="pick a release made by a build or a promotion",
        )


def default_target(
    ledger: Ledger, app: str, releases: list[Release], current: Release
) -> tuple[Release, str | None]:
    earlier = sorted(
        (
            r
            for r in releases
            if r.version < current.version and r.status == "succeeded" and r.code is not None
        ),
        key=lambda r: r.version,
        reverse=True,
    )
    if not earlier:
        raise GateFailed(
            f"{app} has no earlier release with code to roll back to "
            f"(looked at the last {len(releases)})",
            hint="name one with --to vNN",
        )
    good: dict[int, str] = {}
    for record in ledger.iter():
        if (
            record.app == app
            and record.ref is not None
            and record.outcome == "succeeded"
            and record.release_version is not None
            and record.action in ("deploy", "promote", "rollback")
        ):
            good[record.release_version] = record.ref
    for release in earlier:
        if release.version in good:
            return release, good[release.version]
    return earlier[0], None


def _commit_of(ctx: Session, release: Release) -> str | None:
    """The commit a release runs: its slug's build in any environment (a promoted slug was
    built on staging), else a sha in its description (``keycliq status``'s rule). A Fir
    release (an image, no slug) is traced through the releases of every environment that
    run the same image to the build that made one of them."""
    from keycliq_ops.ops.status import BUILD_WINDOW, RELEASE_WINDOW, release_commit

    apps = sorted({e.app for e in ctx.loaded.config.environments.values()})
    fir = release.slug is None and release.image_id is not None
    with ThreadPoolExecutor(max_workers=min(4, len(apps))) as pool:
        lists = list(pool.map(lambda a: ctx.client.builds(a, limit=BUILD_WINDOW), apps))
        others = (
            list(pool.map(lambda a: ctx.client.releases(a, limit=RELEASE_WINDOW), apps))
            if fir
            else []
        )
    releases = [r for rs in others for r in rs] or None
    return release_commit(release, [b for bs in lists for b in bs], ctx.checkout(), releases)


def migrations_since(ledger: Ledger, app: str, after: int, up_to: int) -> tuple[list[str], bool]:
    """Migrations the ledger saw applied to ``app`` by releases after ``after`` up to
    ``up_to``: release-step data, else the names in a failed release phase's output tail.
    The flag says whether the ledger has any record of those releases."""
    names: list[str] = []
    known = False
    for record in ledger.iter():
        if record.app != app or record.ref is None or record.action not in ("deploy", "promote"):
            continue
        if record.release_version is None or not after < record.release_version <= up_to:
            continue
        known = True
        for step in record.steps:
            if step.name not in ("push", "release"):  # a git push prints the release phase
                continue
            found = step.data.get("migrations")
            listed = found if isinstance(found, list) else applied_migrations(step.output_tail)
            names.extend(str(n) for n in listed if str(n) not in names)
    return names, known


def rollback_action(
    session: Session, options: RollbackOptions, *, after_promote: str | None = None
) -> Action[RollbackPlan]:
    """Roll ``session``'s environment back (read-only until run); ``after_promote``: the
    promotion whose failed checks this rollback answers (recorded)."""
    plan = prepare_rollback(session, to=options.to, resume=options.resume)
    plan.after_promote = after_promote
    session = session.for_commit(plan.commit or "unknown")
    gates = Gates(session, options.skip)
    details: dict[str, Any] = {
        "rollback": {
            "from": plan.current.version,
            "to": plan.target.version,
            "chosen_by": plan.chosen_by,
            "migrations_not_rolled_back": plan.migrations,
            **plan.target.code_record(),  # what it returns to: slug (Cedar) or image (Fir)
        }
    }
    if after_promote:
        details["after_promote"] = after_promote
    return Action(
        name="rollback",
        session=session,
        prepared=plan,
        header=f"rollback {plan.app} from v{plan.current.version} to v{plan.target.version} "
        f"({(plan.commit or 'unknown commit')[:8]}): {plan.why()}",
        steps=[
            RollbackStep(plan),
            RollbackReleaseStep(),
            ChecklistStep(gates),
            DataclipGateStep(gates),
        ],
        confirmation=Confirmation(f"Roll {plan.app} back to v{plan.target.version}", app=plan.app),
        gates=gates,
        skip=options.skip,
        resume_record=plan.resume_record,
        caveat=plan.migration_warning(),
        ledger_details=details,
        about={
            "commit": plan.commit,
            "from_version": plan.current.version,
            "to_version": plan.target.version,
            "chosen_by": plan.chosen_by,
            "migrations_not_rolled_back": plan.migrations,
            "warning": plan.migration_warning(),
            "after_promote": after_promote,
        },
        extras=lambda outcome: {"undo_command": undo_command(outcome)},
    )
