"""What a promotion changes in production, learnt before it is confirmed.

The runbook tries dependency upgrades (Remix, Prisma, the OpenAI SDK) on staging before
production. :func:`preview_promotion` says, without changing anything, what production will
gain: the commits (production's commit to staging's), the migrations production's database
has not applied (staging's commit's ``prisma/migrations/`` against production's
``_prisma_migrations``), and the dependency versions that change (``package.json`` and
``package-lock.json`` of the two commits, read through git), each direct one with how long
staging has run that version (the ledger's staging deploys, else staging's release time).
It never prints: :meth:`PromotionPreview.lines` is how a person reads it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from keycliq_ops.base.errors import KeycliqError

if TYPE_CHECKING:
    from keycliq_ops.adapters.git import Repo
    from keycliq_ops.ledger import Ledger

PACKAGE_JSON = "package.json"
PACKAGE_LOCK = "package-lock.json"
_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
HISTORY = 30  # staging deploys read back to find since when staging runs a version


def _short(sha: str | None) -> str:
    return (sha or "?")[:8]


@dataclass(frozen=True)
class DependencyChange:
    name: str
    old: str | None  # None: not there before
    new: str | None  # None: removed
    direct: bool
    spec_old: str | None = None  # package.json's range, for a direct dependency
    spec_new: str | None = None
    staging_since: datetime | None = None

    def staging_for(self, now: datetime) -> str | None:
        if self.staging_since is None:
            return None
        from keycliq_ops.ledger.reports import fmt_duration

        return fmt_duration(max(0, int((now - self.staging_since).total_seconds() * 1000)))

    def text(self, now: datetime) -> str:
        kind = "direct" if self.direct else "transitive"
        line = f"{self.name} {self.old or '(new)'} → {self.new or '(removed)'} ({kind})"
        ran = self.staging_for(now)
        if ran is not None and self.new is not None:
            assert self.staging_since is not None
            line += (
                f", on staging for {ran} (since "
                f"{self.staging_since.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"
            )
        return line

    def as_data(self, now: datetime) -> dict[str, Any]:
        return {
            "name": self.name,
            "old": self.old,
            "new": self.new,
            "kind": "direct" if self.direct else "transitive",
            "spec_old": self.spec_old,
            "spec_new": self.spec_new,
            "staging_since": self.staging_since.isoformat() if self.staging_since else None,
            "staging_for": self.staging_for(now),
        }


@dataclass
class PromotionPreview:
    """What production gains: commits, migrations, dependency versions."""

    source_env: str
    commit: str
    production_commit: str | None
    commits: list[tuple[str, str]] | None = None  # (sha, subject) newest first; None: unknown
    pending_migrations: list[str] | None = None  # None: unknown (see notes)
    dependencies: list[DependencyChange] = field(default_factory=list)
    staging_since: datetime | None = None  # staging runs the commit since
    notes: list[str] = field(default_factory=list)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def direct(self) -> list[DependencyChange]:
        return [d for d in self.dependencies if d.direct]

    @property
    def transitive(self) -> list[DependencyChange]:
        return [d for d in self.dependencies if not d.direct]

    def lines(self) -> list[str]:
        out: list[str] = [
            f"What production gains ({_short(self.production_commit)} → {_short(self.commit)}):"
        ]
        if self.commits is None:
            out.append("  commits: unknown")
        else:
            out.append(f"  {len(self.commits)} commit(s)")
            out += [f"    {sha[:8]} {subject}" for sha, subject in self.commits[:10]]
            if len(self.commits) > 10:
                out.append(f"    … and {len(self.commits) - 10} more")
        if self.pending_migrations is None:
            out.append("  migrations production has not applied: unknown")
        elif self.pending_migrations:
            out.append(f"  {len(self.pending_migrations)} migration(s) production has not applied")
            out += [f"    {name}" for name in self.pending_migrations]
        else:
            out.append("  no migration production has not applied")
        if not self.dependencies:
            out.append("  no dependency version changes")
        else:
            out.append(
                f"  dependency versions that change: {len(self.direct)} direct, "
                f"{len(self.transitive)} transitive"
            )
            out += [f"    {d.text(self.now)}" for d in self.direct]
            listed = self.transitive[:5]
            out += [f"    {d.text(self.now)}" for d in listed]
            if len(self.transitive) > len(listed):
                out.append(f"    … and {len(self.transitive) - len(listed)} more transitive")
        if self.staging_since is not None:
            ran = DependencyChange("", None, None, False, staging_since=self.staging_since)
            out.append(
                f"  {self.source_env} has run {_short(self.commit)} for {ran.staging_for(self.now)}"
            )
        out += [f"  note: {n}" for n in self.notes]
        return out

    def as_data(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "production_commit": self.production_commit,
            "commits": None
            if self.commits is None
            else [{"sha": sha, "subject": subject} for sha, subject in self.commits],
            "pending_migrations": self.pending_migrations,
            "dependencies": [d.as_data(self.now) for d in self.dependencies],
            "direct_changed": len(self.direct),
            "transitive_changed": len(self.transitive),
            "staging_since": self.staging_since.isoformat() if self.staging_since else None,
            "notes": self.notes,
        }


# ---------------------------------------------------------------------- dependencies


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def direct_specs(package_json: str | None) -> dict[str, str]:
    """package.json's dependencies (every section): name → range."""
    data = _json(package_json)
    out: dict[str, str] = {}
    for section in _SECTIONS:
        deps = data.get(section)
        if isinstance(deps, dict):
            for name, spec in deps.items():
                out.setdefault(str(name), str(spec))
    return out


