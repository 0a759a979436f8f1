"""Sandbox snapshot and restore (what the shared e2e ``world`` relies on between tests):
every part a test can change goes back exactly, an untouched database is left as it is,
a sandbox still at work is refused; and the shared world hands each test a pristine one."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from keycliq_ops.cli.sandbox_cmd import sample_answers
from keycliq_ops.standin import Sandbox
from keycliq_ops.standin.pgembed import PostgresServer
from keycliq_ops.standin.provision import Provisioned, provision
from keycliq_ops.standin.sandbox import PRODUCTION, STAGING
from keycliq_ops.standin.snapshot import SandboxBusy, restore_snapshot
from tests.world import SharedWorld, World

from .helpers import push

pytestmark = [pytest.mark.db, pytest.mark.e2e]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def _database(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        relations = conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1"
        ).fetchall()
        counts = {
            name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            for name, kind in relations
            if kind == "r"
        }
    return {"relations": relations, "counts": counts}


def _observe(sb: Sandbox, prov: Provisioned) -> dict[str, Any]:
    """Everything a test could have changed, as plain values."""
    engine = sb.engine
    seen: dict[str, Any] = {
        "faults": [f.describe() for f in sb.faults.pending()],
        "promotions": sorted(engine.promotions),
        "origin": _git(prov.origin, "for-each-ref"),
        "rate": sb.rate_limiter.remaining() if sb.rate_limiter else None,
    }
    for name in (STAGING, PRODUCTION):
        app = engine.app(name)
        seen[name] = {
            "releases": [(r.version, r.status, r.current, r.description) for r in app.releases],
            "builds": [b.id for b in app.builds],
            "dynos": [d.id for d in app.dynos],
            "config": dict(app.config),
            "log": [line.text for line in app.log.snapshot()],
            "git": _git(app.bare_repo, "for-each-ref"),
            "database": _database(sb.database_url(name)),
        }
    return seen


def _database_oid(sb: Sandbox, app: str) -> int:
    name = sb.engine.app(app).database_name
    with psycopg.connect(sb.postgres.admin_url, autocommit=True) as conn:
        row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def provisioned(sandbox: Sandbox, tmp_path: Path) -> Provisioned:
    return provision(
        sandbox, tmp_path / "keycliq", deploy="baseline", seed_scale=1, answers=sample_answers()
    )


def test_restore_puts_every_part_back(
    sandbox: Sandbox, provisioned: Provisioned, tmp_path: Path
) -> None:
    prov, engine = provisioned, sandbox.engine
    before = _observe(sandbox, prov)
    snap = sandbox.snapshot(tmp_path / "snapshot", folders=(prov.origin,))
    assert _observe(sandbox, prov) == before  # taking it changes nothing

    # A test's worth of changes: a deploy (migrating staging), a promotion (migrating
    # production), config, a one-off dyno, log lines, faults, rows, a branch on origin.
    repo = prov.sample.path
    staging = engine.app(STAGING)
    dyno = engine.run_dyno(staging, "echo one-off", env={}, attach=False, size="basic", type_="run")
    dyno.done.wait()
    assert push(repo, "heroku-staging", "main:main").returncode == 0
    staging.releases[-1].done.wait()
    promotion = engine.promote(engine.pipeline("keycliq"), staging, [engine.app(PRODUCTION)])
    promotion.done.wait()
    engine.set_config(engine.app(PRODUCTION), {"FEATURE_X": "on", "NODE_ENV": None})
    sandbox.write_log(STAGING, "a line a test wrote")
    sandbox.faults.fail_build(STAGING)
    sandbox.faults.slow("/account", seconds=600)
    assert sandbox.rate_limiter is not None and sandbox.rate_limiter.spend() is not None
    with psycopg.connect(sandbox.database_url(STAGING), autocommit=True) as conn:
        conn.execute('DELETE FROM "Session"')
        conn.execute("CREATE TABLE scratch (x int)")
    _git(repo, "push", "--quiet", "origin", "main:refs/heads/keycliq-ledger")
    assert _observe(sandbox, prov) != before

    sandbox.restore(snap)

    assert _observe(sandbox, prov) == before
    # The dyno numbering starts again where it stood: the first name after the snapshot.
    again = engine.run_dyno(
        staging, "echo one-off", env={}, attach=False, size="basic", type_="run"
    )
    again.done.wait()
    assert again.name == dyno.name
    # And a restored sandbox still works: a deploy goes through as the first one did.
    sandbox.restore(snap)
    assert push(repo, "heroku-staging", "main:main").returncode == 0
    engine.app(STAGING).releases[-1].done.wait()
    assert engine.app(STAGING).releases[-1].status == "succeeded"


def test_only_a_written_database_is_copied_back(
    sandbox: Sandbox, provisioned: Provisioned, tmp_path: Path
) -> None:
    snap = sandbox.snapshot(tmp_path / "snapshot", folders=(provisioned.origin,))
    staging, production = _database_oid(sandbox, STAGING), _database_oid(sandbox, PRODUCTION)
    with psycopg.connect(sandbox.database_url(PRODUCTION)) as conn:  # reads only
        users = conn.execute('SELECT count(*) FROM "User"').fetchone()
    with psycopg.connect(sandbox.database_url(STAGING), autocommit=True) as conn:
        conn.execute('UPDATE "User" SET role = role')

    sandbox.restore(snap)

    # Only read: left as it is, unless another session (autovacuum under load) was there
    # when the restore looked, which makes it copy to be safe: either way, the same rows.
    if _database_oid(sandbox, PRODUCTION) != production:
        with psycopg.connect(sandbox.database_url(PRODUCTION)) as conn:
            assert conn.execute('SELECT count(*) FROM "User"').fetchone() == users
    assert _database_oid(sandbox, STAGING) != staging  # written: a fresh copy
    # A session left open makes it copy too (its writes may not be counted yet).
    staging = _database_oid(sandbox, STAGING)
    with psycopg.connect(sandbox.database_url(STAGING), autocommit=True) as conn:
        conn.execute("SELECT 1").fetchone()
        sandbox.restore(snap)  # ends that session: the copy needs the database unused
    assert _database_oid(sandbox, STAGING) != staging


def test_a_sandbox_still_at_work_is_not_restored(
    sandbox: Sandbox, provisioned: Provisioned, tmp_path: Path
) -> None:
    snap = sandbox.snapshot(tmp_path / "snapshot", folders=(provisioned.origin,))
    engine = sandbox.engine
    engine.run_dyno(
        engine.app(STAGING), "sleep 600", env={}, attach=False, size="basic", type_="run"
    )
    # Ten minutes of work against one second of patience: refused, whatever the load.
    with pytest.raises(SandboxBusy, match="still runs"):
        restore_snapshot(sandbox, snap, settle_seconds=1)


def test_the_shared_world_hands_out_a_pristine_world_each_time(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    shared = SharedWorld(tmp_path / "shared", pg_server)
    try:
        first = shared.checkout(tmp_path / "first")
        baseline = first.prov.sample.baseline
        assert first.repo == first.prov.sample.path == tmp_path / "first"
        assert _git(first.repo, "status", "--porcelain") == ""
        # The first test ships head, writes a ledger, leaves a change and a file beside.
        assert push(first.repo, "heroku-staging", "main:main").returncode == 0
        first.sandbox.engine.app(STAGING).releases[-1].done.wait()
        first.ledger_path.parent.mkdir()
        first.ledger_path.write_text('{"id": "x"}\n')
        (first.repo / "package.json").write_text("{}\n")
        first.sandbox.faults.fail_release(STAGING)

        second = shared.checkout(tmp_path / "second")

        assert second.sandbox is first.sandbox  # the same stand-in, restored
        current = second.sandbox.engine.app(STAGING).current
        assert current is not None and current.slug is not None
        assert current.slug.commit == baseline
        assert second.sandbox.faults.pending() == []
        assert second.ledger_records() == []
        assert _git(second.repo, "status", "--porcelain") == ""
        assert _git(second.repo, "rev-parse", "HEAD").strip() == second.prov.sample.head
        assert (first.repo / "package.json").read_text() == "{}\n"  # the first copy is its own
    finally:
        shared.close()


def test_a_test_can_have_a_world_of_its_own(own_world: World, world: World) -> None:
    assert own_world.sandbox is not world.sandbox and own_world.repo != world.repo
    for each in (own_world, world):
        current = each.sandbox.engine.app(PRODUCTION).current
        assert current is not None and current.slug is not None
        assert current.slug.commit == each.prov.sample.baseline
        assert each.ledger_records() == []
