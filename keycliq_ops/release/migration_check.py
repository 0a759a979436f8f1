"""Migrations verified from the database, not assumed from an exit status.

``prisma migrate deploy`` records each migration it applies in ``_prisma_migrations``: a row
with the folder's name, the SHA-256 of its ``migration.sql`` (the checksum Prisma compares),
``finished_at`` once it committed and ``rolled_back_at`` when someone marked it rolled back.
:func:`compare` puts the deployed commit's ``prisma/migrations/`` beside those rows and says,
folder by folder, what is true: applied in this release, applied before, pending, failed,
modified after being applied, or present in the database but not in the repository.

``prisma db push`` keeps no history: :func:`missing_tables` checks that every model of
``prisma/schema.prisma`` has its table (``@@map`` honoured) and its columns.

Failed release phases and one-offs are read by :func:`explain_failure`: whether a migration
failed (Prisma's P3018, P3009, …) or the tool could not run at all (P1001 the database
could not be reached, exit 127 the command could not start), each with its own hint.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keycliq_ops.config.app_repo import AppRepo, Model, detect_strategy, script_problem

TABLE = "_prisma_migrations"

ROWS_SQL = f"""
SELECT migration_name, checksum, finished_at, rolled_back_at, started_at,
       left(coalesce(logs, ''), 2000) AS logs
  FROM "{TABLE}"
 ORDER BY started_at, migration_name
"""
TABLE_SQL = "SELECT to_regclass($1) IS NOT NULL"
COLUMNS_SQL = """
SELECT c.relname, a.attname
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
"""


def prisma_checksum(sql: str) -> str:
    """The checksum Prisma stores for a ``migration.sql``: SHA-256 (hex) of its bytes."""
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()


def _checksums(sql: str) -> set[str]:
    """The file's checksum, and the one it has with LF line ends (a CRLF checkout)."""
    return {prisma_checksum(sql), prisma_checksum(sql.replace("\r\n", "\n"))}


@dataclass(frozen=True)
class MigrationRow:
    name: str
    checksum: str
    finished_at: datetime | None
    rolled_back_at: datetime | None
    started_at: datetime | None
    logs: str = ""

    @classmethod
    def of(cls, row: Sequence[Any]) -> MigrationRow:
        return cls(str(row[0]), str(row[1]), row[2], row[3], row[4], str(row[5] or ""))


@dataclass
class MigrationState:
    """The deployed commit's migrations beside the database's record of them."""

    folders: int
    applied_now: list[str] = field(default_factory=list)
    applied_before: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, first log line)
    modified: list[str] = field(default_factory=list)
    not_in_repo: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.pending or self.failed or self.modified or self.not_in_repo)

    def problems(self) -> list[str]:
        out: list[str] = []
        for name, why in self.failed:
            out.append(f"failed: {name}" + (f" ({why})" if why else ""))
        out += [f"modified after it was applied (checksum differs): {n}" for n in self.modified]
        out += [f"pending (not applied): {n}" for n in self.pending]
        out += [f"in the database but not in the repository: {n}" for n in self.not_in_repo]
        return out

    def summary(self) -> str:
        parts = []
        if self.applied_now:
            parts.append(f"{len(self.applied_now)} applied in this release")
        if self.applied_before:
            parts.append(f"{len(self.applied_before)} applied before")
        for label, items in (
            ("failed", self.failed),
            ("modified", self.modified),
            ("pending", self.pending),
            ("not in the repository", self.not_in_repo),
        ):
            if items:
                parts.append(f"{len(items)} {label}")
        return ", ".join(parts) or "no migrations"

    def as_data(self) -> dict[str, Any]:
        return {
            "folders": self.folders,
            "applied_now": self.applied_now,
            "applied_before": self.applied_before,
            "pending": self.pending,
            "failed": [n for n, _ in self.failed],
            "modified": self.modified,
            "not_in_repo": self.not_in_repo,
        }


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


