"""``keycliq init`` reads the app's repository: the migration strategy from its Procfile and
``prisma/migrations/``, the test command from package.json, each said and written as a
comment. Real git repositories shaped like the real KeyCliq app and like the sample."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from keycliq_ops.config import load_config

SCHEMA = """\
generator client {
  provider = "prisma-client-js"
}

datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model User {
  id    String @id @default(cuid())
  email String @unique
  keys  Key[]
}

model Key {
  id     String @id @default(cuid())
  userId String
  user   User   @relation(fields: [userId], references: [id], onDelete: Cascade)

  @@map("keys")
}
"""

# The real app's scripts at the runbook's date (keycliq-app-code.md): no `test`, four test
# suites, `db:push`, a `db:migrate:deploy` with nothing to apply.
REAL_APP_SCRIPTS = {
    "dev": "remix dev",
    "build": "remix build",
    "start": "remix-serve build/index.js",
    "postinstall": "prisma generate",
    "db:push": "prisma db push",
    "db:migrate:deploy": "prisma migrate deploy",
    "test:v3-multi": "node scripts/keyscan/multi-tests/run-v3-multi-tests.js",
    "test:v4-multi": "node scripts/keyscan/multi-tests/run-v4-multi-tests.js",
    "test:v3-individual": "node scripts/keyscan/individual-tests/run-v3-individual.js",
    "test:v4-individual": "node scripts/keyscan/individual-tests/run-v4-individual.js",
}
INDEX_MIGRATION = 'CREATE INDEX "keys_userId_idx" ON "keys"("userId");\n'
MIGRATION = 'CREATE TABLE "User" ("id" TEXT NOT NULL, CONSTRAINT "User_pkey" PRIMARY KEY ("id"));\n'


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def app_repo(root: Path, files: dict[str, str]) -> Path:
    """A git repository holding ``files``, committed on main."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "--initial-branch=main")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "app")
    return root


def package(scripts: dict[str, str]) -> str:
    return json.dumps({"name": "keycliq", "private": True, "scripts": scripts}, indent=2) + "\n"


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # long temp paths must not wrap the lines


