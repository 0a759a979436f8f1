"""``keycliq dataclips show E2 > e2.sql`` is the catalogue's file byte for byte, at any
width, and runs unchanged in psql (against the embedded PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from keycliq_ops.config.loading import shipped_dataclips
from keycliq_ops.dataclips import load_catalog
from keycliq_ops.standin.pgembed import PostgresServer


def _psql() -> str:
    """psql beside the embedded server's binaries, else the system's."""
    import pgserver  # type: ignore[import-untyped]

    own = Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql"
    if own.exists():
        return str(own)
    found = shutil.which("psql") or "/usr/bin/psql"
    if not Path(found).exists():
        pytest.fail("no psql: neither pgserver's nor /usr/bin/psql")
    return found


@pytest.mark.parametrize("check_id", ["E2", "A", "B"])
def test_show_into_a_file_is_the_catalogue_file_and_runs_in_psql(
    tmp_path: Path, pg_server: PostgresServer, pg_url: str, check_id: str
) -> None:
    out = tmp_path / f"{check_id}.sql"
    env = {**os.environ, "COLUMNS": "80"}
    with out.open("wb") as fh:
        done = subprocess.run(
            [sys.executable, "-m", "keycliq_ops", "dataclips", "show", check_id],
            stdout=fh,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    clip = load_catalog(shipped_dataclips()).get(check_id)
    assert out.read_bytes() == clip.path.read_bytes()
    # an empty database with the app's schema: the check runs, whatever it finds
    from keycliq_ops.standin.sample.seed import apply_schema

    apply_schema(pg_url)
    params = [f"-v{p.name}='x'" for p in clip.params]  # a quoted literal
    ran = subprocess.run(
        [_psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", *params, "-d", pg_url, "-f", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert "syntax error" not in ran.stderr
