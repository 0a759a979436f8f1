"""Which Dataclip verdicts fail a gate: one rule, used by the engine, checklists, playbooks."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from keycliq_ops.dataclips.verdicts import FAILING, failed, failing_ids, is_failing, worst


@dataclass
class _R:
    id: str
    verdict: str


def test_fail_and_error_fail_a_gate_warn_and_info_do_not() -> None:
    assert {"fail", "error"} == FAILING
    assert [v for v in ("pass", "warn", "info", "fail", "error") if is_failing(v)] == [
        "fail",
        "error",
    ]
    assert failed(["pass", "warn", "error"]) and not failed(["pass", "warn", "info"])
    assert not failed([])
    results = [_R("A", "pass"), _R("E1", "fail"), _R("F", "warn"), _R("G", "error")]
    assert failing_ids(results) == ["E1", "G"]


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([], "pass"),
        (["info", "pass"], "pass"),
        (["pass", "warn"], "warn"),
        (["warn", "fail", "pass"], "fail"),
        (["fail", "error"], "error"),
        (["pass", "bogus"], "error"),
    ],
)
def test_a_runs_verdict_is_its_worst_checks(verdicts: list[str], expected: str) -> None:
    assert worst(verdicts) == expected
