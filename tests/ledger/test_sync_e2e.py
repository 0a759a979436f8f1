"""One ledger for the team, end to end: real git (a bare ``origin``, two clones A and B of
the sample app repo), the Heroku stand-in over loopback, the real CLI.

- A deploys staging; B, a fresh clone with no ledger of its own, promotes with no
  override: its gate names A's deploy record; origin's ledger branch then verifies and
  holds both.
- A and B append 10 records each in parallel processes: origin ends with all 20, the
  chain verifies, and the branch only ever moved forward (nothing was forced).
- Origin moved away: a deploy records locally, says that it is not shared, and exits with
  the deploy's own code; origin back: ``ledger sync`` publishes it and B sees it.
- Two records cut off the end of A's file after a sync: ``ledger verify`` names both.
- A secret rotation's records name the Heroku account, and reach origin too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from keycliq_ops.ledger.chain import walk
from tests.world import World

BRANCH = "keycliq-ledger"
PRODUCTION = "keycliq-production"
DEPLOY = ("deploy", "staging", "--yes", "--answers", "keycliq-answers.yaml", "--json")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def clone(world: World, dest: Path) -> Path:
    subprocess.run(
        ["git", "clone", "--quiet", str(world.prov.origin), str(dest)],
        check=True,
        capture_output=True,
    )
    return dest


def branch_lines(origin: Path) -> list[bytes]:
    data = subprocess.run(
        ["git", "show", f"{BRANCH}:ledger.jsonl"], cwd=origin, capture_output=True, check=True
    ).stdout
    return data.splitlines()


def branch_verifies(origin: Path) -> int:
    report = walk(iter(branch_lines(origin)), "origin")
    assert report.ok, report.problem
    return report.records


def result_of(stdout: str) -> dict[str, Any]:
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert events and events[-1]["event"] == "result", stdout[-2000:]
    last: dict[str, Any] = events[-1]
    return last


def ids_in(path: Path) -> list[str]:
    return [json.loads(x)["id"] for x in path.read_text().splitlines() if x.strip()]


def test_a_deploys_and_b_promotes_from_the_shared_ledger(
    world: World,
    tmp_path: Path,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deployed = cli(*DEPLOY)
    assert deployed.code == 0, deployed.output
    a_run = result_of(deployed.stdout)
    assert a_run["ledger_shared"] is True and a_run["ledger_id"] in ids_in(world.ledger_path)
    assert branch_verifies(world.prov.origin) == 2  # the deploy's start and completion

    b = clone(world, tmp_path / "B")
    assert not (b / ".keycliq" / "ledger.jsonl").exists()
    monkeypatch.chdir(b)
    promoted = cli(*("promote", "--confirm", PRODUCTION), "--yes", "--answers",
                   "keycliq-answers.yaml", "--json")  # fmt: skip
    assert promoted.code == 0, promoted.output
    b_run = result_of(promoted.stdout)
    gate = next(s for s in b_run["steps"] if s["name"] == "gate")
    assert gate["data"]["staging_record"] == a_run["ledger_id"]
    assert a_run["ledger_id"] in gate["detail"] and "local copy" not in gate["detail"]
    assert b_run.get("override_reason") is None and b_run.get("override") is None
    assert b_run["ledger_shared"] is True
    # The branch on origin verifies and holds both actions; B's file is that branch.
    assert branch_verifies(world.prov.origin) == 4
    on_origin = [json.loads(x)["id"] for x in branch_lines(world.prov.origin)]
    assert a_run["ledger_id"] in on_origin and b_run["ledger_id"] in on_origin
    assert ids_in(b / ".keycliq" / "ledger.jsonl") == on_origin
    # The id B printed is the id `ledger list` shows; the records name their actor.
    listed = json.loads(cli("ledger", "list", "--json").stdout)
    assert [r["id"] for r in listed[:2]] == [b_run["ledger_id"], a_run["ledger_id"]]
    b_records = [json.loads(x) for x in (b / ".keycliq" / "ledger.jsonl").read_text().splitlines()]
    for record in b_records:
        assert record["actor"].get("heroku_email"), record
        assert "override_reason" not in record
    # A takes in B's promotion at its next read.
    monkeypatch.chdir(world.repo)
    seen = json.loads(cli("ledger", "list", "--json").stdout)
    assert seen[0]["id"] == b_run["ledger_id"]


APPENDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from keycliq_ops.config import load_config
    from keycliq_ops.ledger import Ledger, Record
    from keycliq_ops.ledger.sync import remote_for

    root = Path(sys.argv[1])
    loaded = load_config(root / "keycliq.yaml")
    ledger = Ledger(loaded.ledger_path, remote=remote_for(loaded, root))
    for i in range(int(sys.argv[2])):
        ledger.append(Record(action="checklist", environment="staging", outcome="succeeded",
                             details={"clone": root.name, "n": i}))
        assert ledger.last_sync is not None and ledger.last_sync.shared, ledger.last_sync
    print("done", root.name)
    """
)


