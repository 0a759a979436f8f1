"""The layer contracts ([tool.importlinter] in pyproject.toml) hold, and do catch a violation.

``lint-imports`` runs on a copy of the package in a temp folder (first on ``PYTHONPATH``, so
the copy is what it analyses), with the project's own contracts: once as it is (every
contract kept), once with one deliberate violation per contract added as new modules (every
contract broken, each naming the offending import).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (file added to the copied package, its text, the contract it breaks, the import named)
VIOLATIONS = [
    ("dataclips/_bad_psycopg.py", "import psycopg\n", "psycopg-in-db-adapter", "psycopg"),
    ("ledger/_bad_httpx.py", "import httpx\n", "httpx-in-adapters", "httpx"),
    (
        "ops/_bad_standin.py",
        "import keycliq_ops.standin.sandbox\n",
        "standin-apart",
        "keycliq_ops.standin.sandbox",
    ),
    (
        "standin/_bad_core.py",
        "import keycliq_ops.base.errors\n",
        "standin-alone",
        "keycliq_ops.base.errors",
    ),
    ("base/_bad_layer.py", "import keycliq_ops.cli.common\n", "layers", "keycliq_ops.cli.common"),
    ("config/_bad_pgserver.py", "import pgserver\n", "pgserver-in-standin", "pgserver"),
    ("checklists/_bad_git.py", "import subprocess\n", "processes-in-adapters", "subprocess"),
]


def _contract_names() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["id"]: c["name"] for c in config["contracts"]}


def _copy(tmp: Path) -> Path:
    src = tmp / "src"
    shutil.copytree(
        ROOT / "keycliq_ops",
        src / "keycliq_ops",
        ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.sql", "*.md"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    return src


def _lint(tmp: Path, src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    lint = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(lint), "--no-cache", "--no-logo", str(tmp / "pyproject.toml")],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def copied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("contracts")
    return tmp, _copy(tmp)


def test_the_contracts_cover_what_the_layers_promise() -> None:
    assert set(_contract_names()) == {contract for _, _, contract, _ in VIOLATIONS}


def test_the_package_keeps_every_contract(copied: tuple[Path, Path]) -> None:
    tmp, src = copied
    done = _lint(tmp, src)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(VIOLATIONS)} kept, 0 broken." in done.stdout
    assert str(src) in _analysed_from(tmp, src)


def _analysed_from(tmp: Path, src: Path) -> str:
    """Where the copy's package is imported from under the same environment."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [sys.executable, "-c", "import keycliq_ops; print(keycliq_ops.__file__)"],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_a_violation_of_each_contract_breaks_it(copied: tuple[Path, Path]) -> None:
    tmp, src = copied
    for rel, text, _, _ in VIOLATIONS:
        (src / "keycliq_ops" / rel).write_text(text)
    try:
        done = _lint(tmp, src)
    finally:
        for rel, _, _, _ in VIOLATIONS:
            (src / "keycliq_ops" / rel).unlink()
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"Contracts: 0 kept, {len(VIOLATIONS)} broken." in done.stdout
    flat = " ".join(done.stdout.split())
    names = _contract_names()
    for rel, _, contract, imported in VIOLATIONS:
        assert f"{' '.join(names[contract].split())} BROKEN" in flat, contract
        module = "keycliq_ops." + rel.removesuffix(".py").replace("/", ".")
        assert f"{module} -> {imported}" in flat or (module in flat and imported in flat), (
            contract,
            module,
        )
