"""Hermetic fixtures shared by every test.

- Every test runs with HOME, XDG folders and the working directory in a temp folder, and
  with no Heroku or keycliq variables from the outside (so nothing touches the real home
  directory and nothing can reach the real Heroku).
- ``pg_server`` is one PostgreSQL for the whole session: ``KEYCLIQ_TEST_DATABASE_URL`` when
  set, else the embedded ``pgserver``. DB tests never skip. Under pytest-xdist (the default
  run: ``-n auto``) each worker is a session of its own, with its own embedded server in its
  own temp folder; on a shared ``KEYCLIQ_TEST_DATABASE_URL`` every name a test creates is
  unique (the pid, the sandbox's random prefix).
- ``world`` (tests/world.py): the provisioned stand-in, shared per session and restored
  before each test.
- ``pg_url`` is a fresh, empty database per test on that server.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from keycliq_ops.standin.pgembed import PostgresServer, start_postgres
from tests.hermetic import make_hermetic

# The fault matrix's tried/survived counts, printed by the controlling process (xdist).
pytest_plugins = ["tests.faults.summary"]


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    make_hermetic(monkeypatch, home)
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
        from keycliq_ops.cli import common

        # The consoles read COLUMNS when made: make them afresh for every command, as a
        # new process would (else the first test of a worker decides every width).
        common._out = common._err = None
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
from tests.world import (  # noqa: E402, F401
    both_worlds,
    fir_world,
    own_world,
    shared_fir_world,
    shared_world,
    world,
)
