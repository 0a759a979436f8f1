"""The wheel: what it holds, and what it does installed without the ``standin`` extra.

The wheel is built with the project's own build backend (hatchling, PEP 517, offline), then
unpacked into a folder that is put first on ``sys.path`` of a subprocess: keycliq runs from
the wheel's files, not the checkout. Installing its dependencies in a fresh venv would need
the package index, so the subprocess reuses this environment's and hides ``pgserver`` (the
extra) with a meta-path finder in a ``sitecustomize``: ``import pgserver`` fails there as it
does where the extra is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HIDE_PGSERVER = """
import importlib.machinery
import sys


class _NoPgserver(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname == "pgserver" or fullname.startswith("pgserver."):
            return None
        return super().find_spec(fullname, path, target)


sys.meta_path[:] = [
    _NoPgserver if finder is importlib.machinery.PathFinder else finder
    for finder in sys.meta_path
]
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from hatchling.build import build_wheel; print(build_wheel(sys.argv[1]))",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return out / built.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel unpacked (a pure-Python wheel installs as exactly these files)."""
    root = tmp_path_factory.mktemp("installed")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(root / "site")
    (root / "hide").mkdir()
    (root / "hide" / "sitecustomize.py").write_text(HIDE_PGSERVER)
    return root / "site"


def _keycliq(installed: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KEYCLIQ_DATABASE_URL", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join([str(installed.parent / "hide"), str(installed)])
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "keycliq_ops", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_wheel_holds_the_catalogue_and_the_standin_data(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = Parser().parsestr(
            zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        )
    catalogue = ROOT / "checklists", ROOT / "dataclips"
    for folder in catalogue:
        for shipped in folder.iterdir():
            if shipped.is_file():
                assert f"keycliq_ops/_catalog/{folder.name}/{shipped.name}" in names
    assert "keycliq_ops/standin/_schema/platform-api.json" in names
    assert "keycliq_ops/standin/sample/schema.sql" in names
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)
    requires = metadata.get_all("Requires-Dist") or []
    assert "pgserver>=0.1.4; extra == 'standin'" in requires
    assert not any(r.startswith("pgserver") and "extra" not in r for r in requires)
    assert not any(r.startswith("psycopg-pool") for r in requires)
    assert "standin" in (metadata.get_all("Provides-Extra") or [])


def test_without_the_extra_the_catalogue_commands_work_from_the_wheel(
    installed: Path, tmp_path: Path
) -> None:
    assert _keycliq(installed, "--help", cwd=tmp_path).returncode == 0
    clips = _keycliq(installed, "dataclips", "list", "--json", cwd=tmp_path)
    assert clips.returncode == 0, clips.stderr
    shipped = json.loads(clips.stdout)
    assert str(installed / "keycliq_ops" / "_catalog" / "dataclips") in clips.stdout
    assert "E2" in json.dumps(shipped)
    checklists = _keycliq(installed, "checklist", "list", cwd=tmp_path)
    assert checklists.returncode == 0, checklists.stderr
    assert "staging" in checklists.stdout and "production" in checklists.stdout
    flat = "".join(checklists.stdout.split())  # the table wraps the folder's path
    assert "".join(str(installed / "keycliq_ops" / "_catalog" / "checklists").split()) in flat


@pytest.mark.parametrize("command", [("demo",), ("sandbox", "up")])
def test_without_the_extra_the_standin_says_how_to_get_it(
    installed: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    done = _keycliq(installed, *command, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: the local stand-in needs the `standin` extra (embedded PostgreSQL): "
        "pip install 'keycliq-ops[standin]'"
    ]
    assert not (tmp_path / ".local").exists()  # nothing started, nothing written


def test_the_subprocess_runs_the_wheel_with_pgserver_hidden(
    installed: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = (
        "import importlib.util as u, keycliq_ops; "
        "print(keycliq_ops.__file__, u.find_spec('pgserver') is None, "
        "u.find_spec('psycopg') is not None)"
    )
    plain = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert plain.stdout.split()[1:] == ["False", "True"]  # this environment has the extra
    env["PYTHONPATH"] = os.pathsep.join([str(installed.parent / "hide"), str(installed)])
    hidden = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    origin, no_pgserver, psycopg_there = hidden.stdout.split()
    assert Path(origin).is_relative_to(installed)
    assert (no_pgserver, psycopg_there) == ("True", "True")
