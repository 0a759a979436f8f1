"""One way to name an environment (docs/decisions.md, "Naming an environment"), and the
global ``-c/--config`` after the command name.

No stand-in here: every case below is decided before keycliq reaches for Heroku or a
database (the end-to-end runs with app names are in tests/ops/*_e2e.py and the last test).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer

from keycliq_ops.__main__ import config_first
from keycliq_ops.cli.app import app
from tests.world import World

CONFIG = """\
environments:
  staging:
    app: keycliq-staging
    remote: heroku-staging
  production:
    app: keycliq-production
    stage: production
"""
OTHER = """\
environments:
  qa:
    app: keycliq-qa
    remote: heroku-qa
"""

# Every command that acts on an environment, with what it needs besides it.
ENV_COMMANDS: dict[str, tuple[str, ...]] = {
    "logs": (),
    "watch": (),
    "config check": (),
    "playbook run": ("email",),
    "dataclips run": ("A",),
    "dataclips trend": ("A",),
    "checklist run": ("staging", "--dry-run"),
    "status": (),
    "ledger list": (),
}
# Those whose environment is their only subject: it may also be the first argument.
POSITIONAL = ("logs", "watch", "config check")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    config = tmp_path / "work" / "keycliq.yaml"
    config.write_text(CONFIG)
    return config


def _command(path: str) -> Any:
    cmd: Any = typer.main.get_command(app)
    for word in path.split():
        cmd = cmd.commands[word]
    return cmd


@pytest.mark.parametrize("path", sorted(ENV_COMMANDS))
def test_every_command_acting_on_an_environment_takes_dash_e(path: str) -> None:
    cmd = _command(path)
    by_name = {p.name: p for p in cmd.params}
    options = [p for p in cmd.params if "--env" in getattr(p, "opts", [])]
    assert len(options) == 1, path
    assert set(options[0].opts) == {"-e", "--env"}
    assert not options[0].hidden
    assert "Heroku app name" in (options[0].help or "")
    positional = [p for p in by_name.values() if p.param_type_name == "argument"]
    if path in POSITIONAL:
        assert positional and positional[0].required is False, path


@pytest.mark.parametrize("path", ["dataclips run", "dataclips trend"])
def test_dataclips_app_is_a_hidden_deprecated_alias(path: str) -> None:
    cmd = _command(path)
    (alias,) = [p for p in cmd.params if "--app" in p.opts]
    assert set(alias.opts) == {"--app", "-a"}
    assert alias.hidden and "Deprecated alias of -e/--env" in alias.help


def test_ledger_list_keeps_dash_a_for_action() -> None:
    (action,) = [p for p in _command("ledger list").params if p.name == "action"]
    assert "-a" in action.opts


@pytest.mark.parametrize("path", sorted(ENV_COMMANDS))
def test_an_unknown_environment_is_one_line_exit_2(cli, project: Path, path: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(*path.split(), *ENV_COMMANDS[path], "-e", "nowhere")
    if path == "ledger list":  # a filter over history: a removed environment still matches
        assert result.code == 0 and "no records" in result.stderr, result
        return
    assert result.code == 2, result
    lines = result.stderr.splitlines()
    assert lines[0] == "error: unknown environment 'nowhere' (known: staging, production)"
    assert all(line.startswith("hint: ") for line in lines[1:])
    assert "Traceback" not in result.output


@pytest.mark.parametrize("path", POSITIONAL)
def test_argument_and_a_different_dash_e_is_exit_2(cli, project: Path, path: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(*path.split(), "staging", "-e", "production")
    assert result.code == 2, result
    assert result.stderr.startswith("error: ")
    assert "staging" in result.stderr.splitlines()[0]
    assert "production" in result.stderr.splitlines()[0]
    assert "Traceback" not in result.output


def test_dataclips_dash_e_and_a_different_app_is_exit_2(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("dataclips", "run", "A", "-e", "staging", "--app", "keycliq-production")
    assert result.code == 2, result
    assert result.stderr.splitlines()[0] == (
        "error: two environments named (keycliq-production, keycliq-staging): name one"
    )


def test_a_command_needing_an_environment_says_which_exist(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    for args in (("logs",), ("watch",), ("playbook", "run", "email")):
        result = cli(*args)
        assert result.code == 2, (args, result)
        assert "needs an environment (known: staging, production)" in result.stderr
        assert "hint: name it with -e ENV" in result.stderr


def test_dataclips_run_without_an_environment_keeps_its_default(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    # As before: no default database; the error names the way to give one.
    result = cli("dataclips", "run", "A")
    assert result.code == 2
    assert result.stderr.splitlines()[0] == (
        "error: which database? pass -e ENV or --database-url URL"
    )


def _history(project: Path) -> None:
    path = project.parent / ".keycliq" / "dataclips-history.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = [
        {
            "at": f"2026-11-2{n}T10:00:00+00:00",
            "target": target,
            "checks": {"A": {"verdict": "info", "numbers": {"users": users}}},
        }
        for n, (target, users) in enumerate(
            [("keycliq-staging", 10), ("keycliq-production", 500), ("keycliq-staging", 12)]
        )
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))


@pytest.mark.parametrize(
    "how",
    [
        ("-e", "staging"),
        ("--env", "keycliq-staging"),
        ("--app", "staging"),
        ("-a", "keycliq-staging"),
    ],
)
def test_dataclips_trend_resolves_every_name_to_the_app(  # type: ignore[no-untyped-def]
    cli, project: Path, how: tuple[str, str]
) -> None:
    _history(project)
    result = cli("dataclips", "trend", "A", *how, "--json")
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert data["target"] == "keycliq-staging"
    assert len(data["points"]) == 2


def test_ledger_list_accepts_an_app_name(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    from keycliq_ops.ledger import Ledger

    ledger = Ledger(project.parent / ".keycliq" / "ledger.jsonl")
    ledger.begin("rollback", "production", app="keycliq-production")
    ledger.begin("rollback", "staging", app="keycliq-staging")
    for name in ("production", "keycliq-production"):
        result = cli("ledger", "list", "-e", name, "--json")
        assert result.code == 0, result
        assert [r["environment"] for r in json.loads(result.stdout)] == ["production"]
    by_action = cli("ledger", "list", "-a", "rollback", "--json")
    assert len(json.loads(by_action.stdout)) == 2


# ------------------------------------------------------------------ -c after the command


def test_config_after_the_command_is_read(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other.yaml"
    other.write_text(OTHER)
    for args in (
        ("config", "validate", "-c", str(other)),
        ("config", "validate", f"--config={other}"),
        ("config", "validate", "--config", str(other), "--json"),
    ):
        result = cli(*args)
        assert result.code == 0, (args, result)
        assert "qa" in result.output and "staging" not in result.output
    # The environment named after the command is looked up in that file.
    result = cli("logs", "-e", "nowhere", "-c", str(other))
    assert result.code == 2
    assert "(known: qa)" in result.stderr
    result = cli("dataclips", "run", "A", "-c", str(other), "-e", "staging")
    assert result.code == 2 and "(known: qa)" in result.stderr


def test_config_after_the_command_wins_over_the_one_before(
    cli, project: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other.yaml"
    other.write_text(OTHER)
    result = cli("-c", str(project), "config", "validate", "-c", str(other), "--json")
    assert result.code == 0, result
    assert json.loads(result.stdout)["environments"] == ["qa"]


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        (["deploy", "staging", "-c", "x.yaml"], ["--config", "x.yaml", "deploy", "staging"]),
        (["-c", "a.yaml", "logs", "-cb.yaml"], ["-c", "a.yaml", "--config", "b.yaml", "logs"]),
        (
            ["dataclips", "run", "A", "--config=x.yaml"],
            ["--config=x.yaml", "dataclips", "run", "A"],
        ),
        (["logs", "-e", "staging", "--", "-c", "x"], ["logs", "-e", "staging", "--", "-c", "x"]),
        (["logs", "-c"], ["logs", "-c"]),
        (["--version"], ["--version"]),
        ([], []),
    ],
)
def test_config_first_moves_only_the_config_option(given: list[str], parsed: list[str]) -> None:
    assert config_first(given) == parsed


def test_the_root_help_says_config_may_follow_the_command(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--help")
    assert result.code == 0
    assert "-c/--config FILE may come before or after the command" in result.stdout
    assert "-e/--env ENV names the environment" in result.stdout


# ------------------------------------------------------------------ against the stand-in


def test_status_and_checklist_take_app_names(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("status", "-e", "keycliq-production", "--json")
    assert result.code == 0, result
    report = json.loads(result.stdout)
    assert [e["name"] for e in report["environments"]] == ["production"]
    assert all("production" in (c["base"], c["head"]) for c in report["comparisons"])
    both = json.loads(cli("status", "-e", "staging", "-e", "production", "--json").stdout)
    assert [e["name"] for e in both["environments"]] == ["staging", "production"]
    plan = cli("checklist", "run", "staging", "-e", "keycliq-staging", "--dry-run", "--json")
    assert plan.code == 0, plan
    assert json.loads(plan.stdout)["env"] == "staging"
