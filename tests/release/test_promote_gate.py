"""The promotion gate: the ledger's verdict on staging's commit (a real ledger file), and
whether production is ahead of staging (a real git repository)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from keycliq_ops.adapters.git import Repo
from keycliq_ops.base.errors import GateFailed
from keycliq_ops.ledger import Ledger
from keycliq_ops.ops.status import ReleaseInfo
from keycliq_ops.release.promote import (
    GateFinding,
    PromotionApp,
    PromotionPlan,
    compare_commits,
    judge_staging_record,
)

SHA = "3f2c1a9b" + "0" * 32
OTHER = "9e8d7c6b" + "1" * 32
CLEAN_STEPS = [
    {"name": "release", "status": "succeeded"},
    {"name": "checklist", "status": "succeeded", "detail": "staging: passed"},
    {"name": "dataclips", "status": "succeeded", "detail": "5 checks passed"},
]
CLEAN_CLIPS = [{"id": i, "verdict": "pass"} for i in ("E1", "E2", "E3", "F", "G")]


def deploy(
    ledger: Ledger,
    *,
    commit: str = SHA,
    env: str = "staging",
    outcome: str = "succeeded",
    steps: list[dict[str, Any]] | None = None,
    checklist: dict[str, Any] | None = None,
    dataclips: list[dict[str, Any]] | None = None,
) -> str:
    start = ledger.begin("deploy", env, app=f"keycliq-{env}", commit=commit)
    ledger.complete(
        start,
        outcome,  # type: ignore[arg-type]
        0 if outcome == "succeeded" else 1,
        steps=CLEAN_STEPS if steps is None else steps,
        checklist={"checklist": "staging", "verdict": "passed"} if checklist is None else checklist,
        dataclips=CLEAN_CLIPS if dataclips is None else dataclips,
    )
    return start.id


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger.jsonl")


def test_a_clean_deploy_of_the_commit_passes(ledger: Ledger) -> None:
    run = deploy(ledger)
    found = judge_staging_record(ledger, "staging", SHA)
    assert found.ok and found.record_id == run
    assert "checklist staging passed" in found.reason and "E1 E2 E3 F G passed" in found.reason


def test_no_deploy_of_that_commit(ledger: Ledger) -> None:
    deploy(ledger, commit=OTHER)
    deploy(ledger, env="production")
    found = judge_staging_record(ledger, "staging", "abcdef12" + "2" * 32)
    assert not found.ok and found.record_id is None
    assert found.reason == "the ledger has no deploy of abcdef12 to staging"
    assert "keycliq deploy staging" in found.hint


def test_the_newest_deploy_of_the_commit_decides(ledger: Ledger) -> None:
    deploy(ledger)
    bad = deploy(
        ledger,
        outcome="failed",
        steps=[{"name": "release", "status": "failed"}, {"name": "checklist", "status": "not-run"}],
    )
    found = judge_staging_record(ledger, "staging", SHA)
    assert not found.ok and found.record_id == bad
    assert found.reason == f"its last deploy to staging (ledger {bad}) failed at release"
    later = deploy(ledger)
    assert judge_staging_record(ledger, "staging", SHA).record_id == later


@pytest.mark.parametrize(
    ("steps", "checklist", "dataclips", "says"),
    [
        (
            [CLEAN_STEPS[0], {"name": "checklist", "status": "skipped", "detail": "skipped: CI"}],
            None,
            None,
            "did not pass the checklist (skipped: CI)",
        ),
        ([CLEAN_STEPS[0], CLEAN_STEPS[2]], None, None, "did not pass the checklist (not run)"),
        (None, {"checklist": "staging", "verdict": "failed"}, None, "checklist verdict failed"),
        (None, None, [{"id": "E1", "verdict": "fail"}], "Dataclip gate (E1)"),
        (None, None, [], "Dataclip gate (succeeded)"),
        (CLEAN_STEPS[:2], None, None, "Dataclip gate (not run)"),
    ],
)
def test_what_makes_a_deploy_record_unclean(
    ledger: Ledger,
    steps: list[dict[str, Any]] | None,
    checklist: dict[str, Any] | None,
    dataclips: list[dict[str, Any]] | None,
    says: str,
) -> None:
    run = deploy(ledger, steps=steps, checklist=checklist, dataclips=dataclips)
    found = judge_staging_record(ledger, "staging", SHA)
    assert not found.ok and found.record_id == run
    assert says in found.reason, found.reason


def test_warn_and_info_verdicts_pass_and_a_resumed_checklist_counts(ledger: Ledger) -> None:
    steps = [CLEAN_STEPS[0], {"name": "checklist", "status": "done-before"}, CLEAN_STEPS[2]]
    clips = [{"id": "E1", "verdict": "warn"}, {"id": "A", "verdict": "info"}]
    deploy(ledger, steps=steps, dataclips=clips)
    assert judge_staging_record(ledger, "staging", SHA).ok


def test_a_short_commit_from_a_release_description_matches(ledger: Ledger) -> None:
    deploy(ledger)
    assert judge_staging_record(ledger, "staging", SHA[:8]).ok


# ---------------------------------------------------------------- production ahead


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def history(tmp_path: Path) -> dict[str, str]:
    """main: a - b - c, and a side branch d off b (not in main)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "--initial-branch=main")
    shas: dict[str, str] = {"root": str(repo)}
    for name in ("a", "b"):
        (repo / name).write_text(name)
        git(repo, "add", name)
        git(repo, "commit", "-q", "-m", f"commit {name}")
        shas[name] = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "d").write_text("d")
    git(repo, "add", "d")
    git(repo, "commit", "-q", "-m", "hotfix d")
    shas["d"] = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    (repo / "c").write_text("c")
    git(repo, "add", "c")
    git(repo, "commit", "-q", "-m", "commit c")
    shas["c"] = git(repo, "rev-parse", "HEAD")
    return shas


