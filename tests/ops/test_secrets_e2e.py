"""``keycliq secrets rotate`` and ``keycliq secrets list`` against the stand-in."""

from __future__ import annotations

import io
import json
import sys

import pytest

from keycliq_ops.ops.config_audit import secret_digest
from tests.world import World

STAGING = "keycliq-staging"


def _config(world: World, app: str = STAGING) -> dict[str, str]:
    return dict(world.sandbox.engine.app(app).config)


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def _everything_written(world: World, *outputs: str) -> str:
    ledger = world.ledger_path.read_text() if world.ledger_path.exists() else ""
    return "\n".join([*outputs, ledger])


def test_session_secret_rotation_changes_it_releases_and_records(  # type: ignore[no-untyped-def]
    world: World, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, "")
    old = _config(world)["SESSION_SECRET"]
    versions_before = {r.version for r in world.sandbox.engine.app(STAGING).releases}
    result = cli("secrets", "rotate", "SESSION_SECRET", "--env", "staging", "--confirm", STAGING)
    assert result.code == 0, result.output
    new = _config(world)["SESSION_SECRET"]
    assert new != old
    assert len(new) == 64 and int(new, 16) >= 0  # 32 random bytes, hex
    assert new != _config(world, "keycliq-production")["SESSION_SECRET"]
    app = world.sandbox.engine.app(STAGING)
    release = max(app.releases, key=lambda r: r.version)
    assert release.version not in versions_before
    assert "SESSION_SECRET" in release.description
    assert "signed out" in result.stdout

    start, end = world.ledger_records()[-2:]
    assert start["action"] == end["action"] == "secret-rotation"
    assert start["outcome"] == "running" and end["ref"] == start["id"]
    assert end["outcome"] == "succeeded" and end["exit_code"] == 0
    assert end["environment"] == "staging" and end["app"] == STAGING
    assert end["release_version"] == release.version
    details = end["details"]
    assert isinstance(details, dict)
    assert details["var"] == "SESSION_SECRET" and details["source"] == "generated"
    assert details["old_digest"] == secret_digest(old)[:8]
    assert details["new_digest"] == secret_digest(new)[:8]
    assert f"ledger {start['id']}" in result.stdout  # the id `ledger list` shows: the run's

    everything = _everything_written(world, result.output)
    assert old not in everything and new not in everything

    show = cli("ledger", "show", str(end["id"]))
    assert show.code == 0, show.output
    assert old not in show.output and new not in show.output


