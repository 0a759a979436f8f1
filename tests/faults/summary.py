"""The fault matrix's counts at the end of a session: rows tried, survived, and which failed.

A plugin, so that it can be registered where the session's reports arrive: under
pytest-xdist that is the controller, which loads ``tests/conftest.py`` but not
``tests/faults/conftest.py`` (``pytest_plugins = ["tests.faults.summary"]`` in
``tests/conftest.py`` registers it there); ``tests/faults/conftest.py`` registers it for a
run of this folder alone. It only counts: a row's verdict is its own test's.
"""

from __future__ import annotations

import pytest

MATRIX = "tests/faults/test_fault_matrix.py::test_fault_matrix["

_tried: dict[str, str] = {}  # row id -> "survived" | "failed" | "skipped"


def _row(nodeid: str) -> str | None:
    if not nodeid.startswith(MATRIX) or not nodeid.endswith("]"):
        return None
    return nodeid[len(MATRIX) : -1]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    row = _row(report.nodeid)
    if row is None:
        return
    if report.failed:
        _tried[row] = "failed"
    elif report.skipped:
        _tried.setdefault(row, "skipped")
    elif report.when == "call":
        _tried.setdefault(row, "survived")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _tried:
        return
    survived = sorted(r for r, v in _tried.items() if v == "survived")
    failed = sorted(r for r, v in _tried.items() if v == "failed")
    ran = len(survived) + len(failed)
    terminalreporter.section("fault matrix")
    terminalreporter.write_line(f"fault matrix: {ran} tried, {len(survived)} survived")
    for row in failed:
        terminalreporter.write_line(f"  not survived: {row}")
