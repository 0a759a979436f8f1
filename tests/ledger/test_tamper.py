"""verify: a clean ledger verifies; every kind of tampering names the first bad line."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from keycliq_ops.ledger import Ledger

from .helpers import deploy, lines


@pytest.fixture
def six(ledger: Ledger) -> Ledger:
    """A ledger of three deploys (six records)."""
    for env in ("staging", "production", "staging"):
        deploy(ledger, env, checklist={"name": env, "passed": True, "items": []})
    return ledger


def test_a_clean_ledger_verifies(six: Ledger) -> None:
    report = six.verify()
    assert report.ok and report.records == 6 and report.problem is None
    assert report.head == list(six.iter())[-1].hash


def test_every_single_byte_edit_names_its_line(six: Ledger) -> None:
    original = lines(six.path)
    target = 3  # 1-based
    raw = original[target - 1]
    for position in range(len(raw) - 1):  # every byte but the newline
        replacement = b"x" if raw[position : position + 1] != b"x" else b"y"
        edited = raw[:position] + replacement + raw[position + 1 :]
        six.path.write_bytes(b"".join([*original[: target - 1], edited, *original[target:]]))
        report = six.verify()
        assert not report.ok, position
        assert report.problem is not None and report.problem.line == target, position
        assert report.problem.kind in ("edited", "not-a-record"), position
        assert report.records == target - 1


def test_an_edit_of_a_value_is_reported_as_edited(six: Ledger) -> None:
    rows = lines(six.path)
    rows[1] = rows[1].replace(b'"exit_code":0', b'"exit_code":1')
    six.path.write_bytes(b"".join(rows))
    problem = six.verify().problem
    assert problem is not None and (problem.line, problem.kind) == (2, "edited")


@pytest.mark.parametrize("removed", [1, 2, 4])
def test_a_deleted_line_is_named(six: Ledger, removed: int) -> None:
    rows = lines(six.path)
    del rows[removed - 1]
    six.path.write_bytes(b"".join(rows))
    report = six.verify()
    assert not report.ok and report.problem is not None
    assert (report.problem.line, report.problem.kind) == (removed, "chain-broken")
    assert "removed" in report.problem.message


def test_swapped_lines_are_named(six: Ledger) -> None:
    rows = lines(six.path)
    rows[2], rows[3] = rows[3], rows[2]
    six.path.write_bytes(b"".join(rows))
    report = six.verify()
    assert report.problem is not None and (report.problem.line, report.problem.kind) == (
        3,
        "chain-broken",
    )


def test_a_rewritten_record_with_a_fresh_hash_breaks_the_next_link(six: Ledger) -> None:
    from keycliq_ops.ledger.chain import seal

    rows = lines(six.path)
    obj = json.loads(rows[1])
    del obj["hash"]
    obj["outcome"] = "failed"
    rows[1], _ = seal(obj)
    six.path.write_bytes(b"".join(rows))
    problem = six.verify().problem
    assert problem is not None and (problem.line, problem.kind) == (3, "chain-broken")


def test_a_truncated_last_line_is_named_and_the_next_append_sets_it_aside(six: Ledger) -> None:
    whole = six.path.read_bytes()
    six.path.write_bytes(whole[:-40])  # a crash mid-write: no newline at the end
    report = six.verify()
    assert not report.ok and report.records == 5
    assert report.problem is not None and (report.problem.line, report.problem.kind) == (
        6,
        "partial-line",
    )
    records = list(six.iter())
    assert len(records) == 5  # readers never build on the fragment

    added = six.begin("rollback", "production")
    assert added.prev == records[-1].hash  # chained onto the last good record
    after = six.verify()
    assert after.ok and after.records == 6
    assert len(after.quarantined) == 1
    note = after.quarantined[0]
    fragment = whole[:-40][note.offset :]
    assert note.length == len(fragment) and note.after_hash == records[-1].hash
    stored = json.loads(six.partial_path.read_text().splitlines()[0])
    assert base64.b64decode(stored["bytes_b64"]) == fragment


def test_a_cut_with_the_newline_kept_is_named(six: Ledger) -> None:
    rows = lines(six.path)
    rows[-1] = rows[-1][:50] + b"\n"
    six.path.write_bytes(b"".join(rows))
    problem = six.verify().problem
    assert problem is not None and (problem.line, problem.kind) == (6, "not-a-record")


def test_blank_and_foreign_lines_are_named(six: Ledger) -> None:
    rows = lines(six.path)
    six.path.write_bytes(b"".join([*rows[:2], b"\n", *rows[2:]]))
    problem = six.verify().problem
    assert problem is not None and (problem.line, problem.kind) == (3, "not-a-record")
    six.path.write_bytes(b"".join([*rows[:2], b'{"action":"deploy"}\n', *rows[2:]]))
    problem = six.verify().problem
    assert problem is not None and problem.line == 3
    assert "not a sealed ledger record" in problem.message


def test_cutting_whole_records_off_the_end_is_caught_by_an_anchor(six: Ledger) -> None:
    head = six.verify().head
    assert head is not None
    assert six.verify(anchor=head).anchor_found
    rows = lines(six.path)
    six.path.write_bytes(b"".join(rows[:-2]))
    plain = six.verify()
    assert plain.ok and plain.records == 4  # a hash chain alone cannot see this
    anchored = six.verify(anchor=head)
    assert not anchored.ok and anchored.anchor_found is False


def test_a_forged_last_record_must_still_be_a_record(six: Ledger, tmp_path: Path) -> None:
    from keycliq_ops.ledger.chain import seal

    rows = lines(six.path)
    last = json.loads(rows[-1])
    forged = {"prev": last["hash"], "action": "deploy"}  # sealed, linked, but no id/ts/outcome
    line, _ = seal(forged)
    six.path.write_bytes(b"".join([*rows, line]))
    problem = six.verify().problem
    assert problem is not None and (problem.line, problem.kind) == (7, "invalid-record")
