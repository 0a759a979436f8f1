"""What a promotion changes, shown before it is confirmed, end to end on the stand-in: the
commits production gains, the migrations it has not applied, the dependency versions that
change (package.json and package-lock.json of both commits) with staging's time on them;
and check F after the migrations changed production's schema."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tests.world import World

PRODUCTION = "keycliq-production"
DEPLOY_CLEAN = ("deploy", "staging", "--yes", "--answers", "keycliq-answers.yaml")
PROMOTE = ("promote", "--confirm", PRODUCTION, "--yes", "--answers", "keycliq-answers.yaml")
LABEL = "20991231000002_key_label"
LABEL_SQL = '-- AlterTable\nALTER TABLE "keys" ADD COLUMN "label" TEXT;\n'


def completed(world: World, action: str) -> list[dict[str, Any]]:
    return [
        r for r in world.ledger_records() if r["action"] == action and r["outcome"] != "running"
    ]


def step(record: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in record["steps"] if s["name"] == name)


def test_the_preview_lists_bumped_dependencies_with_staging_s_time(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    # Production runs a commit with a lock file (promoted once) ...
    first = world.commit_packages(
        {"prisma": "6.15.0", "@remix-run/node": "2.17.0"},
        transitive={"@prisma/engines": "6.15.0", "cookie": "0.6.0"},
        message="Lock the dependencies",
    )
    assert cli(*DEPLOY_CLEAN).code == 0
    promoted = cli(*PROMOTE)
    assert promoted.code == 0, promoted.output
    # ... the schema changed in production: check F ran after the migration (F is not in
    # production's Dataclip gate, A and C)
    check_f = step(completed(world, "promote")[-1], "migrations")["data"]["check_f"]
    assert check_f == {
        "ran": True,
        "verdict": "passed",
        "after": ["20250302120000_add_query_indexes"],
    }
    # ... then staging gets Prisma and Remix upgrades and a migration.
    schema = world.repo / "prisma" / "schema.prisma"
    text = schema.read_text()
    schema.write_text(
        text.replace("  notes         String?\n", "  notes         String?\n  label String?\n", 1)
    )
    world.commit_migration(LABEL, LABEL_SQL, "Key labels")
    second = world.commit_packages(
        {"prisma": "6.16.2", "@remix-run/node": "2.17.1"},
        transitive={"@prisma/engines": "6.16.2", "cookie": "0.6.0"},
        message="Upgrade Prisma and Remix",
    )
    redeployed = cli(*DEPLOY_CLEAN)
    assert redeployed.code == 0, redeployed.stderr[-3000:]
    staged = completed(world, "deploy")[-1]

    dry = cli("promote", "--dry-run")
    assert dry.code == 0, dry.output
    shown = dry.output
    assert "prisma 6.15.0 → 6.16.2 (direct), on staging for " in shown
    assert "@remix-run/node 2.17.0 → 2.17.1 (direct), on staging for " in shown
    assert "@prisma/engines 6.15.0 → 6.16.2 (transitive)" in shown
    assert "cookie" not in shown  # unchanged
    assert "2 direct, 1 transitive" in shown
    assert "2 commit(s)" in shown and second[:8] in shown
    assert f"1 migration(s) production has not applied\n    {LABEL}" in shown
    assert "nothing was changed" in shown

    as_json = json.loads(cli("promote", "--dry-run", "--json").stdout)
    preview = as_json["preview"]
    assert preview["production_commit"] == first and preview["commit"] == second
    assert preview["pending_migrations"] == [LABEL]
    deps = {d["name"]: d for d in preview["dependencies"]}
    assert set(deps) == {"prisma", "@remix-run/node", "@prisma/engines"}
    prisma = deps["prisma"]
    assert (prisma["old"], prisma["new"], prisma["kind"]) == ("6.15.0", "6.16.2", "direct")
    assert (prisma["spec_old"], prisma["spec_new"]) == ("^6.15.0", "^6.16.2")
    # staging has run 6.16.2 since the deploy of the second commit (not the first's)
    since = datetime.fromisoformat(prisma["staging_since"])
    before = datetime.fromisoformat(completed(world, "deploy")[0]["ts"])
    assert before < since <= datetime.fromisoformat(staged["ts"])

    result = cli(*PROMOTE, "--json")
    assert result.code == 0, result.output
    end = completed(world, "promote")[-1]
    recorded = end["details"]["promotion_preview"]
    assert {d["name"] for d in recorded["dependencies"]} == set(deps)
    assert recorded["pending_migrations"] == [LABEL]
    report = (world.repo / json.loads(result.stdout.splitlines()[-1])["report"]).read_text()
    assert "promotion\\_preview" in report and "6.16.2" in report
