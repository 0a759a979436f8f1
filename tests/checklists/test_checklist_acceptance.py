"""Acceptance: the shipped staging checklist walked against the embedded PostgreSQL with
seeded KeyCliq data, through the real Dataclips engine — a clean run passes; a planted
defect fails the integrity item; the optional scan case is skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keycliq_ops.checklists import (
    Answer,
    ChecklistContext,
    EngineRunner,
    ScriptedPrompter,
    find_checklist,
    load_checklist,
    run_checklist,
)
from keycliq_ops.config.loading import SHIPPED_CHECKLISTS, SHIPPED_DATACLIPS
from keycliq_ops.standin.sample.seed import apply_schema, seed

from .conftest import Clock, write

pytestmark = pytest.mark.db


def _answers(user_id: str) -> dict[str, Answer]:
    staging = load_checklist(find_checklist(SHIPPED_CHECKLISTS, "staging"))
    out: dict[str, Answer] = {}
    for _, item in staging.items():
        if item.kind == "confirm":
            out[item.id] = Answer("yes", who="Ana <ana@example.com>")
        elif item.kind == "input":
            out[item.id] = Answer("value", value=user_id, who="Ana <ana@example.com>")
    out["scan-possible-keys"] = Answer("skip", reason="no identical keys in the test inventory")
    return out


def _walk(pg_url: str, web_app: str, clock: Clock, defects: tuple[str, ...]):  # type: ignore[no-untyped-def]
    apply_schema(pg_url)
    summary = seed(pg_url, defects=defects)
    staging = load_checklist(find_checklist(SHIPPED_CHECKLISTS, "staging"))
    ctx = ChecklistContext(
        env="staging",
        app="keycliq-staging",
        app_url=web_app,
        commit="c" * 40,
        prompter=ScriptedPrompter(_answers(summary.sample_user_id)),
        dataclip_runner=EngineRunner(SHIPPED_DATACLIPS),
        database_url=lambda: pg_url,
        clock=clock,
    )
    return run_checklist(staging, ctx), summary


def test_clean_staging_database_passes(pg_url: str, web_app: str, clock: Clock) -> None:
    result, _ = _walk(pg_url, web_app, clock, ())
    failed = [(i.id, i.reason) for i in result.items if i.verdict == "failed"]
    assert failed == []
    assert result.verdict == "passed"
    skipped = [(i.id, i.required) for i in result.items if i.verdict == "skipped"]
    assert skipped == [("scan-possible-keys", False)]


def test_planted_defect_fails_the_integrity_item(pg_url: str, web_app: str, clock: Clock) -> None:
    result, summary = _walk(pg_url, web_app, clock, ("xor-both-null",))
    assert result.verdict == "failed" and result.exit_code == 1
    integrity = result.item("integrity")
    assert integrity is not None and integrity.verdict == "failed"
    assert integrity.checks is not None
    verdicts = {c.id: c.verdict for c in integrity.checks}
    assert verdicts["E1"] == "fail" and integrity.reason is not None and "E1" in integrity.reason
    assert [i.id for i in result.blocking_items()] == ["integrity"]
    # B/C/D ran for the captured user; the record has numbers, never row data or the URL
    stats = result.item("user-stats")
    assert stats is not None and stats.verdict == "passed"
    assert [c.id for c in stats.checks or []] == ["B", "C", "D"]
    dumped = json.dumps(result.model_dump(mode="json"))
    assert pg_url not in dumped
    assert summary.sample_user_id in dumped  # the captured value is the answer, by design
    assert result.item("scan-possible-keys").verdict == "skipped"  # type: ignore[union-attr]


def test_cli_run_with_answers_file_and_database_url(
    cli, pg_url: str, web_app: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import io
    import sys

    apply_schema(pg_url)
    summary = seed(pg_url, defects=("no-match-with-key",))
    root = Path.cwd()
    write(
        root / "keycliq.yaml",
        f"environments:\n  staging:\n    app: keycliq-staging\n    url: {web_app}\n",
    )
    lines = ["version: 1", "checklist: staging", "answers:"]
    for item_id, answer in _answers(summary.sample_user_id).items():
        lines.append(f"  {item_id}:")
        if answer.action == "value":
            lines.append(f'    value: "{answer.value}"')
        else:
            lines.append(f"    answer: {answer.action}")
        lines += [
            "    by: CI <ci@example.com>",
            f"    reason: {answer.reason or 'seen on staging'}",
        ]
    write(root / "answers.yaml", "\n".join(lines) + "\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    result = cli(
        "checklist", "run", "staging", "--answers", "answers.yaml",
        "--database-url", pg_url, "--commit", "d" * 40, "--json",
    )  # fmt: skip
    assert result.code == 1, result.stderr
    data = json.loads(result.stdout)
    failed = [i["id"] for i in data["items"] if i["verdict"] == "failed"]
    assert failed == ["deletion-consistent", "integrity"]  # E2 sees the NO_MATCH with a key
    assert pg_url not in result.stdout + result.stderr
    assert "error: checklist staging failed: deletion-consistent, integrity" in result.stderr
