"""End-to-end fixtures: the Heroku stand-in over loopback HTTP, real git, the embedded
Postgres, and the sample KeyCliq repository as the working directory.

``world`` is a provisioned sandbox: pipeline ``keycliq`` with ``keycliq-staging`` and
``keycliq-production`` both running the sample's *baseline* commit (databases migrated),
the sample repo checked out at *head* (one migration ahead: the seven indexes), the
process environment pointing keycliq at the stand-in, and the cwd inside the repo.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keycliq_ops.standin import Sandbox
from keycliq_ops.standin.pgembed import PostgresServer
from keycliq_ops.standin.provision import Provisioned, provision


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


@pytest.fixture
def world(
    tmp_path: Path, pg_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    with Sandbox(tmp_path / "sandbox", postgres=pg_server) as sb:
        repo = tmp_path / "keycliq"
        prov = provision(sb, repo, deploy="baseline", seed_scale=1)
        for name, value in sb.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(repo)
        yield World(sandbox=sb, prov=prov, repo=repo)
