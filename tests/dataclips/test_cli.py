"""``keycliq dataclips`` through the real entry point: output, exit codes, history, --app."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import psycopg
import pytest
import respx

from keycliq_ops.standin.sample.seed import seed


@pytest.fixture
def clean(pg_url: str) -> tuple[str, str]:
    summary = seed(pg_url)
    return pg_url, summary.sample_user_id


def test_list_and_show_work_without_a_config(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("dataclips", "list")
    assert result.code == 0
    for check_id in ("A", "E1", "E2", "E3", "F", "G", "H", "I"):
        assert f"│ {check_id} " in result.stdout
    listed = json.loads(cli("dataclips", "list", "--json", "--tag", "integrity").stdout)
    assert [c["id"] for c in listed] == ["E1", "E2", "E3", "E4", "G"]
    shown = cli("dataclips", "show", "e2")
    assert shown.code == 0
    assert shown.stdout.startswith("-- id: E2\n")
    assert '"matchedSignature" IS NULL' in shown.stdout
    assert (
        json.loads(cli("dataclips", "show", "B", "--json").stdout)["params"][0]["name"] == "userId"
    )


def test_run_clean_database_exits_0_with_tables_and_json(cli, clean) -> None:  # type: ignore[no-untyped-def]
    url, user = clean
    result = cli(
        "dataclips", "run", "A", "C", "E1", "--database-url", url, "--param", f"userId={user}"
    )
    assert result.code == 0, result.stderr
    assert "E1  key_signatures XOR" in result.stdout
    assert "✓ both_null = 0" in result.stdout
    assert "3 checks: 1 info, 2 pass" in result.stdout
    # Numbers are right-aligned in the one-row tables.
    line = next(ln for ln in result.stdout.splitlines() if ln.strip().startswith("users"))
    assert line.rstrip().endswith("10")
    data = json.loads(cli("dataclips", "run", "E1", "E2", "--database-url", url, "--json").stdout)
    assert data["schema_version"] == 1 and data["verdict"] == "pass" and data["ok"] is True
    assert [r["id"] for r in data["results"]] == ["E1", "E2"]
    assert data["results"][0]["expectations"][0] == {
        "text": "both_null = 0",
        "level": "expect",
        "status": "pass",
        "actual": "both_null = 0",
        "detail": None,
        "note": "a signature with neither a key nor a scan; the app always writes "
        '"keyId" (createKey in app/lib/keys.server.js), so another writer or a broken '
        "migration made it",
    }
    assert url not in result.stdout + result.stderr


def test_a_failing_check_exits_1_and_shows_the_rows(cli, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    seed(pg_url, defects=["unknown-match-type", "missing-index"])
    result = cli("dataclips", "run", "F", "G", "--database-url", pg_url)
    assert result.code == 1
    assert "POSSIBLE (1)" in result.stdout  # G names the unknown value and its count
    assert "key_matchings_userId_matchType_idx" in result.stdout
    assert "error: Dataclips failed: F, G" in result.stderr


def test_warnings_pass_unless_fail_on_warn(cli, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    seed(pg_url, defects=["expired-tokens"])
    assert cli("dataclips", "run", "I", "--database-url", pg_url).code == 0
    result = cli("dataclips", "run", "I", "--database-url", pg_url, "--fail-on-warn")
    assert result.code == 1
    assert "--fail-on-warn" in result.stderr


def test_usage_errors_exit_2_before_any_connection(cli) -> None:  # type: ignore[no-untyped-def]
    url = "postgresql://u:pw@127.0.0.1:1/x"
    for args, message in [
        (("Z1",), "unknown Dataclip 'Z1'"),
        (("B",), "needs the parameter userId"),
        (("A", "--param", "userid=1"), "--param userid: no selected Dataclip takes it"),
        (("A", "--param", "novalue"), "expected NAME=VALUE"),
        ((), "which checks?"),
    ]:
        result = cli("dataclips", "run", *args, "--database-url", url)
        assert result.code == 2, (args, result.stderr)
        assert message in result.stderr
    result = cli("dataclips", "run", "A")
    assert result.code == 2 and "which database?" in result.stderr


def test_unreachable_database_exits_3_without_the_password(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(
        "KEYCLIQ_DATABASE_URL", "postgresql://kc:Sup3rSecretPw@127.0.0.1:1/kc?connect_timeout=1"
    )
    result = cli("dataclips", "run", "A")
    assert result.code == 3
    assert result.stderr.startswith("error: connecting to the database (127.0.0.1:1/kc) failed")
    assert "Sup3rSecretPw" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_runs_are_recorded_and_trend_shows_them(
    cli, pg_url: str, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    seed(pg_url)
    assert cli("dataclips", "run", "A", "--database-url", pg_url).code == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM key_matchings WHERE ctid IN (SELECT ctid FROM key_matchings LIMIT 600)"
        )
    assert cli("dataclips", "run", "A", "--database-url", pg_url).code == 0
    history = tmp_path / "state" / "keycliq" / "dataclips-history.jsonl"
    assert len(history.read_text().splitlines()) == 2
    assert pg_url not in history.read_text()
    data = json.loads(cli("dataclips", "trend", "A", "--json").stdout)
    series = {s["name"]: s for s in data["series"]}
    assert series["key_matchings"]["change"] == -600
    assert series["key_matchings"]["jump"] is True
    assert series["users"]["jump"] is False
    text = cli("dataclips", "trend", "A")
    assert text.code == 0
    assert "key_matchings" in text.stdout and "jump > 50%" in text.stdout
    assert cli("dataclips", "run", "A", "--database-url", pg_url, "--no-history").code == 0
    assert len(history.read_text().splitlines()) == 2


def test_csv_writes_one_file_per_check(cli, clean, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, user = clean
    out = tmp_path / "csv"
    result = cli(
        "dataclips",
        "run",
        "D",
        "E1",
        "--database-url",
        url,
        "-p",
        f"userId={user}",
        "--csv",
        str(out),
    )
    assert result.code == 0
    d = (out / "D.csv").read_text().splitlines()
    assert (
        d[0]
        == "scan_id,scanned_at,match_type,similarity,confidence,key_id,key_name,key_description"
    )
    assert len(d) == 51  # all 50 scans in the CSV, not only the 20 shown
    assert (out / "E1.csv").read_text().splitlines()[0] == (
        "total,both_null,both_set,key_only,scan_only,correct_xor"
    )


@pytest.mark.parametrize(
    "how",
    [
        ("-e", "staging"),
        ("--env", "keycliq-staging"),
        ("--app", "staging"),  # the deprecated alias of -e/--env, kept working
        ("-a", "keycliq-staging"),
        ("-e", "staging", "--app", "keycliq-staging"),  # the same environment twice
    ],
)
def test_env_fetches_database_url_from_config_vars(
    cli, pg_url: str, tmp_path: Path, monkeypatch, how: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    seed(pg_url)
    (tmp_path / "work" / "keycliq.yaml").write_text(
        "environments:\n  staging:\n    app: keycliq-staging\n"
    )
    monkeypatch.setenv("HEROKU_API_KEY", "0123456789abcdef-token")
    monkeypatch.setenv("HEROKU_API_URL", "https://api.heroku.test")
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get("https://api.heroku.test/apps/keycliq-staging/config-vars").mock(
            return_value=httpx.Response(
                200, json={"DATABASE_URL": pg_url, "NODE_ENV": "production"}
            )
        )
        result = cli("dataclips", "run", "E1", *how, "--json")
    assert route.called
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["target"] == "keycliq-staging"
    assert pg_url not in result.stdout + result.stderr
    history = tmp_path / "work" / ".keycliq" / "dataclips-history.jsonl"
    assert json.loads(history.read_text())["target"] == "keycliq-staging"
