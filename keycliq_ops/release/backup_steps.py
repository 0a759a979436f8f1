"""A Heroku Postgres backup before a release changes the schema (``backup`` step).

The step runs before anything changes (a deploy: after the tests, before the push; a
promotion: after the gate, before the promotion request). It asks the target database
what the release will change (:func:`schema_change`); when it will, it captures a backup
through the Heroku Postgres API (:mod:`keycliq_ops.adapters.heroku.postgres`) and waits
for it to finish: the backup's name (``b012``) and size go into the step's record in the
ledger. A capture that fails (or does not finish within ``timeouts.backup``) fails the
step with exit 3, and the release stops there, nothing changed.

On by default in production (``environments.<env>.backup``); ``--no-backup REASON``
skips it for one run (the step is recorded as skipped with that reason). In production
the step also warns when the database has no backup schedule, naming the command that
sets one. Decisions: ``docs/backups.md``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from keycliq_ops.release.migration_check import (
    COLUMNS_SQL,
    ROWS_SQL,
    TABLE_SQL,
    MigrationRow,
    compare,
    missing_tables,
    prisma_kind,
)
from keycliq_ops.release.session import Session
from keycliq_ops.release.stepper import Facts, StepBase, StepIO, StepOutcome

if TYPE_CHECKING:
    from keycliq_ops.adapters.heroku.postgres import AddOn, PostgresClient, Transfer
    from keycliq_ops.config.app_repo import Model
    from keycliq_ops.release.lifecycle import Action

STEP = "backup"
P = TypeVar("P")


def schedule_command(app: str) -> str:
    """The command that gives the app's database a daily backup schedule."""
    return f"heroku pg:backups:schedule DATABASE_URL --at '02:00 UTC' -a {app}"


def no_schedule_warning(app: str, database: str) -> str:
    return (
        f"{app}'s database {database} has no backup schedule (no automatic daily backups): "
        f"set one with `{schedule_command(app)}`"
    )


@dataclass(frozen=True)
class SchemaChange:
    """Whether the release will change the target's schema. ``will``: True/False, or None
    when it cannot be told (the step then backs up: the safe side)."""

    will: bool | None
    why: str
    changes: list[str] = field(default_factory=list)  # pending migrations / tables, columns


def _extra_columns(models: list[Model], present: list[tuple[str, str]]) -> list[str]:
    """Columns of the models' tables the schema no longer has (a db push drops them)."""
    by_table = {m.table: set(m.columns) for m in models}
    return sorted(f"{t}.{c}" for t, c in present if t in by_table and c not in by_table[t])


def schema_change(s: Session) -> SchemaChange:
    """What the commit shipped will change in the environment's database (read-only)."""
    from keycliq_ops.adapters.db import DbSession

    m = s.loaded.config.migrations
    if m.strategy == "none":
        return SchemaChange(False, "migrations.strategy is none: keycliq applies no migrations")
    if s.repo is None or not s.commit or not s.checkout().has_commit(s.commit):
        return SchemaChange(
            None, f"commit {(s.commit or '?')[:8]} is not in this checkout: cannot tell"
        )
    repo = s.app_repo()
    if m.strategy == "release-phase":
        line = repo.release_line()
        if line is None:
            return SchemaChange(False, f"{repo.origin}'s Procfile has no release phase")
        command = line.text
    else:
        command = m.one_off_command() or ""
    kind = prisma_kind(command, repo.scripts())
    if kind is None:
        return SchemaChange(None, f"`{command}` is not a Prisma command keycliq can read ahead")
    with DbSession.open(s.database_url()) as db:
        if kind == "migrate-deploy":
            exists = db.query(TABLE_SQL, ["_prisma_migrations"], action="looking for migrations")
            rows = None
            if exists.rows and exists.rows[0][0]:
                found = db.query(ROWS_SQL, action="reading _prisma_migrations")
                rows = [MigrationRow.of(r) for r in found.rows]
            state = compare(repo.migrations(), rows)
            todo = state.pending + [name for name, _ in state.failed]
            if not todo:
                return SchemaChange(False, "no pending migrations")
            return SchemaChange(True, f"{len(todo)} pending migration(s)", todo)
        present_rows = db.query(COLUMNS_SQL, action="reading the database's tables").rows
    present = [(str(r[0]), str(r[1])) for r in present_rows]
    models = repo.models()
    changes = missing_tables(models, present) + [
        f"drops {c}" for c in _extra_columns(models, present)
    ]
    if not changes:
        return SchemaChange(
            False, f"db push: the tables and columns already match {repo.schema_path}"
        )
    return SchemaChange(True, f"db push will change {len(changes)} table(s)/column(s)", changes)


