"""End-to-end fixtures: the Heroku stand-in over loopback HTTP, real git, the embedded
Postgres, and the sample KeyCliq repository as the working directory.

``world`` is a provisioned sandbox: pipeline ``keycliq`` with ``keycliq-staging`` and
``keycliq-production`` both running the sample's *baseline* commit (databases migrated and
seeded), the sample repo checked out at *head* (one migration ahead: the seven indexes),
the process environment pointing keycliq at the stand-in, and the cwd inside the repo.

Provisioning costs seconds (a real ``git push``, two release phases, seeding), so one
world is provisioned per test session (per xdist worker) and *restored* before each test
that asks for it (:meth:`keycliq_ops.standin.Sandbox.restore`): releases, builds, dynos,
config vars, logs, promotions, faults, the rate budget, the apps' git remotes and
``origin``, and both databases (re-created from template copies) go back to the
provisioned state. Each test gets its own copy of the sample repository at
``tmp_path / "keycliq"`` (so the ledger and ``.keycliq/`` start absent and nothing a test
writes in or beside the repo reaches the next one). Should the stand-in still be busy
after a test (a release phase that does not end), the shared world is thrown away and a
new one provisioned.

``own_world`` is the same world provisioned for the one test alone, for a test that must
not share (none needs it today: the restore is exact).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from keycliq_ops.cli.sandbox_cmd import sample_answers
from keycliq_ops.standin import Sandbox
from keycliq_ops.standin.failures import StandinError
from keycliq_ops.standin.pgembed import PostgresServer
from keycliq_ops.standin.provision import Provisioned, provision
from keycliq_ops.standin.snapshot import SandboxSnapshot
from tests.hermetic import make_hermetic


@dataclass
class World:
    sandbox: Sandbox
    prov: Provisioned
    repo: Path

    @property
    def ledger_path(self) -> Path:
        return self.repo / ".keycliq" / "ledger.jsonl"

    def ledger_records(self) -> list[dict[str, object]]:
        if not self.ledger_path.exists():
            return []
        return [json.loads(line) for line in self.ledger_path.read_text().splitlines() if line]

    def last_record(self) -> dict[str, object]:
        records = self.ledger_records()
        assert records, "the ledger is empty"
        return records[-1]

    def database_url(self, app: str = "keycliq-staging") -> str:
        return self.sandbox.database_url(app)


def _provision(sb: Sandbox, repo: Path) -> Provisioned:
    # No app traffic in the logs: the log tests count exactly the lines they write.
    return provision(
        sb, repo, deploy="baseline", seed_scale=1, answers=sample_answers(), app_traffic=False
    )


def _enter(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    for name, value in world.sandbox.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(world.repo)
    return world


class SharedWorld:
    """One provisioned sandbox, its snapshot and its pristine sample repository."""

    def __init__(self, root: Path, postgres: PostgresServer) -> None:
        self._root = root
        self._postgres = postgres
        self._generation = 0
        self._sandbox: Sandbox | None = None
        self._prov: Provisioned | None = None
        self._snap: SandboxSnapshot | None = None
        self._used = False

    def _build(self) -> None:
        self._generation += 1
        base = self._root / f"world-{self._generation}"
        with pytest.MonkeyPatch.context() as mp:  # provisioning sees no real home either
            make_hermetic(mp, base / "home")
            mp.chdir(base)
            sb = Sandbox(base / "sandbox", postgres=self._postgres).start()
            try:
                prov = _provision(sb, base / "pristine" / "keycliq")
                snap = sb.snapshot(base / "snapshot", folders=(prov.origin,))
            except BaseException:
                sb.stop()
                raise
        self._sandbox, self._prov, self._snap, self._used = sb, prov, snap, False

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.stop()
        self._sandbox = self._prov = self._snap = None

    def checkout(self, repo: Path) -> World:
        """The world as provisioned, with its own copy of the sample repo at ``repo``."""
        if self._sandbox is None:
            self._build()
        elif self._used:
            assert self._snap is not None
            try:
                self._sandbox.restore(self._snap)
            except (RuntimeError, StandinError):  # SandboxBusy, stopped, its database gone
                self.close()
                self._build()
        self._used = True
        assert self._sandbox is not None and self._prov is not None
        shutil.copytree(self._prov.sample.path, repo, symlinks=True)
        # The copy's index holds the original's inodes: refresh it, or git sees changes.
        subprocess.run(
            ["git", "update-index", "-q", "--refresh"], cwd=repo, capture_output=True, check=False
        )
        prov = replace(self._prov, sample=replace(self._prov.sample, path=repo))
        return World(sandbox=self._sandbox, prov=prov, repo=repo)


@pytest.fixture(scope="session")
def shared_world(
    tmp_path_factory: pytest.TempPathFactory, pg_server: PostgresServer
) -> Iterator[SharedWorld]:
    shared = SharedWorld(tmp_path_factory.mktemp("shared-world"), pg_server)
    yield shared
    shared.close()


@pytest.fixture
def world(tmp_path: Path, shared_world: SharedWorld, monkeypatch: pytest.MonkeyPatch) -> World:
    return _enter(shared_world.checkout(tmp_path / "keycliq"), monkeypatch)


@pytest.fixture
def own_world(
    tmp_path: Path, pg_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    with Sandbox(tmp_path / "own-world" / "sandbox", postgres=pg_server) as sb:
        repo = tmp_path / "own-world" / "keycliq"
        prov = _provision(sb, repo)
        yield _enter(World(sandbox=sb, prov=prov, repo=repo), monkeypatch)
