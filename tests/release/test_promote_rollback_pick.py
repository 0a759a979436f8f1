"""Which release a rollback returns to, and what the ledger says about migrations since
(real ledger files; releases as the API returns them)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from keycliq_ops.adapters.heroku.resources import Release
from keycliq_ops.base.errors import GateFailed, UsageError
from keycliq_ops.ledger import Ledger
from keycliq_ops.release.rollback import default_target, migrations_since, parse_version

APP = "keycliq-production"


def release(
    version: int, *, slug: bool = True, status: str = "succeeded", current: bool = False
) -> Release:
    return Release.model_validate(
        {
            "id": str(uuid.uuid4()),
            "version": version,
            "status": status,
            "current": current,
            "description": f"v{version}",
            "slug": {"id": str(uuid.uuid4())} if slug else None,
            "created_at": datetime.now(UTC),
        }
    )


def record(
    ledger: Ledger,
    action: str,
    version: int,
    outcome: str = "succeeded",
    steps: list[dict[str, Any]] | None = None,
    app: str = APP,
) -> str:
    start = ledger.begin(action, "production", app=app, commit="c" * 40)
    ledger.complete(start, outcome, 0, release_version=version, steps=steps or [])  # type: ignore[arg-type]
    return start.id


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger.jsonl")


def history() -> tuple[list[Release], Release]:
    """v1 initial (no code), v2 config, v3-v6 code, v7 current; newest first as listed."""
    current = release(7, current=True)
    listed = [current, release(6), release(5, status="failed"), release(4), release(3)]
    listed += [release(2, slug=False), release(1, slug=False)]
    return listed, current


def test_the_newest_earlier_release_with_a_succeeded_record(ledger: Ledger) -> None:
    releases, current = history()
    run = record(ledger, "promote", 4)
    record(ledger, "promote", 6, outcome="failed")
    record(ledger, "deploy", 3)
    record(ledger, "promote", 6, app="keycliq-staging")  # another app's v6
    target, why = default_target(ledger, APP, releases, current)
    assert target.version == 4 and why == run


def test_without_a_record_the_previous_release_with_code(ledger: Ledger) -> None:
    releases, current = history()
    record(ledger, "promote", 5)  # v5 failed on Heroku: never a target
    target, why = default_target(ledger, APP, releases, current)
    assert target.version == 6 and why is None


def test_nothing_to_return_to(ledger: Ledger) -> None:
    current = release(3, current=True)
    with pytest.raises(GateFailed) as exc:
        default_target(ledger, APP, [current, release(2, slug=False)], current)
    assert (
        "no earlier release with code" in exc.value.message
        and exc.value.hint == "name one with --to vNN"
    )


def test_migrations_since_come_from_release_and_push_steps(ledger: Ledger) -> None:
    record(
        ledger,
        "deploy",
        4,
        steps=[{"name": "push", "status": "succeeded", "data": {"migrations": ["m1"]}}],
    )
    record(
        ledger,
        "promote",
        5,
        steps=[{"name": "release", "status": "succeeded", "data": {"migrations": ["m2", "m3"]}}],
    )
    record(  # a failed release phase: what its output tail says was applied
        ledger,
        "promote",
        6,
        outcome="failed",
        steps=[
            {
                "name": "release",
                "status": "failed",
                "output_tail": [
                    "Applying migration `m4`",
                    "Error: P3018",
                    "Applying migration `m2`",
                ],
            }
        ],
    )
    record(
        ledger,
        "promote",
        9,
        steps=[{"name": "release", "status": "succeeded", "data": {"migrations": ["m9"]}}],
    )
    assert migrations_since(ledger, APP, 4, 7) == (["m2", "m3", "m4"], True)
    assert migrations_since(ledger, APP, 3, 4) == (["m1"], True)
    assert migrations_since(ledger, APP, 6, 8) == ([], False)


@pytest.mark.parametrize(("text", "version"), [("v42", 42), ("42", 42), ("V7", 7), (" v3 ", 3)])
def test_versions(text: str, version: int) -> None:
    assert parse_version(text) == version


@pytest.mark.parametrize("text", ["", "v", "v0", "latest", "4.2", "-1"])
def test_not_versions(text: str) -> None:
    with pytest.raises(UsageError):
        parse_version(text)
