"""``keycliq logs`` and ``keycliq watch`` against the Heroku stand-in over loopback HTTP.

The sample app's lines are "written" to the stand-in's log (as the app would), then read
back through real log sessions.
"""

from __future__ import annotations

import json

from tests.world import World

STAGING = "keycliq-staging"

SCAN = "processKeyImageV6 start userId=ck1 queryId=q1 mode=hybrid"
SCAN_DONE = "processKeyImageV6 done matchType=MATCH_FOUND similarity=0.93"
OPENAI = "Hybrid Balanced AI analysis failed: 429 You exceeded your current quota"
H12 = (
    'at=error code=H12 desc="Request timeout" method=POST path="/api/scan" '
    "host=keycliq-staging.herokuapp.com dyno=web.1 connect=1ms service=30000ms status=503"
)


def _secret(world: World, name: str = "SESSION_SECRET") -> str:
    value = world.sandbox.engine.app(STAGING).config[name]
    assert len(value) >= 12
    return value


def _write_incident(world: World) -> str:
    secret = _secret(world)
    world.sandbox.write_log(STAGING, f"{SCAN}\n{SCAN_DONE}")
    world.sandbox.write_log(STAGING, OPENAI)
    world.sandbox.write_log(STAGING, H12, source="heroku", dyno="router")
    world.sandbox.write_log(STAGING, f"session config loaded secret={secret}")
    return secret


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_logs_summary_counts_kinds(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    _write_incident(world)
    result = cli("logs", "staging", "--summary", "--json")
    assert result.code == 0, result
    doc = json.loads(result.stdout)
    assert doc["app"] == STAGING
    kinds = doc["kinds"]
    assert kinds["scan"]["count"] == 2
    assert kinds["openai-failed"]["count"] == 1
    assert kinds["openai-failed"]["severity"] == "error"
    assert kinds["H12"]["count"] == 1
    assert kinds["scan"]["first_seen"] <= kinds["scan"]["last_seen"]

    # The same environment named with -e, by its name or by its Heroku app's.
    for how in (("-e", "staging"), ("--env", STAGING), (STAGING, "-e", "staging")):
        same = cli("logs", *how, "--summary", "--json")
        assert same.code == 0, (how, same)
        assert json.loads(same.stdout)["kinds"] == kinds
        assert json.loads(same.stdout)["environment"] == "staging"

    table = cli("logs", "staging", "--summary")
    assert table.code == 0, table
    assert "openai-failed" in table.stdout and "H12" in table.stdout
    assert "request timeout" in table.stdout


def test_logs_only_and_json_lines(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    _write_incident(world)
    result = cli("logs", "staging", "--only", "H12,openai-failed", "--json")
    assert result.code == 0, result
    events = _json_lines(result.stdout)
    assert [e["kind"] for e in events] == ["openai-failed", "H12"]
    h12 = events[1]
    assert h12["source"] == "heroku" and h12["dyno"] == "router"
    assert h12["severity"] == "error"
    assert h12["message"] == H12
    assert set(h12) == {"ts", "source", "dyno", "kind", "severity", "message"}

    errors = cli("logs", "staging", "--only", "errors", "--source", "app", "--json")
    assert errors.code == 0, errors
    assert [e["kind"] for e in _json_lines(errors.stdout)] == ["openai-failed"]

    plain = cli("logs", "staging", "--only", "scan")
    assert plain.code == 0, plain
    assert plain.stdout.count("processKeyImageV6") == 2
    assert "Hybrid Balanced" not in plain.stdout


def test_logs_masks_secret_config_values(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    secret = _write_incident(world)
    for args in (("logs", "staging"), ("logs", "staging", "--json")):
        result = cli(*args)
        assert result.code == 0, result
        assert "session config loaded secret=" in result.stdout
        assert secret not in result.output
        assert secret[-4:] in result.stdout  # masked form: last 4 characters only


def test_logs_usage_errors(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    bad_kind = cli("logs", "staging", "--only", "H99")
    assert bad_kind.code == 2
    assert "unknown kind" in bad_kind.stderr and "Traceback" not in bad_kind.output
    bad_source = cli("logs", "staging", "--source", "router")
    assert bad_source.code == 2 and "--source" in bad_source.stderr
    bad_env = cli("logs", "nowhere")
    assert bad_env.code == 2 and "unknown environment" in bad_env.stderr
    assert "(known: staging, production)" in bad_env.stderr
    two = cli("logs", "staging", "-e", "keycliq-production")
    assert two.code == 2 and "two environments named (production, staging)" in two.stderr


def test_watch_fails_on_errors_and_names_rollback(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    _write_incident(world)
    result = cli("watch", "staging", "--for", "2s")
    assert result.code == 1, result
    assert "watch failed" in result.stdout
    assert "keycliq rollback staging" in result.output
    assert "openai-failed" in result.stderr and "H12" in result.stderr

    as_json = cli("watch", "staging", "--for", "2s", "--json")
    assert as_json.code == 1, as_json
    doc = json.loads(as_json.stdout)
    assert doc["passed"] is False
    assert {b["kind"] for b in doc["breaches"]} == {"openai-failed", "H12"}
    assert doc["rollback_command"] == "keycliq rollback staging"
    assert doc["summary"]["kinds"]["scan"]["count"] == 2

    by_app = cli("watch", "-e", STAGING, "--for", "2s", "--json")
    assert by_app.code == 1, by_app
    assert json.loads(by_app.stdout)["environment"] == "staging"

    tolerated = cli("watch", "staging", "--for", "2s", "--max", "H12=1", "--max", "openai-failed=1")
    assert tolerated.code == 0, tolerated
    assert "watch passed" in tolerated.stdout


def test_watch_passes_on_a_clean_log(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    world.sandbox.write_log(STAGING, f"{SCAN}\n{SCAN_DONE}")
    world.sandbox.write_log(STAGING, "Image deleted from Cloudinary: keycliq/keys/abc123")
    result = cli("watch", "staging", "--for", "2s", "--json")
    assert result.code == 0, result
    doc = json.loads(result.stdout)
    assert doc["passed"] is True and doc["breaches"] == []
    assert doc["rollback_command"] is None
    assert doc["summary"]["kinds"]["cloudinary-deleted"]["count"] == 1
    assert doc["since"] is not None


def test_watch_from_now_ignores_earlier_lines(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    _write_incident(world)
    result = cli("watch", "staging", "--for", "1s", "--from-now", "--json")
    assert result.code == 0, result
    assert json.loads(result.stdout)["summary"]["lines"] == 0


def test_watch_bad_duration_is_usage(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    for value in ("5 minutes", "0s", "-3m", "1.5m", ""):
        result = cli("watch", "staging", "--for", value)
        assert result.code == 2, (value, result)
        assert "--for" in result.stderr and "Traceback" not in result.output
