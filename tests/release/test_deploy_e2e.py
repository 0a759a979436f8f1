"""``keycliq deploy staging`` end to end against the stand-in (real git, HTTP, Postgres)."""

from __future__ import annotations

import json

import psycopg

from tests.world import World

DEPLOY = ("deploy", "staging", "--yes", "--answers", "keycliq-answers.yaml")


def index_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select count(*) from pg_indexes where schemaname='public' and indexname like '%_idx'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_clean_deploy(both_worlds: World, cli) -> None:  # type: ignore[no-untyped-def]
    world = both_worlds  # Cedar and Fir
    assert index_count(world.database_url()) == 0
    result = cli(*DEPLOY)
    assert result.code == 0, result.output
    # The release phase migrated the staging database: the 7 indexes now exist.
    assert index_count(world.database_url()) == 7
    assert index_count(world.database_url("keycliq-production")) == 0
    out = result.stdout
    for title in (
        "Preflight",
        "Tests",
        "Push",
        "Build",
        "Release",
        "Migrations",
        "Checklist",
        "Dataclip gate",
    ):
        assert title in out
    start, end = world.ledger_records()[-2:]
    assert start["outcome"] == "running" and end["outcome"] == "succeeded"
    assert end["ref"] == start["id"]
    assert end["commit"] == world.prov.sample.head
    assert end["release_version"] and end["build_id"]
    assert {d["id"] for d in end["dataclips"]} == {"E1", "E2", "E3", "E4", "F", "G", "H"}  # type: ignore[union-attr]
    reports = list((world.repo / ".keycliq" / "reports").glob("*.md"))
    assert len(reports) == 1 and world.prov.sample.head[:8] in reports[0].name
    text = reports[0].read_text()
    assert world.sandbox.token not in text
    assert world.sandbox.token not in world.ledger_path.read_text()
    assert world.database_url() not in world.ledger_path.read_text()


def test_deploy_json_events(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(*DEPLOY, "--json")
    assert result.code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "result" and "summary" in kinds and "start" in kinds
    final = events[-1]
    assert final["outcome"] == "succeeded" and final["exit_code"] == 0
    assert final["ledger_id"] and final["commit"] == world.prov.sample.head
