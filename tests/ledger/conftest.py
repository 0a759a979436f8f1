"""Ledger fixtures: a ledger in a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from keycliq_ops.ledger import Ledger


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "repo" / ".keycliq" / "ledger.jsonl"


@pytest.fixture
def ledger(ledger_path: Path) -> Ledger:
    return Ledger(ledger_path)
