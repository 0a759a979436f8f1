"""Issue 14, finding 1: the promotion API promotes staging's *current* release, whatever the
gate judged. A commit that failed staging must never reach production with exit 0.

The race is made deterministic by holding keycliq between its gate and Heroku's handling
of the promotion, then landing a failed deploy of another commit on staging in that gap:

- the two-factor prompt (keycliq asks for a code after Heroku refused the POST; the person
  takes a while; a CI deploy of Y finishes meanwhile);
- a slowed ``POST /pipeline-promotions`` (the stand-in waits before handling it; the test
  switches staging to Y as soon as the request is in flight, and checks that it did so
  before the stand-in handled it);
- the confirmation prompt (before anything is sent: the re-read of staging refuses);
- a deploy of staging still running per the ledger (refused before anything is sent).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pexpect

from keycliq_ops.ledger import Ledger
from tests.world import World

STAGING = "keycliq-staging"
PRODUCTION = "keycliq-production"
DEPLOY_CLEAN = ("deploy", "staging", "--yes", "--answers", "keycliq-answers.yaml")
PROMOTE = ("promote", "--yes", "--confirm", PRODUCTION, "--answers", "keycliq-answers.yaml")


def git(world: World, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=world.repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit_y(world: World) -> str:
    """A new commit on top of the checkout (the one that will fail staging)."""
    path = world.repo / "app" / "race-banner.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("commit Y: fails the staging checklist\n")
    git(world, "add", str(path))
    git(world, "commit", "-q", "-m", "Y: a change that fails the staging checklist")
    return git(world, "rev-parse", "HEAD")


def failing_answers(world: World) -> Path:
    """keycliq-answers.yaml with one required staging item answered no."""
    text = (world.repo / "keycliq-answers.yaml").read_text()
    needle = "      scan-no-match:\n        answer: yes"
    assert needle in text
    path = world.repo.parent / "failing-answers.yaml"
    path.write_text(text.replace(needle, "      scan-no-match:\n        answer: no", 1))
    return path


def current(world: World, app: str) -> tuple[int, str | None]:
    rel = world.sandbox.engine.app(app).current
    assert rel is not None
    return rel.version, rel.slug.commit if rel.slug else None


def completions(world: World, action: str) -> list[dict[str, Any]]:
    return [
        r for r in world.ledger_records() if r["action"] == action and r["outcome"] != "running"
    ]


def step(record: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in record["steps"] if s["name"] == name)


def x_passed_then_y_failed(world: World, cli: Any) -> tuple[str, str]:
    """X (the checkout's head) deployed clean; Y committed, deployed and failed its
    checklist; staging rolled back by hand to X's slug (the gate then judges X)."""
    x = world.prov.sample.head
    deployed = cli(*DEPLOY_CLEAN)
    assert deployed.code == 0, deployed.output
    x_release = world.sandbox.engine.app(STAGING).current
    assert x_release is not None
    y = commit_y(world)
    failed = cli("deploy", "staging", "--yes", "--answers", str(failing_answers(world)))
    assert failed.code == 1, failed.output
    assert current(world, STAGING)[1] == y
    engine = world.sandbox.engine
    back = engine.rollback(engine.app(STAGING), x_release.id)
    back.done.wait(120)
    assert back.status == "succeeded" and current(world, STAGING)[1] == x
    return x, y


def test_y_deployed_while_the_promotion_waits_for_two_factor_is_caught(  # type: ignore[no-untyped-def]
    world: World, cli
) -> None:
    x = world.prov.sample.head
    deployed = cli(*DEPLOY_CLEAN)
    assert deployed.code == 0, deployed.output
    y = commit_y(world)
    before = current(world, PRODUCTION)
    world.sandbox.faults.require_two_factor("/pipeline-promotions", "135790")
    child = pexpect.spawn(
        sys.executable,
        # No --yes: a terminal asks for the two-factor code (with --yes it would not ask).
        [
            "-m",
            "keycliq_ops",
            "promote",
            "--confirm",
            PRODUCTION,
            "--answers",
            "keycliq-answers.yaml",
        ],
        cwd=str(world.repo),
        env={**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"},
        encoding="utf-8",
        timeout=180,
        dimensions=(40, 200),
    )
    child.expect("Two-factor code")
    # While the person finds the code, CI deploys Y to staging; its checklist fails.
    failed = cli("deploy", "staging", "--yes", "--answers", str(failing_answers(world)))
    assert failed.code == 1, failed.output
    assert current(world, STAGING)[1] == y
    child.sendline("135790")
    child.expect(pexpect.EOF)
    child.close()
    output = " ".join((child.before or "").split())
    assert child.exitstatus == 1, output
    assert f"{PRODUCTION} now runs {y[:8]}" in output
    assert "did not pass staging" in output
    assert f"keycliq rollback production --to v{before[0]}" in output
    # Production runs Y (it was promoted): the ledger says so, and the command to undo it.
    assert current(world, PRODUCTION)[1] == y
    end = completions(world, "promote")[-1]
    assert end["outcome"] == "failed" and end["exit_code"] == 1
    assert end["commit"] == y  # the truth: what production runs
    assert step(end, "gate")["data"]["commit"] == x  # what the gate judged
    release = step(end, "release")
    assert release["status"] == "failed"
    assert release["data"]["promoted"][0]["commit"] == y
    assert release["data"]["promoted"][0]["passed_gate"] is False
    assert step(end, "checklist")["status"] == "not-run"
    assert completions(world, "rollback") == []  # no --auto-rollback: only the command


def test_slowed_promotion_of_a_changed_staging_is_rolled_back(  # type: ignore[no-untyped-def]
    world: World, cli
) -> None:
    x, y = x_passed_then_y_failed(world, cli)
    engine = world.sandbox.engine
    y_release = next(r for r in engine.app(STAGING).releases if r.slug and r.slug.commit == y)
    before = current(world, PRODUCTION)
    made_before = set(engine.promotions)  # the provisioning's own promotion
    world.sandbox.faults.slow("/pipeline-promotions", 8, count=1)
    switched: list[str] = []

    def switch_staging_to_y() -> None:
        # The slow fault is taken when the POST arrives: the request is then in flight.
        deadline = time.monotonic() + 120
        while any(f.kind == "slow" for f in world.sandbox.faults.pending()):
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        rel = engine.rollback(engine.app(STAGING), y_release.id)
        rel.done.wait(60)
        switched.append(rel.id)

    thread = threading.Thread(target=switch_staging_to_y, daemon=True)
    thread.start()
    result = cli(*PROMOTE, "--auto-rollback", "--json")
    thread.join(60)
    assert switched, "staging was not switched to Y while the promotion was in flight"
    promotions = [p for p in engine.promotions.values() if p.id not in made_before]
    assert len(promotions) == 1
    assert promotions[0].source_release_id == switched[0], (
        "the stand-in handled the promotion before staging was switched: raise the slow fault"
    )
    assert result.code == 1, result.output
    final = json.loads(result.stdout.splitlines()[-1])
    assert final["failed_step"] == "release" and final["exit_code"] == 1
    assert f"now runs {y[:8]}" in final["error"] and "did not pass staging" in final["error"]
    assert final["promoted_commit"] == y
    assert final["rollback"]["outcome"] == "succeeded"
    # Rolled back at once: production runs what it ran before.
    assert current(world, PRODUCTION)[1] == before[1]
    end = completions(world, "promote")[-1]
    assert end["commit"] == y and end["outcome"] == "failed"
    assert step(end, "gate")["data"]["commit"] == x
    assert step(end, "dataclips")["status"] == "not-run"
    rollback = completions(world, "rollback")[-1]
    assert rollback["outcome"] == "succeeded"
    verify = cli("ledger", "verify", "--json")
    assert verify.code == 0 and json.loads(verify.stdout)["ok"] is True


def test_staging_changed_at_the_confirmation_prompt_is_refused(  # type: ignore[no-untyped-def]
    world: World, cli
) -> None:
    deployed = cli(*DEPLOY_CLEAN)
    assert deployed.code == 0, deployed.output
    y = commit_y(world)
    before = current(world, PRODUCTION)
    promotions = set(world.sandbox.engine.promotions)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "keycliq_ops", "promote", "--answers", "keycliq-answers.yaml"],
        cwd=str(world.repo),
        env={**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"},
        encoding="utf-8",
        timeout=180,
        dimensions=(40, 200),
    )
    child.expect("Type the app name")
    failed = cli("deploy", "staging", "--yes", "--answers", str(failing_answers(world)))
    assert failed.code == 1, failed.output
    child.sendline(PRODUCTION)
    child.expect(pexpect.EOF)
    child.close()
    output = " ".join((child.before or "").split())
    assert child.exitstatus == 1, output
    assert f"{STAGING} changed since the gate judged it" in output
    assert current(world, PRODUCTION) == before  # nothing promoted
    assert set(world.sandbox.engine.promotions) == promotions
    end = completions(world, "promote")[-1]
    assert step(end, "promote")["status"] == "failed"
    assert current(world, STAGING)[1] == y


def test_refused_while_a_deploy_of_staging_is_running(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    deployed = cli(*DEPLOY_CLEAN)
    assert deployed.code == 0, deployed.output
    before = current(world, PRODUCTION)
    promotions = set(world.sandbox.engine.promotions)
    ledger = Ledger(world.ledger_path)
    # A deploy of staging started by a live process (this one) and not completed.
    running = ledger.begin("deploy", "staging", app=STAGING, commit="f" * 40)
    result = cli(*PROMOTE)
    assert result.code == 1, result.output
    assert f"a deploy of staging is running (ledger {running.id}" in result.stderr
    assert current(world, PRODUCTION) == before
    assert set(world.sandbox.engine.promotions) == promotions
    assert step(completions(world, "promote")[-1], "gate")["status"] == "failed"


def test_a_crashed_deploy_of_staging_does_not_block(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    deployed = cli(*DEPLOY_CLEAN)
    assert deployed.code == 0, deployed.output
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ledger = Ledger(world.ledger_path)
    # A deploy of staging whose process died without completing it: interrupted, not running.
    ledger.begin("deploy", "staging", app=STAGING, commit="e" * 40, pid=dead.pid)
    result = cli(*PROMOTE)
    assert result.code == 0, result.output
    assert current(world, PRODUCTION)[1] == world.prov.sample.head
