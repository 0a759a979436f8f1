"""The migrations a release is about to apply, linted before the push (squawk).

:func:`lint_pending` finds the migrations the target database has not applied (the shipped
commit's ``prisma/migrations/`` against the target's ``_prisma_migrations``, as
``migration_check.compare`` reads them), lints their SQL with squawk
(:mod:`keycliq_ops.adapters.squawk`), names the table each finding is on (PostgreSQL's own
parser, ``pglast``) with its estimated row count on the target (``pg_class.reltuples``), and
gives each finding its level from ``migrations.lint.rules`` (``error``, ``error-if-rows``,
``warning``, ``off``). It never prints: :class:`LintReport` says what was found, and
``lines()`` how a person reads it, grouped by migration.

An ``error`` stops a deploy before the push unless the risk is accepted with a reason
(``--accept-migration-risk``); the report keeps the findings, the reason and who accepted.
An app that reaches its schema with ``prisma db push`` has no migration files: there is
nothing to lint, and the report says so and why.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from keycliq_ops.config.app_repo import AppRepo
from keycliq_ops.release.migration_check import (
    ROWS_SQL,
    TABLE,
    TABLE_SQL,
    MigrationRow,
    compare,
    prisma_kind,
)

if TYPE_CHECKING:
    from keycliq_ops.adapters.db import DbSession
    from keycliq_ops.adapters.squawk import SquawkFinding
    from keycliq_ops.config.settings import Migrations
    from keycliq_ops.release.session import Session
    from keycliq_ops.release.stepper import StepIO

Status = Literal["linted", "nothing-pending", "nothing-to-lint", "disabled"]
Level = Literal["error", "warning"]

VERSION_SQL = "SELECT current_setting('server_version_num')::int"


@dataclass(frozen=True)
class Finding:
    """One squawk finding in a pending migration, with its table and its level here."""

    migration: str
    path: str
    line: int
    rule: str
    message: str
    help: str | None
    level: Level
    table: str | None = None
    rows: int | None = None  # the target's estimate (pg_class.reltuples)
    table_state: Literal["estimated", "unanalyzed", "absent", "unknown"] = "unknown"

    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def size(self) -> str:
        """``on keys (≈1.2 k rows)``, or '' when no table is known."""
        if self.table is None:
            return ""
        if self.table_state == "estimated" and self.rows is not None:
            return f"on {self.table} (≈{_count(self.rows)} rows)"
        if self.table_state == "unanalyzed":
            return f"on {self.table} (row count unknown: never analyzed)"
        if self.table_state == "absent":
            return f"on {self.table} (not in the database yet)"
        return f"on {self.table}"

    def text(self) -> str:
        """``prisma/migrations/…/migration.sql:1 ban-drop-column: … (on keys, ≈150 rows)``."""
        size = self.size()
        if not size:
            return f"{self.where()} {self.rule}: {self.message}"
        table, _, detail = size.partition(" (")
        inside = f"{table}, {detail[:-1]}" if detail else table
        return f"{self.where()} {self.rule}: {self.message.rstrip()} ({inside})"

    def as_data(self) -> dict[str, Any]:
        return {
            "migration": self.migration,
            "file": self.path,
            "line": self.line,
            "rule": self.rule,
            "level": self.level,
            "message": self.message,
            "help": self.help,
            "table": self.table,
            "estimated_rows": self.rows,
            "table_state": self.table_state,
        }


def _count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} M"
    if n >= 10_000:
        return f"{n / 1_000:.1f} k"
    return str(n)


@dataclass
class LintReport:
    """What the lint of one environment's pending migrations found."""

    status: Status
    reason: str  # one line: what was linted, or why nothing was
    origin: str = ""  # "commit 1a2b3c4d"
    pending: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    squawk_version: str | None = None
    accepted: dict[str, Any] | None = None  # {"reason": …, "by": …} when errors were accepted

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    def by_migration(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {name: [] for name in self.pending}
        for finding in self.findings:
            out.setdefault(finding.migration, []).append(finding)
        return out

    def summary(self) -> str:
        if self.status != "linted":
            return self.reason
        count = f"{len(self.pending)} pending migration(s) linted"
        if not self.findings:
            return f"{count}: no findings"
        e, w = len(self.errors), len(self.warnings)
        return f"{count}: {e} error(s), {w} warning(s)"

    def lines(self) -> list[str]:
        """How a person reads it: each migration, then its findings with squawk's help."""
        if self.status != "linted":
            return [self.reason]
        out: list[str] = []
        for migration, found in self.by_migration().items():
            out.append(f"{migration}: " + (f"{len(found)} finding(s)" if found else "no findings"))
            for f in found:
                out.append(f"  {f.level}: {f.text()}")
                if f.help:
                    out.append(f"    help: {f.help}")
        return out

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "reason": self.reason,
            "commit": self.origin,
            "pending": self.pending,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [f.as_data() for f in self.findings],
            "squawk": self.squawk_version,
        }
        if self.accepted is not None:
            data["accepted"] = self.accepted
        return data


