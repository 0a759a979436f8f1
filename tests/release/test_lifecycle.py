"""The release lifecycle itself (``keycliq_ops.release.lifecycle``): the ledger records it
writes whatever happens, the facts steps hand on, the one resume lookup, and that a deploy
parses its checklist file once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.adapters.heroku.resources import Release
from keycliq_ops.config import LoadedConfig, load_config
from keycliq_ops.ledger import Ledger
from keycliq_ops.release.lifecycle import (
    Action,
    Confirmation,
    check,
    last_unfinished,
    run_action,
)
from keycliq_ops.release.session import Session
from keycliq_ops.release.stepper import Facts, StepIO, StepOutcome, StepRecord
from tests.world import World

CONFIG = """\
version: 1
pipeline: keycliq
environments:
  staging: {app: keycliq-staging, stage: staging}
paths: {ledger: ledger.jsonl}
"""
SHA, OTHER = "a" * 40, "b" * 40


def release(version: int) -> Release:
    return Release.model_validate(
        {
            "id": str(uuid.uuid4()),
            "version": version,
            "status": "succeeded",
            "current": True,
            "created_at": datetime.now(UTC),
        }
    )


@dataclass
class MakesRelease:
    name: str = "make"
    title: str = "Make"
    skippable: bool = False

    def plan(self, s: Session) -> str:
        return "make a release"

    def already_done(
        self, s: Session, facts: Facts, previous: StepRecord | None
    ) -> StepOutcome | None:
        return None

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        return StepOutcome(detail="made", release=release(12), warnings=["careful"])


@dataclass
class ReadsRelease:
    """Reads what the step before learnt; ``fail`` ends it the way a bug would."""

    fail: BaseException | None = None
    name: str = "read"
    title: str = "Read"
    skippable: bool = False
    seen: list[int] | None = None

    def plan(self, s: Session) -> str:
        return "read the release"

    def already_done(
        self, s: Session, facts: Facts, previous: StepRecord | None
    ) -> StepOutcome | None:
        return None

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        assert facts.release is not None
        if self.seen is not None:
            self.seen.append(facts.release.version)
        if self.fail is not None:
            raise self.fail
        return StepOutcome(detail=f"v{facts.release.version} read")


@pytest.fixture
def session(tmp_path: Path) -> Session:
    path = tmp_path / "keycliq.yaml"
    path.write_text(CONFIG)
    loaded: LoadedConfig = load_config(path)
    return Session(
        loaded=loaded,
        env_name="staging",
        client=HerokuClient("t0ken-abcdef", "https://api.test", max_retries=0),
        repo=None,
        ledger=Ledger(loaded.ledger_path),
        commit=SHA,
        branch="main",
    )


def action(session: Session, *steps: Any) -> Action[None]:
    return Action(
        name="deploy",
        session=session,
        prepared=None,
        header="test",
        steps=list(steps),
        confirmation=Confirmation("go"),
        ledger_details={"extra": 1},
    )


def records(session: Session) -> list[Any]:
    return list(session.ledger.iter())


def test_a_later_step_reads_what_an_earlier_one_learnt_and_the_ledger_keeps_it(
    session: Session,
) -> None:
    seen: list[int] = []
    outcome = run_action(
        check(action(session, MakesRelease(), ReadsRelease(seen=seen))), lambda _e: None
    )
    assert seen == [12]
    assert outcome.result.outcome == "succeeded" and outcome.facts.release is not None
    start, end = records(session)
    assert start.outcome == "running" and end.ref == start.id
    assert end.release_version == 12 and end.commit == SHA
    assert end.details == {"extra": 1, "warnings": ["careful"]}
    summary = outcome.summary()
    assert summary["release_version"] == 12 and summary["ledger_id"] == start.id
    assert summary["warnings"] == ["careful"] and outcome.report and outcome.report.exists()


def test_an_unexpected_exception_still_completes_the_record(session: Session) -> None:
    checked = check(action(session, MakesRelease(), ReadsRelease(fail=ZeroDivisionError())))
    with pytest.raises(ZeroDivisionError):
        run_action(checked, lambda _event: None)
    start, end = records(session)
    assert (end.ref, end.outcome, end.exit_code) == (start.id, "failed", 70)
    assert end.error == "internal error"
    assert [(s.name, s.status) for s in end.steps] == [("make", "succeeded"), ("read", "failed")]
    assert end.release_version == 12  # what was learnt before the bug is kept


def test_a_bad_skip_is_refused_before_anything_is_recorded(session: Session) -> None:
    from keycliq_ops.base.errors import UsageError

    bad = action(session, MakesRelease())
    bad.skip = {"make": "no"}
    with pytest.raises(UsageError, match="cannot be skipped"):
        check(bad)
    assert records(session) == []


def _run(ledger: Ledger, action: str, outcome: str | None, commit: str = SHA) -> str:
    start = ledger.begin(action, "staging", app="keycliq-staging", commit=commit)
    if outcome is not None:
        ledger.complete(start, outcome, 0 if outcome == "succeeded" else 1)  # type: ignore[arg-type]
    return start.id


@pytest.mark.parametrize("action_name", ["deploy", "rollback"])
def test_the_resume_lookup_finds_the_last_unfinished_run(
    session: Session, action_name: str
) -> None:
    ledger = session.ledger
    assert last_unfinished(ledger, action_name, "staging") is None
    _run(ledger, action_name, "succeeded")
    assert last_unfinished(ledger, action_name, "staging") is None
    failed = _run(ledger, action_name, "failed")
    found = last_unfinished(ledger, action_name, "staging", commit=SHA)
    assert found is not None and found.ref == failed and found.outcome == "failed"
    never_completed = _run(ledger, action_name, None)  # killed: only its start record
    found = last_unfinished(ledger, action_name, "staging")
    assert found is not None and found.id == never_completed
    _run(ledger, "promote", "failed")  # another action does not count
    again = last_unfinished(ledger, action_name, "staging", commit=SHA)
    assert again is not None and again.id == never_completed
    assert last_unfinished(ledger, action_name, "production") is None
    _run(ledger, action_name, "failed", commit=OTHER)
    assert last_unfinished(ledger, action_name, "staging", commit=SHA) is None  # newer: other
    assert last_unfinished(ledger, action_name, "staging") is not None  # any commit
    _run(ledger, action_name, "succeeded", commit=OTHER)
    assert last_unfinished(ledger, action_name, "staging") is None


def test_a_deploy_parses_its_checklist_once(
    world: World,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keycliq_ops.checklists as checklists

    real = checklists.load_checklist
    calls: list[object] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if args else kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(checklists, "load_checklist", counted)
    result = cli("deploy", "staging", "--yes", "--answers", "keycliq-answers.yaml")
    assert result.code == 0, result.output
    assert len(calls) == 1, calls
    end = world.last_record()
    assert end["outcome"] == "succeeded" and end["checklist"]["verdict"] == "passed"  # type: ignore[index]
