"""Deploy reports: complete, escaped, self-contained."""

from __future__ import annotations

import hashlib
import io
import json
import re

import pytest

from keycliq_ops.ledger import Ledger, Run, canonical
from keycliq_ops.ledger.reports import (
    fmt_duration,
    render_html,
    render_markdown,
    report_data,
    write_chain_json,
)

NASTY = "<script>alert('x')</script> | `rm -rf` *bold* [link](http://evil.example)\nnext line"


@pytest.fixture
def run(ledger: Ledger) -> Run:
    start = ledger.begin(
        "deploy",
        "staging",
        app="keycliq-staging",
        commit="3f2a9c1d" * 5,
        branch="release/2026-11",
        actor={
            "git_name": "Ann <Example>",
            "git_email": "ann@example.com",
            "heroku_email": "ann@keycliq.example",
        },
    )
    ledger.complete(
        start,
        "succeeded",
        0,
        release_id="5b0c6e2a-1111-2222-3333-444455556666",
        release_version=42,
        build_id="9d8c7b6a-aaaa-bbbb-cccc-ddddeeeeffff",
        override_reason=NASTY,
        steps=[
            {
                "name": "tests",
                "status": "succeeded",
                "duration_ms": 61_500,
                "detail": "npm test: 212 passed",
            },
            {"name": "push", "status": "succeeded", "duration_ms": 840, "detail": NASTY},
        ],
        checklist={
            "name": "staging",
            "passed": True,
            "items": [
                {"id": "login", "text": "Log in as the test user", "answer": "yes"},
                {"id": "scan", "text": "Scan a key", "answer": "yes", "note": NASTY},
            ],
        },
        dataclips=[
            {"id": "E1", "verdict": "pass", "numbers": {"orphans": 0}},
            {"id": "F", "verdict": "warn", "numbers": {"scans_24h": 118, "failure_rate": 0.034}},
        ],
    )
    return ledger.latest(1)[0]


def test_markdown_report_has_everything_an_auditor_asked_for(run: Run, ledger: Ledger) -> None:
    text = render_markdown(run, ledger.verify())
    for expected in (
        run.id,
        "3f2a9c1d" * 5,
        "release/2026-11",
        "v42 · 5b0c6e2a-1111-2222-3333-444455556666",
        "9d8c7b6a-aaaa-bbbb-cccc-ddddeeeeffff",
        "ann@example.com",
        "ann@keycliq.example",
        "succeeded",
        "1 min 01 s",
        "Log in as the test user",
        "orphans=0",
        "failure\\_rate=0.034, scans\\_24h=118",
        run.start.hash,
        "verified (2 records)",
    ):
        assert expected in text, expected
    assert run.end is not None
    assert f"keycliq ledger verify --anchor {run.end.hash}" in text


def test_markdown_cells_cannot_break_the_table_or_inject_html(run: Run, ledger: Ledger) -> None:
    text = render_markdown(run, ledger.verify())
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "\nnext line" not in text  # newlines inside a cell are flattened
    tables: list[list[str]] = [[]]
    for row in text.splitlines():
        if row.startswith("|"):
            tables[-1].append(row)
        elif tables[-1]:
            tables.append([])
    for table in (t for t in tables if t):
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in table}
        assert len(widths) == 1, table  # every pipe inside a value is escaped


def test_html_report_is_escaped_and_self_contained(run: Run, ledger: Ledger) -> None:
    page = render_html(run, ledger.verify())
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "Ann &lt;Example&gt;" in page
    for external in ("src=", "href=", "<link", "@import", "url("):
        assert external not in page
    assert "default-src 'none'" in page
    assert "Log in as the test user" in page and "scans_24h=118" in page


def test_json_report_carries_the_records_as_stored(run: Run, ledger: Ledger) -> None:
    data = report_data(run, ledger.verify())
    assert data["run"]["id"] == run.id and data["run"]["status"] == "succeeded"
    assert data["ledger"]["ok"] is True
    for record in data["records"]:
        claimed = record.pop("hash")
        assert hashlib.sha256(canonical(record)).hexdigest() == claimed


def test_an_open_action_reports_its_state(ledger: Ledger) -> None:
    start = ledger.begin("promote", "production")
    run = ledger.run(start.id)
    text = render_markdown(run, ledger.verify())
    assert "running" in text and "| Finished | — |" in text


def test_a_broken_chain_shows_in_the_report(run: Run, ledger: Ledger) -> None:
    rows = ledger.path.read_bytes().splitlines(keepends=True)
    ledger.path.write_bytes(rows[0].replace(b"release/2026-11", b"release/2026-12") + rows[1])
    text = render_markdown(run, ledger.verify())
    assert "NOT verified: line 1: edited" in text


def test_chain_export_is_json_with_every_record_byte_for_byte(run: Run, ledger: Ledger) -> None:
    buffer = io.StringIO()
    count = write_chain_json(ledger.lines(), ledger.verify(), buffer)
    data = json.loads(buffer.getvalue())
    assert count == 2 and data["ledger"]["records"] == 2
    stored = ledger.path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(s) for s in stored] == data["records"]
    empty = io.StringIO()
    assert write_chain_json([], ledger.verify(), empty) == 0
    assert json.loads(empty.getvalue())["records"] == []


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, "—"),
        (840, "840 ms"),
        (12_340, "12.3 s"),
        (192_000, "3 min 12 s"),
        (3_720_000, "1 h 02 min"),
    ],
)
def test_durations(ms: int | None, text: str) -> None:
    assert fmt_duration(ms) == text


def test_a_real_checklist_result_renders_readably(ledger: Ledger) -> None:
    from datetime import UTC, datetime

    from keycliq_ops.checklists.results import ChecklistResult, ItemResult

    when = datetime(2026, 11, 28, 3, 10, tzinfo=UTC)
    result = ChecklistResult(
        checklist="staging",
        title="Staging smoke",
        digest="ab" * 32,
        env="staging",
        commit="3f2a9c1d",
        started=when,
        verdict="passed",
        answered_by="terminal",
        items=[
            ItemResult(
                id="login",
                kind="confirm",
                section="Auth",
                required=True,
                verdict="passed",
                answer="yes",
                who="Ann",
                when=when,
            ),
            ItemResult(
                id="mail",
                kind="confirm",
                section="Mail",
                required=False,
                verdict="skipped",
                reason="Resend down",
                who="Ann",
                when=when,
            ),
        ],
    )
    start = ledger.begin("checklist", "staging", checklist=result)
    run = ledger.run(start.id)
    text = render_markdown(run, ledger.verify())
    assert "| id | section | verdict | answer | reason | who |" in text
    assert "| mail | Mail | skipped | — | Resend down | Ann |" in text
    assert "- checklist: staging\n- title: Staging smoke\n- verdict: passed\n" in text
    assert "finished" not in text  # empty values are left out
    assert ChecklistResult.model_validate(run.start.checklist) == result  # round-trips
