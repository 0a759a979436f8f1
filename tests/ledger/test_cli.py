"""`keycliq ledger …` through the real entry point."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from keycliq_ops.ledger import Ledger, canonical

from .helpers import deploy

CONFIG = """\
environments:
  staging:
    app: keycliq-staging
    remote: heroku-staging
  production:
    app: keycliq-production
    stage: production
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "keycliq-app"
    folder.mkdir()
    (folder / "keycliq.yaml").write_text(CONFIG)
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def filled(repo: Path) -> Ledger:
    ledger = Ledger(repo / ".keycliq" / "ledger.jsonl")  # the config's default path
    deploy(
        ledger,
        "staging",
        steps=[{"name": "tests", "status": "succeeded", "duration_ms": 5300}],
        checklist={"name": "staging", "items": [{"id": "login", "answer": "yes"}]},
        dataclips=[{"id": "E1", "verdict": "pass", "numbers": {"orphans": 0}}],
    )
    deploy(ledger, "production", outcome="failed")
    ledger.begin("rollback", "production", app="keycliq-production")
    return ledger


def test_list_shows_the_latest_actions(cli, filled: Ledger) -> None:  # type: ignore[no-untyped-def]
    result = cli("ledger", "list")
    assert result.code == 0, result
    rows = result.stdout.splitlines()
    assert rows[0].split() == [
        "id",
        "when",
        "(UTC)",
        "action",
        "env",
        "commit",
        "release",
        "who",
        "outcome",
        "duration",
    ]
    runs = filled.latest(20)
    assert [r.split()[0] for r in rows[1:]] == [r.id for r in runs]
    assert "rollback" in rows[1] and "running" in rows[1]
    assert (
        "failed" in rows[2]
        and "v42" in rows[2]
        and "3f2a9c1d " in rows[2]
        and "Ann Example" in rows[2]
    )


def test_list_json_and_filters(cli, filled: Ledger) -> None:  # type: ignore[no-untyped-def]
    result = cli("ledger", "list", "--json", "--env", "production", "--action", "deploy")
    assert result.code == 0
    rows = json.loads(result.stdout)
    assert [(r["environment"], r["action"], r["status"]) for r in rows] == [
        ("production", "deploy", "failed")
    ]
    assert (
        json.loads(
            cli("ledger", "list", "--json", "--outcome", "succeeded", "--since", "1h").stdout
        )[0]["environment"]
        == "staging"
    )
    assert json.loads(cli("ledger", "list", "--json", "-n", "1").stdout)[0]["action"] == "rollback"
    none = cli("ledger", "list", "--env", "review")
    assert none.code == 0 and "no records match" in none.stderr


def test_list_refuses_bad_filters_in_one_line(cli, filled: Ledger) -> None:  # type: ignore[no-untyped-def]
    result = cli("ledger", "list", "--since", "yesterday")
    assert result.code == 2
    assert result.stderr.splitlines()[0] == "error: --since 'yesterday' is not a time"
    assert "Traceback" not in result.output
    assert cli("ledger", "list", "--action", "launch").code == 2


def test_show_prints_one_action_whole(cli, filled: Ledger) -> None:  # type: ignore[no-untyped-def]
    first, *others = filled.iter()
    prefix = next(  # the shortest prefix no other record shares
        first.id[:n] for n in range(1, 21) if not any(o.id.startswith(first.id[:n]) for o in others)
    )
    result = cli("ledger", "show", prefix)
    assert result.code == 0, result
    for expected in (
        first.id,
        "succeeded",
        "tests",
        "5.3 s",
        "login",
        "E1",
        "orphans=0",
        first.hash,
        "keycliq-staging",
    ):
        assert expected in result.stdout, expected
    data = json.loads(cli("ledger", "show", first.id, "--json").stdout)
    assert data["run"]["status"] == "succeeded" and len(data["records"]) == 2
    missing = cli("ledger", "show", "1999")
    assert missing.code == 2 and missing.stderr.startswith("error: no record '1999'")


