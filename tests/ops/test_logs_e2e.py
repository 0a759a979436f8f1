"""``keycliq logs`` and ``keycliq watch`` against the Heroku stand-in over loopback HTTP.

The app's real lines (the stand-in's :mod:`keycliq_ops.standin.applog`, the texts of the
app's code) are "written" to the stand-in's log as the app would, then read back through
real log sessions.
"""

from __future__ import annotations

import json

from keycliq_ops.standin import applog
from tests.world import World

STAGING = "keycliq-staging"
USER = "cmhu2k1y70003l104q9xv3b2n"
KEY = applog.cuid("key of the e2e user")

H12 = (
    'at=error code=H12 desc="Request timeout" method=POST path="/scan/check" '
    "host=keycliq-staging.herokuapp.com dyno=web.1 connect=1ms service=30000ms status=503"
)


def _write(world: World, *writes: applog.Write, app: str = STAGING) -> None:
    for w in writes:
        world.sandbox.write_log(app, w.text, source=w.source, dyno=w.dyno)


def _scans(world: World) -> None:
    """A MATCH FOUND and a NO MATCH scan, as the app logs them (some 60 lines each: the
    tests read more than ``keycliq logs``' default 100 lines)."""
    _write(
        world,
        applog.scan("MATCH_FOUND", user_id=USER, key_ids=(KEY,)),
        applog.scan("NO_MATCH", user_id=USER, key_ids=(KEY,)),
    )


def _secret(world: World, name: str = "SESSION_SECRET") -> str:
    value = world.sandbox.engine.app(STAGING).config[name]
    assert len(value) >= 12
    return value


def _write_incident(world: World) -> str:
    secret = _secret(world)
    _scans(world)
    _write(world, applog.scan("OPENAI_FAILED", user_id=USER, key_ids=(KEY,)))
    world.sandbox.write_log(STAGING, H12, source="heroku", dyno="router")
    world.sandbox.write_log(STAGING, f"session config loaded secret={secret}")
    return secret


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_logs_summary_counts_kinds(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    _write_incident(world)
    result = cli("logs", "staging", "-n", "1500", "--summary", "--json")
    assert result.code == 0, result
    doc = json.loads(result.stdout)
    assert doc["app"] == STAGING
    kinds = doc["kinds"]
    assert doc["scans"] == {
        "started": 3,
        "MATCH_FOUND": 1,
        "POSSIBLE_MATCH": 0,
        "NO_MATCH": 1,
        "EMPTY_INVENTORY": 0,
        "crashed": 0,
        "failed": 1,
    }
    assert kinds["openai-failed"]["count"] == 1
    assert kinds["openai-failed"]["severity"] == "error"
    assert kinds["scan-route-failed"]["count"] == 1
    assert kinds["scan-no-match"]["severity"] == "info"
    assert kinds["matching-refused"]["count"] == 2
    assert kinds["H12"]["count"] == 1
    assert kinds["scan-started"]["first_seen"] <= kinds["scan-started"]["last_seen"]

    # The same environment named with -e, by its name or by its Heroku app's.
    for how in (("-e", "staging"), ("--env", STAGING), (STAGING, "-e", "staging")):
        same = cli("logs", *how, "-n", "1500", "--summary", "--json")
        assert same.code == 0, (how, same)
        assert json.loads(same.stdout)["kinds"] == kinds
        assert json.loads(same.stdout)["environment"] == "staging"

    table = cli("logs", "staging", "-n", "1500", "--summary")
    assert table.code == 0, table
    assert "openai-failed" in table.stdout and "H12" in table.stdout
    assert "request timeout" in table.stdout
    assert "scans: 3 started; MATCH_FOUND 1, POSSIBLE_MATCH 0, NO_MATCH 1" in table.stdout


def test_logs_only_and_json_lines(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    _write_incident(world)
    result = cli("logs", "staging", "-n", "1500", "--only", "H12,openai-failed", "--json")
    assert result.code == 0, result
    events = _json_lines(result.stdout)
    assert [e["kind"] for e in events] == ["openai-failed", "H12"]
    h12 = events[1]
    assert h12["source"] == "heroku" and h12["dyno"] == "router"
    assert h12["severity"] == "error"
    assert h12["message"] == H12
    assert set(h12) == {"ts", "source", "dyno", "kind", "severity", "message"}

    errors = cli("logs", "staging", "-n", "1500", "--only", "errors", "--source", "app", "--json")
    assert errors.code == 0, errors
    assert [e["kind"] for e in _json_lines(errors.stdout)] == ["openai-failed", "scan-route-failed"]

    plain = cli("logs", "staging", "-n", "1500", "--only", "scans")
    assert plain.code == 0, plain
    assert plain.stdout.count("PROCESSING START") == 3
    assert "KEYSCAN V6 - MATCH FOUND" in plain.stdout and "KEYSCAN V6 - NO MATCH" in plain.stdout
    assert "Processing failed" in plain.stdout  # the failed scan's outcome
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
    assert {b["kind"] for b in doc["breaches"]} == {"openai-failed", "scan-route-failed", "H12"}
    assert doc["rollback_command"] == "keycliq rollback staging"
    assert doc["summary"]["scans"]["MATCH_FOUND"] == 1

    by_app = cli("watch", "-e", STAGING, "--for", "2s", "--json")
    assert by_app.code == 1, by_app
    assert json.loads(by_app.stdout)["environment"] == "staging"

    tolerated = cli("watch", "staging", "--for", "2s", "--max-errors", "1")
    assert tolerated.code == 0, tolerated
    assert "watch passed" in tolerated.stdout


def test_watch_passes_on_a_clean_log(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    # A normal session: a first scan with no key yet, a key added, a MATCH FOUND and a NO
    # MATCH (its ❌ banner, and the matching the app itself refuses, are normal).
    _write(world, *applog.traffic(app=STAGING, user_id=USER))
    _write(world, applog.key_deleted(public_id="keycliq/keys/abc123"))
    result = cli("watch", "staging", "--for", "2s", "--json")
    assert result.code == 0, result
    doc = json.loads(result.stdout)
    assert doc["passed"] is True and doc["breaches"] == []
    assert doc["rollback_command"] is None
    assert doc["summary"]["kinds"]["image-deleted"]["count"] == 1
    assert doc["summary"]["scans"]["EMPTY_INVENTORY"] == 1
    assert doc["summary"]["scans"]["NO_MATCH"] == 1
    assert doc["since"] is not None


def test_watch_fails_on_only_the_apps_failure_lines(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    # No Heroku error code at all: the app's own failure lines fail the default watch.
    _write(
        world,
        applog.scan("CRASHED", user_id=USER, key_ids=(KEY,)),
        applog.image_upload_unauthorized(),
        applog.mail_domain_unverified(),
    )
    result = cli("watch", "staging", "--for", "2s")
    assert result.code == 1, result
    for kind in ("scan-crashed", "image-upload-failed", "mail-domain-unverified"):
        assert kind in result.stderr, kind
    assert "hint: verify the domain of MAIL_FROM_ADDRESS" in result.stdout
    assert "keycliq rollback staging" in result.output


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
