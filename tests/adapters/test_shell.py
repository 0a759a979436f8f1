"""The shell adapter: exit codes, streamed output, commands that cannot start, time limits."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from keycliq_ops.adapters import shell
from keycliq_ops.base.errors import EXIT_EXTERNAL, CommandError

PY = sys.executable


def test_exit_status_and_output_lines_are_reported(tmp_path: Path) -> None:
    seen: list[str] = []
    code = "import sys; print('one'); print('two', file=sys.stderr); sys.exit(3)"
    result = shell.run([PY, "-c", code], cwd=tmp_path, timeout=60, on_line=seen.append)
    assert (result.returncode, result.timed_out, result.ok) == (3, False, False)
    assert sorted(seen) == ["one", "two"]  # stderr merged into stdout
    assert sorted(result.output.splitlines()) == ["one", "two"]
    assert result.describe() == "exit 3"


def test_a_shell_line_runs_in_cwd_and_only_the_last_lines_are_kept(tmp_path: Path) -> None:
    (tmp_path / "marker.txt").write_text("here\n")
    result = shell.run(
        "cat marker.txt; for i in 1 2 3 4 5; do echo line$i; done",
        cwd=tmp_path,
        timeout=60,
        keep_lines=2,
    )
    assert result.ok and result.describe() == "exit 0"
    assert result.output == "line4\nline5"


def test_the_environment_can_be_given(tmp_path: Path) -> None:
    env = {**os.environ, "KEYCLIQ_SHELL_TEST": "from-the-caller"}
    result = shell.run("echo $KEYCLIQ_SHELL_TEST", cwd=tmp_path, timeout=60, env=env)
    assert result.output == "from-the-caller"


def test_commands_that_cannot_start_are_command_errors(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as missing:
        shell.run(["keycliq-no-such-command-xyz"], cwd=tmp_path, timeout=60)
    assert missing.value.reason == "not-found"
    assert missing.value.exit_code == EXIT_EXTERNAL
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    with pytest.raises(CommandError) as denied:
        shell.run([str(script)], cwd=tmp_path, timeout=60)
    assert denied.value.reason == "not-executable"
    with pytest.raises(CommandError, match="no folder"):
        shell.run(["true"], cwd=tmp_path / "missing", timeout=60)


def test_a_command_over_its_time_limit_is_stopped_with_its_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    # a child in the background keeps the output pipe open: it must be stopped too
    line = f"sleep 300 & echo $! > {pidfile}; echo started; wait"
    t0 = time.monotonic()
    result = shell.run(line, cwd=tmp_path, timeout=1)
    assert time.monotonic() - t0 < 60  # far from the 300 s the command wanted
    assert result.timed_out and not result.ok and result.returncode is None
    assert result.describe() == "stopped after 1s"
    assert result.output == "started"
    child = int(pidfile.read_text())
    for _ in range(200):  # the group was signalled; give the kernel a moment
        if not _running(child):
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the background child {child} still runs")


def _running(pid: int) -> bool:
    """Whether ``pid`` is alive (a zombie waiting for its reaper is not)."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