def test_verify_exit_codes(cli, filled: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "400")  # a long temp path must not wrap the lines
    good = cli("ledger", "verify")
    assert good.code == 0 and "5 records, chain intact" in good.stdout
    rows = filled.path.read_bytes().splitlines(keepends=True)
    filled.path.write_bytes(rows[0] + rows[2] + b"".join(rows[3:]))
    bad = cli("ledger", "verify")
    assert bad.code == 1
    assert f"broken: {filled.path}:2: chain-broken" in bad.stdout
    report = json.loads(cli("ledger", "verify", "--json").stdout)
    assert report["ok"] is False and report["problem"]["line"] == 2


def test_verify_with_an_anchor(cli, filled: Ledger) -> None:  # type: ignore[no-untyped-def]
    head = filled.verify().head
    assert head is not None
    ok = cli("ledger", "verify", "--anchor", head)
    assert ok.code == 0 and "in the chain" in ok.stdout
    assert cli("ledger", "verify", "--anchor", "0" * 64).code == 1


def test_export_formats(cli, filled: Ledger, repo: Path) -> None:  # type: ignore[no-untyped-def]
    first = next(filled.iter())
    md = cli("ledger", "export", first.id)
    assert md.code == 0 and md.stdout.startswith("# Deploy report: deploy staging — succeeded")
    out = repo / "reports" / "deploy.html"
    html = cli("ledger", "export", first.id, "--format", "html", "--output", str(out))
    assert html.code == 0 and f"wrote {out}" in html.stderr
    assert out.read_text().startswith("<!DOCTYPE html>")
    data = json.loads(cli("ledger", "export", first.id, "-f", "json").stdout)
    assert data["format"] == "keycliq-deploy-report" and data["ledger"]["ok"] is True


def test_export_all_dumps_the_chain(cli, filled: Ledger, repo: Path) -> None:  # type: ignore[no-untyped-def]
    target = repo / "audit" / "ledger.json"
    result = cli("ledger", "export", "--all", "--format", "json", "-o", str(target))
    assert result.code == 0 and "wrote 5 records" in result.stderr
    data = json.loads(target.read_text())
    prev = "0" * 64
    for record in data["records"]:
        claimed = record.pop("hash")
        assert record["prev"] == prev
        assert hashlib.sha256(canonical(record)).hexdigest() == claimed
        prev = claimed
    assert data["ledger"]["head"] == prev
    streamed = json.loads(cli("ledger", "export", "--all", "--format", "json").stdout)
    assert len(streamed["records"]) == 5


@pytest.mark.parametrize(
    "args",
    [
        ["export"],
        ["export", "--all"],
        ["export", "--all", "2026", "--format", "json"],
        ["export", "2026", "--format", "pdf"],
    ],
)
def test_export_usage_errors(cli, filled: Ledger, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    result = cli("ledger", *args)
    assert result.code == 2 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


def test_keycliq_ledger_env_reads_another_file_without_a_config(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    elsewhere = tmp_path / "copy" / "ledger.jsonl"
    deploy(Ledger(elsewhere))
    monkeypatch.setenv("KEYCLIQ_LEDGER", str(elsewhere))
    assert cli("ledger", "verify").code == 0
    assert len(json.loads(cli("ledger", "list", "--json").stdout)) == 1


def test_an_empty_ledger(cli, repo: Path) -> None:  # type: ignore[no-untyped-def]
    listed = cli("ledger", "list")
    assert listed.code == 0 and "no records in" in listed.stderr
    checked = cli("ledger", "verify")
    assert checked.code == 0 and "no ledger at" in checked.stdout


@pytest.mark.parametrize("command", ["list", "show", "verify", "export"])
def test_every_command_has_help_with_an_example(cli, command: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("ledger", command, "--help")
    assert result.code == 0 and "Example" in result.stdout
