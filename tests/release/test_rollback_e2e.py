"""``keycliq rollback`` end to end against the stand-in: to a given version with the
production checklist walked from the answers file, its undo, the default target, the
migrations warning, resume, and the refusals. Each asserts exit code, output and ledger."""

from __future__ import annotations

import json
import re

from tests.release.test_promote_e2e import (
    INDEX_MIGRATION,
    PRODUCTION,
    current,
    promoted_with_override,
    runs,
    step,
)
from tests.world import World

CHECKED = ("--confirm", PRODUCTION, "--yes", "--answers", "keycliq-answers.yaml")


def production_commit(cli) -> str:  # type: ignore[no-untyped-def]
    status = json.loads(cli("status", "--json").stdout)
    return next(e for e in status["environments"] if e["name"] == "production")["commit"]["sha"]


def test_rollback_to_a_given_version_then_undo(both_worlds: World, cli) -> None:  # type: ignore[no-untyped-def]
    world = both_worlds  # Cedar and Fir (a Fir release has no slug: its image is the code)
    head, baseline = world.prov.sample.head, world.prov.sample.baseline
    promoted_with_override(world, cli)
    promoted, _ = current(world)
    target = promoted - 1  # what ran before the promotion: the baseline
    result = cli("rollback", "production", "--to", f"v{target}", *CHECKED)
    assert result.code == 0, result.output
    undo = f"keycliq rollback production --to v{promoted}"
    assert f"to undo this rollback: {undo}" in result.stdout
    assert "database migrations are not rolled back" in result.stderr
    assert INDEX_MIGRATION in result.stderr  # the promotion's release phase ran it
    for title in ("Rollback", "Release", "Checklist", "Dataclip gate"):
        assert title in result.stdout
    version, commit = current(world)
    assert version == promoted + 1 and commit == baseline
    assert production_commit(cli) == baseline
    end = runs(world, "rollback")[-1]
    assert end["outcome"] == "succeeded" and end["commit"] == baseline
    assert end["release_version"] == version
    target_row = world.sandbox.engine.app(PRODUCTION).releases[target - 1]
    assert target_row.slug is not None
    fir = world.sandbox.generation == "fir"
    # The ledger names what it returned to: the slug (Cedar) or the OCI image (Fir).
    code = {
        "slug_id": None if fir else target_row.slug.id,
        "image_id": target_row.slug.image_id if fir else None,
    }
    assert end["details"]["rollback"] == {
        "from": promoted,
        "to": target,
        "chosen_by": "--to",
        "migrations_not_rolled_back": [INDEX_MIGRATION],
        **code,
    }
    assert step(end, "rollback")["data"]["to_version"] == target
    assert {k: step(end, "rollback")["data"][k] for k in code} == code
    assert end["checklist"]["verdict"] == "passed"
    assert {d["id"] for d in end["dataclips"]} == {"A", "C"}
    assert any("not rolled back" in w for w in end["details"]["warnings"])

    # The printed undo command, as printed, returns production to the promoted code.
    again = cli(*re.sub(r"^keycliq ", "", undo).split(), *CHECKED)
    assert again.code == 0, again.output
    assert current(world) == (version + 1, head)
    assert production_commit(cli) == head
    last = runs(world, "rollback")[-1]
    assert last["details"]["rollback"]["from"] == version
    assert last["details"]["rollback"]["to"] == promoted
    assert f"keycliq rollback production --to v{version}" in again.stdout
    verify = cli("ledger", "verify", "--json")
    assert verify.code == 0 and json.loads(verify.stdout)["ok"] is True


