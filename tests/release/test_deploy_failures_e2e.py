"""How ``keycliq deploy`` stops: each case asserts the exit code, what the user saw, and the
ledger record. (The checklist is skipped with a reason where it is not the point.)"""

from __future__ import annotations

import subprocess

import pytest

from tests.world import World

NO_CHECKLIST = ("deploy", "staging", "--yes", "--skip", "checklist", "--reason", "e2e case")


def git(world: World, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=world.repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit_file(world: World, path: str, text: str, message: str) -> str:
    (world.repo / path).parent.mkdir(parents=True, exist_ok=True)
    (world.repo / path).write_text(text)
    git(world, "add", path)
    git(world, "commit", "-q", "-m", message)
    return git(world, "rev-parse", "HEAD")


def end_record(world: World) -> dict[str, object]:
    record = world.last_record()
    assert record["outcome"] != "running"
    return record


def step_status(record: dict[str, object], name: str) -> str:
    steps = record["steps"]
    assert isinstance(steps, list)
    return next(s["status"] for s in steps if s["name"] == name)


def test_failing_test_command_stops_before_the_push(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    before = world.sandbox.engine.app("keycliq-staging").releases[-1].version
    commit_file(
        world,
        "test/test_broken.py",
        "import unittest\n\nclass T(unittest.TestCase):\n"
        "    def test_x(self):\n        self.assertEqual(1, 2)\n",
        "A failing test",
    )
    result = cli(*NO_CHECKLIST)
    assert result.code == 1, result.output
    assert "exited 1" in result.output and "AssertionError" in result.output
    record = end_record(world)
    assert record["outcome"] == "failed" and record["exit_code"] == 1
    assert step_status(record, "tests") == "failed"
    assert step_status(record, "push") == "not-run"
    assert world.sandbox.engine.app("keycliq-staging").releases[-1].version == before


def test_failed_build_is_a_gate_failure(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    world.sandbox.faults.fail_build("keycliq-staging")
    result = cli(*NO_CHECKLIST)
    assert result.code == 1, result.output
    assert "the build of" in result.output and "failed" in result.output
    assert "remote:" in result.output  # the build log was shown
    record = end_record(world)
    assert step_status(record, "push") == "failed"


def test_failed_release_phase_shows_its_tail(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    world.sandbox.faults.fail_release("keycliq-staging")
    result = cli(*NO_CHECKLIST)
    assert result.code == 1, result.output
    assert "the release phase (`npx prisma migrate deploy`, Procfile:2) failed" in result.output
    record = end_record(world)
    assert step_status(record, "release") == "failed"
    release = next(s for s in record["steps"] if s["name"] == "release")  # type: ignore[union-attr]
    assert release["output_tail"], "the failure carries the release phase's output tail"
    assert step_status(record, "dataclips") == "not-run"


def test_failing_dataclip_fails_the_deploy(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    with psycopg.connect(world.database_url(), autocommit=True) as conn:  # an E1 defect
        conn.execute(
            """INSERT INTO key_signatures (id, signature, "updatedAt")
               VALUES ('defect1', '{}', now())"""
        )
    result = cli(*NO_CHECKLIST)
    assert result.code == 1, result.output
    assert "Dataclips failed: E1" in result.output
    record = end_record(world)
    verdicts = {d["id"]: d["verdict"] for d in record["dataclips"]}  # type: ignore[union-attr]
    assert verdicts["E1"] == "fail" and verdicts["F"] == "pass"


def test_api_503s_and_a_cut_stream_are_survived(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    world.sandbox.faults.http_error("/apps/keycliq-staging/builds", 503, count=2)
    world.sandbox.faults.http_error("/account", 503, count=1)
    world.sandbox.faults.cut_stream("release", after_bytes=40)
    result = cli(*NO_CHECKLIST)
    assert result.code == 0, result.output
    assert end_record(world)["outcome"] == "succeeded"


def test_disallowed_branch_is_refused(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    git(world, "checkout", "-q", "-b", "feature/x")
    result = cli(*NO_CHECKLIST)
    assert result.code == 1
    assert "branch feature/x may not deploy" in result.output
    assert step_status(end_record(world), "preflight") == "failed"


def test_dirty_tree_is_refused(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    (world.repo / "package.json").write_text("{}\n")
    result = cli(*NO_CHECKLIST)
    assert result.code == 1
    assert "uncommitted change" in result.output and "package.json" in result.output


def test_ctrl_c_during_the_wait_then_resume(
    world: World, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from keycliq_ops.release import following

    real = following.follow_release
    calls = {"n": 0}

    def interrupted(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(following, "follow_release", interrupted)
    first = cli(*NO_CHECKLIST)
    assert first.code == 130, first.output
    aborted = end_record(world)
    assert aborted["outcome"] == "aborted" and step_status(aborted, "release") == "aborted"
    assert "--resume" in first.output
    releases = len(world.sandbox.engine.app("keycliq-staging").releases)

    second = cli(*NO_CHECKLIST, "--resume")
    assert second.code == 0, second.output
    record = end_record(world)
    assert record["outcome"] == "succeeded"
    assert step_status(record, "push") == "done-before"  # not pushed again
    assert record["details"]["resumes"] == aborted["id"]  # type: ignore[index]
    assert len(world.sandbox.engine.app("keycliq-staging").releases) == releases


def test_dry_run_changes_nothing(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("deploy", "staging", "--dry-run")
    assert result.code == 0
    assert "git push heroku-staging" in result.stdout and "dry run" in result.stdout
    assert world.ledger_records() == []


def test_no_terminal_without_yes_is_a_usage_error(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("deploy", "staging", "--answers", "keycliq-answers.yaml")
    assert result.code == 2
    assert "--yes" in result.stderr
    assert world.ledger_records() == []


def test_no_answers_and_no_terminal_stops_before_anything(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    releases = len(world.sandbox.engine.app("keycliq-staging").releases)
    result = cli("deploy", "staging", "--yes")
    assert result.code == 2, result.output
    assert "needs a person" in result.stderr and "--answers" in result.stderr
    assert world.ledger_records() == []  # nothing started, nothing recorded
    assert len(world.sandbox.engine.app("keycliq-staging").releases) == releases


def test_an_answers_file_missing_an_item_names_it_before_the_push(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    import re

    answers = world.repo / "keycliq-answers.yaml"
    text = answers.read_text()
    # Drop the answer to the staging checklist's first manual item ("deployed").
    text = re.sub(r"\n      deployed:\n(?:        .*\n)+", "\n", text, count=1)
    (world.repo.parent / "partial-answers.yaml").write_text(text)
    result = cli(
        "deploy", "staging", "--yes", "--answers", str(world.repo.parent / "partial-answers.yaml")
    )
    assert result.code == 2, result.output
    assert "deployed" in result.stderr
    assert world.ledger_records() == []
