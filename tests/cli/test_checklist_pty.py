"""A real terminal: pexpect types answers into keycliq's rich prompts, and presses Ctrl-C."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect

from tests.checklists.conftest import git


def _spawn(project: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120"}
    return pexpect.spawn(
        sys.executable,
        ["-m", "keycliq_ops", "checklist", "run", "smoke", *args],
        cwd=str(project),
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )


def _state(project: Path) -> dict:  # type: ignore[type-arg]
    runs = json.loads((project / ".keycliq" / "checklist-state.json").read_text())["runs"]
    assert len(runs) == 1
    return runs[0]  # type: ignore[no-any-return]


def test_answers_typed_into_the_terminal(project: Path) -> None:
    git(project, "config", "user.name", "Pat Tester")
    git(project, "config", "user.email", "pat@example.com")
    (project / "ready.txt").write_text("ok")
    child = _spawn(project)
    child.expect(r"\[1/5\] Deploy · deployed")
    child.expect("Deployed to keycliq-staging.")
    child.expect(r"yes / no \[y/n\]")
    child.sendline("n")  # say no first, then think again: no needs a reason
    child.expect("what is wrong")
    child.sendline("release is still pending")
    child.expect(r"\[2/5\] Deploy · user")
    child.expect(r"value \(matching")
    child.sendline("NOT-AN-ID")
    child.expect("does not match")  # asked again
    child.sendline("ck12345abc")
    child.expect(r"\[3/5\] Deploy · scan")
    child.expect(r"yes / no / skip \[y/n/s\]")
    child.sendline("s")
    child.expect("why skip it")
    child.sendline("no identical keys at hand")
    child.expect(r"page: passed GET")
    child.expect(r"ready: passed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1  # the "no" fails the required item
    run = _state(project)
    assert run["verdict"] == "failed" and run["answered_by"] == "terminal"
    items = {i["id"]: i for i in run["items"]}
    assert items["deployed"]["answer"] == "no"
    assert items["deployed"]["reason"] == "release is still pending"
    assert items["deployed"]["who"] == "Pat Tester <pat@example.com>"
    assert items["user"]["answer"] == "ck12345abc"
    assert (items["scan"]["verdict"], items["scan"]["reason"]) == (
        "skipped",
        "no identical keys at hand",
    )


def test_ctrl_c_at_a_prompt_is_aborted_exit_130(project: Path) -> None:
    child = _spawn(project)
    child.expect(r"yes / no \[y/n\]")
    child.sendline("y")
    child.expect(r"value \(matching")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "aborted at item user" in (child.before or "")
    run = _state(project)
    assert run["verdict"] == "aborted" and run["aborted_at"] == "user"
    assert [i["id"] for i in run["items"]] == ["deployed"]
