"""Hostile input files and checkouts, through the real entry point: each is a usage or
config error (exit 2) naming the file (and the line when known), never an internal error
(70), an outside failure (3), a hang or a machine eaten by an alias bomb.

Issue 14, findings 10 and 11 (keycliq.yaml nested 50,000 deep, holding a NUL byte, an alias
bomb in keycliq.yaml, a checklist or an answers file; a checkout with no commits or no git).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from keycliq_ops.adapters.git import Repo
from keycliq_ops.base.errors import CheckoutError

EXAMPLE = Path(__file__).resolve().parents[2] / "keycliq.yaml.example"

BOMB = "".join(
    f"{name}: &{name} [{', '.join([prev] * 9)}]\n"
    for prev, name in zip(
        ['"lol"', "*a", "*b", "*c", "*d", "*e", "*f", "*g", "*h"], "abcdefghi", strict=True
    )
)

HOSTILE = {
    "nested-50000": "version: 1\nenvironments: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "nul-byte": "version: 1\npipeline: keycliq\0\n",
    "alias-bomb": BOMB,
    "endless-int": "version: " + "9" * 5000 + "\n",
    "not-utf8": "version: 1\npipeline: \xff\n",
}
LINE = {"nested-50000": 2, "nul-byte": 2, "alias-bomb": 6, "endless-int": 1, "not-utf8": 2}


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("latin-1") if "\xff" in text else text.encode("utf-8"))
    return path


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("command", [("config", "validate"), ("status",)], ids=" ".join)
def test_a_hostile_keycliq_yaml_is_a_config_error(  # type: ignore[no-untyped-def]
    cli,
    tmp_path: Path,
    case: str,
    command: tuple[str, ...],
) -> None:
    path = _write(tmp_path / "keycliq.yaml", HOSTILE[case])
    done = cli("--config", str(path), *command)
    assert done.code == 2, done.output
    assert done.stderr.startswith(f"error: {path}:{LINE[case]}: "), done.stderr
    assert "internal error" not in done.output


def test_a_checklist_alias_bomb_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    checklist = _write(tmp_path / "bomb.yaml", BOMB)
    done = cli("checklist", "show", str(checklist))
    assert done.code == 2, done.output
    assert done.stderr.startswith(f"error: {checklist}:6: more than 100,000 values")


@pytest.mark.parametrize("answers", ["bomb", "/dev/zero"])
def test_a_hostile_answers_file_is_refused(cli, tmp_path: Path, answers: str) -> None:  # type: ignore[no-untyped-def]
    config = _write(tmp_path / "keycliq.yaml", EXAMPLE.read_text())
    path = _write(tmp_path / "answers.yaml", BOMB) if answers == "bomb" else Path(answers)
    done = cli("--config", str(config), "checklist", "run", "staging", "--answers", str(path))
    assert done.code == 2, done.output
    assert done.stderr.startswith(f"error: {path}"), done.stderr
    assert "more than 100,000 values" in done.stderr or "larger than 128 KiB" in done.stderr


# -- checkouts: not a repository, no commits, no git -------------------------------------


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    _write(folder / "keycliq.yaml", EXAMPLE.read_text())
    return folder


def test_the_git_boundary_calls_these_usage_errors(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(CheckoutError) as info:
        Repo.discover(project)
    assert info.value.exit_code == 2 and "not a git repository" in info.value.message
    assert info.value.hint is not None and "git init" in info.value.hint

    _git("init", "-q", cwd=project)
    with pytest.raises(CheckoutError) as info:
        Repo.discover(project).head_commit()
    assert info.value.exit_code == 2 and "has no commits yet" in info.value.message

    monkeypatch.setenv("PATH", str(project / "no-bin"))
    with pytest.raises(CheckoutError) as info:
        Repo.discover(project)
    assert info.value.exit_code == 2 and "git is not installed" in info.value.message


@pytest.mark.parametrize("state", ["no-git-repo", "no-commits", "no-git-installed"])
def test_deploy_from_an_unusable_checkout_is_a_usage_error(  # type: ignore[no-untyped-def]
    cli,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    state: str,
) -> None:
    if state != "no-git-repo":
        _git("init", "-q", cwd=project)
    monkeypatch.chdir(project)
    # nothing may be asked of Heroku: an address that refuses at once if it were
    monkeypatch.setenv("HEROKU_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("HEROKU_API_KEY", "not-a-real-token")
    if state == "no-git-installed":
        monkeypatch.setenv("PATH", os.pathsep.join([str(project / "no-bin")]))
    done = cli("deploy", "staging", "--yes")
    assert done.code == 2, done.output
    assert "hint:" in done.stderr