def test_a_repository_like_the_real_app_gets_db_push_and_a_test_suite(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    root = app_repo(
        tmp_path / "keycliq",
        {"package.json": package(REAL_APP_SCRIPTS), "prisma/schema.prisma": SCHEMA},
    )
    result = cli("init", "--dir", str(root))
    assert result.code == 0, result.output
    assert (
        "migrations: db-push (`npm run db:push`): prisma/schema.prisma has no migration "
        "history (prisma/migrations/ is missing)"
    ) in result.stderr
    assert "tests: `npm run test:v3-individual`: package.json has no `test` script" in (
        result.stderr
    )
    config = load_config(root / "keycliq.yaml").config
    assert config.migrations.strategy == "db-push"
    assert config.migrations.one_off_command() == "npm run db:push"
    assert config.tests.command == "npm run test:v3-individual"
    text = (root / "keycliq.yaml").read_text()
    migrations = text[text.index("\nmigrations:") : text.index("\npaths:")]
    assert "# keycliq init: prisma/schema.prisma has no migration history" in migrations
    tests = text[text.index("\ntests:") : text.index("\nmigrations:")]
    assert "# keycliq init: package.json has no `test` script" in tests
    assert "test:v4-multi" in tests  # the other suites are named for the team to choose
    assert cli("--config", str(root / "keycliq.yaml"), "config", "validate").code == 0
    shown = cli("--config", str(root / "keycliq.yaml"), "config", "show", "--json")
    assert shown.code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["requirements_from"] == f"the work tree at {root}"
    staging = data["environments"]["staging"]
    assert staging["required_config"] == ["DATABASE_URL", "SESSION_SECRET", "APP_URL", "NODE_ENV"]
    assert staging["required_by"]["DATABASE_URL"] == "prisma/schema.prisma:7"
    assert data["migrations"]["strategy"] == "db-push"


def test_the_sample_layout_gets_the_release_phase(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scripts = {"build": "remix vite:build", "test": "node --test", "db:push": "prisma db push"}
    root = app_repo(
        tmp_path / "sample",
        {
            "Procfile": "web: npm start\nrelease: npx prisma migrate deploy\n",
            "package.json": package(scripts),
            "prisma/schema.prisma": SCHEMA,
            "prisma/migrations/20250114093000_init/migration.sql": MIGRATION,
            "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
        },
    )
    result = cli("init", "--dir", str(root))
    assert result.code == 0, result.output
    assert (
        "migrations: release-phase: Procfile:2 declares a release phase "
        "(`npx prisma migrate deploy`)"
    ) in result.stderr
    assert "tests: `npm test`: package.json defines `test`: node --test" in result.stderr
    config = load_config(root / "keycliq.yaml").config
    assert config.migrations.strategy == "release-phase"
    assert config.migrations.one_off_command() is None
    assert config.tests.command == "npm test"
    raw = yaml.safe_load((root / "keycliq.yaml").read_text())
    assert "command" not in raw["migrations"]  # the release phase runs its own command
    assert (
        "# keycliq init: Procfile:2 declares a release phase" in (root / "keycliq.yaml").read_text()
    )


def test_migrations_without_a_release_phase_get_a_one_off(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = app_repo(
        tmp_path / "app",
        {
            "Procfile": "web: npm start\n",
            "package.json": package({"start": "remix-serve build", "test": "vitest run"}),
            "prisma/schema.prisma": SCHEMA,
            "prisma/migrations/20250114093000_init/migration.sql": MIGRATION,
            "prisma/migrations/20250302120000_add_indexes/migration.sql": INDEX_MIGRATION,
        },
    )
    result = cli("init", "--dir", str(root))
    assert result.code == 0, result.output
    assert (
        "migrations: one-off (`npx prisma migrate deploy`): prisma/migrations/ holds 2 "
        "migration(s) and the Procfile has no `release:` line"
    ) in result.stderr
    config = load_config(root / "keycliq.yaml").config
    assert config.migrations.strategy == "one-off"
    assert config.migrations.command == "npx prisma migrate deploy"
    assert config.tests.command == "npm test"


def test_no_test_script_writes_a_config_that_claims_no_tests(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scripts = {"build": "remix build", "start": "remix-serve build/index.js"}
    root = app_repo(
        tmp_path / "app", {"package.json": package(scripts), "prisma/schema.prisma": SCHEMA}
    )
    result = cli("init", "--dir", str(root))
    assert result.code == 0, result.output
    assert (
        "tests: none proposed: package.json defines no test script (keycliq.yaml sets "
        "tests.command: null)"
    ) in result.stderr
    config = load_config(root / "keycliq.yaml").config
    assert config.tests.command is None  # the tests step is skipped, and says so
    assert config.migrations.strategy == "db-push"
    assert config.migrations.one_off_command() == "npx prisma db push"  # no db:push script
    text = (root / "keycliq.yaml").read_text()
    assert "  # keycliq init: package.json defines no test script.\n" in text
    assert "  command: null\n" in text


def test_init_in_a_subfolder_reads_the_checkout(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = app_repo(
        tmp_path / "keycliq",
        {"package.json": package(REAL_APP_SCRIPTS), "prisma/schema.prisma": SCHEMA},
    )
    (root / "ops").mkdir()
    result = cli("init", "--dir", str(root / "ops"))
    assert result.code == 0, result.output
    assert load_config(root / "ops" / "keycliq.yaml").config.migrations.strategy == "db-push"


def test_a_folder_without_an_app_says_so(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("init", "--dir", str(empty))
    assert result.code == 0, result.output
    assert "migrations: none: no prisma/schema.prisma and no release phase" in result.stderr
    assert "tests: none proposed: there is no package.json" in result.stderr
    config = load_config(empty / "keycliq.yaml").config
    assert config.migrations.strategy == "none" and config.tests.command is None