def compare(
    migrations: Mapping[str, str],
    rows: Iterable[MigrationRow] | None,
    *,
    since: datetime | None = None,
) -> MigrationState:
    """``migrations`` (folder → migration.sql) beside ``rows`` of ``_prisma_migrations``
    (None: the table does not exist). A row finished at or after ``since`` was applied in
    this release."""
    state = MigrationState(folders=len(migrations))
    by_name: dict[str, list[MigrationRow]] = {}
    for row in rows or ():
        by_name.setdefault(row.name, []).append(row)
    for name, sql in migrations.items():
        live = [r for r in by_name.get(name, []) if r.rolled_back_at is None]
        finished = [r for r in live if r.finished_at is not None]
        unfinished = [r for r in live if r.finished_at is None]
        if unfinished and not finished:
            state.failed.append((name, _first_line(unfinished[-1].logs)))
            continue
        if not finished:
            state.pending.append(name)
            continue
        row = finished[-1]
        if row.checksum not in _checksums(sql):
            state.modified.append(name)
        elif since is not None and row.finished_at is not None and _after(row.finished_at, since):
            state.applied_now.append(name)
        else:
            state.applied_before.append(name)
    for name, found in by_name.items():
        if name not in migrations and any(r.rolled_back_at is None for r in found):
            state.not_in_repo.append(name)
    return state


def _after(when: datetime, since: datetime) -> bool:
    if (when.tzinfo is None) != (since.tzinfo is None):
        when, since = when.replace(tzinfo=None), since.replace(tzinfo=None)
    return when >= since


def missing_tables(models: Sequence[Model], present: Iterable[tuple[str, str]]) -> list[str]:
    """What of the schema's models the database lacks: ``table`` or ``table.column``."""
    columns: dict[str, set[str]] = {}
    for table, column in present:
        columns.setdefault(table, set()).add(column)
    out: list[str] = []
    for model in models:
        have = columns.get(model.table)
        if have is None:
            out.append(f"{model.table} (model {model.name}, {model.source.where()})")
            continue
        out += [f"{model.table}.{c}" for c in model.columns if c not in have]
    return out


# -- a failed release phase or one-off, read from its output ----------------------------


@dataclass(frozen=True)
class FailureReading:
    """What a failed migration command's output says happened."""

    kind: str  # migration-failed | earlier-failure | unreachable | could-not-start | unknown
    message: str
    hint: str
    migration: str | None = None


_CODE = re.compile(r"\b(P[13]\d{3})\b")
_MIGRATION_NAME = re.compile(r"Migration name:\s*(\S+)")
_FAILED_NAME = re.compile(r"The `([^`]+)` migration")


def _exit(status: int | None) -> str:
    return f" (exit {status})" if status is not None else ""