def locked_versions(package_lock: str | None) -> dict[str, str]:
    """package-lock.json's installed versions: name → version (several versions of one
    package, nested, are joined: ``1.0.0, 2.1.0``). npm's lockfileVersion 1, 2 and 3."""
    data = _json(package_lock)
    found: dict[str, set[str]] = {}
    packages = data.get("packages")
    if isinstance(packages, dict):
        for path, meta in packages.items():
            if not path or "node_modules/" not in path or not isinstance(meta, dict):
                continue
            name = path.rsplit("node_modules/", 1)[1]
            if isinstance(meta.get("version"), str):
                found.setdefault(name, set()).add(meta["version"])
    else:
        stack: list[Mapping[str, Any]] = [data.get("dependencies") or {}]
        while stack:
            deps = stack.pop()
            for name, meta in deps.items():
                if isinstance(meta, dict):
                    if isinstance(meta.get("version"), str):
                        found.setdefault(name, set()).add(meta["version"])
                    if isinstance(meta.get("dependencies"), dict):
                        stack.append(meta["dependencies"])
    return {name: ", ".join(sorted(v)) for name, v in found.items()}


@dataclass(frozen=True)
class _Packages:
    specs: dict[str, str]
    locked: dict[str, str]

    def version(self, name: str) -> str | None:
        return self.locked.get(name) or self.specs.get(name)


def _packages(repo: Repo, commit: str) -> _Packages:
    files = repo.files_at(commit, [PACKAGE_JSON, PACKAGE_LOCK], max_bytes=20_000_000)
    return _Packages(
        direct_specs(files.get(PACKAGE_JSON)), locked_versions(files.get(PACKAGE_LOCK))
    )


def dependency_changes(old: _Packages, new: _Packages) -> list[DependencyChange]:
    """Every package whose version differs: direct ones first, each group by name."""
    names = set(old.specs) | set(new.specs) | set(old.locked) | set(new.locked)
    out: list[DependencyChange] = []
    for name in sorted(names):
        was, now = old.version(name), new.version(name)
        direct = name in old.specs or name in new.specs
        spec_old, spec_new = old.specs.get(name), new.specs.get(name)
        if was == now and (not direct or spec_old == spec_new):
            continue
        out.append(DependencyChange(name, was, now, direct, spec_old, spec_new))
    return sorted(out, key=lambda d: (not d.direct, d.name))


