"""Fixtures for the stand-in: an in-process sandbox on the session's PostgreSQL, its client,
the sample repository wired to its git remotes, and small git helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keycliq_ops.standin import KeycliqApps, Sandbox
from keycliq_ops.standin.pgembed import PostgresServer
from keycliq_ops.standin.sample.repo import SampleRepo, add_remote, write_sample_repo
from keycliq_ops.standin.sandbox import PRODUCTION, STAGING


@pytest.fixture
def sandbox(tmp_path: Path, pg_server: PostgresServer) -> Iterator[Sandbox]:
    with Sandbox(tmp_path / "sandbox", postgres=pg_server) as sb:
        yield sb


@pytest.fixture
def apps(sandbox: Sandbox) -> KeycliqApps:
    return sandbox.setup_keycliq()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, headers=sandbox.headers(), timeout=30) as c:
        yield c


@pytest.fixture
def sample(tmp_path: Path, sandbox: Sandbox, apps: KeycliqApps) -> SampleRepo:
    repo = write_sample_repo(tmp_path / "keycliq")
    add_remote(repo.path, "heroku-staging", sandbox.git_url(STAGING))
    add_remote(repo.path, "heroku-production", sandbox.git_url(PRODUCTION))
    return repo