def explain_failure(
    lines: Sequence[str], exit_status: int | None, command: str, *, app: str | None = None
) -> FailureReading:
    """Read Prisma's (or the shell's) output of a failed ``command`` (run on ``app``)."""
    on = f" -a {app}" if app else ""
    text = "\n".join(lines)
    codes = _CODE.findall(text)
    name = _MIGRATION_NAME.search(text) or _FAILED_NAME.search(text)
    migration = name.group(1) if name else None
    if "P3018" in codes or "P3006" in codes:
        return FailureReading(
            "migration-failed",
            f"migration {migration or '(unnamed)'} failed to apply (Prisma P3018)",
            f"mark it rolled back (`heroku run{on} -- npx prisma migrate resolve --rolled-back "
            f"{migration or '<name>'}`), fix its SQL, and deploy again",
            migration,
        )
    if "P3009" in codes:
        return FailureReading(
            "earlier-failure",
            f"an earlier migration ({migration or 'see the output'}) failed and blocks new "
            "ones (Prisma P3009)",
            f"resolve it first: `heroku run{on} -- npx prisma migrate resolve --rolled-back "
            f"{migration or '<name>'}` (or `--applied` when it was fixed by hand), then deploy "
            "again",
            migration,
        )
    if any(c in codes for c in ("P1001", "P1000", "P1002", "P1003", "P1010", "P1017")):
        return FailureReading(
            "unreachable",
            f"the migration tool could not reach the database (Prisma "
            f"{next(c for c in codes if c.startswith('P1'))}); no migration ran",
            f"check DATABASE_URL on the app and that its database is up (`heroku pg:info{on}`), "
            "then deploy again",
        )
    if "P1012" in codes or "Environment variable not found" in text:
        return FailureReading(
            "could-not-start",
            "Prisma could not load the schema (a variable it reads is not set); no migration ran",
            "set the variable the schema reads (`keycliq config check` lists them)",
        )
    if exit_status == 127 or re.search(
        r"command not found|Missing script|: not found|No such file or directory", text
    ):
        return FailureReading(
            "could-not-start",
            f"`{command}` could not start{_exit(exit_status)}; no migration ran",
            "check the command (migrations.command in keycliq.yaml or the Procfile's "
            "`release:` line) and that the slug has Prisma (devDependencies are pruned)",
        )
    return FailureReading(
        "unknown",
        f"`{command}` failed{_exit(exit_status)}",
        "read its output above",
    )


# -- what the configured strategy needs from the commit (preflight) ---------------------


def prisma_kind(command: str, scripts: Mapping[str, str]) -> str | None:
    """``migrate-deploy`` / ``db-push`` when ``command`` (or the npm script it runs) is that
    Prisma command; None for anything else."""
    from keycliq_ops.config.app_repo import script_named

    seen: set[str] = set()
    text = command
    while True:
        if re.search(r"\bprisma\s+migrate\s+deploy\b", text):
            return "migrate-deploy"
        if re.search(r"\bprisma\s+db\s+push\b", text):
            return "db-push"
        script = script_named(text)
        if script is None or script in seen or script not in scripts:
            return None
        seen.add(script)
        text = scripts[script]


def strategy_problem(strategy: str, command: str | None, repo: AppRepo) -> tuple[str, str] | None:
    """(what is wrong, the fix) when the commit cannot honour the configured strategy."""
    scripts = repo.scripts()
    release = repo.release_line()
    if strategy == "release-phase":
        if release is None:
            detected = detect_strategy(repo)
            fix = (
                f"set `migrations.strategy: {detected.strategy}` in keycliq.yaml "
                f"({detected.reason}), or add `release: npx prisma migrate deploy` to the "
                "Procfile"
            )
            what = "has no Procfile" if repo.procfile is None else "has no `release:` line"
            return f"migrations.strategy is release-phase but {repo.origin} {what}", fix
        kind = prisma_kind(release.text, scripts)
        if kind == "migrate-deploy" and not repo.has_migrations():
            return (
                f"{release.where()} runs `{release.text}` but {repo.origin} has no "
                f"{repo.migrations_dir}/ with migrations: it would apply nothing",
                "create the migration history (`npx prisma migrate dev`) or run "
                "`npm run db:push` instead (migrations.strategy: db-push)",
            )
        return None
    if strategy in ("one-off", "db-push") and command is not None:
        kind = prisma_kind(command, scripts)
        missing = script_problem(command, repo)
        if missing:
            return missing, "fix migrations.command in keycliq.yaml"
        if kind == "migrate-deploy" and not repo.has_migrations():
            return (
                f"migrations.command `{command}` runs prisma migrate deploy but {repo.origin} "
                f"has no {repo.migrations_dir}/ with migrations: it would apply nothing",
                "set `migrations.strategy: db-push` in keycliq.yaml (the runbook's `npm run "
                "db:push` for an app without migration history)",
            )
        if kind is not None and repo.schema is None:
            return (
                f"`{command}` needs {repo.schema_path}, which {repo.origin} does not have",
                "commit the Prisma schema, or set migrations.strategy: none",
            )
    return None
