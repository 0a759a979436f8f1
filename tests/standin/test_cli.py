"""``keycliq sandbox up/down/status`` as a user runs them: a real background process with
its own embedded PostgreSQL (pgserver), ``eval``-able exports, a push to the sample
repository's remote, and a clean ``down``."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.db, pytest.mark.e2e]


def keycliq(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keycliq_ops", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _exports(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        words = shlex.split(line)
        assert words[0] == "export", line
        name, _, value = words[1].partition("=")
        out[name] = value
    return out


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "KEYCLIQ_SANDBOX_HOME": str(tmp_path / "sbx")}


def test_up_status_push_down(env: dict[str, str], tmp_path: Path) -> None:
    home = tmp_path / "sbx"
    up = keycliq("sandbox", "up", "--fault", "503@/account", env=env)
    try:
        assert up.returncode == 0, up.stderr
        exports = _exports(up.stdout)
        assert set(exports) == {
            "HEROKU_API_URL",
            "HEROKU_API_KEY",
            "KEYCLIQ_SANDBOX_REPO",
            "KEYCLIQ_RENDEZVOUS_CA",
            "HEROKU_DATA_HOST",
            "KEYCLIQ_CLOUDINARY_API",
        }
        assert exports["HEROKU_DATA_HOST"] == exports["KEYCLIQ_CLOUDINARY_API"]
        assert exports["HEROKU_DATA_HOST"] == exports["HEROKU_API_URL"]  # one loopback server
        assert Path(exports["KEYCLIQ_RENDEZVOUS_CA"]).read_text().startswith("-----BEGIN CERT")
        assert "sandbox ready" in up.stderr
        repo = Path(exports["KEYCLIQ_SANDBOX_REPO"])
        assert repo.is_dir() and (repo / "keycliq.yaml").is_file()
        assert not str(repo).startswith(str(tmp_path / "work"))  # outside the user's folders
        assert ((home / "sandbox.json").stat().st_mode & 0o777) == 0o600

        headers = {
            "Authorization": f"Bearer {exports['HEROKU_API_KEY']}",
            "Accept": "application/vnd.heroku+json; version=3",
        }
        api = exports["HEROKU_API_URL"]
        assert httpx.get(f"{api}/account", headers=headers).status_code == 503  # --fault
        assert httpx.get(f"{api}/account", headers=headers).status_code == 200
        prod = httpx.get(f"{api}/apps/keycliq-production/releases", headers=headers).json()
        assert prod[-1]["description"].startswith("Promote keycliq-staging")

        again = keycliq("sandbox", "up", env=env)
        assert again.returncode == 0 and _exports(again.stdout) == exports
        assert "already running" in again.stderr
        same = keycliq("sandbox", "up", "--deploy", "baseline", env=env)
        assert same.returncode == 0 and _exports(same.stdout) == exports

        # what the running sandbox cannot honour is refused, not silently ignored
        seeded = keycliq("sandbox", "up", "--seed", "1", env=env)
        assert seeded.returncode == 2 and not seeded.stdout
        assert "cannot take --seed 1 (it was started without --seed)" in seeded.stderr
        assert "keycliq sandbox down && keycliq sandbox up --seed 1" in seeded.stderr

        pushed = subprocess.run(
            ["git", "push", "heroku-staging", "main:main"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        )
        assert pushed.returncode == 0, pushed.stderr
        assert "Applying migration `20250302120000_add_query_indexes`" in pushed.stderr

        status = keycliq("sandbox", "status", "--json", env=env)
        assert status.returncode == 0
        assert '"running": true' in status.stdout and exports["HEROKU_API_KEY"] not in status.stdout
    finally:
        down = keycliq("sandbox", "down", env=env)
    assert down.returncode == 0 and "stopped" in down.stderr
    assert not home.exists()
    gone = keycliq("sandbox", "status", env=env)
    assert gone.returncode == 1 and "no sandbox running" in gone.stderr


def test_bad_fault_is_a_usage_error_and_starts_nothing(env: dict[str, str], tmp_path: Path) -> None:
    done = keycliq("sandbox", "up", "--fault", "explode@/account", env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: --fault 'explode@/account': unknown kind")
    assert not (tmp_path / "sbx").exists()


def test_refuses_a_state_folder_it_does_not_own(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "sbx").mkdir()
    (tmp_path / "sbx" / "precious.txt").write_text("keep me")
    done = keycliq("sandbox", "down", env=env)
    assert done.returncode == 2 and "not a keycliq sandbox folder" in done.stderr
    assert (tmp_path / "sbx" / "precious.txt").read_text() == "keep me"


def test_a_stand_in_that_cannot_start_is_an_outside_failure(
    env: dict[str, str], tmp_path: Path
) -> None:
    # Nothing listens on port 1: the stand-in's PostgreSQL is unreachable.
    env = {**env, "KEYCLIQ_DATABASE_URL": "postgresql://kc:hunter2secret@127.0.0.1:1/postgres"}
    done = keycliq("sandbox", "up", "--timeout", "120", env=env)
    assert done.returncode == 3, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors and errors[0].startswith("error: the sandbox failed to start: ")
    assert "127.0.0.1:1/postgres" in errors[0]
    assert "Traceback" not in done.stderr and "hunter2secret" not in done.stderr
