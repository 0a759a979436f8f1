"""The entry point, the error boundary, and the config commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from keycliq_ops import __version__
from keycliq_ops.config.reference import render_reference

REPO = Path(__file__).resolve().parents[2]


def test_version_fast_path(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--version")
    assert result.code == 0
    assert result.stdout == f"keycliq {__version__}\n"


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "keycliq_ops", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert "Usage" in proc.stdout and "config" in proc.stdout


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from keycliq_ops.__main__ import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('httpx', 'psycopg', 'pydantic', 'yaml', 'jsonschema') "
        "if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert "HEAVY=\n" in proc.stdout, proc.stdout[-500:]


def test_config_error_is_one_line_exit_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "keycliq.yaml"
    bad.write_text("environments:\n  staging:\n    app: keycliq-staging\n    colour: red\n")
    result = cli("--config", str(bad), "config", "validate")
    assert result.code == 2
    assert result.stderr.strip() == f"error: {bad}:4: environments.staging.colour: unknown key"
    assert "Traceback" not in result.output


def test_missing_config_gives_a_hint(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("config", "show")
    assert result.code == 2
    assert "error: no keycliq.yaml in" in result.stderr
    assert "hint: run `keycliq init`" in result.stderr


def test_unknown_option_is_a_usage_error(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("config", "validate", "--nope")
    assert result.code == 2
    assert "--nope" in result.output


def test_init_then_validate_then_show(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init", "--dir", str(tmp_path)).code == 0
    again = cli("init", "--dir", str(tmp_path))
    # init never overwrites: it keeps every file and says so (--force rewrites keycliq.yaml)
    assert again.code == 0 and "exists" in again.stderr and "--force" in again.stderr
    assert "kept" in again.stderr and "wrote" not in again.stderr
    cfg = str(tmp_path / "keycliq.yaml")
    ok = cli("--config", cfg, "config", "validate")
    assert ok.code == 0 and "2 environments" in ok.stderr
    as_json = cli("--config", cfg, "config", "validate", "--json")
    assert as_json.code == 0 and '"environments"' in as_json.stdout
    shown = cli("--config", cfg, "config", "show", "--json")
    assert shown.code == 0
    import json

    data = json.loads(shown.stdout)
    assert data["environments"]["production"]["dataclips"] == ["A", "C"]
    assert data["paths"]["ledger"].endswith(".keycliq/ledger.jsonl")


def test_interrupt_exits_130_with_one_line(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from keycliq_ops.config import starter

    def boom(*_a: object, **_k: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(starter, "render_starter", boom)
    result = cli("init")
    assert result.code == 130
    assert result.stderr.strip().endswith("interrupted (Ctrl-C)")
    assert "Traceback" not in result.output


def test_unexpected_errors_are_reported_without_traceback(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from keycliq_ops.config import starter

    def boom(*_a: object, **_k: object) -> str:
        raise RuntimeError("postgres://u:hunter2secret@db.example.com/x broke")

    monkeypatch.setattr(starter, "render_starter", boom)
    result = cli("init")
    assert result.code == 70
    assert "internal error" in result.stderr and "Traceback" not in result.output
    assert "hunter2secret" not in result.output


def test_configuration_reference_is_current() -> None:
    page = REPO / "docs" / "configuration.md"
    assert page.read_text() == render_reference(), (
        "docs/configuration.md is stale: run `uv run keycliq config reference > "
        "docs/configuration.md`"
    )
