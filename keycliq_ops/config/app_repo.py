"""What a release tool reads from the app's repository: Procfile, package.json, Prisma.

The facts a deploy depends on live in the app's own files, at the commit being deployed:
whether the Procfile has a ``release:`` phase, which scripts ``package.json`` defines, which
migrations ``prisma/migrations/`` holds and which variables and tables
``prisma/schema.prisma`` names. :func:`read_at_commit` reads them from git (two git calls),
:func:`read_worktree` from a checkout (``keycliq init``, ``config check``); both give an
:class:`AppRepo`, which only parses (it never reaches anything).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from keycliq_ops.adapters.git import Repo

PROCFILE = "Procfile"
PACKAGE_JSON = "package.json"
DEFAULT_SCHEMA = "prisma/schema.prisma"
MIGRATIONS_DIR = "prisma/migrations"
_READ = (PROCFILE, PACKAGE_JSON, "prisma")

SCALARS = frozenset(
    {"String", "Int", "BigInt", "Float", "Decimal", "Boolean", "DateTime", "Json", "Bytes"}
)
_ENV = re.compile(r"""\benv\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*\)""")
_BLOCK = re.compile(r"^\s*(model|enum|view|type)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{")
_MAP = re.compile(r"""@map\(\s*(?:name:\s*)?["']([^"']+)["']""")
_TABLE_MAP = re.compile(r"""^\s*@@map\(\s*(?:name:\s*)?["']([^"']+)["']""")
_FIELD = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z_][A-Za-z0-9_]*)(\[\])?(\?)?")


@dataclass(frozen=True)
class SourceLine:
    """A line of a repository file: where a requirement comes from."""

    path: str
    line: int
    text: str

    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class EnvRef:
    """A variable the schema reads with ``env("NAME")``."""

    name: str
    source: SourceLine


@dataclass(frozen=True)
class Model:
    """A Prisma model: its table (``@@map`` honoured) and its scalar columns."""

    name: str
    table: str
    columns: tuple[str, ...]
    source: SourceLine


@dataclass(frozen=True)
class Strategy:
    """The migration strategy a repository calls for, and why."""

    strategy: str  # release-phase | one-off | db-push | none
    command: str | None
    reason: str


@dataclass(frozen=True)
class AppRepo:
    """The app's release-relevant files at one commit (or in the work tree)."""

    files: Mapping[str, str]
    origin: str  # "commit 1a2b3c4d" or "the work tree at /path"
    listed: frozenset[str] = field(default_factory=frozenset)  # every path read, even binary

    # -- Procfile -----------------------------------------------------------------------

    @property
    def procfile(self) -> str | None:
        return self.files.get(PROCFILE)

    def process_line(self, process: str) -> SourceLine | None:
        """The Procfile line declaring ``process`` (e.g. ``release``), if any."""
        for number, raw in enumerate((self.procfile or "").splitlines(), 1):
            name, sep, command = raw.strip().partition(":")
            if sep and name.strip() == process and command.strip():
                return SourceLine(PROCFILE, number, command.strip())
        return None

    def release_line(self) -> SourceLine | None:
        return self.process_line("release")

    # -- package.json -------------------------------------------------------------------

    @cached_property
    def _package(self) -> tuple[dict[str, Any] | None, str | None]:
        text = self.files.get(PACKAGE_JSON)
        if text is None:
            return None, None
        try:
            data = json.loads(text)
        except ValueError as exc:
            return None, f"{PACKAGE_JSON}: not valid JSON ({exc})"
        if not isinstance(data, dict):
            return None, f"{PACKAGE_JSON}: not a JSON object"
        return data, None

    @property
    def package(self) -> dict[str, Any] | None:
        return self._package[0]

    @property
    def package_problem(self) -> str | None:
        return self._package[1]

    def scripts(self) -> dict[str, str]:
        scripts = (self.package or {}).get("scripts")
        if not isinstance(scripts, dict):
            return {}
        return {str(k): str(v) for k, v in scripts.items() if isinstance(v, str)}

    def script_line(self, name: str) -> SourceLine | None:
        """Where ``"name": …`` sits in package.json."""
        needle = json.dumps(name) + ":"
        for number, raw in enumerate(self.files.get(PACKAGE_JSON, "").splitlines(), 1):
            if needle in raw.replace('" :', '":'):
                return SourceLine(PACKAGE_JSON, number, raw.strip())
        return None

    # -- Prisma -------------------------------------------------------------------------

    @property
    def schema_path(self) -> str:
        prisma = (self.package or {}).get("prisma")
        if isinstance(prisma, dict) and isinstance(prisma.get("schema"), str):
            return str(Path(prisma["schema"]).as_posix()).removeprefix("./")
        return DEFAULT_SCHEMA

    @property
    def schema(self) -> str | None:
        return self.files.get(self.schema_path)

    @property
    def migrations_dir(self) -> str:
        return str(Path(self.schema_path).parent / "migrations")

    def migrations(self) -> dict[str, str]:
        """``{folder: migration.sql text}``, in Prisma's order (by folder name)."""
        prefix = self.migrations_dir + "/"
        found: dict[str, str] = {}
        for path, text in self.files.items():
            if path.startswith(prefix) and path.endswith("/migration.sql"):
                folder = path[len(prefix) : -len("/migration.sql")]
                if folder and "/" not in folder:
                    found[folder] = text
        return dict(sorted(found.items()))

    def has_migrations(self) -> bool:
        return bool(self.migrations())

    def schema_env(self) -> list[EnvRef]:
        """Every ``env("NAME")`` of the schema, with its line (first use of each name)."""
        seen: dict[str, EnvRef] = {}
        for number, raw in enumerate((self.schema or "").splitlines(), 1):
            code = raw.split("//", 1)[0]
            for match in _ENV.finditer(code):
                name = match.group(1)
                if name not in seen:
                    seen[name] = EnvRef(name, SourceLine(self.schema_path, number, raw.strip()))
        return list(seen.values())

    def models(self) -> list[Model]:
        """The schema's models, each with its table name and scalar/enum columns."""
        text = self.schema or ""
        lines = text.splitlines()
        enums = {m.group(2) for ln in lines if (m := _BLOCK.match(ln)) and m.group(1) == "enum"}
        models: list[Model] = []
        current: tuple[str, int] | None = None
        table: str | None = None
        columns: list[str] = []
        for number, raw in enumerate(lines, 1):
            code = raw.split("//", 1)[0].rstrip()
            if current is None:
                m = _BLOCK.match(code)
                if m and m.group(1) == "model":
                    current, table, columns = (m.group(2), number), None, []
                continue
            if code.strip() == "}":
                name, line = current
                models.append(
                    Model(
                        name,
                        table or name,
                        tuple(columns),
                        SourceLine(self.schema_path, line, lines[line - 1].strip()),
                    )
                )
                current = None
                continue
            if mt := _TABLE_MAP.match(code):
                table = mt.group(1)
                continue
            mf = _FIELD.match(code)
            if mf and not code.lstrip().startswith("@@"):
                kind, is_list = mf.group(2), bool(mf.group(3))
                if (kind in SCALARS or kind in enums) and not is_list:
                    mapped = _MAP.search(code)
                    columns.append(mapped.group(1) if mapped else mf.group(1))
        return models


# -- what the repository calls for ------------------------------------------------------


def detect_strategy(repo: AppRepo) -> Strategy:
    """The migration strategy the repository's own files call for, and why."""
    release = repo.release_line()
    if release is not None:
        return Strategy(
            "release-phase",
            None,
            f"{release.where()} declares a release phase (`{release.text}`): Heroku runs it "
            "on every release",
        )
    if repo.has_migrations():
        count = len(repo.migrations())
        return Strategy(
            "one-off",
            "npx prisma migrate deploy",
            f"{repo.migrations_dir}/ holds {count} migration(s) and the Procfile has no "
            "`release:` line: run `prisma migrate deploy` in a one-off dyno",
        )
    if repo.schema is not None:
        scripts = repo.scripts()
        push = "db:push" if "db:push" in scripts else None  # the runbook's `npm run db:push`
        push = push or next((n for n, v in scripts.items() if "prisma db push" in v), None)
        command = f"npm run {push}" if push else "npx prisma db push"
        return Strategy(
            "db-push",
            command,
            f"{repo.schema_path} has no migration history ({repo.migrations_dir}/ is "
            f"missing): the schema reaches the database with `{command}`",
        )
    return Strategy("none", None, f"no {repo.schema_path} and no release phase: no migrations")


_NPM_RUN = {"run", "run-script", "rum", "urn"}
_NPM_SHORT = {"test", "t", "tst", "start", "stop", "restart"}


def script_named(command: str) -> str | None:
    """The package.json script an ``npm``/``yarn``/``pnpm`` command line runs, if any."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        words = words[1:]  # VAR=value npm test
    if len(words) < 2 or Path(words[0]).name not in {"npm", "yarn", "pnpm"}:
        return None
    rest = [w for w in words[1:] if not w.startswith("-")]
    if not rest:
        return None
    verb = rest[0]
    if verb in _NPM_RUN:
        return rest[1] if len(rest) > 1 else None
    if verb in _NPM_SHORT:
        return {"t": "test", "tst": "test"}.get(verb, verb)
    if Path(words[0]).name in {"yarn", "pnpm"}:
        return verb  # `yarn build` runs the script
    return None


def script_problem(command: str, repo: AppRepo) -> str | None:
    """Why ``command`` cannot run in this repository (a missing npm script), or None."""
    script = script_named(command)
    if script is None or repo.package_problem is not None:
        return repo.package_problem if script is not None else None
    if repo.package is None:
        return f"`{command}` runs the npm script {script!r}, but there is no {PACKAGE_JSON}"
    scripts = repo.scripts()
    if script in scripts:
        return None
    found = ", ".join(sorted(scripts)) or "none"
    return (
        f"`{command}` runs the npm script {script!r}, which {PACKAGE_JSON} does not define "
        f"(scripts found: {found})"
    )


def propose_test_command(repo: AppRepo) -> tuple[str | None, str]:
    """A test command for ``keycliq init`` and why (None: nothing to propose)."""
    scripts = repo.scripts()
    if "test" in scripts:
        return "npm test", f"{PACKAGE_JSON} defines `test`: {scripts['test']}"
    tests = sorted(n for n in scripts if re.match(r"^test[:_-]", n))
    if tests:
        return (
            f"npm run {tests[0]}",
            f"{PACKAGE_JSON} has no `test` script; its test scripts are "
            f"{', '.join(tests)} (the first is proposed; they may need API keys)",
        )
    return None, f"{PACKAGE_JSON} defines no test script"


# -- reading ----------------------------------------------------------------------------


def read_at_commit(repo: Repo, commit: str) -> AppRepo:
    """The app's files as ``commit`` has them (GitError when git cannot read them)."""
    files = repo.files_at(commit, _READ)
    return AppRepo(files=files, origin=f"commit {commit[:8]}", listed=frozenset(files))


def read_worktree(root: Path) -> AppRepo:
    """The app's files as the checkout at ``root`` has them (unreadable files left out)."""
    files: dict[str, str] = {}
    candidates = [root / PROCFILE, root / PACKAGE_JSON]
    prisma = root / "prisma"
    if prisma.is_dir():
        candidates += [p for p in prisma.rglob("*") if p.is_file()]
    for path in candidates:
        try:
            if path.is_file() and path.stat().st_size <= 2_000_000:
                files[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return AppRepo(files=files, origin=f"the work tree at {root}", listed=frozenset(files))
