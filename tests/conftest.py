"""Hermetic fixtures shared by every test.

- Every test runs with HOME, XDG folders and the working directory in a temp folder, and
  with no Heroku or keycliq variables from the outside (so nothing touches the real home
  directory and nothing can reach the real Heroku).
- ``pg_server`` is one PostgreSQL for the whole session: ``KEYCLIQ_TEST_DATABASE_URL`` when
  set, else the embedded ``pgserver``. DB tests never skip.
- ``pg_url`` is a fresh, empty database per test on that server.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from keycliq_ops.standin.pgembed import PostgresServer, start_postgres

_OUTSIDE_VARS = (
    "HEROKU_API_KEY",
    "HEROKU_API_URL",
    "HEROKU_HOST",
    "KEYCLIQ_CONFIG",
    "KEYCLIQ_LEDGER",
    "KEYCLIQ_DATABASE_URL",
    "KEYCLIQ_SANDBOX_REPO",
    "KEYCLIQ_DEBUG",
    "DATABASE_URL",
    "GIT_DIR",
    "GIT_WORK_TREE",
)


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    for name in _OUTSIDE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Author")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "author@example.com")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = start_postgres(tmp_path_factory.mktemp("pg"), url_env="KEYCLIQ_TEST_DATABASE_URL")
    yield server
    server.stop()


_db_counter = itertools.count()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> Iterator[str]:
    name = f"kctest_{os.getpid()}_{next(_db_counter)}"
    url = pg_server.create_database(name)
    yield url
    pg_server.drop_database(name)


class CliResult:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code = code
        self.stdout = stdout
        self.stderr = stderr

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run ``keycliq ARGS`` in-process through the real entry point and error boundary."""
    from keycliq_ops.__main__ import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


# The end-to-end ``world`` (the stand-in, real git, the sample repo) for every folder.
from tests.world import world  # noqa: E402, F401
