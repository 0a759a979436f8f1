"""Acceptance: the staging checklist walked against the embedded PostgreSQL with seeded
KeyCliq data, through the real Dataclips engine, and its ``dyno`` items run for real: the
sample repository's checklist (its dyno items run scripts/*.py with Python and psql, as
on the stand-in's dynos) in a local "dyno" (bash in a folder holding the sample's files,
with DATABASE_URL and nothing but python and psql on PATH). A clean run passes every item
the local dyno can run; a planted defect fails the integrity item; the optional scan case
is skipped; a key id that is still referenced fails the deletion item (check J)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keycliq_ops.checklists import (
    Answer,
    ChecklistContext,
    DynoOutput,
    EngineRunner,
    ScriptedPrompter,
    find_checklist,
    load_checklist,
    parse_checklist,
    run_checklist,
)
from keycliq_ops.checklists.items import Checklist
from keycliq_ops.config.loading import SHIPPED_CHECKLISTS, SHIPPED_DATACLIPS
from keycliq_ops.standin.pgembed import client_bin_dir
from keycliq_ops.standin.sample.app_scripts import APP_FILES
from keycliq_ops.standin.sample.seed import apply_schema, seed

from .conftest import Clock, write

pytestmark = pytest.mark.db


class LocalDyno:
    """A one-off dyno on this machine: ``bash -c COMMAND`` in a folder holding the sample
    repository's files, with DATABASE_URL and only python and psql on PATH."""

    app = "keycliq-staging"

    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.database_url = database_url
        for rel, text in APP_FILES.items():
            write(root / rel, text)
        self.bin = root / ".runtime-bin"
        self.bin.mkdir()
        pg_bin = client_bin_dir()
        assert pg_bin is not None
        for name, target in (
            ("python", Path(sys.executable)),
            ("python3", Path(sys.executable)),
            ("psql", Path(pg_bin) / "psql"),
        ):
            (self.bin / name).symlink_to(target)

    def __call__(self, command: str, *, timeout: float) -> DynoOutput:
        env = {"PATH": str(self.bin), "DATABASE_URL": self.database_url, "HOME": str(self.root)}
        for name in ("TMPDIR", "LANG"):
            if name in os.environ:
                env[name] = os.environ[name]
        done = subprocess.run(
            ["/bin/bash", "-c", command], cwd=self.root, env=env, capture_output=True,
            text=True, timeout=timeout, check=False,
        )  # fmt: skip
        return DynoOutput(done.returncode, (done.stdout + done.stderr).splitlines(), "local.1")


def _sample_staging(tmp_path: Path) -> Checklist:
    path = tmp_path / "sample" / "checklists" / "staging.yaml"
    return parse_checklist(APP_FILES["checklists/staging.yaml"], path, name="staging")


def _answers(checklist: Checklist, values: dict[str, str]) -> dict[str, Answer]:
    out: dict[str, Answer] = {}
    for _, item in checklist.items():
        if item.kind == "confirm":
            out[item.id] = Answer("yes", who="Ana <ana@example.com>")
        elif item.kind == "input":
            out[item.id] = Answer("value", value=values[item.name], who="Ana <ana@example.com>")
    out["scan-possible-keys"] = Answer("skip", reason="no identical keys in the test inventory")
    return out


def _walk(pg_url: str, web_app: str, clock: Clock, tmp_path: Path, defects: tuple[str, ...]):  # type: ignore[no-untyped-def]
    apply_schema(pg_url)
    summary = seed(pg_url, defects=defects)
    staging = _sample_staging(tmp_path)
    values = {"userId": summary.sample_user_id, "keyId": "ckeycliqtestdeletedkey0001"}
    ctx = ChecklistContext(
        env="staging",
        app="keycliq-staging",
        app_url=web_app,
        commit="c" * 40,
        prompter=ScriptedPrompter(_answers(staging, values)),
        dataclip_runner=EngineRunner(SHIPPED_DATACLIPS),
        database_url=lambda: pg_url,
        dyno_runner=LocalDyno(tmp_path / "dyno", pg_url),
        clock=clock,
    )
    return run_checklist(staging, ctx), summary


