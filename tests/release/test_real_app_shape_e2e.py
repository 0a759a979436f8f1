"""The acceptance case of issue 13: a repository shaped like the real KeyCliq app at the
runbook's date (no Procfile, no prisma/migrations, `db:push: prisma db push`, no `test`
script, the app's real schema.prisma) is set up with `keycliq init` and deployed to the
stand-in: the db push runs in a one-off dyno, the tables are verified, and the gate passes
on data written the way the app writes it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import psycopg
import pytest

from keycliq_ops.standin.sample.repo import write_app_shaped_repo
from tests.world import World


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@keycliq.app", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def app_repo(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = write_app_shaped_repo(tmp_path / "keycliq-app")
    git(repo, "remote", "add", "heroku-staging", world.sandbox.git_url("keycliq-staging"))
    git(repo, "remote", "add", "origin", str(world.prov.origin))
    monkeypatch.chdir(repo)
    return repo


def test_init_reads_the_repository(app_repo: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "init", "--staging-app", "keycliq-staging", "--production-app", "keycliq-production"
    )
    assert result.code == 0, result.output
    assert "db-push" in result.output and "npm run db:push" in result.output
    assert "no migration history" in result.output
    assert "npm run test:v" in result.output  # a test command proposed from package.json
    config = (app_repo / "keycliq.yaml").read_text()
    assert re.search(r"strategy:\s*db-push", config), config
    assert "# keycliq init:" in config


def test_a_deploy_pushes_the_schema_and_passes_the_gate(app_repo: Path, world: World, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("init", "--staging-app", "keycliq-staging").code == 0
    config = app_repo / "keycliq.yaml"
    url = world.sandbox.web_url("keycliq-staging")  # the stand-in's APP_URL
    text, n = re.subn(r"https://keycliq-staging\.herokuapp\.com", url, config.read_text())
    assert n == 1, text
    config.write_text(text)
    git(app_repo, "add", "-A")
    git(app_repo, "commit", "-q", "-m", "keycliq init")
    git(app_repo, "push", "-q", "origin", "HEAD:refs/heads/app-shape")
    result = cli(
        "deploy", "staging", "--yes", "--force",
        "--skip", "tests", "--reason", "the app's test suites call OpenAI with a real key",
        "--skip", "checklist", "--reason", "the app's node commands do not run on the stand-in",
        "--json",
    )  # fmt: skip
    assert result.code == 0, result.output
    ledger = (app_repo / ".keycliq" / "ledger.jsonl").read_text().splitlines()
    record = json.loads(ledger[-1])
    steps = {s["name"]: s for s in record["steps"]}  # type: ignore[union-attr, index]
    migrations = steps["migrations"]
    assert migrations["status"] == "succeeded", migrations
    assert migrations["data"]["command"] == "npm run db:push"  # type: ignore[index]
    assert migrations["data"]["exit_status"] == 0  # type: ignore[index]
    assert migrations["data"]["verified"] == {"models": 7, "indexes": "passed"}  # type: ignore[index]
    assert "the 7 model(s) of prisma/schema.prisma have their tables" in str(migrations["detail"])
    # the one-off ran Prisma's db push: the seven indexes of the schema now exist
    with psycopg.connect(world.database_url()) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE '%_idx'"
        ).fetchone()
    assert row is not None and row[0] == 7
    verdicts = {d["id"]: d["verdict"] for d in record["dataclips"]}  # type: ignore[union-attr]
    assert set(verdicts) == {"E1", "E2", "E3", "E4", "F", "G", "H"}
    assert "fail" not in verdicts.values() and "error" not in verdicts.values()
    assert verdicts["E1"] == "warn"  # a key created from an unmatched scan: the app does it


def test_the_default_release_phase_strategy_is_refused_before_the_push(
    app_repo: Path, world: World, cli
) -> None:  # type: ignore[no-untyped-def]
    assert cli("init", "--staging-app", "keycliq-staging").code == 0
    config = app_repo / "keycliq.yaml"
    config.write_text(re.sub(r"strategy:\s*db-push", "strategy: release-phase", config.read_text()))
    git(app_repo, "add", "-A")
    git(app_repo, "commit", "-q", "-m", "keycliq init, release phase")
    before = git(app_repo, "ls-remote", "heroku-staging", "refs/heads/main")
    result = cli("deploy", "staging", "--yes", "--force", "--skip", "tests", "--reason", "x",
                 "--skip", "checklist", "--reason", "x")  # fmt: skip
    assert result.code == 2, result.output
    assert "has no Procfile" in result.output and "migrations.strategy: db-push" in result.output
    assert git(app_repo, "ls-remote", "heroku-staging", "refs/heads/main") == before
