"""The Heroku Postgres API client: its host, the requests heroku/cli sends, waiting for a
capture, and its errors (against a respx router, and over loopback to the stand-in)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from keycliq_ops.adapters.heroku import deadlines
from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.adapters.heroku.postgres import (
    PostgresClient,
    Transfer,
    data_base_url,
    filesize,
    parse_time,
)
from keycliq_ops.base.errors import ConfigError, HerokuError, Interrupted
from keycliq_ops.standin import KeycliqApps, Sandbox
from keycliq_ops.standin.pgembed import PostgresServer
from tests.adapters.heroku.heroku_helpers import BASE, TOKEN, Sleeps

DATA = "https://pg.heroku.test"
ADDON_ID = "5ba2ba8b-07a9-4a65-a3a9-4a9a8cf61f3a"


# ------------------------------------------------------------------------------ host


@pytest.mark.parametrize(
    ("env", "api", "expected"),
    [
        ({}, "https://api.heroku.com", "https://api.data.heroku.com"),
        ({"HEROKU_DATA_HOST": "data.example.test"}, None, "https://data.example.test"),
        ({"HEROKU_POSTGRESQL_HOST": "pg.example.test"}, None, "https://pg.example.test"),
        (
            {"HEROKU_DATA_HOST": "a.test", "HEROKU_POSTGRESQL_HOST": "b.test"},
            None,
            "https://a.test",
        ),
        ({"HEROKU_DATA_HOST": "http://127.0.0.1:5555/"}, None, "http://127.0.0.1:5555"),
        ({}, "http://127.0.0.1:4321", "http://127.0.0.1:4321"),  # the stand-in serves both
        ({}, "https://proxy.example.test", "https://api.data.heroku.com"),
    ],
)
def test_data_host(env: dict[str, str], api: str | None, expected: str) -> None:
    assert data_base_url(env, api) == expected


def test_bad_data_host_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        data_base_url({"HEROKU_DATA_HOST": "http://"})
    assert "HEROKU_DATA_HOST" in info.value.message and info.value.exit_code == 2


def test_times_and_sizes_read_as_heroku_shows_them() -> None:
    at = parse_time("2025-03-02 12:00:05 +0000")
    assert at is not None and (at.hour, at.second) == (12, 5)
    assert at.utcoffset() == timedelta(0)
    assert parse_time("2025-03-02T12:00:05Z") == at
    assert parse_time(None) is None
    assert (filesize(512), filesize(2048), filesize(5 * 1024**2)) == ("512 B", "2.00 KB", "5.00 MB")
    scheduled = Transfer(uuid="u", num=7, from_type="pg_dump", to_type="gof3r", schedule={"x": 1})
    assert scheduled.name == "a007" and scheduled.is_backup
    restore = Transfer(uuid="u", num=3, from_type="gof3r", to_type="pg_restore")
    assert restore.name == "r003" and not restore.is_backup


# --------------------------------------------------------------------- respx router


def _transfer(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uuid": "7e0c6d4b-2a53-4c1e-9a57-1b7c2f0d4e11",
        "num": 12,
        "from_name": "DATABASE",
        "from_type": "pg_dump",
        "to_name": "BACKUP",
        "to_type": "gof3r",
        "succeeded": False,
        "processed_bytes": 0,
        "created_at": "2025-03-02 12:00:00 +0000",
        "started_at": "2025-03-02 12:00:01 +0000",
        "finished_at": None,
        "schedule": None,
    }
    body.update(over)
    return body


@pytest.fixture
def router() -> Iterator[respx.Router]:
    router = respx.Router(assert_all_called=False)
    router.get(f"{BASE}/apps/keycliq-production/addons").respond(
        200,
        json=[
            {
                "id": "b7e35a8f-8a4f-4d0b-9b1c-2b5c7ad6b1a0",
                "name": "papertrail-flat-1",
                "app": {"id": "x", "name": "keycliq-production"},
                "plan": {"name": "papertrail:choklad"},
                "addon_service": {"name": "papertrail"},
                "config_vars": ["PAPERTRAIL_API_TOKEN"],
            },
            {
                "id": ADDON_ID,
                "name": "postgresql-rigid-12345",
                "app": {"id": "x", "name": "keycliq-production"},
                "plan": {"name": "heroku-postgresql:essential-0"},
                "addon_service": {"name": "heroku-postgresql"},
                "config_vars": ["DATABASE_URL"],
            },
        ],
    )
    yield router


def _client(router: respx.Router, sleeps: Sleeps) -> PostgresClient:
    return PostgresClient(
        TOKEN, BASE, DATA, transport=httpx.MockTransport(router.handler), sleep=sleeps
    )


def test_capture_then_wait_reads_at_growing_intervals(router: respx.Router) -> None:
    running = _transfer()
    finished = _transfer(
        succeeded=True, processed_bytes=123456, finished_at="2025-03-02 12:00:09 +0000"
    )
    capture = router.post(f"{DATA}/client/v11/databases/{ADDON_ID}/backups").respond(
        200, json=running
    )
    reads = router.get(f"{DATA}/client/v11/apps/keycliq-production/transfers/{running['uuid']}")
    reads.side_effect = [httpx.Response(200, json=running)] * 4 + [
        httpx.Response(200, json=finished)
    ]
    sleeps = Sleeps()
    seen: list[str] = []
    with _client(router, sleeps) as pg:
        addon = pg.database("keycliq-production")
        assert addon.name == "postgresql-rigid-12345"  # not the papertrail add-on
        started = pg.capture(addon)
        done = pg.wait(
            "keycliq-production", started, timeout=600, on_progress=lambda t: seen.append(t.status)
        )
    assert done.name == "b012" and done.processed_bytes == 123456 and done.status == "completed"
    assert sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]  # never a busy loop; Heroku's CLI uses 3 s
    assert seen == ["running"] * 4 + ["completed"]
    sent = capture.calls.last.request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "version=3" in sent.headers["Accept"]


def test_failed_capture_raises_with_its_logs(router: respx.Router) -> None:
    failed = _transfer(finished_at="2025-03-02 12:00:09 +0000", succeeded=False)
    uuid = failed["uuid"]
    path = f"{DATA}/client/v11/apps/keycliq-production/transfers/{uuid}"
    router.get(path, params={"verbose": "true"}).respond(
        200,
        json={
            **failed,
            "logs": [
                {"created_at": "x", "level": "info", "message": "Starting backup"},
                {"created_at": "x", "level": "error", "message": "pg_dump: error: out of disk"},
            ],
        },
    )
    router.get(path).respond(200, json=failed)
    with _client(router, Sleeps()) as pg, pytest.raises(HerokuError) as info:
        pg.wait("keycliq-production", Transfer.model_validate(_transfer()), timeout=600)
    assert info.value.exit_code == 3
    assert "backup b012 of keycliq-production failed" in info.value.message
    assert "pg_dump: error: out of disk" in info.value.message
    assert "pg:backups:info b012" in (info.value.hint or "")


def test_wait_is_bounded_and_interruptible(router: respx.Router) -> None:
    started = Transfer.model_validate(_transfer())
    with _client(router, Sleeps()) as pg, pytest.raises(HerokuError) as late:
        pg.wait("keycliq-production", started, timeout=0)
    assert "still running after 0s" in late.value.message

    def aborted(_: float) -> None:
        raise deadlines.AbortedIO("interrupted")

    pg = PostgresClient(
        TOKEN, BASE, DATA, transport=httpx.MockTransport(router.handler), sleep=aborted
    )
    with pg, pytest.raises(Interrupted):
        pg.wait("keycliq-production", started, timeout=600)


def test_capture_is_not_retried_after_a_server_error(router: respx.Router) -> None:
    capture = router.post(f"{DATA}/client/v11/databases/{ADDON_ID}/backups").respond(
        503, json={"id": "service_unavailable", "message": "try later"}
    )
    sleeps = Sleeps()
    with _client(router, sleeps) as pg:
        addon = pg.database("keycliq-production")
        with pytest.raises(HerokuError) as info:
            pg.capture(addon)
    assert info.value.status == 503 and info.value.exit_code == 3
    assert capture.call_count == 1  # a POST that may have been acted on is never repeated


def test_an_app_without_postgres_is_named(router: respx.Router) -> None:
    router.get(f"{BASE}/apps/keycliq-staging/addons").respond(200, json=[])
    with _client(router, Sleeps()) as pg, pytest.raises(HerokuError) as info:
        pg.database("keycliq-staging")
    assert "keycliq-staging has no Heroku Postgres database" in info.value.message


# ------------------------------------------------------------------ the stand-in


@pytest.fixture
def standin(tmp_path: Path, pg_server: PostgresServer) -> Iterator[tuple[Sandbox, KeycliqApps]]:
    with Sandbox(tmp_path / "sandbox", postgres=pg_server) as sb:
        yield sb, sb.setup_keycliq()


@pytest.mark.db
def test_against_the_standin(standin: tuple[Sandbox, KeycliqApps]) -> None:
    sb, _ = standin
    heroku = HerokuClient(sb.token, sb.url)
    with heroku, PostgresClient.for_client(heroku) as pg:
        assert pg.data_url == sb.url  # loopback: the stand-in serves the Postgres API too
        addon = pg.database("keycliq-production")
        assert pg.schedules(addon) == []
        first = pg.wait("keycliq-production", pg.capture(addon), timeout=120)
        second = pg.wait("keycliq-production", pg.capture(addon), timeout=120)
        assert (first.name, second.name) == ("b001", "b002")
        assert first.succeeded and first.processed_bytes > 0
        assert [b.name for b in pg.backups("keycliq-production")] == ["b002", "b001"]
        assert pg.backups("keycliq-staging") == []
        raw = httpx.post(
            f"{sb.url}/client/v11/databases/{addon.id}/transfer-schedules",
            headers=sb.headers(),
            content=json.dumps({"hour": "2", "timezone": "UTC", "schedule_name": "DATABASE_URL"}),
        )
        assert raw.status_code == 201
        (schedule,) = pg.schedules(addon)
        assert (schedule.name, schedule.hour, schedule.timezone) == ("DATABASE_URL", 2, "UTC")
        sb.faults.fail_backup("keycliq-production")
        with pytest.raises(HerokuError) as info:
            pg.wait("keycliq-production", pg.capture(addon), timeout=120)
        assert "backup b003 of keycliq-production failed" in info.value.message