def test_clean_staging_database_passes(
    pg_url: str, web_app: str, clock: Clock, tmp_path: Path
) -> None:
    result, _ = _walk(pg_url, web_app, clock, tmp_path, ())
    failed = {i.id: i for i in result.items if i.verdict == "failed"}
    # Prisma itself is not here (the stand-in emulates it on its dynos): the only item the
    # local dyno cannot run, and it fails, with its output, rather than passing.
    assert list(failed) == ["migrations-applied"], {k: v.reason for k, v in failed.items()}
    migrate = failed["migrations-applied"]
    assert migrate.reason is not None and "exited with status 127" in migrate.reason
    assert migrate.output is not None and "npx" in migrate.output
    for item_id in (
        "keys-ready", "user-stats", "user-history",
        "validation-match-found-without-key", "validation-no-match-with-key",
    ):  # fmt: skip
        got = result.item(item_id)
        assert got is not None and got.verdict == "passed", (item_id, got and got.reason)
        assert got.kind == "dyno" and got.who == "keycliq"
    skipped = [(i.id, i.required) for i in result.items if i.verdict == "skipped"]
    assert skipped == [("scan-possible-keys", False)]
    assert result.item("app-up").source == "keycliq"  # type: ignore[union-attr]
    assert result.item("deletion-verified").verdict == "passed"  # type: ignore[union-attr]


def test_planted_defect_fails_the_integrity_item(
    pg_url: str, web_app: str, clock: Clock, tmp_path: Path
) -> None:
    result, summary = _walk(pg_url, web_app, clock, tmp_path, ("xor-both-null",))
    assert result.verdict == "failed" and result.exit_code == 1
    integrity = result.item("integrity")
    assert integrity is not None and integrity.verdict == "failed"
    assert integrity.checks is not None
    verdicts = {c.id: c.verdict for c in integrity.checks}
    assert verdicts["E1"] == "fail" and integrity.reason is not None and "E1" in integrity.reason
    assert [i.id for i in result.blocking_items()] == ["migrations-applied", "integrity"]
    # B/C/D ran for the captured user; the record has numbers, never row data or the URL
    stats = result.item("user-dataclips")
    assert stats is not None and stats.verdict == "passed"
    assert [c.id for c in stats.checks or []] == ["B", "C", "D"]
    dumped = json.dumps(result.model_dump(mode="json"))
    assert pg_url not in dumped
    assert summary.sample_user_id in dumped  # the captured value is the answer, by design
    assert result.item("scan-possible-keys").verdict == "skipped"  # type: ignore[union-attr]


def test_a_key_still_referenced_fails_the_deletion_item(
    pg_url: str, web_app: str, clock: Clock, tmp_path: Path
) -> None:
    apply_schema(pg_url)
    summary = seed(pg_url)
    staging = _sample_staging(tmp_path)
    import psycopg

    with psycopg.connect(pg_url) as conn:
        row = conn.execute(
            'SELECT k.id FROM keys k JOIN key_signatures s ON s."keyId" = k.id '
            'WHERE k."userId" = %s LIMIT 1',
            (summary.sample_user_id,),
        ).fetchone()
    assert row is not None
    values = {"userId": summary.sample_user_id, "keyId": row[0]}  # a key that was NOT deleted
    ctx = ChecklistContext(
        env="staging", app="keycliq-staging", app_url=web_app, commit="c" * 40,
        prompter=ScriptedPrompter(_answers(staging, values)),
        dataclip_runner=EngineRunner(SHIPPED_DATACLIPS), database_url=lambda: pg_url,
        dyno_runner=LocalDyno(tmp_path / "dyno", pg_url), clock=clock,
    )  # fmt: skip
    result = run_checklist(staging, ctx)
    deletion = result.item("deletion-verified")
    assert deletion is not None and deletion.verdict == "failed"
    assert deletion.reason is not None and "J" in deletion.reason


def test_the_sample_checklist_is_the_shipped_one_with_runnable_commands(tmp_path: Path) -> None:
    shipped = load_checklist(find_checklist(SHIPPED_CHECKLISTS, "staging"))
    sample = _sample_staging(tmp_path)
    assert [s.title for s in sample.sections] == [s.title for s in shipped.sections]
    pairs = list(zip((i for _, i in shipped.items()), (i for _, i in sample.items()), strict=True))
    for ours, theirs in pairs:
        assert (ours.id, ours.kind, ours.text, ours.required, ours.source) == (
            theirs.id, theirs.kind, theirs.text, theirs.required, theirs.source,
        )  # fmt: skip
        if ours.kind == "dyno":
            assert theirs.kind == "dyno"
            assert theirs.expect_json == ours.expect_json  # type: ignore[union-attr]
            assert theirs.expect_text == ours.expect_text  # type: ignore[union-attr]
            assert theirs.expect_exit == ours.expect_exit  # type: ignore[union-attr]
            if ours.command.startswith("node "):  # type: ignore[union-attr]
                assert theirs.command.startswith("python scripts/")  # type: ignore[union-attr]
            else:
                assert theirs.command == ours.command  # type: ignore[union-attr]
        if ours.kind == "dataclip":
            assert theirs.dataclips == ours.dataclips  # type: ignore[union-attr]
            assert theirs.params == ours.params  # type: ignore[union-attr]
