"""History: numbers appended per run (no row data), trends with jumps, damaged files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from keycliq_ops.base.errors import ConfigError
from keycliq_ops.dataclips.clips import CheckResult, DataclipRun
from keycliq_ops.dataclips.history import (
    append_run,
    default_history_path,
    expected_durations,
    read_history,
    trend,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _run(
    n: int, numbers: dict[str, int], target: str = "keycliq-staging", at: int = 0
) -> DataclipRun:
    result = CheckResult(
        id="A",
        title="Global counts",
        verdict="info",
        returns="one-row",
        duration_ms=10.0 + n,
        columns=list(numbers),
        rows=[list(numbers.values())],
        row_count=1,
        numbers=numbers,
    )
    g = CheckResult(
        id="G",
        title="g",
        verdict="fail",
        duration_ms=5.0,
        columns=["match_type"],
        rows=[["SECRET-ROW-VALUE"]],
        row_count=1,
        numbers={"rows": 1},
    )
    return DataclipRun(
        target=target,
        started_at=T0 + timedelta(hours=at),
        duration_ms=20.0,
        verdict="fail",
        ok=False,
        results=[result, g],
    )


def test_runs_append_numbers_but_never_rows(tmp_path: Path) -> None:
    path = tmp_path / "h" / "history.jsonl"
    append_run(path, _run(1, {"users": 10, "keys": 100}))
    append_run(path, _run(2, {"users": 12, "keys": 100}, at=1))
    text = path.read_text()
    assert "SECRET-ROW-VALUE" not in text
    entries = read_history(path)
    assert len(entries) == 2
    assert entries[0]["checks"]["A"]["numbers"] == {"users": 10, "keys": 100}
    assert entries[0]["checks"]["G"] == {
        "verdict": "fail",
        "duration_ms": 5.0,
        "row_count": 1,
        "numbers": {"rows": 1},
    }
    assert entries[1]["target"] == "keycliq-staging"


def test_trend_shows_last_values_change_and_jumps(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    for i, users in enumerate([10, 11, 12, 20]):
        append_run(path, _run(i, {"users": users, "keys": 100}, at=i))
    append_run(path, _run(9, {"users": 999, "keys": 1}, target="keycliq-production", at=9))
    t = trend(path, "a", target="keycliq-staging", last=3, jump_ratio=0.5)
    assert t.check == "A"
    assert len(t.points) == 3
    users = next(s for s in t.series if s.name == "users")
    assert users.values == [11, 12, 20]
    assert (users.last, users.previous, users.change) == (20, 12, 8)
    assert users.change_ratio == pytest.approx(0.6667, abs=1e-4)
    assert users.jump
    keys = next(s for s in t.series if s.name == "keys")
    assert keys.change == 0 and not keys.jump
    assert t.jumps == ["users"]
    # A stricter ratio flags less; another target is another series.
    assert trend(path, "A", target="keycliq-staging", jump_ratio=1.0).jumps == []
    prod = trend(path, "A", target="keycliq-production")
    assert {s.name: s.values for s in prod.series} == {"keys": [1], "users": [999]}


def test_a_move_away_from_zero_is_a_jump(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    append_run(path, _run(0, {"both_null": 0}))
    append_run(path, _run(1, {"both_null": 2}, at=1))
    s = trend(path, "A").series[0]
    assert s.jump and s.change_ratio is None and s.change == 2


def test_durations_feed_the_scheduler(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    append_run(path, _run(5, {"users": 1}))
    assert expected_durations(path, "keycliq-staging") == {"A": 15.0, "G": 5.0}
    assert expected_durations(path, "elsewhere") == {}


def test_torn_last_line_is_skipped_and_not_glued_to(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    append_run(path, _run(1, {"users": 1}))
    with path.open("a") as fh:
        fh.write('{"v": 1, "at": "2025-')  # a crash mid-write
    assert len(read_history(path)) == 1
    append_run(path, _run(2, {"users": 2}, at=1))
    entries = read_history(path)
    assert [e["checks"]["A"]["numbers"]["users"] for e in entries] == [1, 2]


def test_a_damaged_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text('not json\n{"v": 1, "checks": {}}\n')
    with pytest.raises(ConfigError, match=r"history.jsonl:1: not a Dataclip history record"):
        read_history(path)


def test_default_path_sits_beside_the_ledger_or_in_xdg_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_history_path() == tmp_path / "state" / "keycliq" / "dataclips-history.jsonl"
    monkeypatch.setenv("KEYCLIQ_LEDGER", str(tmp_path / "records" / "ledger.jsonl"))
    assert default_history_path() == tmp_path / "records" / "dataclips-history.jsonl"


def test_history_lines_are_single_json_objects(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    append_run(path, _run(1, {"users": 1}))
    (line,) = path.read_text().splitlines()
    assert json.loads(line)["v"] == 1