def _staging_runs(
    ledger: Ledger, source_env: str, limit: int = HISTORY
) -> list[tuple[datetime, str]]:
    """(when it finished, commit) of the source's succeeded deploys, newest first."""
    out: list[tuple[datetime, str]] = []
    for record in ledger.iter(reverse=True):
        if (
            record.action == "deploy"
            and record.environment == source_env
            and record.ref is not None
            and record.outcome == "succeeded"
            and record.commit
        ):
            out.append((record.ts, record.commit))
            if len(out) >= limit:
                break
    return out


def _since(
    change: DependencyChange,
    runs: Iterable[tuple[datetime, str]],
    packages_at: Callable[[str], _Packages | None],
    fallback: datetime | None,
) -> datetime | None:
    """Since when the source has run ``change.new`` without a break (ledger deploys), else
    ``fallback`` (the source's current release)."""
    since: datetime | None = None
    for when, commit in runs:
        got = packages_at(commit)
        if got is None or got.version(change.name) != change.new:
            break
        since = when
    if since is None:
        return fallback
    return min(since, fallback) if fallback is not None else since


# --------------------------------------------------------------------------- preview


def preview_promotion(
    repo: Repo,
    *,
    source_env: str,
    commit: str,
    production_commit: str | None,
    ledger: Ledger,
    staging_release_at: datetime | None,
    database_url: Callable[[], str] | None,
    now: datetime | None = None,
) -> PromotionPreview:
    """What promoting ``commit`` (what ``source_env`` runs) over ``production_commit``
    changes (read-only; what cannot be learnt is a note, never an error)."""
    preview = PromotionPreview(
        source_env=source_env,
        commit=commit,
        production_commit=production_commit,
        staging_since=staging_release_at,
        now=now or datetime.now(UTC),
    )
    have_new = repo.has_commit(commit)
    have_old = production_commit is not None and repo.has_commit(production_commit)
    if not have_new:
        preview.notes.append(f"commit {_short(commit)} is not in this checkout (`git fetch`)")
        return preview
    if production_commit is None:
        preview.notes.append("the commit production runs is unknown")
    elif not have_old:
        preview.notes.append(
            f"production's commit {_short(production_commit)} is not in this checkout"
        )
    else:
        preview.commits = [
            (c.sha, c.subject) for c in repo.commits_between(production_commit, commit)
        ]
    preview.pending_migrations = _pending(repo, commit, database_url, preview.notes)
    if have_old:
        assert production_commit is not None
        cache: dict[str, _Packages | None] = {}

        def packages_at(sha: str) -> _Packages | None:
            if sha not in cache:
                try:
                    cache[sha] = _packages(repo, sha) if repo.has_commit(sha) else None
                except KeycliqError:
                    cache[sha] = None
            return cache[sha]

        old, new = packages_at(production_commit), packages_at(commit)
        if old is not None and new is not None:
            runs = _staging_runs(ledger, source_env)
            preview.dependencies = [
                _with_since(d, runs, packages_at, staging_release_at)
                for d in dependency_changes(old, new)
            ]
    return preview


def _with_since(
    change: DependencyChange,
    runs: list[tuple[datetime, str]],
    packages_at: Callable[[str], _Packages | None],
    fallback: datetime | None,
) -> DependencyChange:
    if change.new is None:
        return change
    from dataclasses import replace

    return replace(change, staging_since=_since(change, runs, packages_at, fallback))


def _pending(
    repo: Repo, commit: str, database_url: Callable[[], str] | None, notes: list[str]
) -> list[str] | None:
    from keycliq_ops.adapters.db import DbSession
    from keycliq_ops.config.app_repo import read_at_commit
    from keycliq_ops.release.migration_lint import pending_migrations

    files = read_at_commit(repo, commit)
    if not files.has_migrations():
        notes.append(
            f"{files.origin} has no {files.migrations_dir}/ migrations (a db push app: the "
            "schema change is not known beforehand)"
        )
        return []
    if database_url is None:
        return None
    try:
        with DbSession.open(database_url()) as db:
            return pending_migrations(files, db)
    except KeycliqError as exc:
        notes.append(f"cannot read production's _prisma_migrations: {exc.message}")
        return None
