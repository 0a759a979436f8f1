"""``keycliq checklist run ENV`` against the stand-in: it checks the commit the
environment runs (not the checkout's HEAD), says so, and is recorded in the ledger like
every other action (start and completion records, a report)."""

from __future__ import annotations

import json

from tests.world import World

RUN = ("checklist", "run", "staging", "--answers", "keycliq-answers.yaml")


def _checklist_records(world: World) -> list[dict[str, object]]:
    return [r for r in world.ledger_records() if r["action"] == "checklist"]


def test_it_checks_what_the_environment_runs_and_is_recorded(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    running = world.prov.sample.baseline  # staging runs the baseline; HEAD is one ahead
    head = world.git("rev-parse", "HEAD")
    assert running != head
    done = cli(*RUN, "--json")
    data = json.loads(done.stdout)
    assert data["commit"] == running, data["commit"]
    assert data["commit_source"] == "running"
    assert data["commit_why"].startswith("the commit keycliq-staging runs (release v")
    assert done.code == (0 if data["verdict"] == "passed" else 1), done.output
    start, end = _checklist_records(world)
    assert start["outcome"] == "running" and end["ref"] == start["id"]
    assert end["outcome"] == ("succeeded" if data["verdict"] == "passed" else "failed")
    assert start["commit"] == end["commit"] == running
    assert end["environment"] == "staging" and end["app"] == "keycliq-staging"
    assert isinstance(end["checklist"], dict) and end["checklist"]["verdict"] == data["verdict"]
    details = end["details"]
    assert isinstance(details, dict) and details["commit_source"] == "running"
    assert data["ledger_id"] == start["id"]
    report = world.repo / ".keycliq" / "reports" / f"{start['id']}-{running[:8]}.md"
    assert data["report"] == str(report) and report.is_file()

    text = cli(*RUN)
    assert f"checking {running[:12]}: the commit keycliq-staging runs (release v" in text.stderr
    assert f"ledger: {_checklist_records(world)[-1]['ref']}" in text.stdout


def test_head_only_when_asked_and_said(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    head = world.git("rev-parse", "HEAD")
    done = cli(*RUN, "--commit", "HEAD", "--json")
    data = json.loads(done.stdout)
    assert data["commit"] == head and data["commit_source"] == "head"
    assert data["commit_why"] == "the checkout's HEAD (--commit HEAD)"
    assert _checklist_records(world)[-1]["commit"] == head


def test_an_environment_running_nothing_known_falls_back_to_head(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    app = world.sandbox.engine.app("keycliq-staging")
    app.releases.clear()  # no release: nothing runs
    head = world.git("rev-parse", "HEAD")
    done = cli(*RUN, "--json")
    data = json.loads(done.stdout)
    assert data["commit"] == head and data["commit_source"] == "head"
    assert data["commit_why"] == "the checkout's HEAD (keycliq-staging runs no release yet)"


def test_an_unanswerable_run_is_not_recorded(world: World, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    short = tmp_path / "short.yaml"
    short.write_text("version: 1\nchecklist: staging\nanswers: {}\n")
    done = cli("checklist", "run", "staging", "--answers", str(short))
    assert done.code == 2, done.output
    assert "has no answer for required item(s)" in done.stderr
    assert _checklist_records(world) == []
