"""The sample KeyCliq repository: what the sandbox deploys, the demo and the tests use.

A real git repository (branch ``main``) shaped like the KeyCliq app: ``Procfile`` with
``web:`` and ``release:``, ``package.json``, a Prisma schema, and Prisma-style SQL
migrations that create the KeyCliq tables, columns and seven indexes exactly as
``keycliq_ops/standin/sample/schema.sql``. The release command, ``python scripts/migrate.py
deploy``, applies them offline (no Node, no Prisma) with psycopg, records them in
``_prisma_migrations`` as Prisma does and prints Prisma's output.

Two commits: the *baseline* (the app and its first migration, the tables) and *head*
(a second migration adding the seven indexes), so a deploy has something to ship.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from keycliq_ops.standin.failures import StandinError, atomic_write, usage

SCHEMA_SQL = Path(__file__).resolve().parent / "schema.sql"
INIT_MIGRATION = "20250114093000_init"
INDEX_MIGRATION = "20250302120000_add_query_indexes"
RELEASE_COMMAND = "python scripts/migrate.py deploy"
ANSWERS_FILE = "keycliq-answers.yaml"
AUTHOR = ("KeyCliq Developer", "dev@keycliq.app")


@dataclass(frozen=True)
class SampleRepo:
    path: Path
    baseline: str  # commit with the tables only
    head: str  # commit adding the seven indexes (main)


def split_schema(schema_sql: str) -> tuple[list[str], list[str]]:
    """(table statements, index statements) of the KeyCliq schema, comments dropped."""
    body = "\n".join(ln for ln in schema_sql.splitlines() if not ln.lstrip().startswith("--"))
    statements = [s.strip() + ";" for s in body.split(";") if s.strip()]
    tables = [s for s in statements if not s.startswith("CREATE INDEX")]
    indexes = [s for s in statements if s.startswith("CREATE INDEX")]
    return tables, indexes


def _migration_sql(statements: list[str]) -> str:
    out = []
    for stmt in statements:
        kind = "CreateTable" if stmt.startswith("CREATE TABLE") else "CreateIndex"
        out.append(f"-- {kind}\n{stmt}\n")
    return "\n".join(out)


PACKAGE_JSON = {
    "name": "keycliq",
    "version": "1.0.0",
    "private": True,
    "type": "module",
    "engines": {"node": "20.x"},
    "scripts": {
        "build": "remix vite:build",
        "start": "remix-serve ./build/server/index.js",
        "test": "python3 -m unittest discover -s test -q",
        "db:push": "prisma db push",
        "migrate:deploy": "prisma migrate deploy",
    },
    "dependencies": {
        "@prisma/client": "^5.22.0",
        "@remix-run/node": "^2.15.0",
        "@remix-run/react": "^2.15.0",
        "@remix-run/serve": "^2.15.0",
        "cloudinary": "^2.5.1",
        "openai": "^4.73.0",
        "react": "^18.3.1",
        "react-dom": "^18.3.1",
        "resend": "^4.0.1",
    },
    "devDependencies": {"@remix-run/dev": "^2.15.0", "prisma": "^5.22.0", "vite": "^5.4.11"},
}

SCHEMA_PRISMA = """\
generator client {
  provider = "prisma-client-js"
}

datasource db {
  provider  = "postgresql"
  url       = env("DATABASE_URL")
  directUrl = env("DIRECT_URL")
}

model User {
  id        String   @id @default(cuid())
  email     String   @unique
  password  String
  role      String   @default("USER")
  createdAt DateTime @default(now())
  updatedAt DateTime @default(now()) @updatedAt
}

model Key {
  id            String    @id @default(cuid())
  userId        String
  name          String
  description   String?
  unit          String?
  door          String?
  notes         String?
  imageUrl      String?
  imagePublicId String?
  signature     Json?
  sigStatus     String    @default("pending") // pending | ready | failed
  createdAt     DateTime  @default(now())
  updatedAt     DateTime  @default(now()) @updatedAt

  @@index([userId, sigStatus])
  @@index([createdAt])
  @@map("keys")
}