def test_default_target_is_the_newest_release_the_ledger_calls_good(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    promoted_with_override(world, cli)
    good, _ = current(world)
    engine = world.sandbox.engine
    app = engine.app(PRODUCTION)
    for value in ("on", "off"):  # two releases made outside keycliq
        engine.set_config(app, {"FEATURE_X": value})
        app.releases[-1].done.wait()
    now, _ = current(world)
    assert now == good + 2
    plan = cli("rollback", "production", "--dry-run", "--json")
    assert plan.code == 0
    header = json.loads(plan.stdout)["header"]
    assert f"from v{now} to v{good}" in header and "ledger record" in header
    result = cli("rollback", "production", *CHECKED)
    assert result.code == 0, result.output
    end = runs(world, "rollback")[-1]
    assert end["details"]["rollback"]["to"] == good
    assert end["details"]["rollback"]["chosen_by"] == "ledger"
    assert current(world) == (now + 1, world.prov.sample.head)


def test_without_a_ledger_record_the_previous_release_is_the_default(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    engine = world.sandbox.engine
    before, commit = current(world)
    engine.set_config(engine.app(PRODUCTION), {"FEATURE_X": "on"})
    engine.app(PRODUCTION).releases[-1].done.wait()
    result = cli("rollback", "production", "--dry-run")
    assert result.code == 0
    said = " ".join(result.output.split())  # as read, whatever the line wrapping
    assert f"from v{before + 1} to v{before}" in said and "the previous release" in said
    assert f"does not know which migrations ran since v{before}" in said
    assert current(world) == (before + 1, commit)  # a dry run changes nothing
    assert runs(world, "rollback") == []


def test_failed_checks_then_resume_reuses_the_rollback_release(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    user = promoted_with_override(world, cli)
    promoted, _ = current(world)
    skip = ("--skip", "checklist", "--reason", "e2e case", "--confirm", PRODUCTION)
    failed = cli("rollback", "production", *skip, "--param", "userId=cknosuchuser00000000000")
    assert failed.code == 1
    assert "Dataclips failed: C" in failed.stderr
    assert f"to undo this rollback: keycliq rollback production --to v{promoted}" in failed.stdout
    made, _ = current(world)
    assert made == promoted + 1
    resumed = cli("rollback", "production", "--resume", *skip, "--param", f"userId={user}")
    assert resumed.code == 0, resumed.output
    assert current(world)[0] == made  # no second rollback release
    first, second = runs(world, "rollback")
    assert first["outcome"] == "failed" and second["outcome"] == "succeeded"
    assert second["details"]["resumes"] == first["id"]
    assert step(second, "rollback")["status"] == "done-before"
    assert second["release_version"] == made


ANSWERS = ("--answers", "keycliq-answers.yaml")


def test_refusals_change_nothing(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    promoted_with_override(world, cli)
    before, _ = current(world)
    cases = [
        (
            ("rollback", "production", "--to", f"v{before}", "--confirm", PRODUCTION),
            2,
            "current release: nothing to roll back",
        ),
        (
            ("rollback", "production", "--to", "v999", "--confirm", PRODUCTION),
            2,
            "has no release v999",
        ),
        (
            ("rollback", "production", "--to", "yesterday", "--confirm", PRODUCTION),
            2,
            "is not a release version",
        ),
        (("rollback", "production", "--to", "v1", "--confirm", PRODUCTION), 1, "has no code"),
        (("rollback", "production", *ANSWERS), 2, "--confirm keycliq-production"),
        (
            ("rollback", "production", "--confirm", "keycliq-staging", *ANSWERS),
            2,
            "does not match the app",
        ),
        (("rollback", "production", "--confirm", PRODUCTION), 2, "needs a person"),
        (
            (
                "rollback",
                "production",
                "--confirm",
                PRODUCTION,
                "--skip",
                "checklist",
                "--reason",
                "x",
            ),
            2,
            "needs the parameter userId",
        ),
        (("rollback", "nowhere"), 2, "unknown environment"),
    ]
    for args, code, text in cases:
        result = cli(*args)
        assert result.code == code, (args, result.output)
        assert text in result.stderr, (args, result.stderr)
    assert current(world)[0] == before
    assert runs(world, "rollback") == []
