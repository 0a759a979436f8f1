"""The ledger's git sync on plain repositories (a bare origin, two clones): divergence
stops with both heads named and changes nothing, a rewritten remote history is named by
id, a Ctrl-C mid-sync leaves both sides whole, a broken remote chain is refused, the git
plumbing tells an unreachable remote from a rejected push, and a gate that cannot reach
the remote says it decided from the local copy."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from keycliq_ops.adapters import git as gitad
from keycliq_ops.ledger import Ledger, Record
from keycliq_ops.ledger.chain import seal, split_line, walk
from keycliq_ops.ledger.sync import LedgerDiverged, LedgerRemote, compare, split_lines

BRANCH = "keycliq-ledger"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def team(tmp_path: Path) -> tuple[Path, Path, Path]:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    clones = []
    for name in ("a", "b"):
        root = tmp_path / name
        git(tmp_path, "init", "--quiet", str(root))
        git(root, "remote", "add", "origin", str(origin))
        clones.append(root)
    return origin, clones[0], clones[1]


def ledger_of(root: Path) -> Ledger:
    return Ledger(root / ".keycliq" / "ledger.jsonl", remote=LedgerRemote(root, "origin"))


def note(ledger: Ledger, n: int = 1) -> list[str]:
    return [
        ledger.append(Record(action="checklist", environment="staging", outcome="succeeded")).id
        for _ in range(n)
    ]


def on_origin(origin: Path) -> bytes:
    return subprocess.run(
        ["git", "show", f"{BRANCH}:ledger.jsonl"], cwd=origin, capture_output=True, check=True
    ).stdout


def force_push(origin: Path, work: Path, data: bytes) -> str:
    """Someone rewrites the branch with a forced push (what keycliq never does)."""
    commit = gitad.commit_file(work, "ledger.jsonl", data, None, "rewritten\n")
    git(work, "push", "--quiet", "--force", "origin", f"{commit}:refs/heads/{BRANCH}")
    return commit


def resealed(lines: list[bytes], change: int) -> bytes:
    """The chain with record ``change`` edited and every hash recomputed (a clean rewrite)."""
    prev = "0" * 64
    out = b""
    for i, raw in enumerate(lines):
        framed = split_line(raw)
        assert framed is not None
        obj = json.loads(framed[0])
        obj["prev"] = prev
        if i == change:
            obj["environment"] = "production"
        line, prev = seal(obj)
        out += line
    return out


def test_records_of_both_clones_are_merged_and_rechained(team: tuple[Path, Path, Path]) -> None:
    origin, a, b = team
    la, lb = ledger_of(a), ledger_of(b)
    first = note(la, 2)
    # B appended while offline from A's records: its first sync re-chains its own on top.
    lb_local = Ledger(lb.path)
    mine = note(lb_local, 2)
    before = [json.loads(x) for x in lb.path.read_bytes().splitlines()]
    result = lb.sync()
    assert result is not None and result.shared
    assert result.taken_in == first and result.rechained == mine and result.published == mine
    after = [json.loads(x) for x in lb.path.read_bytes().splitlines()]
    assert [r["id"] for r in after] == first + mine
    for old, new in zip(before, after[2:], strict=True):  # content kept, prev/hash new
        assert {k: v for k, v in old.items() if k not in ("prev", "hash")} == {
            k: v for k, v in new.items() if k not in ("prev", "hash")
        }
        assert old["hash"] != new["hash"]
    assert lb.path.read_bytes() == on_origin(origin)
    assert walk(iter(split_lines(on_origin(origin))), "origin").ok


def test_a_published_record_that_differs_stops_and_changes_nothing(
    team: tuple[Path, Path, Path],
) -> None:
    origin, a, _ = team
    la = ledger_of(a)
    note(la, 3)
    lines = la.path.read_bytes().splitlines()
    # A's local copy is rewritten cleanly (fresh hashes) after it was published.
    la.path.write_bytes(resealed(lines, 1))
    local_before, remote_before = la.path.read_bytes(), on_origin(origin)
    with pytest.raises(LedgerDiverged) as caught:
        ledger_of(a).sync()
    message = caught.value.message
    assert caught.value.exit_code == 1
    ids = [json.loads(x)["id"] for x in lines]
    assert f"published record {ids[1]} differs" in message
    local_head = json.loads(local_before.splitlines()[-1])["hash"][:12]
    remote_head = json.loads(remote_before.splitlines()[-1])["hash"][:12]
    assert local_head in message and remote_head in message
    assert la.path.read_bytes() == local_before and on_origin(origin) == remote_before


def test_a_rewritten_remote_history_is_refused_and_named_by_verify(
    team: tuple[Path, Path, Path],
) -> None:
    origin, a, b = team
    la = ledger_of(a)
    ids = note(la, 3)
    lines = la.path.read_bytes().splitlines()
    force_push(origin, b, resealed(lines, 2))
    local_before = la.path.read_bytes()
    check = compare(la, LedgerRemote(a, "origin"))
    assert check.reachable and not check.ok
    assert check.rewritten == [ids[2]] and check.differs == [ids[2]]
    with pytest.raises(LedgerDiverged, match="history was rewritten"):
        ledger_of(a).sync()
    assert la.path.read_bytes() == local_before


def test_ctrl_c_during_a_sync_leaves_both_sides_whole(
    team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    origin, a, b = team
    note(ledger_of(a), 2)
    lb = Ledger(ledger_of(b).path)
    note(lb, 2)  # unpublished, to be re-chained onto A's
    remote_before = on_origin(origin)

    def interrupted(*_args: object, **_kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(gitad, "push_branch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ledger_of(b).sync()
    assert on_origin(origin) == remote_before  # the remote is as it was
    assert Ledger(lb.path).verify().ok  # the local file is whole (already re-chained)
    assert not list(lb.path.parent.glob(".*.sync"))  # no temporary file left behind
    monkeypatch.undo()
    result = ledger_of(b).sync()
    assert result is not None and result.shared and len(result.published) == 2
    assert lb.path.read_bytes() == on_origin(origin)


def test_a_remote_chain_that_does_not_verify_is_refused(team: tuple[Path, Path, Path]) -> None:
    origin, a, b = team
    note(ledger_of(a), 2)
    data = on_origin(origin).replace(b'"staging"', b'"staging2"', 1)  # an edit, no re-hash
    git(a, "fetch", "--quiet", "origin", f"{BRANCH}:refs/tmp/x")
    commit = gitad.commit_file(a, "ledger.jsonl", data, git(a, "rev-parse", "refs/tmp/x"), "x\n")
    git(a, "push", "--quiet", "origin", f"{commit}:refs/heads/{BRANCH}")  # a fast-forward
    lb = ledger_of(b)
    from keycliq_ops.ledger import LedgerBroken

    with pytest.raises(LedgerBroken, match="does not verify"):
        lb.sync()
    assert not lb.path.exists()  # nothing was taken from it


def test_the_plumbing_tells_an_unreachable_remote_from_a_rejected_push(
    team: tuple[Path, Path, Path],
) -> None:
    origin, a, b = team
    note(ledger_of(a), 1)
    stale = gitad.commit_file(b, "ledger.jsonl", b"x\n", None, "stale\n")
    with pytest.raises(gitad.PushRejected):
        gitad.push_branch(b, "origin", stale, BRANCH)
    origin.rename(origin.with_name("moved.git"))
    with pytest.raises(gitad.RemoteUnreachable):
        gitad.push_branch(b, "origin", stale, BRANCH)
    with pytest.raises(gitad.RemoteUnreachable):
        gitad.fetch_branch(b, "origin", BRANCH, "refs/keycliq-ledger/test")
    assert git(b, "status", "--porcelain") == ""  # no work tree or index was touched


def test_an_offline_gate_says_it_decided_from_the_local_copy(
    team: tuple[Path, Path, Path],
) -> None:
    from keycliq_ops.release.promote import judge_staging_record

    origin, a, _ = team
    la = ledger_of(a)
    start = la.begin("deploy", "staging", app="keycliq-staging", commit="c" * 40)
    la.complete(start, "succeeded", 0)
    origin.rename(origin.with_name("moved.git"))
    offline = ledger_of(a)
    finding = judge_staging_record(offline, "staging", "c" * 40)
    assert "decided from the local copy of the ledger (origin unreachable" in finding.reason
    assert finding.record_id == start.id


def test_records_not_taken_in_yet_are_not_missing(team: tuple[Path, Path, Path]) -> None:
    _, a, b = team
    theirs = note(ledger_of(a), 2)
    mine = note(Ledger(ledger_of(b).path), 1)  # B has never synced
    check = compare(Ledger(ledger_of(b).path), LedgerRemote(b, "origin"))
    assert check.ok and check.reachable
    assert check.not_taken_in == theirs and check.missing_locally == []
    assert check.unpublished == mine


CONFIG = """\
version: 1
pipeline: keycliq
environments:
  staging: {app: keycliq-staging, stage: staging}
