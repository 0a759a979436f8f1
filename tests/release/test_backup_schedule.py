"""The backup schedule checked (``config check``, the production preflight, the backup
step) and the last backup's age in ``status``; a deploy backs up where keycliq.yaml turns
backups on. Against the stand-in over loopback, real git and the embedded PostgreSQL."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import httpx
import pytest

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.adapters.heroku.postgres import PostgresClient
from keycliq_ops.config import load_config
from keycliq_ops.ops.config_audit import audit_config, backup_schedules_of
from keycliq_ops.standin.pgbackups import store_of
from tests.release.test_promote_e2e import DEPLOY_UNCHECKED, INDEX_MIGRATION, runs, step
from tests.world import World

pytestmark = [pytest.mark.db, pytest.mark.e2e]

PRODUCTION = "keycliq-production"
COMMAND = "heroku pg:backups:schedule DATABASE_URL --at '02:00 UTC' -a keycliq-production"


def _schedule(world: World, app: str = PRODUCTION) -> None:
    sb = world.sandbox
    addon = httpx.get(f"{sb.url}/apps/{app}/addons", headers=sb.headers()).json()[0]
    made = httpx.post(
        f"{sb.url}/client/v11/databases/{addon['id']}/transfer-schedules",
        headers=sb.headers(),
        json={"hour": "2", "timezone": "UTC", "schedule_name": "DATABASE_URL"},
    )
    assert made.status_code == 201


def test_audit_warns_without_a_schedule_naming_the_command(world: World) -> None:
    loaded = load_config(world.repo / "keycliq.yaml")
    production, staging = loaded.env("production"), loaded.env("staging")
    with HerokuClient(world.sandbox.token, world.sandbox.url) as client:
        assert backup_schedules_of(client, staging) is None  # only production is asked
        missing = backup_schedules_of(client, production)
        assert missing is not None and missing.schedules == () and missing.problem is None
        report = audit_config("production", production, {}, backups=missing)
        (finding,) = [f for f in report.findings if f.var == "backups"]
        assert finding.level == "warning" and COMMAND in finding.message
        assert missing.database and missing.database in finding.message
        _schedule(world)
        present = backup_schedules_of(client, production)
    assert present is not None and present.schedules == ("DATABASE_URL: daily at 2:00 UTC",)
    report = audit_config("production", production, {}, backups=present)
    assert [f for f in report.findings if f.var == "backups"] == []


def test_config_check_production_warns_without_a_schedule(world: World, cli: Any) -> None:
    result = cli("config", "check", "production", "--json")
    data = json.loads(result.stdout)
    (env,) = data["environments"]
    messages = [f["message"] for f in env["findings"] if f["var"] == "backups"]
    assert messages and COMMAND in messages[0]


def test_promotion_warns_without_a_schedule(world: World, cli: Any) -> None:
    from tests.release.test_promote_e2e import add_user, unchecked

    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    result = cli(*unchecked(user, "--override", "schedule e2e", "--json"))
    assert result.code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert any(COMMAND in w for w in summary["warnings"])
    end = runs(world, "promote")[-1]
    assert any(COMMAND in w for w in end["details"]["warnings"])


def test_status_shows_the_last_backups_age(world: World, cli: Any) -> None:
    before = json.loads(cli("status", "--json").stdout)
    prod = next(e for e in before["environments"] if e["name"] == "production")
    assert prod["backup"] is None
    assert any("no backup yet" in n for n in prod["notes"])
    with (
        HerokuClient(world.sandbox.token, world.sandbox.url) as heroku,
        PostgresClient.for_client(heroku) as pg,
    ):
        done = pg.wait(PRODUCTION, pg.capture(pg.database(PRODUCTION)), timeout=120)
    after = json.loads(cli("status", "--json").stdout)
    prod = next(e for e in after["environments"] if e["name"] == "production")
    assert prod["backup"]["name"] == done.name == "b001"
    assert prod["backup"]["size_bytes"] == done.processed_bytes > 0
    assert prod["backup"]["age_seconds"] >= 0 and prod["backup"]["scheduled"] is False
    staging = next(e for e in after["environments"] if e["name"] == "staging")
    assert staging["backup"] is None  # backups are off for staging: not asked
    text = cli("status").stdout
    assert "production: last backup b001 " in text and "manual" in text


def test_deploy_backs_up_where_keycliq_yaml_turns_it_on(world: World, cli: Any) -> None:
    config = world.repo / "keycliq.yaml"
    text = config.read_text()
    assert "    stage: staging\n" in text
    config.write_text(
        text.replace("    stage: staging\n", "    stage: staging\n    backup: true\n")
    )
    who = ["-c", "user.name=t", "-c", "user.email=t@keycliq.test", "-c", "commit.gpgsign=false"]
    commit = ["git", *who, "commit", "-qam", "Back up staging too"]
    subprocess.run(commit, cwd=world.repo, check=True)
    result = cli(*DEPLOY_UNCHECKED)
    assert result.code == 0, result.output
    end = runs(world, "deploy")[-1]
    names = [s["name"] for s in end["steps"]]
    assert names.index("backup") == names.index("push") - 1
    backup = step(end, "backup")
    assert backup["status"] == "succeeded", backup
    assert backup["data"]["changes"] == [INDEX_MIGRATION]
    (transfer,) = store_of(world.sandbox.engine).transfers("keycliq-staging")
    assert transfer.succeeded and backup["data"]["uuid"] == transfer.uuid
    assert backup["data"]["size_bytes"] == transfer.processed_bytes
