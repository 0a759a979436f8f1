"""Issue 14, finding 4 (the promotion part): recovery continues from Heroku's state.

With the promotion's status lost (503s on ``/pipeline-promotions/*`` after the POST
succeeded), keycliq reads the targets' releases instead and finishes the run; after a run
that died once the promotion was made, neither ``--resume`` nor a plain re-run promotes a
second time, and both run production's checks.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

import pexpect
import psycopg

from tests.world import World

STAGING = "keycliq-staging"
PRODUCTION = "keycliq-production"
DEPLOY_UNCHECKED = ("deploy", "staging", "--yes", "--skip", "checklist", "--reason", "e2e case")


def add_user(world: World, user_id: str = "ckprodscan0000000000001") -> str:
    with psycopg.connect(world.database_url(PRODUCTION)) as conn:
        conn.execute(
            'INSERT INTO "User" (id, email, password, "updatedAt") VALUES (%s, %s, %s, now())',
            (user_id, f"{user_id}@keycliq.test", "x"),
        )
    return user_id


def promote_flags(user: str, *extra: str) -> tuple[str, ...]:
    return (
        "promote",
        "--confirm",
        PRODUCTION,
        "--override",
        "e2e case",
        "--skip",
        "checklist",
        "--reason",
        "e2e case",
        "--param",
        f"userId={user}",
        *extra,
    )


def current(world: World) -> tuple[int, str | None]:
    rel = world.sandbox.engine.app(PRODUCTION).current
    assert rel is not None
    return rel.version, rel.slug.commit if rel.slug else None


def completions(world: World) -> list[dict[str, Any]]:
    return [
        r for r in world.ledger_records() if r["action"] == "promote" and r["outcome"] != "running"
    ]


def status_of(record: dict[str, Any], name: str) -> str:
    return str(next(s for s in record["steps"] if s["name"] == name)["status"])


def test_lost_promotion_status_continues_from_the_targets_releases(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    before, _ = current(world)
    made = len(world.sandbox.engine.promotions)  # the provisioning's own
    world.sandbox.faults.http_error("/pipeline-promotions/*", 503, count=None)
    result = cli(*promote_flags(user))
    assert result.code == 0, result.output
    assert "promotion status unreadable" in result.output
    assert len(world.sandbox.engine.promotions) == made + 1
    version, commit = current(world)
    assert version == before + 1 and commit == world.prov.sample.head
    end = completions(world)[-1]
    assert end["outcome"] == "succeeded" and end["release_version"] == version
    assert [status_of(end, n) for n in ("promote", "release", "migrations", "dataclips")] == [
        "succeeded"
    ] * 4
    assert {d["id"]: d["verdict"] for d in end["dataclips"]} == {"A": "info", "C": "pass"}


def crashed_after_promoting(world: World, user: str) -> int:
    """A promotion whose keycliq died (SIGKILL) once Heroku had made it, status unread.
    Returns the version it released; afterwards the stand-in holds one promotion more."""
    engine = world.sandbox.engine
    made = set(engine.promotions)  # the provisioning's own
    world.sandbox.faults.slow("/pipeline-promotions/*", 30, count=1)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "keycliq_ops", *promote_flags(user)],
        cwd=str(world.repo),
        env={**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"},
        encoding="utf-8",
        timeout=120,
        dimensions=(40, 200),
    )
    deadline = time.monotonic() + 120
    while not (
        len(engine.promotions) > len(made)
        and all(p.done.is_set() for p in engine.promotions.values())
    ):
        assert time.monotonic() < deadline, "the promotion never finished"
        time.sleep(0.05)
    child.kill(signal.SIGKILL)
    child.close(force=True)
    promoted, commit = current(world)
    assert commit == world.prov.sample.head
    starts = [r for r in world.ledger_records() if r["action"] == "promote"]
    assert [r["outcome"] for r in starts] == ["running"]  # no completion: it died
    world.sandbox.faults.clear()
    return promoted


def test_rerun_after_a_crash_runs_the_checks_and_does_not_promote_again(  # type: ignore[no-untyped-def]
    world: World, cli
) -> None:
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    promoted = crashed_after_promoting(world, user)
    made = len(world.sandbox.engine.promotions)
    result = cli(*promote_flags(user))
    assert result.code == 0, result.output
    assert "nothing to promote" not in result.output
    assert len(world.sandbox.engine.promotions) == made  # not promoted twice
    assert current(world)[0] == promoted
    end = completions(world)[-1]
    assert end["outcome"] == "succeeded"
    assert end["details"]["resumes"] == world.ledger_records()[-3]["id"]
    assert status_of(end, "promote") == "done-before"
    assert status_of(end, "dataclips") == "succeeded"
    assert {d["id"]: d["verdict"] for d in end["dataclips"]} == {"A": "info", "C": "pass"}


def test_resume_after_a_crash_runs_the_checks_and_does_not_promote_again(  # type: ignore[no-untyped-def]
    world: World, cli
) -> None:
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    promoted = crashed_after_promoting(world, user)
    made = len(world.sandbox.engine.promotions)
    result = cli(*promote_flags(user, "--resume"))
    assert result.code == 0, result.output
    assert len(world.sandbox.engine.promotions) == made
    assert current(world)[0] == promoted
    end = completions(world)[-1]
    assert end["outcome"] == "succeeded" and end["release_version"] == promoted
    assert status_of(end, "promote") == "done-before"
    assert status_of(end, "dataclips") == "succeeded"


def test_resume_with_the_status_still_lost_does_not_promote_again(  # type: ignore[no-untyped-def]
    world: World, cli
) -> None:
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    promoted = crashed_after_promoting(world, user)
    made = len(world.sandbox.engine.promotions)
    world.sandbox.faults.http_error("/pipeline-promotions/*", 503, count=None)
    result = cli(*promote_flags(user, "--resume"))
    assert result.code == 0, result.output
    assert len(world.sandbox.engine.promotions) == made
    assert current(world)[0] == promoted
    assert status_of(completions(world)[-1], "dataclips") == "succeeded"