# ----------------------------------------------------------------------------- lint


def nothing_to_lint(repo: AppRepo, settings: Migrations) -> str | None:
    """Why there is nothing to lint for this commit and strategy (None: lint it)."""
    if not settings.lint.enabled:
        return "skipped: migrations.lint.enabled is false in keycliq.yaml"
    if settings.strategy == "none":
        return "nothing to lint: migrations.strategy is none"
    command = settings.one_off_command()
    if command is None:
        line = repo.release_line()
        command = line.text if line is not None else None
    kind = prisma_kind(command, repo.scripts()) if command else None
    if settings.strategy == "db-push" or kind == "db-push":
        return (
            f"nothing to lint: the schema reaches the database with `prisma db push` "
            f"({command or 'db-push'}), which keeps no migration files: the SQL is made at "
            f"release time from {repo.schema_path}, so there is no SQL to read beforehand"
        )
    if not repo.has_migrations():
        return f"nothing to lint: {repo.origin} has no {repo.migrations_dir}/ migrations"
    return None


def pending_migrations(repo: AppRepo, db: DbSession) -> list[str]:
    """The commit's migrations the database has not applied (failed ones included: Prisma
    applies them again once they are marked rolled back)."""
    exists = db.query(TABLE_SQL, [TABLE], action="looking for migrations")
    rows = None
    if exists.rows and exists.rows[0][0]:
        found = db.query(ROWS_SQL, action=f"reading {TABLE}")
        rows = [MigrationRow.of(r) for r in found.rows]
    state = compare(repo.migrations(), rows)
    failed = {name for name, _ in state.failed}
    return [name for name in repo.migrations() if name in set(state.pending) | failed]


def lint_pending(
    repo: AppRepo,
    database_url: str,
    settings: Migrations,
    *,
    target: str,
    accept: str | None = None,
    accepted_by: str | None = None,
) -> LintReport:
    """Lint ``repo``'s migrations that the database at ``database_url`` (of ``target``, an
    app name) has not applied. ``accept``: the reason the errors are accepted (recorded)."""
    from keycliq_ops.adapters import squawk
    from keycliq_ops.adapters.db import DbSession, estimated_rows

    why = nothing_to_lint(repo, settings)
    if why is not None:
        return LintReport(
            "disabled" if why.startswith("skipped") else "nothing-to-lint", why, origin=repo.origin
        )
    with DbSession.open(database_url) as db:
        pending = pending_migrations(repo, db)
        if not pending:
            return LintReport(
                "nothing-pending",
                f"nothing to lint: {target} has applied every migration of {repo.origin}",
                origin=repo.origin,
            )
        version = db.query(VERSION_SQL, action="reading the server's version")
        number = int(version.rows[0][0]) if version.rows else 0
        pg_version = f"{number // 10000}.{number % 10000}" if number >= 100000 else None
        sql = repo.migrations()
        paths = {f"{repo.migrations_dir}/{name}/migration.sql": name for name in pending}
        raw = squawk.lint({path: sql[name] for path, name in paths.items()}, pg_version=pg_version)
        tables = {
            (f.path, f.line, f.column): _table_at(sql[paths[f.path]], f.line, f.column)
            for f in raw
            if f.path in paths
        }
        named = sorted({t for t in tables.values() if t is not None})
        rows = estimated_rows(db, named) if named else {}
    findings = [
        found
        for f in raw
        if f.path in paths
        and (
            found := _judge(
                f, paths[f.path], tables.get((f.path, f.line, f.column)), rows, settings
            )
        )
        is not None
    ]
    report = LintReport(
        "linted",
        f"{len(pending)} migration(s) {target} has not applied, linted with squawk "
        f"{squawk.version()}",
        origin=repo.origin,
        pending=pending,
        findings=findings,
        squawk_version=squawk.version(),
    )
    if accept is not None and report.errors:
        report.accepted = {"reason": accept, "by": accepted_by}
    return report


def _judge(
    raw: SquawkFinding,
    migration: str,
    table: str | None,
    rows: Mapping[str, int | None],
    settings: Migrations,
) -> Finding | None:
    """The finding with its level here (None: the rule is off)."""
    configured = settings.lint.level(raw.rule)
    if configured == "off":
        return None
    state: Literal["estimated", "unanalyzed", "absent", "unknown"] = "unknown"
    estimate: int | None = None
    if table is not None:
        if table not in rows:
            state = "absent"
        else:
            estimate = rows[table]
            state = "estimated" if estimate is not None else "unanalyzed"
    level: Level
    if configured == "error-if-rows":
        # An empty or new table is no risk; a table whose size is unknown may not be empty.
        empty = state == "absent" or (state == "estimated" and estimate == 0)
        level = "warning" if empty else "error"
    elif configured in ("error", "warning"):
        level = configured
    else:
        level = "error" if raw.level == "error" else "warning"
    return Finding(
        migration=migration,
        path=raw.path,
        line=raw.line,
        rule=raw.rule,
        message=raw.message,
        help=raw.help,
        level=level,
        table=table,
        rows=estimate,
        table_state=state,
    )


