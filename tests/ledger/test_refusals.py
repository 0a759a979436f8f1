"""Issue 14: the ledger refuses, in one line and with the right exit code, to be decided
from or written to when it does not verify (finding 2), is not a ledger (finding 12), or
the system refuses (finding 10: read-only location, disk full, `--since` overflow, a
deeply nested line)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keycliq_ops.ledger import (
    Ledger,
    LedgerBroken,
    LedgerIOError,
    NotALedger,
    StoredRecord,
    chain,
)
from keycliq_ops.ledger.chain import GENESIS, canonical, seal
from keycliq_ops.release.promote import judge_staging_record

from .helpers import deploy, hand_made, lines

COMMIT = "3f2a9c1d" * 5


def passed_gates_then_failed(ledger: Ledger) -> StoredRecord:
    """A staging deploy whose checklist and Dataclips passed and whose release failed."""
    start = ledger.begin("deploy", "staging", app="keycliq-staging", commit=COMMIT)
    return ledger.complete(
        start,
        "failed",
        1,
        steps=[
            {"name": "checklist", "status": "succeeded"},
            {"name": "dataclips", "status": "succeeded"},
            {"name": "release", "status": "failed", "detail": "release phase exited 1"},
        ],
        checklist={"checklist": "staging", "verdict": "passed", "items": []},
        dataclips=[{"id": "E1", "verdict": "pass", "numbers": {"rows": 0}}],
    )


def edit(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) == 1, old
    path.write_bytes(data.replace(old, new))


# -- finding 2: decisions and appends verify first ------------------------------------------


def test_the_promote_gate_refuses_a_failed_deploy_edited_to_succeeded(ledger: Ledger) -> None:
    passed_gates_then_failed(ledger)
    assert not judge_staging_record(ledger, "staging", COMMIT).ok
    edit(ledger.path, b'"outcome":"failed"', b'"outcome":"succeeded"')
    assert not ledger.verify().ok
    with pytest.raises(LedgerBroken) as caught:
        judge_staging_record(ledger, "staging", COMMIT)
    assert caught.value.exit_code == 1
    assert f"{ledger.path}:2: edited: " in caught.value.message
    assert "\n" not in caught.value.message


def test_a_line_without_its_hash_is_refused(ledger: Ledger) -> None:
    deploy(ledger)
    rows = lines(ledger.path)
    unsealed = json.loads(rows[1])
    del unsealed["hash"]
    ledger.path.write_bytes(rows[0] + json.dumps(unsealed).encode() + b"\n")
    with pytest.raises(LedgerBroken, match=r"ledger.jsonl:2: not-a-record: .*no trailing hash"):
        list(ledger.iter(reverse=True))


def test_a_record_reformatted_with_its_hash_kept_is_refused(ledger: Ledger) -> None:
    deploy(ledger)
    rows = lines(ledger.path)
    spaced = json.dumps(json.loads(rows[1]), indent=None)  # ", " and ": " separators
    ledger.path.write_bytes(rows[0] + spaced.encode() + b"\n")
    for read in (
        lambda: list(ledger.iter()),
        lambda: ledger.latest(5),
        lambda: ledger.run(json.loads(rows[0])["id"]),
    ):
        with pytest.raises(LedgerBroken, match=r"ledger.jsonl:2: "):
            read()


def test_no_append_onto_a_broken_chain(ledger: Ledger) -> None:
    start, _ = deploy(ledger)
    edit(ledger.path, b'"exit_code":0', b'"exit_code":7')
    before = ledger.path.read_bytes()
    with pytest.raises(LedgerBroken, match=r"ledger.jsonl:2: edited") as caught:
        ledger.begin("deploy", "staging")
    assert "nothing was recorded, and the deploy of staging did not start" in str(caught.value)
    with pytest.raises(LedgerBroken):
        ledger.complete(start, "succeeded", 0)
    assert ledger.path.read_bytes() == before


def test_a_removed_middle_record_stops_reads_and_appends(ledger: Ledger) -> None:
    for env in ("staging", "production", "staging"):
        deploy(ledger, env)
    rows = lines(ledger.path)
    ledger.path.write_bytes(b"".join(rows[:2] + rows[3:]))
    with pytest.raises(LedgerBroken, match=r"ledger.jsonl:3: chain-broken"):
        ledger.find(json.loads(rows[5])["id"])
    with pytest.raises(LedgerBroken):
        ledger.begin("rollback", "production")


def test_reads_after_appends_do_not_walk_the_chain_again(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(ledger)
    walks: list[str] = []
    real_walk = chain.walk

    def counting(lines: Iterator[bytes], path: str):  # type: ignore[no-untyped-def]
        walks.append(path)
        return real_walk(lines, path)

    monkeypatch.setattr("keycliq_ops.ledger.store.walk", counting)
    for _ in range(3):
        deploy(ledger)
        assert len(ledger.latest(2)) == 2
        assert len(list(ledger.iter(reverse=True))) >= 4
    assert walks == []  # every append proved its own line onto the proved prefix
    ledger.verified_path.unlink()
    assert len(list(ledger.iter())) == 8
    assert len(walks) == 1  # no record: one full walk, then recorded again
    assert ledger.find(next(iter(ledger.iter())).id) is not None
    assert len(walks) == 1


def test_an_edit_after_the_last_proof_is_seen_even_when_the_size_is_kept(
    ledger: Ledger,
) -> None:
    deploy(ledger)
    ledger.begin("rollback", "production")
    proved = json.loads(ledger.verified_path.read_text())
    # Edit once the file's clock has moved past the proof (timestamps are coarse).
    while time.time_ns() < proved["stamp"]["ctime_ns"] + 50_000_000:
        time.sleep(0.01)
    edit(ledger.path, b'"release_version":42', b'"release_version":43')  # line 2, same size
    assert ledger.path.stat().st_size == proved["stamp"]["size"]
    with pytest.raises(LedgerBroken, match=r"ledger.jsonl:2: edited"):
        ledger.latest(5)


def test_an_edit_of_the_last_record_keeping_its_size_and_hash_is_seen(ledger: Ledger) -> None:
    deploy(ledger)
    edit(ledger.path, b'"release_version":42', b'"release_version":43')  # the last line
    with pytest.raises(LedgerBroken, match=r"ledger.jsonl:2: edited"):
        list(ledger.iter())


def test_a_forged_proof_record_does_not_hide_an_edit(ledger: Ledger) -> None:
    deploy(ledger)
    edit(ledger.path, b'"exit_code":0', b'"exit_code":12')
    ledger.verified_path.write_text('{"stamp": {"dev": 1}, "end": "x"}\n')
    with pytest.raises(LedgerBroken):
        ledger.latest(1)


def test_cli_list_and_show_refuse_a_broken_chain_in_one_line(cli, ledger_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger = Ledger(ledger_path)
    start, _ = deploy(ledger)
    edit(ledger_path, b'"outcome":"succeeded"', b'"outcome":"failed"')
    os.environ["KEYCLIQ_LEDGER"] = str(ledger_path)
    try:
        for args in (["ledger", "list"], ["ledger", "show", start.id]):
            result = cli(*args)
            assert result.code == 1, result
            assert f"{ledger_path}:2: edited" in result.stderr
            assert "Traceback" not in result.output
        assert cli("ledger", "verify").code == 1
    finally:
        del os.environ["KEYCLIQ_LEDGER"]


# -- finding 12: a file that is not a ledger is never modified ------------------------------


NOTES = b"# my shell notes\nexport PATH=$HOME/bin:$PATH\nthe last line, no newline"


@pytest.mark.parametrize("through_symlink", [False, True])
def test_a_file_that_is_not_a_ledger_is_refused_untouched(
    tmp_path: Path, through_symlink: bool
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(NOTES)
    path = notes
    if through_symlink:
        path = tmp_path / "repo" / ".keycliq" / "ledger.jsonl"
        path.parent.mkdir(parents=True)
        path.symlink_to(notes)
    ledger = Ledger(path)
    for call in (
        lambda: ledger.begin("deploy", "staging"),
        lambda: list(ledger.iter()),
        lambda: ledger.latest(3),
    ):
        with pytest.raises(NotALedger) as caught:
            call()
        assert caught.value.exit_code == 2
        assert str(path) in caught.value.message and "left untouched" in caught.value.message
        if through_symlink:
            assert f"a symlink to {notes}" in caught.value.message
    assert notes.read_bytes() == NOTES
    assert not ledger.partial_path.exists()
    assert not ledger.verified_path.exists()


@pytest.mark.parametrize(
    "content", [b"just one line, no newline", b"[1, 2, 3]\n", b'{"a": 1}\n{"b": 2}\n']
)
def test_short_and_json_files_are_not_ledgers(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "data.json"
    path.write_bytes(content)
    with pytest.raises(NotALedger, match=r"data.json is not a keycliq ledger"):
        Ledger(path).begin("deploy", "staging")
    assert path.read_bytes() == content


def test_a_folder_a_device_and_a_dangling_symlink_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(NotALedger, match="is a folder"):
        Ledger(folder).begin("deploy", "staging")
    with pytest.raises(NotALedger, match="not a regular file"):
        Ledger("/dev/null").begin("deploy", "staging")
    dangling = tmp_path / "ledger.jsonl"
    dangling.symlink_to(tmp_path / "elsewhere" / "ledger.jsonl")
    with pytest.raises(NotALedger, match="which does not exist"):
        Ledger(dangling).begin("deploy", "staging")
    assert not (tmp_path / "elsewhere").exists()


def test_a_crashed_first_write_is_still_recovered(ledger_path: Path) -> None:
    ledger_path.parent.mkdir(parents=True)
    ledger_path.write_bytes(b'{"action":"deploy","actor":{},"app":"keycl')  # cut mid-write
    start = Ledger(ledger_path).begin("deploy", "staging")
    assert start.prev == GENESIS
    report = Ledger(ledger_path).verify()
    assert report.ok and report.records == 1 and len(report.quarantined) == 1


def test_cli_names_a_non_ledger_file_and_exits_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    notes = tmp_path / "notes.txt"
    notes.write_bytes(NOTES)
    os.environ["KEYCLIQ_LEDGER"] = str(notes)
    try:
        result = cli("ledger", "list")
    finally:
        del os.environ["KEYCLIQ_LEDGER"]
    assert result.code == 2, result
    assert f"{notes} is not a keycliq ledger" in result.stderr
    assert "Traceback" not in result.output
    assert notes.read_bytes() == NOTES


# -- finding 10: outside failures and hostile input: never exit 70 --------------------------


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 256 KiB tmpfs (needs the privilege to mount; skipped without it)."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _remount(mount: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(mount)], check=True)


def test_a_read_only_location_exits_3_and_reads_still_work(small_fs: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = small_fs / "repo" / ".keycliq" / "ledger.jsonl"
    start, _ = deploy(Ledger(path))
    _remount(small_fs, "ro")
    ledger = Ledger(path)
    assert [r.id for r in ledger.latest(5)] == [start.id]  # reading is fine
    with pytest.raises(LedgerIOError) as caught:
        ledger.begin("deploy", "staging")
    assert caught.value.exit_code == 3
    assert "read-only" in caught.value.message
    assert "nothing was recorded, and the deploy of staging did not start" in str(caught.value)
    fresh = Ledger(small_fs / "other" / "ledger.jsonl")
    with pytest.raises(LedgerIOError, match=r"cannot create the ledger's folder .*read-only"):
        fresh.begin("deploy", "staging")
    os.environ["KEYCLIQ_LEDGER"] = str(path)
    try:
        assert cli("ledger", "list").code == 0
        assert cli("ledger", "verify").code == 0
    finally:
        del os.environ["KEYCLIQ_LEDGER"]


def test_a_full_disk_says_the_release_happened_and_leaves_no_half_line(small_fs: Path) -> None:
    ledger = Ledger(small_fs / "ledger.jsonl")
    start = ledger.begin("deploy", "staging", app="keycliq-staging", commit=COMMIT)
    before = ledger.path.read_bytes()
    filler = small_fs / "filler"
    with filler.open("wb", buffering=0) as fh:  # fill the disk to its last block
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass
    with pytest.raises(LedgerIOError) as caught:
        ledger.complete(
            start,
            "succeeded",
            0,
            release_version=42,
            details={"note": "x" * 20_000},  # more than the space left
        )
    message = caught.value.message
    assert caught.value.exit_code == 3
    assert "disk full" in message and str(ledger.path) in message
    assert "the deploy of staging had already succeeded (keycliq-staging v42)" in message
    assert f"start record {start.id} stays open" in message
    assert ledger.path.read_bytes() == before  # no half-written line left behind
    filler.unlink()
    end = ledger.complete(start, "succeeded", 0, release_version=42)
    assert ledger.run(start.id).end == end and ledger.verify().ok


def test_since_far_in_the_past_is_a_usage_error(cli, filled_env: Path) -> None:  # type: ignore[no-untyped-def]
    for since in ("99999999d", "9" * 40 + "w"):
        result = cli("ledger", "list", "--since", since)
        assert result.code == 2, result
        assert "--since" in result.stderr and "before the year 1" in result.stderr
    assert cli("ledger", "list", "--since", "0001-01-01").code == 0


@pytest.fixture
def filled_env(ledger_path: Path) -> Iterator[Path]:
    deploy(Ledger(ledger_path))
    os.environ["KEYCLIQ_LEDGER"] = str(ledger_path)
    try:
        yield ledger_path
    finally:
        del os.environ["KEYCLIQ_LEDGER"]


DEEP = 200_000


def test_a_deeply_nested_line_is_a_broken_chain_not_a_crash(cli, filled_env: Path) -> None:  # type: ignore[no-untyped-def]
    with filled_env.open("ab") as fh:
        fh.write(b'{"details":' + b"[" * DEEP + b"]" * DEEP + b"}\n")
    for args in (["ledger", "list"], ["ledger", "verify"], ["ledger", "show", "2026"]):
        result = cli(*args)
        assert result.code == 1, (args, result.code, result.output[-300:])
        assert f"{filled_env}:3" in result.output
        assert "Traceback" not in result.output
    with pytest.raises(LedgerBroken, match=r":3: not-a-record: not valid JSON"):
        Ledger(filled_env).begin("deploy", "staging")


def test_a_deeply_nested_sealed_record_is_refused_in_one_line(cli, ledger_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A line that is sealed and linked (its writer computed the hashes) but nested too
    deeply to parse: the chain verifies, reading it is refused as input (exit 2)."""
    hashes = hand_made(ledger_path, [{"action": "deploy", "outcome": "running"}])
    obj = {
        "action": "deploy",
        "outcome": "running",
        "schema": 1,
        "id": "20260105T090100-0001",
        "ts": "2026-01-05T09:01:00.000000Z",
        "prev": hashes[-1],
        "host": "h",
        "pid": 1,
        "details": {"deep": "@@"},
    }
    body = canonical(obj).replace(b'"@@"', b"[" * 5_000 + b"]" * 5_000)
    digest = hashlib.sha256(body).hexdigest()
    deep_line = body[:-1] + f',"hash":"{digest}"}}\n'.encode()
    last, _ = seal({**obj, "id": "20260105T090200-0002", "prev": digest, "details": {}})
    with ledger_path.open("ab") as fh:
        fh.write(deep_line + last)
    assert Ledger(ledger_path).verify().ok
    os.environ["KEYCLIQ_LEDGER"] = str(ledger_path)
    try:
        result = cli("ledger", "list")
    finally:
        del os.environ["KEYCLIQ_LEDGER"]
    assert result.code == 2, result
    assert str(ledger_path) in result.stderr and "nested too deeply" in result.stderr
    assert "Traceback" not in result.output