@dataclass
class BackupStep(StepBase):
    """Capture a Heroku Postgres backup of the environment's database before a release
    that will change its schema, and wait for it."""

    name: str = STEP
    title: str = "Backup"
    skippable: bool = True  # --no-backup REASON (or --skip backup --reason …)
    resumed_detail: str | None = "captured by the run being resumed"

    def plan(self, s: Session) -> str:
        if not s.env.effective_backup():
            return f"none: backups are off for {s.env_name} (environments.{s.env_name}.backup)"
        return (
            f"when {s.app}'s database will change (pending migrations or a db push): "
            "POST /client/v11/databases/{id}/backups on the Heroku Postgres API, wait for it "
            "to finish; the backup's name and size go into the ledger"
        )

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        from keycliq_ops.adapters.heroku.postgres import PostgresClient

        production = s.env.stage == "production"
        if not s.env.effective_backup() and not production:
            return StepOutcome(
                detail=f"off for {s.env_name} (environments.{s.env_name}.backup)", skipped=True
            )
        with PostgresClient.for_client(s.client) as pg:
            addon = pg.database(s.app)
            warnings: list[str] = []
            if production and not pg.schedules(addon):
                warnings.append(no_schedule_warning(s.app, addon.name))
                io.note("warning: " + warnings[-1])
            if not s.env.effective_backup():
                return StepOutcome(
                    detail=f"off for {s.env_name} (environments.{s.env_name}.backup)",
                    skipped=True,
                    warnings=warnings,
                )
            change = schema_change(s)
            if change.will is False:
                return StepOutcome(
                    detail=f"not needed: {change.why}",
                    skipped=True,
                    data={"why": change.why},
                    warnings=warnings,
                )
            for item in change.changes:
                io.line(f"will change: {item}")
            done = self._capture(s, pg, addon, io)
        from keycliq_ops.adapters.heroku.postgres import filesize

        data: dict[str, Any] = {
            "name": done.name,
            "uuid": done.uuid,
            "size_bytes": done.processed_bytes,
            "source_bytes": done.source_bytes,
            "database": addon.name,
            "addon_id": addon.id,
            "finished_at": done.finished_at.isoformat() if done.finished_at else None,
            "why": change.why,
            "changes": change.changes,
        }
        return StepOutcome(
            detail=f"backup {done.name} of {addon.name}: {filesize(done.processed_bytes)} "
            f"({change.why})",
            data=data,
            warnings=warnings,
        )

    @staticmethod
    def _capture(s: Session, pg: PostgresClient, addon: AddOn, io: StepIO) -> Transfer:
        started = pg.capture(addon)
        io.note(f"backing up {addon.name} to {started.name}")

        def progress(t: Transfer) -> None:
            io.note(f"{t.name} {t.status} ({t.processed_bytes} bytes)")

        return pg.wait(
            s.app, started, timeout=s.loaded.config.timeouts.backup, on_progress=progress
        )


def with_backup(action: Action[P], *, before: str, no_backup: str | None = None) -> Action[P]:
    """``action`` with the backup step before its step ``before`` (``push``, ``promote``).
    ``no_backup``: the reason given with ``--no-backup`` (the step is recorded as skipped
    with it, and the run's details say so)."""
    names = [st.name for st in action.steps]
    if STEP in names:
        return action
    at = names.index(before) if before in names else len(names)
    steps = [*action.steps[:at], BackupStep(), *action.steps[at:]]
    if no_backup is None:
        return dataclasses.replace(action, steps=steps)
    action.skip[STEP] = f"--no-backup: {no_backup}"
    details = {**action.ledger_details, "backup": {"skipped": True, "reason": no_backup}}
    return dataclasses.replace(action, steps=steps, ledger_details=details)
