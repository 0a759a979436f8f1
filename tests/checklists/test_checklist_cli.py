"""``keycliq checklist list/show/run`` through the real entry point, in a real git checkout."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import ANSWERS, write
from .conftest import git as _git


def test_list_and_show(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("checklist", "list", "--json")
    assert result.code == 0
    listed = json.loads(result.stdout)
    # the repository's checklists/ adds smoke to the shipped ones
    assert [(c["name"], c["items"], c["manual"], c["automated"], c["source"]) for c in listed] == [
        ("production", 5, 2, 3, "shipped"),
        ("smoke", 5, 3, 2, "repo"),
        ("staging", 22, 9, 13, "shipped"),
    ]
    result = cli("checklist", "show", "smoke", "--json")
    shown = json.loads(result.stdout)
    assert shown["name"] == "smoke" and shown["sections"][0]["items"][1]["name"] == "userId"
    text = cli("checklist", "show", "smoke")
    assert text.code == 0 and "deployed (confirm, asked)" in text.stdout
    assert "GET {app_url}/welcome → 200" in text.stdout


def test_list_without_config_uses_the_shipped_catalogue(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("checklist", "list", "--json")
    assert result.code == 0
    assert [c["name"] for c in json.loads(result.stdout)] == ["production", "staging"]


def test_no_terminal_no_answers_exits_2_at_once(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("checklist", "run", "smoke")
    assert result.code == 2
    assert result.stderr.startswith(
        "error: checklist smoke needs a person for 3 item(s) (deployed, user, scan), "
        "and there is no terminal to ask in and no answers file"
    )
    assert "hint: run it in a terminal, or pass --answers FILE" in result.stderr
    assert not (project / ".keycliq").exists()


def test_run_with_answers_json_and_state(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    (project / "ready.txt").write_text("ok")
    result = cli("checklist", "run", "smoke", "--answers", "answers.yaml", "--json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "passed" and data["env"] == "staging"
    assert data["commit"] == _git(project, "rev-parse", "HEAD")
    assert data["answered_by"] == "answers file answers.yaml"
    verdicts = {i["id"]: (i["verdict"], i["who"]) for i in data["items"]}
    assert verdicts == {
        "deployed": ("passed", "Ana <ana@example.com>"),
        "user": ("passed", "Ana <ana@example.com>"),
        "scan": ("skipped", "answers file"),
        "page": ("passed", "keycliq"),
        "ready": ("passed", "keycliq"),
    }
    # progress went to stderr; the state file holds this run
    assert "[4/5] page: passed GET" in result.stderr
    state = json.loads((project / ".keycliq" / "checklist-state.json").read_text())
    assert [r["verdict"] for r in state["runs"]] == ["passed"]


def test_missing_answer_names_the_item(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    write(project / "partial.yaml", ANSWERS.split("  user:", maxsplit=1)[0])
    result = cli("checklist", "run", "smoke", "--answers", "partial.yaml")
    assert result.code == 2
    assert "error: partial.yaml has no answer for required item(s): user (input)" in result.stderr


def test_failed_run_prints_summary_and_exits_1_then_resume(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("checklist", "run", "smoke", "--answers", "answers.yaml")
    assert result.code == 1
    assert "ready" in result.stdout and "exited with status 4" in result.stdout
    assert "failed: 3 passed, 1 failed, 1 skipped" in result.stdout
    assert "error: checklist smoke failed: ready" in result.stderr
    assert "--resume" in result.stderr

    (project / "ready.txt").write_text("ok")
    write(project / "none.yaml", "answers: {}\n")  # the manual items are kept, not asked
    result = cli("checklist", "run", "smoke", "--resume", "--answers", "none.yaml", "--json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(i["id"], i["resumed"]) for i in data["items"]] == [
        ("deployed", True), ("user", True), ("scan", True), ("page", True), ("ready", False),
    ]  # fmt: skip
    assert data["resumed_from"] is not None


def test_resume_for_another_commit_starts_from_the_top(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    cli("checklist", "run", "smoke", "--answers", "answers.yaml")
    result = cli(
        "checklist", "run", "smoke", "--resume", "--answers", "answers.yaml", "--commit", "f" * 40
    )
    assert "no earlier run of smoke for ffffffffffff; starting from the top" in result.stderr
    assert result.code == 1


def test_dry_run_needs_no_person_and_runs_nothing(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("checklist", "run", "smoke", "--dry-run", "--json")
    assert result.code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert [i["action"] for i in plan["items"]][:3] == [
        "ask: yes / no",
        "ask for userId (matching ^c[a-z0-9]{5,30}$)",
        "ask: yes / no / skip",
    ]
    assert not (project / ".keycliq").exists()
    text = cli("checklist", "run", "smoke", "--dry-run", "--param", "userId=cabcdef1")
    assert text.code == 0 and "take userId from --param" in text.stdout


def test_bad_flags(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("checklist", "run", "smoke", "--param", "userId")
    assert result.code == 2 and "--param 'userId': expected NAME=VALUE" in result.stderr
    result = cli("checklist", "run", "smoke", "--env", "nowhere", "--dry-run")
    assert result.code == 2 and "unknown environment 'nowhere'" in result.stderr
    result = cli("checklist", "run", "nosuch")
    assert result.code == 2 and "no checklist 'nosuch'" in result.stderr