# ------------------------------------------------------------------- which table


def _offset(sql: str, line: int, column: int) -> int:
    """The byte offset of (1-based) ``line``/``column`` in ``sql``."""
    lines = sql.split("\n")
    before = "\n".join(lines[: line - 1]) + ("\n" if line > 1 else "")
    current = lines[line - 1] if 0 < line <= len(lines) else ""
    return len((before + current[: max(column - 1, 0)]).encode("utf-8"))


def _table_at(sql: str, line: int, column: int) -> str | None:
    """The table the statement at ``line``/``column`` acts on (None: no table, or SQL that
    PostgreSQL's parser does not read)."""
    from pglast import parser

    try:
        parsed = json.loads(parser.parse_sql_json(sql))
    except (parser.ParseError, ValueError):
        return None
    at = _offset(sql, line, column)
    stmts: Sequence[dict[str, Any]] = parsed.get("stmts") or []
    chosen = None
    for stmt in stmts:
        if int(stmt.get("stmt_location", 0)) <= at:
            chosen = stmt
    if chosen is None and stmts:
        chosen = stmts[0]
    return _table_of(chosen.get("stmt")) if chosen is not None else None


def _table_of(node: Any) -> str | None:
    if not isinstance(node, dict):
        return None
    drop = node.get("DropStmt")
    if isinstance(drop, dict) and drop.get("removeType") == "OBJECT_TABLE":
        objects = drop.get("objects") or []
        names = [
            item["String"]["sval"]
            for item in (objects[0].get("List", {}).get("items", []) if objects else [])
            if isinstance(item, dict) and "String" in item
        ]
        return names[-1] if names else None
    return _first_relation(node)


def _first_relation(node: Any) -> str | None:
    """The first ``relation``/``RangeVar`` name in a parse tree (depth first)."""
    stack: list[Any] = [node]
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            for key in ("relation", "RangeVar"):
                value = item.get(key)
                if isinstance(value, dict) and isinstance(value.get("relname"), str):
                    return str(value["relname"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def risk_warnings(report: LintReport) -> list[str]:
    """The warnings a run records for its accepted errors (one a finding)."""
    if report.accepted is None:
        return []
    who = report.accepted.get("by") or "unknown"
    reason = report.accepted.get("reason")
    return [f"migration risk accepted by {who} ({reason}): {f.text()}" for f in report.errors]


def describe_errors(findings: Iterable[Finding]) -> str:
    found = list(findings)
    first = found[0].text() if found else ""
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return first + more


# ------------------------------------------------------------- in a release's preflight


def actor_text(s: Session) -> str:
    """Who runs this release, as the ledger's actor names them (git user, Heroku account)."""
    from keycliq_ops.ledger import detect_actor

    actor = detect_actor(s.repo.root if s.repo is not None else s.root, s.heroku_email)
    git = " ".join(
        p for p in (actor.git_name, f"<{actor.git_email}>" if actor.git_email else None) if p
    )
    parts = [git] if git else []
    if actor.heroku_email:
        parts.append(f"Heroku {actor.heroku_email}")
    return ", ".join(parts) or "unknown"


def gate_migrations(s: Session, io: StepIO, accept: str | None) -> LintReport:
    """Preflight's lint of ``s``'s pending migrations: each line to ``io``; GateFailed
    (exit 1) on an error finding unless ``accept`` gives the reason to go on."""
    from keycliq_ops.base.errors import GateFailed

    io.note("linting the pending migrations (squawk)")
    report = lint_pending(
        s.app_repo(),
        s.database_url(),
        s.loaded.config.migrations,
        target=s.app,
        accept=accept,
        accepted_by=actor_text(s) if accept is not None else None,
    )
    for line in report.lines():
        io.line(line)
    if report.errors and accept is None:
        raise GateFailed(
            f"migration lint: {len(report.errors)} error(s) in the migrations {s.app} has not "
            f"applied: {describe_errors(report.errors)}",
            hint="fix the migration (a new one: an applied migration must not change), or "
            'pass --accept-migration-risk "REASON" to deploy anyway (recorded in the ledger); '
            f"`keycliq migrations lint {s.env_name}` shows every finding",
        )
    if report.errors:
        io.note(f"migration risk accepted ({accept}): {len(report.errors)} error(s)")
    return report