model KeyMatching {
  id               String   @id @default(cuid())
  userId           String
  keyQueryId       String
  matchedKeyId     String?
  matchType        String   // MATCH_FOUND | POSSIBLE_KEYS | NO_MATCH
  similarity       Float
  confidence       Float
  querySignature   Json
  matchedSignature Json?
  comparisonResult Json?
  createdAt        DateTime @default(now())
  updatedAt        DateTime @default(now()) @updatedAt

  @@index([userId, matchType])
  @@index([createdAt])
  @@map("key_matchings")
}

// Session, PasswordResetToken, KeyQuery and KeySignature: see the migrations.
"""

MIGRATE_PY = r'''#!/usr/bin/env python3
"""Apply prisma/migrations/*/migration.sql to $DATABASE_URL as `prisma migrate deploy` does.

The sample's release command (Procfile `release:`): offline, no Node or Prisma. It talks
to the database through `psql` (on PATH, or $PSQL): each migration runs in one transaction
that also records it in "_prisma_migrations", under Prisma's advisory lock.
Usage: python scripts/migrate.py deploy | status
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

MIGRATIONS = Path(__file__).resolve().parent.parent / "prisma" / "migrations"
LOCK_ID = 72707369
TABLE = """CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
);"""
ERROR = re.compile(r"ERROR:\s+(?:([0-9A-Z]{5}):\s+)?(.*)")


def where(url):
    parts = urlsplit(url)
    host = parts.hostname or parse_qs(parts.query).get("host", ["localhost"])[0]
    return parts.path.lstrip("/") or "postgres", f"{host}:{parts.port or 5432}"


def libpq_environment(url):
    """The URL as libpq variables (a password never goes on a command line)."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    env = {"PGDATABASE": unquote(parts.path.lstrip("/")) or "postgres",
           "PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "prisma-migrate"}
    host = query.pop("host", None) or (unquote(parts.hostname) if parts.hostname else None)
    for name, value in (("PGHOST", host), ("PGPORT", query.pop("port", None) or parts.port),
                        ("PGUSER", unquote(parts.username) if parts.username else None),
                        ("PGPASSWORD", unquote(parts.password) if parts.password else None),
                        ("PGSSLMODE", query.pop("sslmode", None))):
        if value:
            env[name] = str(value)
    return env


class Psql:
    def __init__(self, url):
        self.program = os.environ.get("PSQL") or shutil.which("psql")
        self.env = {**os.environ, **libpq_environment(url)}
        self.env.pop("DATABASE_URL", None)

    def run(self, script, **variables):
        """(exit code, rows as lists of fields, the error line)."""
        argv = [self.program, "-X", "-q", "-A", "-t", "-F", "\x1f",
                "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"]
        for name, value in variables.items():
            argv += ["-v", f"{name}={value}"]
        done = subprocess.run(argv, input=script, env=self.env, capture_output=True, text=True,
                              check=False)
        rows = [line.split("\x1f") for line in done.stdout.splitlines() if line]
        errors = [m for line in done.stderr.splitlines() if (m := ERROR.search(line))]
        return done.returncode, rows, errors[0] if errors else None


def main(argv):
    command = argv[1] if len(argv) > 1 else "deploy"
    if command not in ("deploy", "status"):
        print(f"usage: {argv[0]} deploy|status")
        return 2
    print("Prisma schema loaded from prisma/schema.prisma")
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("Error: Environment variable not found: DATABASE_URL.")
        return 1
    database, at = where(url)
    print(f'Datasource "db": PostgreSQL database "{database}", schema "public" at "{at}"\n')
    names = sorted(p.parent.name for p in MIGRATIONS.glob("*/migration.sql"))
    print(f"{len(names)} migration{'' if len(names) == 1 else 's'} found in prisma/migrations\n")
    psql = Psql(url)
    if not psql.program:
        print("Error: psql is not on PATH (set PSQL to its path)")
        return 1
    code, rows, _ = psql.run(
        TABLE + '\nSELECT migration_name, finished_at IS NOT NULL, rolled_back_at IS NOT NULL '
        'FROM "_prisma_migrations";'
    )
    if code != 0:
        print(f"Error: P1001: Can't reach database server at `{at}`")
        return 1
    failed = [name for name, done, rolled in rows if done == "f" and rolled == "f"]
    if failed:
        print("Error: P3009\n\nmigrate found failed migrations in the target database, "
              "new migrations will not be applied.\n"
              f"The `{failed[0]}` migration started at ... failed")
        return 1
    applied = {name for name, _, rolled in rows if rolled == "f"}
    pending = [n for n in names if n not in applied]
    if command == "status":
        if not pending:
            print("Database schema is up to date!")
            return 0
        print("Following migration have not yet been applied:")
        print("\n".join(pending))
        print("\nTo apply migrations in production run prisma migrate deploy.")
        return 1
    if not pending:
        print("No pending migrations to apply.")
        return 0
    for name in pending:
        sql = (MIGRATIONS / name / "migration.sql").read_text()
        record = {"kc_id": str(uuid.uuid4()), "kc_name": name,
                  "kc_sum": hashlib.sha256(sql.encode()).hexdigest()}
        print(f"Applying migration `{name}`")
        code, _, error = psql.run(
            f"BEGIN;\nSELECT pg_advisory_xact_lock({LOCK_ID});\n{sql}\n;\n"
            'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, '
            "applied_steps_count) VALUES (:'kc_id', :'kc_sum', :'kc_name', now(), 1);\n"
            "COMMIT;\n",
            **record,
        )
        if code != 0:
            sqlstate, message = (error.group(1), error.group(2)) if error else (None, "")
            psql.run(
                'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs) '
                "VALUES (:'kc_id', :'kc_sum', :'kc_name', :'kc_logs');",
                **record, kc_logs=message,
            )
            print("Error: P3018\n\nA migration failed to apply. New migrations cannot be "
                  "applied before the error is recovered from.\n\n"
                  f"Migration name: {name}\n\nDatabase error code: {sqlstate}\n\n"
                  f"Database error:\n{message}")
            return 1
    print("\nThe following migration(s) have been applied:\n\nmigrations/")
    for name in pending:
        print(f"  └─ {name}/\n    └─ migration.sql")
    print("\nAll migrations have been successfully applied.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
'''

TEST_PY = """import json
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class RepositoryShape(unittest.TestCase):
    def test_procfile_has_web_and_release(self):
        kinds = [ln.split(":")[0] for ln in (ROOT / "Procfile").read_text().splitlines() if ln]
        self.assertIn("web", kinds)
        self.assertIn("release", kinds)

    def test_package_json_pins_node_20(self):
        package = json.loads((ROOT / "package.json").read_text())
        self.assertEqual(package["engines"]["node"], "20.x")

    def test_every_migration_has_sql(self):
        folders = [p for p in (ROOT / "prisma" / "migrations").iterdir() if p.is_dir()]
        self.assertTrue(folders)
        for folder in folders:
            self.assertTrue((folder / "migration.sql").read_text().strip(), folder.name)


if __name__ == "__main__":
    unittest.main()
"""

GITIGNORE = "node_modules/\nbuild/\n.env\n.cache/\n.keycliq/reports/\n"
README = """\
# KeyCliq (sample)

Photograph keys, turn each photo into a signature, match new scans against your inventory.
Remix on Node.js 20, Prisma on PostgreSQL, two Heroku apps in the `keycliq` pipeline.

This is the sample repository of the keycliq sandbox: `Procfile` declares `web:` and
`release:`; the release command applies `prisma/migrations` (offline stand-in for
`prisma migrate deploy`).
"""


def keycliq_yaml(
    *,
    pipeline: str,
    staging_app: str,
    production_app: str,
    staging_url: str | None = None,
    production_url: str | None = None,
) -> str:
    """The sample's ``keycliq.yaml``: both environments, tests, release-phase migrations."""
    tests = shlex.join([sys.executable, "-m", "unittest", "discover", "-s", "test", "-q"])
    return f"""\
# keycliq.yaml for the KeyCliq sample repository (written by `keycliq sandbox up`).
version: 1
pipeline: {pipeline}
environments:
  staging:
    app: {staging_app}
    remote: heroku-staging
    url: {staging_url or f"https://{staging_app}.herokuapp.com"}
    stage: staging
  production:
    app: {production_app}
    url: {production_url or f"https://{production_app}.herokuapp.com"}
    stage: production
branches: [main, "release/*"]
shared_remote: origin
tests:
  command: {json.dumps(tests)}
  timeout: 600
migrations:
  strategy: release-phase
  command: {RELEASE_COMMAND}
  timeout: 600
"""


def _git(repo: Path, *args: str) -> str:
    name, email = AUTHOR
    proc = subprocess.run(
        [
            "git",
            "-c",
            f"user.name={name}",
            "-c",
            f"user.email={email}",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.hooksPath=/dev/null",
            *args,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise StandinError(f"git {args[0]} in {repo}: {detail[-1] if detail else 'failed'}")
    return proc.stdout.strip()


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def write_sample_repo(
    dest: Path,
    *,
    pipeline: str = "keycliq",
    staging_app: str = "keycliq-staging",
    production_app: str = "keycliq-production",
    staging_url: str | None = None,
    production_url: str | None = None,
    answers: str | None = None,
) -> SampleRepo:
    """Create the sample repository at ``dest`` (absent or empty) with its two commits.

    ``answers`` is the text of ``keycliq-answers.yaml`` (the shipped checklists' manual items
    answered, rendered by the CLI glue from keycliq's checklists: the stand-in does not read
    them); it is committed with the baseline when given.
    """
    if dest.exists() and any(dest.iterdir()):
        raise usage(f"{dest} is not empty: the sample repository needs a fresh folder")
    dest.mkdir(parents=True, exist_ok=True)
    tables, indexes = split_schema(SCHEMA_SQL.read_text(encoding="utf-8"))
    if len(indexes) != 7:
        raise usage(f"{SCHEMA_SQL}: expected the 7 KeyCliq indexes, found {len(indexes)}")
    _git(dest, "init", "--quiet", "--initial-branch=main")
    _write(
        dest,
        {
            "package.json": json.dumps(PACKAGE_JSON, indent=2) + "\n",
            "Procfile": f"web: npm start\nrelease: {RELEASE_COMMAND}\n",
            "README.md": README,
            ".gitignore": GITIGNORE,
            "prisma/schema.prisma": SCHEMA_PRISMA,
            "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
            f"prisma/migrations/{INIT_MIGRATION}/migration.sql": _migration_sql(tables),
            "scripts/migrate.py": MIGRATE_PY,
            "test/test_repository.py": TEST_PY,
            "keycliq.yaml": keycliq_yaml(
                pipeline=pipeline,
                staging_app=staging_app,
                production_app=production_app,
                staging_url=staging_url,
                production_url=production_url,
            ),
        },
    )
    if answers is not None:
        atomic_write(dest / ANSWERS_FILE, answers)
    _git(dest, "add", "-A")
    _git(dest, "commit", "--quiet", "-m", "KeyCliq: Remix app, Prisma schema, first migration")
    baseline = _git(dest, "rev-parse", "HEAD")
    _write(dest, {f"prisma/migrations/{INDEX_MIGRATION}/migration.sql": _migration_sql(indexes)})
    _git(dest, "add", "-A")
    _git(dest, "commit", "--quiet", "-m", "Add indexes for key lists, scan history and matchings")
    head = _git(dest, "rev-parse", "HEAD")
    return SampleRepo(dest, baseline=baseline, head=head)


def add_remote(repo: Path, name: str, url: str) -> None:
    _git(repo, "remote", "add", name, url)


def index_names() -> list[str]:
    """The seven index names the sample's second migration creates."""
    _, indexes = split_schema(SCHEMA_SQL.read_text(encoding="utf-8"))
    return [m.group(1) for s in indexes if (m := re.search(r'INDEX "([^"]+)"', s))]
