"""The app's repository as a release tool reads it: real git repositories, real commits."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from keycliq_ops.adapters.git import Repo
from keycliq_ops.config.app_repo import (
    detect_strategy,
    propose_test_command,
    read_at_commit,
    read_worktree,
    script_named,
    script_problem,
)

SCHEMA = """\
datasource db {
  provider  = "postgresql"
  url       = env("DATABASE_URL")
  directUrl = env("DIRECT_URL") // the direct connection
}

model User {
  id    String @id @default(cuid())
  email String @unique
  role  Role   @default(USER)
  keys  Key[]
}

model Key {
  id        String  @id
  userId    String
  imageUrl  String? @map("image_url")
  user      User    @relation(fields: [userId], references: [id], onDelete: Cascade)

  @@index([userId])
  @@map("keys")
}

enum Role {
  USER
  ADMIN
}
"""

REAL_SCRIPTS = {
    "build": "remix build",
    "start": "remix-serve build/index.js",
    "postinstall": "prisma generate",
    "db:push": "prisma db push",
    "db:migrate:deploy": "prisma migrate deploy",
    "test:v4-multi": "node scripts/keyscan/multi-tests/run-v4-multi-tests.js",
    "test:v3-multi": "node scripts/keyscan/multi-tests/run-v3-multi-tests.js",
}


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _repo(root: Path, files: dict[str, str]) -> tuple[Repo, str]:
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q", "--initial-branch=main")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "app")
    return Repo(root), _git(root, "rev-parse", "HEAD")


def _package(scripts: dict[str, str]) -> str:
    return json.dumps({"name": "keycliq", "scripts": scripts}, indent=2) + "\n"


def test_the_real_apps_shape_calls_for_db_push_and_has_no_test_script(tmp_path: Path) -> None:
    repo, commit = _repo(
        tmp_path / "app",
        {"package.json": _package(REAL_SCRIPTS), "prisma/schema.prisma": SCHEMA},
    )
    app = read_at_commit(repo, commit)
    assert app.release_line() is None and not app.has_migrations()
    strategy = detect_strategy(app)
    assert (strategy.strategy, strategy.command) == ("db-push", "npm run db:push")
    assert "no migration history" in strategy.reason
    problem = script_problem("npm test", app)
    assert problem is not None and "test:v4-multi" in problem and "db:push" in problem
    command, why = propose_test_command(app)
    assert command == "npm run test:v3-multi" and "no `test` script" in why


def test_a_release_line_wins_and_migrations_are_read_in_order(tmp_path: Path) -> None:
    files = {
        "Procfile": "web: npm start\n\nrelease: npx prisma migrate deploy\n",
        "package.json": _package({"test": "vitest run", **REAL_SCRIPTS}),
        "prisma/schema.prisma": SCHEMA,
        "prisma/migrations/20250302_b/migration.sql": "CREATE INDEX b ON keys(id);\n",
        "prisma/migrations/20250114_a/migration.sql": "CREATE TABLE keys (id text);\n",
        "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
    }
    repo, commit = _repo(tmp_path / "app", files)
    app = read_at_commit(repo, commit)
    line = app.release_line()
    assert line is not None and line.where() == "Procfile:3"
    assert line.text == "npx prisma migrate deploy"
    assert list(app.migrations()) == ["20250114_a", "20250302_b"]
    assert detect_strategy(app).strategy == "release-phase"
    assert script_problem("npm test", app) is None
    assert propose_test_command(app)[0] == "npm test"
    # without the Procfile, the history calls for a one-off migrate deploy
    (tmp_path / "app" / "Procfile").unlink()
    worktree = read_worktree(tmp_path / "app")
    assert detect_strategy(worktree).strategy == "one-off"
    assert detect_strategy(worktree).command == "npx prisma migrate deploy"


def test_the_schema_names_its_variables_tables_and_columns(tmp_path: Path) -> None:
    repo, commit = _repo(tmp_path / "app", {"prisma/schema.prisma": SCHEMA})
    app = read_at_commit(repo, commit)
    refs = {e.name: e.source.where() for e in app.schema_env()}
    assert refs == {
        "DATABASE_URL": "prisma/schema.prisma:3",
        "DIRECT_URL": "prisma/schema.prisma:4",
    }
    models = {m.name: m for m in app.models()}
    assert models["User"].table == "User"
    assert models["User"].columns == ("id", "email", "role")  # the enum is a column
    assert models["Key"].table == "keys"
    assert models["Key"].columns == ("id", "userId", "image_url")  # relations are not


def test_an_old_commit_is_read_as_it_was(tmp_path: Path) -> None:
    repo, first = _repo(tmp_path / "app", {"package.json": _package({"test": "x"})})
    (tmp_path / "app" / "Procfile").write_text("release: ./migrate.sh\n")
    _git(tmp_path / "app", "add", "-A")
    _git(tmp_path / "app", "commit", "-q", "-m", "release phase")
    head = _git(tmp_path / "app", "rev-parse", "HEAD")
    assert read_at_commit(repo, first).release_line() is None
    assert read_at_commit(repo, head).release_line() is not None


@pytest.mark.parametrize(
    ("command", "script"),
    [
        ("npm test", "test"),
        ("npm t", "test"),
        ("npm run test:v4-multi", "test:v4-multi"),
        ("CI=1 npm run-script lint -- --fix", "lint"),
        ("npm --silent run build", "build"),
        ("yarn test", "test"),
        ("pnpm run check", "check"),
        ("npx vitest", None),
        ("python -m pytest", None),
        ("npm ci", None),
    ],
)
def test_script_named(command: str, script: str | None) -> None:
    assert script_named(command) == script


def test_a_broken_package_json_is_named(tmp_path: Path) -> None:
    repo, commit = _repo(tmp_path / "app", {"package.json": "{ not json"})
    app = read_at_commit(repo, commit)
    problem = script_problem("npm test", app)
    assert problem is not None and problem.startswith("package.json: not valid JSON")
