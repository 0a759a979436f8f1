from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from keycliq_ops.errors import GateFailed
from keycliq_ops.locks import environment_lock


def test_second_holder_is_refused_and_named(tmp_path: Path) -> None:
    # A real second process holds the lock while we try.
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from keycliq_ops.locks import environment_lock
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
        from keycliq_ops.locks import environment_lock
        with environment_lock(Path({str(tmp_path)!r}), "staging", "deploy"):
            os._exit(9)
    """)
    subprocess.run([sys.executable, "-c", code], check=False)
    with environment_lock(tmp_path, "staging", "deploy"):
        pass