def test_two_clones_appending_at_once_both_land(world: World, tmp_path: Path) -> None:
    a, b = world.repo, clone(world, tmp_path / "B")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(root), "10"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for root in (a, b)
    ]
    for proc in procs:
        _, errs = proc.communicate(timeout=300)
        assert proc.returncode == 0, errs
    lines = branch_lines(world.prov.origin)
    assert branch_verifies(world.prov.origin) == 20
    clones = sorted(json.loads(x)["details"]["clone"] for x in lines)
    assert clones == ["B"] * 10 + ["keycliq"] * 10
    assert len({json.loads(x)["id"] for x in lines}) == 20
    # Nothing was forced: every commit's file extends its parent's, one line at a time or
    # more, and the history is one straight line.
    commits = git(world.prov.origin, "rev-list", "--parents", BRANCH).splitlines()
    assert all(len(c.split()) <= 2 for c in commits)
    previous: list[bytes] = []
    for sha in reversed([c.split()[0] for c in commits]):
        now = subprocess.run(
            ["git", "show", f"{sha}:ledger.jsonl"],
            cwd=world.prov.origin,
            capture_output=True,
            check=True,
        ).stdout.splitlines()
        assert now[: len(previous)] == previous and len(now) > len(previous)
        previous = now
    # Each clone's own copy ends up as the branch (after one more sync).
    for root in (a, b):
        subprocess.run(
            [sys.executable, "-m", "keycliq_ops", "ledger", "sync"],
            cwd=root,
            check=True,
            capture_output=True,
        )
        assert (root / ".keycliq" / "ledger.jsonl").read_bytes().splitlines() == lines


def test_offline_deploy_records_locally_and_sync_publishes_later(
    world: World,
    tmp_path: Path,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    b = clone(world, tmp_path / "B")
    origin = world.prov.origin
    away = origin.with_name(origin.name + ".away")
    origin.rename(away)
    try:
        deployed = cli(*DEPLOY)
        assert deployed.code == 0, deployed.output  # the deploy's own exit code
        run = result_of(deployed.stdout)
        assert run["outcome"] == "succeeded" and run["ledger_shared"] is False
        notes = [json.loads(x) for x in deployed.stdout.splitlines() if '"note"' in x]
        said = " ".join(n.get("text", "") for n in notes if n["event"] == "note")
        assert "ledger not shared yet" in said and "origin unreachable" in said
        assert any("not shared yet" in w for w in run["warnings"])
        assert run["ledger_id"] in ids_in(world.ledger_path)
        offline = cli("ledger", "sync", "--json")
        assert offline.code == 3
        assert json.loads(offline.stdout)["unpublished"] == ids_in(world.ledger_path)
    finally:
        away.rename(origin)
    synced = cli("ledger", "sync", "--json")
    assert synced.code == 0, synced.output
    assert json.loads(synced.stdout)["shared"] is True
    assert branch_verifies(origin) == 2
    monkeypatch.chdir(b)
    listed = json.loads(cli("ledger", "list", "--json").stdout)
    assert [r["id"] for r in listed] == [run["ledger_id"]]


def test_verify_names_published_records_cut_off_the_local_file(
    world: World,
    cli: Any,
) -> None:
    from keycliq_ops.config import load_config
    from keycliq_ops.ledger import Ledger, Record
    from keycliq_ops.ledger.sync import remote_for

    assert cli(*DEPLOY).code == 0
    loaded = load_config(world.repo / "keycliq.yaml")
    ledger = Ledger(loaded.ledger_path, remote=remote_for(loaded, world.repo))
    for _ in range(2):
        ledger.append(Record(action="checklist", environment="staging", outcome="succeeded"))
    assert cli("ledger", "sync").code == 0
    lines = world.ledger_path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 4 and branch_verifies(world.prov.origin) == 4
    cut = [json.loads(x)["id"] for x in lines[-2:]]
    world.ledger_path.write_bytes(b"".join(lines[:-2]))
    verify = cli("ledger", "verify", "--json")
    assert verify.code == 1, verify.output
    report = json.loads(verify.stdout)
    assert report["ok"] is False and report["records"] == len(lines) - 2  # the chain itself
    assert report["remote"]["missing_locally"] == cut
    text = cli("ledger", "verify")
    assert text.code == 1 and all(rid in text.stdout for rid in cut)
    assert "missing" in text.stdout
    # The local file was not changed by verify; a sync takes the two records back in.
    assert len(world.ledger_path.read_bytes().splitlines()) == len(lines) - 2
    assert cli("ledger", "sync").code == 0
    assert world.ledger_path.read_bytes().splitlines(keepends=True) == lines


def test_a_secret_rotation_names_its_actor_and_is_shared(
    world: World,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    rotated = cli(
        "secrets", "rotate", "SESSION_SECRET", "--env", "staging",
        "--confirm", "keycliq-staging", "--json",
    )  # fmt: skip
    assert rotated.code == 0, rotated.output
    start, end = world.ledger_records()[-2:]
    assert start["action"] == end["action"] == "secret-rotation"
    emails = set()
    for record in (start, end):  # both name the Heroku account (the start used to have none)
        actor = record["actor"]
        assert isinstance(actor, dict) and actor.get("heroku_email"), record
        emails.add(actor["heroku_email"])
    assert len(emails) == 1
    on_origin = [json.loads(x)["id"] for x in branch_lines(world.prov.origin)]
    assert on_origin[-2:] == [start["id"], end["id"]]


def test_the_report_marks_releases_from_the_shared_ledger(
    world: World, tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B, a fresh clone, charts A's deploy: the report's release markers are read from the
    team's ledger (synced first), not only from B's empty local file."""
    deployed = cli(*DEPLOY)
    assert deployed.code == 0, deployed.output
    a_run = result_of(deployed.stdout)
    b = clone(world, tmp_path / "B")
    monkeypatch.chdir(b)
    report = cli("report", "staging", "--json", "--out", str(tmp_path / "health.html"))
    assert report.code in (0, 1), report.output  # 1: a threshold breached, still a report
    data = json.loads(report.stdout)
    marked = [m["ledger_id"] for m in data["markers"]]
    assert a_run["ledger_id"] in marked, data["markers"]
