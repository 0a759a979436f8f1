"""Appending, the canonical form, ids, lookups and listing."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from keycliq_ops.base.errors import UsageError
from keycliq_ops.ledger import (
    GENESIS,
    Filters,
    Ledger,
    LedgerBroken,
    LedgerError,
    Record,
    canonical,
)
from keycliq_ops.ledger.ids import next_id
from keycliq_ops.ledger.store import MAX_LINE

from .helpers import deploy, hand_made, lines


def test_begin_and_complete_make_two_linked_records(ledger: Ledger) -> None:
    start, end = deploy(ledger, steps=[{"name": "tests", "status": "succeeded"}])
    assert start.outcome == "running" and start.ref is None and start.prev == GENESIS
    assert end.ref == start.id and end.prev == start.hash
    assert end.outcome == "succeeded" and end.exit_code == 0 and end.release_version == 42
    # the completion says what it completes without the start record at hand
    assert (end.action, end.environment, end.app, end.commit, end.branch) == (
        "deploy",
        "staging",
        "keycliq-staging",
        start.commit,
        "main",
    )
    assert end.actor.git_name == "Ann Example"
    assert end.duration_ms is not None and end.duration_ms >= 0
    assert start.host == socket.gethostname() and start.keycliq_version
    assert [r.id for r in ledger.iter()] == [start.id, end.id]


def test_each_line_is_the_canonical_form_plus_its_hash(ledger: Ledger, ledger_path: Path) -> None:
    deploy(ledger, details={"note": "naïve café ✓", "nested": {"b": 1, "a": [1, 2]}})
    for raw in ledger_path.read_bytes().splitlines():
        obj = json.loads(raw)
        claimed = obj.pop("hash")
        body = canonical(obj)
        # an auditor's recipe, with nothing but hashlib and json
        assert hashlib.sha256(body).hexdigest() == claimed
        assert raw == body[:-1] + f',"hash":"{claimed}"}}'.encode()
    assert "naïve café ✓".encode() in ledger_path.read_bytes()  # UTF-8, not \\u escapes


def test_complete_accepts_an_id_and_refuses_running(ledger: Ledger) -> None:
    start = ledger.begin("rollback", "production", app="keycliq-production")
    with pytest.raises(ValueError, match="succeeded, failed or aborted"):
        ledger.complete(start, "running", 0)
    end = ledger.complete(start.id, "failed", 3, error="release v41 failed")
    assert end.ref == start.id and end.error == "release v41 failed"
    with pytest.raises(LedgerError, match="no record 'nope'"):
        ledger.complete("nope", "failed", 1)


def test_unknown_fields_actions_and_dataclip_rows_are_refused(ledger: Ledger) -> None:
    with pytest.raises(ValidationError):
        ledger.begin("deploy", "staging", colour="red")
    with pytest.raises(ValidationError):
        ledger.begin("launch", "staging")
    with pytest.raises(ValidationError):  # numbers and verdicts only, never rows
        Record(
            action="deploy",
            outcome="succeeded",
            dataclips=[{"id": "E1", "verdict": "fail", "rows": [{"email": "a@b.c"}]}],
        )
    assert not ledger.path.exists()


def test_models_from_other_modules_are_stored_as_json(ledger: Ledger) -> None:
    from keycliq_ops.release.stepper import StepRecord

    step = StepRecord(
        name="push",
        title="Push to heroku-staging",
        status="succeeded",
        started_at=datetime(2026, 11, 28, 3, 0, tzinfo=UTC),
        duration_ms=1200,
        detail="3f2a9c1d",
    )
    record = ledger.begin("deploy", "staging", steps=[step])
    assert record.steps[0].title == "Push to heroku-staging"
    assert record.steps[0].started == datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def test_ids_are_unique_and_increase_with_the_file(ledger: Ledger) -> None:
    ids = [ledger.append(Record(action="checklist", outcome="succeeded")).id for _ in range(60)]
    assert ids == sorted(ids) and len(set(ids)) == 60
    assert all(len(i) == 20 and i[8] == "T" and i[15] == "-" for i in ids)


def test_next_id_moves_past_the_last_id_even_when_the_clock_goes_back() -> None:
    now = datetime(2026, 11, 28, 3, 5, 12, tzinfo=UTC)
    assert next_id(now, None).startswith("20261128T030512-")
    wrapped = next_id(now, "20261128T030512-ffff")
    assert wrapped.startswith("20261128T030513-") and int(wrapped[-4:], 16) < 0x800
    later = next_id(now - timedelta(hours=1), "20261128T030512-00a0")
    assert later.startswith("20261128T030512-") and 0xA0 < int(later[-4:], 16) <= 0xA0 + 0x800
    assert next_id(now, "20261128T030511-0001") > "20261128T030511-0001"


def test_find_and_resolve_by_prefix(ledger: Ledger) -> None:
    start, end = deploy(ledger)
    other = ledger.begin("promote", "production")
    assert ledger.find(start.id) == start
    assert ledger.find(start.id[:-1]) is None  # find is exact
    assert ledger.resolve(other.id).id == other.id
    assert ledger.resolve(end.id).id == end.id
    assert ledger.resolve(f"  {start.id}\n").id == start.id
    with pytest.raises(UsageError, match="no record '1999'"):
        ledger.resolve("1999")
    with pytest.raises(UsageError, match="empty"):
        ledger.resolve(" ")


def test_resolve_on_a_large_file_uses_the_sorted_ids(ledger_path: Path) -> None:
    hashes = hand_made(ledger_path, [{"action": "checklist", "outcome": "succeeded"}] * 500)
    ledger = Ledger(ledger_path)
    assert ledger.resolve("20260105T0917").hash == hashes[17]
    assert ledger.resolve("20260105T0900").hash == hashes[0]
    assert ledger.find("20260105T171900-01f3") is not None  # the last record
    with pytest.raises(UsageError, match="matches 6\\+ records"):
        ledger.resolve("20260105T09")


def test_a_lookup_in_reordered_lines_refuses(ledger_path: Path) -> None:
    hand_made(ledger_path, [{"action": "checklist", "outcome": "succeeded"}] * 40)
    rows = lines(ledger_path)
    rows[5], rows[30] = rows[30], rows[5]
    ledger_path.write_bytes(b"".join(rows))
    ledger = Ledger(ledger_path)
    moved = json.loads(rows[30])["id"]
    with pytest.raises(LedgerBroken, match=r"ledger.jsonl:6: chain-broken: "):
        ledger.find(moved)


def test_iter_reverse_handles_long_lines_across_blocks(ledger: Ledger) -> None:
    big = "x" * 150_000  # longer than the 64 KiB read block
    ids = []
    for i in range(5):
        note = big if i % 2 else "short"
        ids.append(ledger.begin("deploy", "staging", details={"note": note}).id)
    assert [r.id for r in ledger.iter(reverse=True)] == ids[::-1]
    assert [r.id for r in ledger.iter()] == ids
    assert ledger.verify().ok


def test_a_record_larger_than_the_limit_is_refused_whole(ledger: Ledger) -> None:
    deploy(ledger)
    before = ledger.path.read_bytes()
    with pytest.raises(LedgerError, match="larger than"):
        ledger.begin("deploy", "staging", details={"blob": "y" * MAX_LINE})
    assert ledger.path.read_bytes() == before


def test_a_damaged_last_record_stops_appends(ledger: Ledger) -> None:
    deploy(ledger)
    data = ledger.path.read_bytes()
    ledger.path.write_bytes(data[:-30] + b"garbage}\n")
    with pytest.raises(LedgerBroken, match=r"ledger.jsonl:2: not-a-record: ") as caught:
        ledger.begin("deploy", "staging")
    assert caught.value.exit_code == 1
    assert ledger.path.read_bytes() == data[:-30] + b"garbage}\n"


def test_latest_pairs_starts_with_completions_newest_first(ledger: Ledger) -> None:
    s1, _ = deploy(ledger, "staging")
    s2 = ledger.begin("promote", "production", app="keycliq-production")
    s3, _ = deploy(ledger, "staging", outcome="failed")
    ledger.complete(s2, "succeeded", 0, release_version=43)
    runs = ledger.latest(20)
    assert [r.id for r in runs] == [s3.id, s2.id, s1.id]
    assert [r.status for r in runs] == ["failed", "succeeded", "succeeded"]
    assert runs[1].summary().release_version == 43
    assert [r.id for r in ledger.latest(2)] == [s3.id, s2.id]


def test_latest_filters(ledger: Ledger) -> None:
    s1, _ = deploy(ledger, "staging")
    s2, _ = deploy(ledger, "production", outcome="failed")
    s3 = ledger.begin("rollback", "production")
    assert [r.id for r in ledger.latest(20, Filters(environment="production"))] == [s3.id, s2.id]
    assert [r.id for r in ledger.latest(20, Filters(action="deploy"))] == [s2.id, s1.id]
    assert [r.id for r in ledger.latest(20, Filters(status="failed"))] == [s2.id]
    assert [r.id for r in ledger.latest(20, Filters(status="running"))] == [s3.id]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert ledger.latest(20, Filters(since=future)) == []
    with pytest.raises(UsageError, match="unknown action 'launch'"):
        ledger.latest(20, Filters(action="launch"))
    with pytest.raises(UsageError, match="unknown outcome"):
        ledger.latest(20, Filters(status="great"))


def test_since_stops_at_older_records(ledger_path: Path) -> None:
    hand_made(
        ledger_path,
        [{"action": "deploy", "outcome": "succeeded", "environment": "staging"}] * 10,
        start=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )
    ledger = Ledger(ledger_path)
    since = datetime(2026, 1, 5, 9, 7, tzinfo=UTC)
    got = ledger.latest(20, Filters(since=since))
    assert [r.start.ts.minute for r in got] == [9, 8, 7]


def test_an_open_start_whose_process_is_gone_is_interrupted(ledger: Ledger) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(done.stdout)
    crashed = ledger.begin("deploy", "staging", pid=dead)
    mine = ledger.begin("deploy", "production")  # this process: alive
    by_id = {r.id: r.status for r in ledger.latest(20)}
    assert by_id == {crashed.id: "interrupted", mine.id: "running"}
    assert [r.id for r in ledger.latest(20, Filters(status="interrupted"))] == [crashed.id]


def test_an_open_start_from_another_host_turns_interrupted_when_stale(ledger_path: Path) -> None:
    now = datetime.now(UTC)
    hand_made(
        ledger_path,
        [{"action": "deploy", "outcome": "running", "environment": "staging"}],
        start=now - timedelta(hours=5),
    )
    ledger = Ledger(ledger_path)
    ledger.begin("deploy", "production", host="elsewhere.example")
    statuses = [r.status for r in ledger.latest(20)]
    assert statuses == ["running", "interrupted"]


def test_run_of_a_completion_id_is_the_whole_action(ledger: Ledger) -> None:
    start, end = deploy(ledger)
    for key in (start.id, end.id):
        run = ledger.run(key)
        assert run.start == start and run.end == end and run.status == "succeeded"
    single = ledger.append(
        Record(action="config-change", outcome="succeeded", environment="staging")
    )
    assert ledger.run(single.id).status == "succeeded" and ledger.run(single.id).end is None


def test_an_empty_or_missing_ledger(ledger: Ledger) -> None:
    assert ledger.latest(20) == [] and list(ledger.iter()) == [] and ledger.find("x") is None
    report = ledger.verify()
    assert report.ok and report.records == 0 and not report.exists
    with pytest.raises(UsageError, match="no record"):
        ledger.run("2026")
