"""``keycliq promote`` end to end against the stand-in: real git, HTTP, Postgres and ledger.

Each case asserts the exit code, what the user saw, and the ledger. Where the staging
checklist is not the point, staging is deployed with it skipped and the promotion passes
the gate with ``--override`` (the gate itself is tested here and in
``tests/release/test_promote_gate.py``); the production checklist is then skipped with a
reason and check C gets its ``userId`` from ``--param``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pexpect
import psycopg

from tests.world import World

STAGING = "keycliq-staging"
PRODUCTION = "keycliq-production"
INDEX_MIGRATION = "20250302120000_add_query_indexes"
DEPLOY_UNCHECKED = ("deploy", "staging", "--yes", "--skip", "checklist", "--reason", "e2e case")
DEPLOY_CLEAN = ("deploy", "staging", "--yes", "--answers", "keycliq-answers.yaml")
PROMOTE = ("promote", "--confirm", PRODUCTION)


# ----------------------------------------------------------------------------- helpers


def add_user(world: World, app: str = PRODUCTION, user_id: str = "ckprodscan0000000000001") -> str:
    """The team's test account in the app's database (check C looks it up)."""
    with psycopg.connect(world.database_url(app)) as conn:
        conn.execute(
            'INSERT INTO "User" (id, email, password, "updatedAt") VALUES (%s, %s, %s, now())',
            (user_id, f"{user_id}@keycliq.test", "x"),
        )
    return user_id


def unchecked(user: str, *extra: str) -> tuple[str, ...]:
    """Promote flags for a case where the production checklist is not the point."""
    return (
        *PROMOTE,
        "--skip",
        "checklist",
        "--reason",
        "e2e case",
        "--param",
        f"userId={user}",
        *extra,
    )


def current(world: World, app: str = PRODUCTION) -> tuple[int, str | None]:
    """(version, commit) of what the stand-in runs for ``app``."""
    rel = world.sandbox.engine.app(app).current
    assert rel is not None
    return rel.version, rel.slug.commit if rel.slug else None


def runs(world: World, action: str) -> list[dict[str, Any]]:
    """Completion records of ``action``, oldest first."""
    return [
        r for r in world.ledger_records() if r["action"] == action and r["outcome"] != "running"
    ]


def step(record: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in record["steps"] if s["name"] == name)


def index_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select count(*) from pg_indexes where schemaname='public' and indexname like '%_idx'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def promoted_with_override(world: World, cli: Any) -> str:
    """Head deployed to staging (checklist skipped) and promoted with --override."""
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    result = cli(*unchecked(user, "--override", "e2e setup"))
    assert result.code == 0, result.output
    return user


# ------------------------------------------------------------------------------- cases


def test_clean_promotion(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    head = world.prov.sample.head
    deployed = cli(*DEPLOY_CLEAN)
    assert deployed.code == 0, deployed.output
    before, _ = current(world)
    # The answers file answers the light scan with the seeded sample user (check C).
    result = cli(*PROMOTE, "--yes", "--answers", "keycliq-answers.yaml")
    assert result.code == 0, result.output
    for title in ("Promotion gate", "Promotion", "Production release", "Checklist", "Dataclip"):
        assert title in result.stdout
    assert f"Applying migration `{INDEX_MIGRATION}`" in result.stderr  # the release phase
    assert index_count(world.database_url(PRODUCTION)) == 7
    version, commit = current(world)
    assert version > before and commit == head
    end = runs(world, "promote")[-1]
    assert end["outcome"] == "succeeded" and end["commit"] == head
    assert end["release_version"] == version and "override_reason" not in end
    assert {d["id"]: d["verdict"] for d in end["dataclips"]} == {"A": "info", "C": "pass"}
    assert end["checklist"]["verdict"] == "passed"
    assert step(end, "gate")["data"]["staging_record"] == runs(world, "deploy")[-1]["ref"]
    assert step(end, "release")["data"]["migrations"] == [INDEX_MIGRATION]
    status = json.loads(cli("status", "--json").stdout)
    by_env = {e["name"]: e for e in status["environments"]}
    assert by_env["production"]["commit"]["sha"] == by_env["staging"]["commit"]["sha"] == head
    verify = cli("ledger", "verify", "--json")
    assert verify.code == 0 and json.loads(verify.stdout)["ok"] is True


def test_promotion_with_override_then_status_and_verify(both_worlds: World, cli) -> None:  # type: ignore[no-untyped-def]
    world = both_worlds  # Cedar and Fir (status matches Fir's builds by image)
    head = world.prov.sample.head
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    before, _ = current(world)
    result = cli(*unchecked(user, "--override", "INC-42 hotfix, checklist walked by hand"))
    assert result.code == 0, result.output
    assert "override: INC-42 hotfix" in result.output
    assert "did not pass the checklist" in result.output  # what the override overrode
    assert f"Applying migration `{INDEX_MIGRATION}`" in result.stderr
    assert index_count(world.database_url(PRODUCTION)) == 7
    version, commit = current(world)
    assert version == before + 1 and commit == head
    start, end = [r for r in world.ledger_records() if r["action"] == "promote"]
    assert start["outcome"] == "running" and end["ref"] == start["id"]
    assert end["outcome"] == "succeeded" and end["exit_code"] == 0
    assert end["override_reason"] == "INC-42 hotfix, checklist walked by hand"
    assert end["commit"] == head and end["release_version"] == version
    assert end["details"]["promotion"]["production_release_before"] == before
    assert step(end, "promote")["data"]["targets"][0]["status"] in ("pending", "succeeded")
    assert step(end, "release")["data"]["migrations"] == [INDEX_MIGRATION]
    assert step(end, "checklist")["status"] == "skipped"
    assert {d["id"]: d["verdict"] for d in end["dataclips"]} == {"A": "info", "C": "pass"}
    # Acceptance: status shows production at staging's commit; the ledger verifies.
    status = json.loads(cli("status", "--json").stdout)
    by_env = {e["name"]: e for e in status["environments"]}
    assert by_env["production"]["commit"]["sha"] == by_env["staging"]["commit"]["sha"] == head
    verify = cli("ledger", "verify", "--json")
    assert verify.code == 0 and json.loads(verify.stdout)["ok"] is True
    text = world.ledger_path.read_text()
    assert world.sandbox.token not in text and world.database_url(PRODUCTION) not in text


def push_by_hand(world: World, commit: str) -> None:
    """``git push heroku-staging`` outside keycliq (the ledger knows nothing of it)."""
    subprocess.run(
        ["git", "push", "-q", "--force", "heroku-staging", f"{commit}:main"],
        cwd=world.repo,
        check=True,
        capture_output=True,
    )
    release = world.sandbox.engine.app(STAGING).releases[-1]
    release.done.wait()
    assert release.status == "succeeded"


def test_refused_without_any_staging_record(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    push_by_hand(world, world.prov.sample.head)
    before = current(world)
    result = cli(*unchecked(add_user(world)))
    assert result.code == 1, result.output
    assert "refusing to promote" in result.stderr
    assert "the ledger has no deploy of" in result.stderr and "--override" in result.stderr
    assert current(world) == before  # nothing promoted
    end = runs(world, "promote")[-1]
    assert end["outcome"] == "failed" and end["exit_code"] == 1
    assert step(end, "gate")["status"] == "failed"
    assert step(end, "promote")["status"] == "not-run"


def test_refused_when_the_staging_checklist_was_skipped(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    deploy_id = runs(world, "deploy")[-1]["ref"]
    before = current(world)
    result = cli(*unchecked(user), "--json")
    assert result.code == 1
    final = json.loads(result.stdout.splitlines()[-1])
    assert final["event"] == "result" and final["outcome"] == "failed"
    assert final["failed_step"] == "gate" and final["exit_code"] == 1
    assert f"ledger {deploy_id}) did not pass the checklist" in final["error"]
    assert current(world) == before
    assert runs(world, "promote")[-1]["steps"][0]["data"]["staging_record"] == deploy_id


def test_refused_when_production_is_ahead_even_with_override(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    promoted_with_override(world, cli)  # production runs head
    push_by_hand(world, world.prov.sample.baseline)  # someone ships the older commit
    before = current(world)
    result = cli(*unchecked("ckprodscan0000000000001", "--override", "try anyway"))
    assert result.code == 1
    assert (
        "is ahead of staging" in result.stderr and "deploy a commit that contains" in result.stderr
    )
    assert current(world) == before
    assert step(runs(world, "promote")[-1], "gate")["status"] == "failed"


def test_promotion_target_failure(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    world.sandbox.faults.fail_promotion(PRODUCTION, "Couldn't copy the slug to keycliq-production")
    before = current(world)
    result = cli(*unchecked(user, "--override", "e2e"))
    assert result.code == 1
    assert "promotion to keycliq-production failed: Couldn't copy the slug" in result.stderr
    assert current(world) == before
    end = runs(world, "promote")[-1]
    assert end["outcome"] == "failed" and step(end, "promote")["status"] == "failed"
    assert step(end, "promote")["data"]["targets"][0]["status"] == "failed"
    assert step(end, "release")["status"] == "not-run"
    assert "keycliq rollback" not in result.output  # nothing changed: nothing to roll back


def test_production_release_phase_failure(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    world.sandbox.faults.fail_release(PRODUCTION)
    before = current(world)
    result = cli(*unchecked(user, "--override", "e2e"))
    assert result.code == 1
    assert "Release command failed" in result.stderr  # the target's error_message
    assert "P1001: Can't reach database server" in result.stderr  # the output tail
    assert current(world) == before  # the failed release never became current
    end = runs(world, "promote")[-1]
    assert step(end, "promote")["status"] == "succeeded"  # the promotion made its release
    release = step(end, "release")
    assert release["status"] == "failed" and any("P1001" in x for x in release["output_tail"])
    assert step(end, "checklist")["status"] == "not-run"
    assert end["release_version"] == before[0] + 1


def test_failing_production_dataclip_then_auto_rollback(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    head, baseline = world.prov.sample.head, world.prov.sample.baseline
    assert cli(*DEPLOY_UNCHECKED).code == 0
    before, _ = current(world)
    # Check C fails: no user has that id in production.
    result = cli(*unchecked("cknosuchuser00000000000", "--override", "e2e", "--auto-rollback"))
    assert result.code == 1
    assert "Dataclips failed: C" in result.stderr
    assert f"auto-rollback to v{before}" in result.stdout
    assert f"to undo this rollback: keycliq rollback production --to v{before + 1}" in result.stdout
    assert "database migrations are not rolled back" in result.stderr
    assert INDEX_MIGRATION in result.stderr
    version, commit = current(world)
    assert version == before + 2 and commit == baseline  # the rollback release runs v{before}
    promote, rollback = runs(world, "promote")[-1], runs(world, "rollback")[-1]
    assert promote["outcome"] == "failed" and promote["commit"] == head
    assert step(promote, "dataclips")["status"] == "failed"
    assert rollback["details"]["after_promote"] == promote["ref"]
    assert rollback["details"]["rollback"]["from"] == before + 1
    assert rollback["details"]["rollback"]["to"] == before
    assert rollback["commit"] == baseline and rollback["release_version"] == before + 2
    assert step(rollback, "rollback")["status"] == "succeeded"
    # A rollback changes code, not data: check C still fails, and says so.
    assert rollback["outcome"] == "failed" and step(rollback, "dataclips")["status"] == "failed"
    assert cli("ledger", "verify").code == 0


def test_failing_checks_print_the_rollback_command(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli(*DEPLOY_UNCHECKED).code == 0
    before, _ = current(world)
    result = cli(*unchecked("cknosuchuser00000000000", "--override", "e2e"))
    assert result.code == 1
    assert f"keycliq rollback production --to v{before}" in result.stderr
    assert runs(world, "rollback") == []  # without --auto-rollback nothing is rolled back


def test_dry_run_changes_nothing(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli(*DEPLOY_UNCHECKED).code == 0
    records = len(world.ledger_records())
    before = current(world)
    result = cli("promote", "--dry-run")
    assert result.code == 0, result.output
    assert "POST /pipeline-promotions" in result.stdout and "dry run" in result.stdout
    assert "refused: its deploy" in result.stdout  # the gate's verdict, shown in the plan
    assert current(world) == before and len(world.ledger_records()) == records


def test_no_terminal_and_no_confirm_is_exit_2(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    before = current(world)
    answers = ("--answers", "keycliq-answers.yaml")
    result = cli("promote", "--override", "x", *answers)
    assert result.code == 2
    assert "no terminal" in result.stderr and "--confirm keycliq-production" in result.stderr
    wrong = cli("promote", "--confirm", STAGING, *answers)
    assert wrong.code == 2 and "does not match the app keycliq-production" in wrong.stderr
    assert current(world) == before and runs(world, "promote") == []


def test_missing_dataclip_parameter_is_refused_before_promoting(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(*PROMOTE, "--skip", "checklist", "--reason", "x", "--override", "x")
    assert result.code == 2
    assert "needs the parameter userId" in result.stderr and "--param userId" in result.stderr
    assert runs(world, "promote") == []


# -------------------------------------------------------------------------- two factor


def test_two_factor_code_from_the_flag(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    world.sandbox.faults.require_two_factor("/pipeline-promotions", "246810")
    before = current(world)
    refused = cli(*unchecked(user, "--override", "e2e"))
    assert refused.code == 2
    assert "asks for a two-factor code" in refused.stderr and "--two-factor-code" in refused.stderr
    assert current(world) == before
    wrong = cli(*unchecked(user, "--override", "e2e", "--two-factor-code", "111111"))
    assert wrong.code == 3 and "refused the two-factor code" in wrong.stderr
    result = cli(*unchecked(user, "--override", "e2e", "--two-factor-code", "246810"))
    assert result.code == 0, result.output
    assert current(world)[0] == before[0] + 1
    assert [r["outcome"] for r in runs(world, "promote")] == ["failed", "failed", "succeeded"]
    assert "246810" not in world.ledger_path.read_text()


def test_two_factor_and_app_name_typed_in_a_terminal(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    world.sandbox.faults.require_two_factor("/pipeline-promotions", "135790")
    before = current(world)
    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "keycliq_ops",
            "promote",
            "--override",
            "e2e",
            "--skip",
            "checklist",
            "--reason",
            "e2e",
            "--param",
            f"userId={user}",
        ],
        cwd=str(world.repo),
        env={**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120"},
        encoding="utf-8",
        timeout=120,
        dimensions=(40, 120),
    )
    child.expect("Type the app name")
    child.sendline(PRODUCTION)
    child.expect("Two-factor code")
    child.sendline("000000")  # a wrong code: asked again
    child.expect("Two-factor code")
    child.sendline("135790")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert current(world)[0] == before[0] + 1
    end = runs(world, "promote")[-1]
    assert end["outcome"] == "succeeded" and end["override_reason"] == "e2e"


def test_failed_checks_then_resume_does_not_promote_again(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    user = add_user(world)
    assert cli(*DEPLOY_UNCHECKED).code == 0
    failed = cli(*unchecked("cknosuchuser00000000000", "--override", "e2e"))
    assert failed.code == 1
    promoted, commit = current(world)
    assert commit == world.prov.sample.head
    resumed = cli(*unchecked(user, "--override", "e2e", "--resume"))
    assert resumed.code == 0, resumed.output
    assert current(world) == (promoted, commit)  # no second promotion, no new release
    first, second = runs(world, "promote")
    assert second["details"]["resumes"] == first["id"]
    assert [step(second, n)["status"] for n in ("gate", "promote", "release", "dataclips")] == [
        "succeeded",
        "done-before",
        "done-before",
        "succeeded",
    ]
    assert second["outcome"] == "succeeded" and second["release_version"] == promoted
