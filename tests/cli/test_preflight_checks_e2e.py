"""What a deploy would find late is found in preflight, before the tests run: a deploy
remote missing from the checkout, an unreachable Heroku, an app without DATABASE_URL, a
folder that is not a git checkout. Each is one line saying what and where, with a hint
that runs as printed."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from tests.world import World

DEPLOY = ("deploy", "staging", "--yes", "--answers", "keycliq-answers.yaml")
STAGING = "keycliq-staging"


def _line_of(path: Path, needle: str, after: str) -> int:
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == after)
    return next(i for i, line in enumerate(lines) if i > start and needle in line) + 1


def _steps(world: World) -> dict[str, str]:
    end = world.last_record()
    return {str(s["name"]): str(s["status"]) for s in end["steps"]}  # type: ignore[union-attr]


def _line(output: str, prefix: str) -> str:
    found = [line for line in output.splitlines() if line.startswith(prefix)]
    assert found, output
    return found[-1]


def test_a_missing_deploy_remote_stops_preflight_with_its_line(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    world.git("remote", "remove", "heroku-staging")
    done = cli(*DEPLOY)
    assert done.code == 2, done.output
    line = _line_of(world.repo / "keycliq.yaml", "remote: heroku-staging", "staging:")
    error = _line(done.stderr, "error: ")
    assert error.startswith(
        f"error: failed at preflight: keycliq.yaml:{line}: environments.staging.remote: "
        "no git remote named 'heroku-staging'"
    ), error
    steps = _steps(world)
    assert steps["preflight"] == "failed" and steps["tests"] == "not-run", steps
    # the hint runs as printed, and then the remote is there
    hint = _line(done.stderr, "hint: ")
    command = hint.split("add it: ", 1)[1]
    assert shlex.split(command)[:3] == ["git", "remote", "add"]
    subprocess.run(shlex.split(command), cwd=world.repo, check=True, capture_output=True)
    assert world.git("remote", "get-url", "heroku-staging").endswith(f"{STAGING}.git")


def test_a_deploy_remote_that_does_not_answer_stops_preflight(
    world: World, cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    world.git("remote", "set-url", "heroku-staging", str(tmp_path / "no-such-repo.git"))
    done = cli(*DEPLOY)
    assert done.code == 3, done.output
    assert "error: failed at preflight: git remote heroku-staging does not answer: " in done.stderr
    assert "hint: check `git remote get-url heroku-staging`" in done.stderr
    assert _steps(world)["tests"] == "not-run"


def test_an_unreachable_heroku_is_exit_3_before_anything(  # type: ignore[no-untyped-def]
    world: World, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HEROKU_API_URL", f"http://127.0.0.1:{port}")
    done = cli(*DEPLOY)
    assert done.code == 3, done.output
    error = _line(done.stderr, "error: ")
    assert error.startswith(
        f"error: cannot reach Heroku, nothing was done: Heroku API GET /apps/{STAGING} failed"
    ), error
    assert "Connect" in error and "refused" in error.lower()
    assert "hint: check the network connection and HEROKU_API_URL" in done.stderr
    assert world.ledger_records() == []  # nothing ran, nothing to record


def test_a_missing_database_url_stops_preflight_naming_what_needs_it(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    del world.sandbox.engine.app(STAGING).config["DATABASE_URL"]
    done = cli(*DEPLOY)
    assert done.code == 2, done.output
    error = _line(done.stderr, "error: ")
    assert error.startswith(
        f"error: failed at preflight: {STAGING} has no DATABASE_URL config var, and this "
        "deploy reads its database: "
    ), error
    assert "the Dataclip gate (E1, E2, E3, E4, F, G, H)" in error
    assert "checklist 'staging' (its Dataclip items)" in error
    assert (
        f"hint: attach Heroku Postgres to it: heroku addons:create heroku-postgresql -a {STAGING}"
        in done.stderr
    )
    assert _steps(world)["tests"] == "not-run"


def test_not_a_git_checkout_is_a_usage_error_with_a_hint(
    world: World, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "not-git"
    folder.mkdir()
    (folder / "keycliq.yaml").write_text((world.repo / "keycliq.yaml").read_text())
    monkeypatch.chdir(folder)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    done = cli(*DEPLOY)
    assert done.code == 2, done.output
    assert _line(done.stderr, "error: ").startswith(f"error: {folder} is not a git checkout")
    hint = _line(done.stderr, "hint: ")
    assert "git init && git add -A && git commit" in hint
