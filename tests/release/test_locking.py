from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from keycliq_ops.base.errors import GateFailed
from keycliq_ops.release.locking import environment_lock


def test_second_holder_is_refused_and_named(tmp_path: Path) -> None:
    # A real second process holds the lock while we try.
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from keycliq_ops.release.locking import environment_lock
        with environment_lock(Path({str(tmp_path)!r}), "staging", "deploy"):
            print("held", flush=True)
            sys.stdin.readline()
    """)
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(GateFailed) as info, environment_lock(tmp_path, "staging", "deploy"):
            pass
        assert f"pid {holder.pid}" in info.value.message
        assert "another deploy of staging is running" in info.value.message
        # Another environment is independent.
        with environment_lock(tmp_path, "production", "promote"):
            pass
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    with environment_lock(tmp_path, "staging", "deploy"):
        pass


def test_lock_is_released_when_the_holder_dies(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from keycliq_ops.release.locking import environment_lock
        with environment_lock(Path({str(tmp_path)!r}), "staging", "deploy"):
            os._exit(9)
    """)
    subprocess.run([sys.executable, "-c", code], check=False)
    with environment_lock(tmp_path, "staging", "deploy"):
        pass


def test_state_dir_ignores_its_machine_local_files(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with environment_lock(tmp_path, "staging", "deploy"):
        pass
    (tmp_path / ".keycliq" / "ledger.jsonl").write_text("{}\n")
    (tmp_path / ".keycliq" / "checklist-state.json").write_text("{}\n")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".keycliq/ledger.jsonl" in status  # the record is meant to be committed
    assert ".keycliq/.gitignore" in status
    assert "locks" not in status and "checklist-state" not in status
