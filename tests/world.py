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

``fir_world`` is the world on Heroku's Fir generation (apps and pipeline of generation
``fir``, stack ``cnb``, releases of OCI images, Fir log sessions and dyno names), shared
and restored the same way; ``both_worlds`` is parametrized over ``cedar`` and ``fir``
(the test runs once on each), for the representative e2e case of each command.
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
from keycliq_ops.standin.attach import ca_file_for
from keycliq_ops.standin.failures import StandinError
from keycliq_ops.standin.pgbackups import store_of
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

    # -- commits a test makes in the sample repository ----------------------------------

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.repo, check=True, capture_output=True, text=True
        ).stdout.strip()

    def commit_all(self, message: str) -> str:
        """Commit everything in the work tree; the new commit's sha."""
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def commit_migration(self, name: str, sql: str, message: str | None = None) -> str:
        """A commit adding ``prisma/migrations/<name>/migration.sql``; its sha."""
        folder = self.repo / "prisma" / "migrations" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "migration.sql").write_text(sql, encoding="utf-8")
        return self.commit_all(message or f"Migration {name}")

    def commit_packages(
        self,
        versions: dict[str, str],
        *,
        transitive: dict[str, str] | None = None,
        message: str = "Dependencies",
    ) -> str:
        """A commit setting ``versions`` (name → exact version) in package.json (where the
        package is listed, else in dependencies) and writing package-lock.json (npm's
        lockfileVersion 3) with every direct dependency and the ``transitive`` ones."""
        path = self.repo / "package.json"
        package = json.loads(path.read_text())
        for name, version in versions.items():
            dev = name in package.get("devDependencies", {})
            section = "devDependencies" if dev else "dependencies"
            package.setdefault(section, {})[name] = f"^{version}"
        path.write_text(json.dumps(package, indent=2) + "\n")
        lock_path = self.repo / "package-lock.json"
        lock = json.loads(lock_path.read_text()) if lock_path.exists() else None
        packages: dict[str, dict[str, object]] = (lock or {}).get("packages", {})
        packages[""] = {
            "name": package.get("name"),
            "version": package.get("version"),
            "dependencies": package.get("dependencies", {}),
            "devDependencies": package.get("devDependencies", {}),
        }
        for section, dev in (("dependencies", False), ("devDependencies", True)):
            for name, spec in package.get(section, {}).items():
                key = f"node_modules/{name}"
                version = versions.get(name) or str(
                    packages.get(key, {}).get("version") or spec.lstrip("^~")
                )
                packages[key] = {
                    "version": version,
                    "resolved": f"https://registry.npmjs.org/{name}/-/{name.split('/')[-1]}"
                    f"-{version}.tgz",
                    **({"dev": True} if dev else {}),
                }
        for name, version in (transitive or {}).items():
            packages[f"node_modules/{name}"] = {"version": version}
        lock_path.write_text(
            json.dumps(
                {
                    "name": package.get("name"),
                    "version": package.get("version"),
                    "lockfileVersion": 3,
                    "requires": True,
                    "packages": packages,
                },
                indent=2,
            )
            + "\n"
        )
        return self.commit_all(message)


def _provision(sb: Sandbox, repo: Path) -> Provisioned:
    # No app traffic in the logs: the log tests count exactly the lines they write.
    return provision(
        sb, repo, deploy="baseline", seed_scale=1, answers=sample_answers(), app_traffic=False
    )


def rendezvous_ca(sandbox: Sandbox) -> Path:
    """The CA file the sandbox's TLS rendezvous is signed by (KEYCLIQ_RENDEZVOUS_CA)."""
    ca = ca_file_for(sandbox.engine.attach_address)
    assert ca is not None, "the sandbox's rendezvous is not running"
    return ca


def _enter(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    for name, value in world.sandbox.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KEYCLIQ_RENDEZVOUS_CA", str(rendezvous_ca(world.sandbox)))
    monkeypatch.chdir(world.repo)
    return world


class SharedWorld:
    """One provisioned sandbox, its snapshot and its pristine sample repository."""

    def __init__(self, root: Path, postgres: PostgresServer, generation: str = "cedar") -> None:
        self._root = root
        self._postgres = postgres
        self.generation_name = generation
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
            sb = Sandbox(
                base / "sandbox", postgres=self._postgres, generation=self.generation_name
            ).start()
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
                store_of(self._sandbox.engine).reset()  # no backups, no schedules
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


@pytest.fixture(scope="session")
def shared_fir_world(
    tmp_path_factory: pytest.TempPathFactory, pg_server: PostgresServer
) -> Iterator[SharedWorld]:
    shared = SharedWorld(tmp_path_factory.mktemp("shared-fir-world"), pg_server, "fir")
    yield shared
    shared.close()


@pytest.fixture
def fir_world(
    tmp_path: Path, shared_fir_world: SharedWorld, monkeypatch: pytest.MonkeyPatch
) -> World:
    """The world on Heroku's Fir generation."""
    return _enter(shared_fir_world.checkout(tmp_path / "keycliq"), monkeypatch)


@pytest.fixture(params=["cedar", "fir"])
def both_worlds(request: pytest.FixtureRequest) -> World:
    """``world`` on Cedar, then ``fir_world``: the test runs on both generations."""
    name = "world" if request.param == "cedar" else "fir_world"
    found: World = request.getfixturevalue(name)
    return found


@pytest.fixture
def own_world(
    tmp_path: Path, pg_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    with Sandbox(tmp_path / "own-world" / "sandbox", postgres=pg_server) as sb:
        repo = tmp_path / "own-world" / "keycliq"
        prov = _provision(sb, repo)
        yield _enter(World(sandbox=sb, prov=prov, repo=repo), monkeypatch)
