"""Helpers for ledger tests: typical records and hand-made chains."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from keycliq_ops.ledger import GENESIS, Ledger, StoredRecord
from keycliq_ops.ledger.chain import seal


def deploy(
    ledger: Ledger, env: str = "staging", outcome: str = "succeeded", **fields: Any
) -> tuple[StoredRecord, StoredRecord]:
    """A start record and its completion, as a deploy writes them."""
    start = ledger.begin(
        "deploy",
        env,
        app=f"keycliq-{env}",
        commit="3f2a9c1d" * 5,
        branch="main",
        actor={"git_name": "Ann Example", "git_email": "ann@example.com"},
        **fields,
    )
    end = ledger.complete(start, outcome, 0 if outcome == "succeeded" else 1, release_version=42)  # type: ignore[arg-type]
    return start, end


def hand_made(
    path: Path, records: Iterable[dict[str, Any]], *, start: datetime | None = None
) -> list[str]:
    """Write sealed records with chosen times (one minute apart); returns their hashes."""
    when = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    prev = GENESIS
    hashes: list[str] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as fh:
        for i, fields in enumerate(records):
            obj = {
                "schema": 1,
                "id": f"{when:%Y%m%dT%H%M%S}-{i:04x}",
                "ts": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "prev": prev,
                "host": "ci-runner-7",
                "pid": 4242,
                "keycliq_version": "0.1.0",
                **fields,
            }
            line, prev = seal(obj)
            fh.write(line)
            hashes.append(prev)
            when += timedelta(minutes=1)
    return hashes


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)