def test_third_party_key_from_stdin_with_json(  # type: ignore[no-untyped-def]
    world: World, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _config(world)["OPENAI_API_KEY"]
    fresh = "sk-proj-" + "N3wK3y" * 8
    _stdin(monkeypatch, fresh + "\n")
    result = cli(
        "secrets", "rotate", "OPENAI_API_KEY", "--env", "staging",
        "--value-from-stdin", "--confirm", STAGING, "--json",
    )  # fmt: skip
    assert result.code == 0, result.output
    assert _config(world)["OPENAI_API_KEY"] == fresh
    data = json.loads(result.stdout)
    assert data["outcome"] == "succeeded" and data["source"] == "stdin"
    assert data["var"] == "OPENAI_API_KEY" and data["signs_out"] is False
    assert data["new"].endswith(f"{fresh[-4:]} ({len(fresh)} chars)")
    assert data["new_digest"] == secret_digest(fresh)[:8]
    assert world.last_record()["release_version"] == data["release_version"]
    everything = _everything_written(world, result.output)
    assert old not in everything and fresh not in everything


def test_list_masks_values_and_shows_the_last_rotation(  # type: ignore[no-untyped-def]
    world: World, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, "")
    rotated = cli("secrets", "rotate", "SESSION_SECRET", "-e", "staging", "--confirm", STAGING)
    assert rotated.code == 0, rotated.output
    config = _config(world)
    result = cli("secrets", "list", "--env", "staging", "--json")
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert data["app"] == STAGING
    rows = {row["name"]: row for row in data["vars"]}
    assert set(rows) == set(config)
    session = rows["SESSION_SECRET"]
    assert session["secret"] is True and session["last_rotated"] is not None
    assert session["ledger_id"] == world.ledger_records()[-2]["id"]
    assert rows["OPENAI_API_KEY"]["last_rotated"] is None
    assert rows["NODE_ENV"] == {**rows["NODE_ENV"], "value": "production", "secret": False}
    table = cli("secrets", "list", "--env", "staging")
    assert table.code == 0, table.output
    assert "SESSION_SECRET" in table.stdout and "NODE_ENV" in table.stdout
    for name, value in config.items():
        if name in ("SESSION_SECRET", "DATABASE_URL", "OPENAI_API_KEY", "CLOUDINARY_API_SECRET"):
            assert value not in result.output and value not in table.output


def test_dry_run_changes_nothing(world: World, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    _stdin(monkeypatch, "")
    before = _config(world)
    releases = len(world.sandbox.engine.app(STAGING).releases)
    result = cli("secrets", "rotate", "SESSION_SECRET", "--env", "staging", "--dry-run")
    assert result.code == 0, result.output
    assert "dry run" in result.stdout
    assert _config(world) == before
    assert len(world.sandbox.engine.app(STAGING).releases) == releases
    assert world.ledger_records() == []
    assert before["SESSION_SECRET"] not in result.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["DATABASE_URL"], "", "pg:credentials:rotate"),
        (["NODE_ENV"], "", "is not a secret"),
        (["APP_URL"], "", "is not a secret"),
        (["OPENAI_API_KEY"], "", "--value-from-stdin"),
        (["STRIPE_SECRET_KEY", "--value-from-stdin"], "sk-something-new-123456\n", "not set"),
        (["OPENAI_API_KEY", "--value-from-stdin"], "changeme\n", "placeholder"),
        (["SESSION_SECRET", "--value-from-stdin"], "tooshort-but-not-placeholder\n", "at least"),
        (["SESSION_SECRET"], "", "no terminal"),
    ],
)
def test_refusals_change_nothing(  # type: ignore[no-untyped-def]
    world: World, cli, monkeypatch: pytest.MonkeyPatch, args: list[str], stdin: str, message: str
) -> None:
    _stdin(monkeypatch, stdin)
    before = _config(world)
    confirm = [] if message == "no terminal" else ["--confirm", STAGING]
    result = cli("secrets", "rotate", *args, "--env", "staging", *confirm)
    assert result.code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert _config(world) == before
    assert world.ledger_records() == []


def test_the_same_value_is_refused(world: World, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    current = _config(world)["CLOUDINARY_API_SECRET"]
    _stdin(monkeypatch, current + "\n")
    result = cli(
        "secrets", "rotate", "CLOUDINARY_API_SECRET", "--env", "staging",
        "--value-from-stdin", "--confirm", STAGING,
    )  # fmt: skip
    assert result.code == 2, result.output
    assert "same as the current one" in result.stderr
    assert current not in result.output
    assert world.ledger_records() == []


def test_another_environments_session_secret_is_refused(  # type: ignore[no-untyped-def]
    world: World, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = _config(world, "keycliq-production")["SESSION_SECRET"]
    _stdin(monkeypatch, production + "\n")
    result = cli(
        "secrets", "rotate", "SESSION_SECRET", "--env", "staging",
        "--value-from-stdin", "--confirm", STAGING,
    )  # fmt: skip
    assert result.code == 2, result.output
    assert "same as production's" in result.stderr
    assert production not in result.output
    assert _config(world)["SESSION_SECRET"] != production


def test_a_wrong_confirm_changes_nothing(
    world: World, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _stdin(monkeypatch, "")
    before = _config(world)
    result = cli(
        "secrets", "rotate", "SESSION_SECRET", "--env", "staging", "--confirm", "keycliq-production"
    )
    assert result.code == 2
    assert "does not match" in result.stderr
    assert _config(world) == before
    assert world.ledger_records() == []
