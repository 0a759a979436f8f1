"""The stand-in's Heroku Postgres backups: the requests heroku/cli's ``pg:backups:*`` send,
answered over loopback HTTP, with real ``pg_dump`` files of the app's embedded database."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from keycliq_ops.standin import KeycliqApps, Sandbox
from keycliq_ops.standin.apischema import ApiSchema
from keycliq_ops.standin.faults import parse_fault
from keycliq_ops.standin.pgbackups import store_of
from keycliq_ops.standin.pgembed import PostgresServer, pg_tool

pytestmark = [pytest.mark.db]

REFERENCE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "reference"
) / "heroku-platform-api-schema.json"
APP = "keycliq-production"


def _addon(client: httpx.Client, app: str = APP) -> dict[str, Any]:
    got = client.get(f"/apps/{app}/addons")
    assert got.status_code == 200, got.text
    (addon,) = got.json()
    return dict(addon)


def _finished(sandbox: Sandbox, app: str, uuid: str) -> None:
    transfer = store_of(sandbox.engine).transfer(app, uuid)
    assert transfer.done.wait(60)


def test_addon_list_fits_the_schema(
    sandbox: Sandbox, apps: KeycliqApps, client: httpx.Client
) -> None:
    api = ApiSchema.load(REFERENCE if REFERENCE.exists() else None)
    got = client.get(f"/apps/{APP}/addons")
    link = next(lk for lk in api.links if lk.resource == "add-on" and lk.title == "List By App")
    assert link.match(f"/apps/{APP}/addons") is not None
    assert api.errors(link.target_schema or {}, got.json(), strict=True) == []
    addon = got.json()[0]
    assert addon["addon_service"]["name"] == "heroku-postgresql"
    assert addon["app"]["name"] == APP and addon["config_vars"] == ["DATABASE_URL"]
    # The name the sandbox gave the add-on when it attached DATABASE_URL.
    described = [r.description for r in sandbox.engine.app(APP).releases]
    assert any(f"@ref:{addon['name']}" in d for d in described)


def test_capture_is_a_real_dump_that_restores(
    sandbox: Sandbox, apps: KeycliqApps, client: httpx.Client, pg_server: PostgresServer
) -> None:
    with psycopg.connect(sandbox.database_url(APP)) as conn:
        conn.execute("CREATE TABLE keys_probe (id int primary key, label text NOT NULL)")
        conn.execute("INSERT INTO keys_probe VALUES (1, 'front door'), (2, 'garage')")
    addon = _addon(client)
    info = client.get(f"/client/v11/databases/{addon['id']}")
    assert info.status_code == 200 and info.json()["info"][0]["name"] == "Plan"
    started = client.post(f"/client/v11/databases/{addon['id']}/backups")
    assert started.status_code == 200, started.text
    transfer = started.json()
    assert transfer["from_type"] == "pg_dump" and transfer["to_type"] == "gof3r"
    assert transfer["num"] == 1 and "logs" not in transfer
    _finished(sandbox, APP, transfer["uuid"])
    done = client.get(f"/client/v11/apps/{APP}/transfers/{transfer['uuid']}?verbose=true").json()
    assert done["succeeded"] is True and done["finished_at"]
    assert done["processed_bytes"] > 0 and done["source_bytes"] > 0
    assert any("pg_dump finished" in log["message"] for log in done["logs"])
    assert "@" not in done["from_url"] or "•••@" in done["from_url"]  # no password shown
    by_num = client.get(f"/client/v11/apps/{APP}/transfers/1").json()
    assert by_num["uuid"] == transfer["uuid"]
    listed = client.get(f"/client/v11/apps/{APP}/transfers").json()
    assert [t["uuid"] for t in listed] == [transfer["uuid"]]

    dump = store_of(sandbox.engine).dump_path(transfer["uuid"])
    assert dump.stat().st_size == done["processed_bytes"]
    fresh = pg_server.create_database("pgbackups_restore_probe")
    try:
        restored = subprocess.run(
            [str(pg_tool("pg_restore")), "--no-owner", "--dbname", fresh, str(dump)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert restored.returncode == 0, restored.stderr
        with psycopg.connect(fresh) as conn:
            rows = conn.execute("SELECT id, label FROM keys_probe ORDER BY id").fetchall()
        assert rows == [(1, "front door"), (2, "garage")]
    finally:
        pg_server.drop_database("pgbackups_restore_probe")


def test_planted_capture_fault_fails_the_transfer(
    sandbox: Sandbox, apps: KeycliqApps, client: httpx.Client
) -> None:
    sandbox.faults.add(parse_fault(f"backup-fail@{APP}"))
    addon = _addon(client)
    first = client.post(f"/client/v11/databases/{addon['id']}/backups").json()
    _finished(sandbox, APP, first["uuid"])
    failed = client.get(f"/client/v11/apps/{APP}/transfers/{first['uuid']}?verbose=true").json()
    assert failed["succeeded"] is False and failed["finished_at"]
    assert any(log["level"] == "error" for log in failed["logs"])
    assert not store_of(sandbox.engine).dump_path(first["uuid"]).exists()
    # One use: the next capture succeeds.
    second = client.post(f"/client/v11/databases/{addon['id']}/backups").json()
    assert second["num"] == 2
    _finished(sandbox, APP, second["uuid"])
    assert client.get(f"/client/v11/apps/{APP}/transfers/2").json()["succeeded"] is True


def test_schedules_set_list_and_remove(
    sandbox: Sandbox, apps: KeycliqApps, client: httpx.Client
) -> None:
    addon = _addon(client)
    path = f"/client/v11/databases/{addon['id']}/transfer-schedules"
    assert client.get(path).json() == []
    made = client.post(path, json={"hour": "3", "timezone": "UTC", "schedule_name": "DATABASE_URL"})
    assert made.status_code == 201
    assert client.get(path).json() == [
        {"uuid": made.json()["uuid"], "name": "DATABASE_URL", "hour": 3, "timezone": "UTC"}
    ]
    assert client.post(path, json={"hour": "25"}).status_code == 422
    assert client.delete(f"{path}/{made.json()['uuid']}").status_code == 200
    assert client.get(path).json() == []
    assert client.get("/client/v11/databases/no-such-db/transfer-schedules").status_code == 404
    # Another app's add-on keeps its own schedules.
    other = _addon(client, "keycliq-staging")
    assert other["id"] != addon["id"]


def test_unauthenticated_requests_are_refused(sandbox: Sandbox, apps: KeycliqApps) -> None:
    with httpx.Client(base_url=sandbox.url, timeout=30) as anonymous:
        assert anonymous.get(f"/client/v11/apps/{APP}/transfers").status_code == 401