"""


def test_ledger_sync_on_the_command_line(
    team: tuple[Path, Path, Path],
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    origin, a, _ = team
    (a / "keycliq.yaml").write_text(CONFIG)
    monkeypatch.chdir(a)
    ids = note(Ledger(a / ".keycliq" / "ledger.jsonl"), 2)  # recorded before sharing
    shared = cli("ledger", "sync")
    assert shared.code == 0, shared.output
    assert "shared with origin/keycliq-ledger: 2 records (2 published)" in shared.stdout
    assert [json.loads(x)["id"] for x in split_lines(on_origin(origin))] == ids
    again = json.loads(cli("ledger", "sync", "--json").stdout)
    assert again["shared"] is True and again["published"] == [] and again["taken_in"] == []
    # A clean local rewrite of a published record: exit 1, both heads named, nothing changed.
    path = a / ".keycliq" / "ledger.jsonl"
    path.write_bytes(resealed(path.read_bytes().splitlines(), 0))
    before = path.read_bytes()
    diverged = cli("ledger", "sync")
    assert diverged.code == 1
    assert f"published record {ids[0]} differs" in diverged.stderr
    assert "local head" in diverged.stderr and "remote head" in diverged.stderr
    assert path.read_bytes() == before
    # Local only: nothing to sync is a usage error.
    (a / "keycliq.yaml").write_text(CONFIG + "ledger: {remote: none}\n")
    local = cli("ledger", "sync")
    assert local.code == 2 and "local only" in local.stderr