def plan_for(repo: Repo, production: str | None, staging: str) -> PromotionPlan:
    ahead, detail = compare_commits(repo, production, staging, "staging")
    info = ReleaseInfo(
        id="r",
        version=7,
        status="succeeded",
        description="",
        created_at=datetime.now(UTC),
        age_seconds=0,
    )
    return PromotionPlan(
        source_env="staging",
        source_app="keycliq-staging",
        source_app_id="s",
        target_env="production",
        targets=[PromotionApp("keycliq-production", "p")],
        pipeline_id="pl",
        pipeline_name="keycliq",
        source_release=info,
        commit=staging,
        production_release=info,
        production_commit=production,
        ahead=ahead,
        ahead_detail=detail,
        finding=GateFinding(True, "clean"),
    )


def test_staging_ahead_of_production_may_promote(history: dict[str, str]) -> None:
    repo = Repo(Path(history["root"]))
    plan = plan_for(repo, history["a"], history["c"])
    assert plan.ahead == "ok"
    plan.check_not_ahead()  # no error
    assert plan.rollback_command() == "keycliq rollback production --to v7"


def test_production_ahead_is_refused_with_the_commits_named(history: dict[str, str]) -> None:
    repo = Repo(Path(history["root"]))
    plan = plan_for(repo, history["c"], history["a"])
    assert plan.ahead == "production-ahead"
    with pytest.raises(GateFailed) as exc:
        plan.check_not_ahead()
    assert "is ahead of staging" in exc.value.message and "commit c" in exc.value.message
    assert exc.value.hint and "keycliq deploy staging" in exc.value.hint


def test_diverged_same_and_unknown_are_refused(history: dict[str, str]) -> None:
    repo = Repo(Path(history["root"]))
    diverged = plan_for(repo, history["d"], history["c"])
    assert diverged.ahead == "diverged" and "hotfix d" in diverged.ahead_detail
    same = plan_for(repo, history["c"], history["c"])
    unknown = plan_for(repo, "f" * 40, history["c"])
    for plan, text in ((diverged, "diverged"), (same, "nothing to promote"), (unknown, "fetch")):
        with pytest.raises(GateFailed) as exc:
            plan.check_not_ahead()
        assert text in exc.value.message + (exc.value.hint or "")


def test_an_unknown_production_commit_does_not_block(history: dict[str, str]) -> None:
    repo = Repo(Path(history["root"]))
    plan = plan_for(repo, None, history["c"])
    assert plan.ahead == "ok"
    plan.check_not_ahead()
