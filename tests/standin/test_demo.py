"""``keycliq demo`` end to end: each scenario on its own stand-in (the sandbox daemon with
its own embedded PostgreSQL, as on a fresh machine), asserting exit codes, what the user
saw, and that nothing is left behind. Plus the runner's checks on quick real commands.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from keycliq_ops.standin.daemon import STATE_FILE, SandboxState, state_home
from keycliq_ops.standin.demo.scenarios import Command
from keycliq_ops.standin.demo.scripted import _run_command
from keycliq_ops.standin.demo.standin import StandIn

HEADER = re.compile(r"^\$ (.+)$", re.MULTILINE)


def shown_commands(stdout: str) -> list[str]:
    return HEADER.findall(stdout)


def stand_in_folder(stdout: str) -> Path:
    """The stand-in's state folder, from the line naming the sample repository."""
    m = re.search(r"sample repository: (\S+)", stdout)
    assert m, stdout
    return Path(m.group(1)).parent


def no_secrets(text: str) -> None:
    assert "HRKU-sbx-" not in text  # the stand-in's token
    assert "postgresql://" not in text and "postgres://" not in text  # database URLs
    assert "SESSION_SECRET=" not in text


def test_demo_on_a_fresh_machine(tmp_path: Path) -> None:
    """`python -m keycliq_ops demo` as a user runs it: no database URL, no network."""
    env = {k: v for k, v in os.environ.items() if k != "KEYCLIQ_TEST_DATABASE_URL"}
    proc = subprocess.run(
        [sys.executable, "-m", "keycliq_ops", "demo"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out, err = proc.stdout, proc.stderr
    assert shown_commands(out) == [
        "keycliq status",
        "keycliq deploy staging --yes --answers keycliq-answers.yaml",
        "keycliq dataclips run A C -e staging --param userId=c000000013993f4566c6d8356",
        "keycliq promote --yes --confirm keycliq-production --answers keycliq-answers.yaml",
        "keycliq ledger list",
        "keycliq ledger verify",
    ]
    # The commands' own output, each on its stream: deploy progress and answers on stderr,
    # summaries on stdout.
    assert "local is 1 commit ahead of staging" in out
    assert "==> Preflight" in err and "[passed] deployed = yes" in err
    assert "[passed] test-user = c000000013993f4566c6d8356" in err
    assert "Applying migration `20250302120000_add_query_indexes`" in err
    assert "Global counts" in out and "Production release" in out
    assert "chain" in out and "intact" in out
    assert "demo release: deployed to staging, checked, promoted to production" in out
    no_secrets(out + err)
    # Torn down: the stand-in's folder is gone and its daemon with it.
    assert not stand_in_folder(out).exists()
    assert "stopping the stand-in" in err


def test_bad_migration(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("demo", "--scenario", "bad-migration")
    assert result.code == 1, result.output
    assert shown_commands(result.stdout)[:4] == [
        "git add prisma/migrations",
        "git commit -q -m 'Require a label on keys'",
        "git push -q origin main",
        "keycliq deploy staging --yes --answers keycliq-answers.yaml",
    ]
    assert 'ADD COLUMN "label" TEXT NOT NULL' in result.stdout  # the migration, shown
    # First the lint, before anything is pushed; then, the risk accepted, Prisma's failure.
    assert "adding-required-field" in result.stderr
    assert shown_commands(result.stdout)[4] == (
        "keycliq deploy staging --yes --answers keycliq-answers.yaml "
        "--accept-migration-risk 'demo: let the release phase try it'"
    )
    # Why it stopped, in the command's own words: Prisma's error and keycliq's verdict.
    assert "Error: P3018" in result.stderr
    assert 'column "label" of relation "keys" contains null values' in result.stderr
    assert "error: failed at release" in result.stderr
    assert "# exit 1, as expected" in result.stdout
    assert "the lint stopped the deploy before the push" in result.stdout
    assert "deploy stopped at the release phase" in result.stdout
    assert "failed" in result.stdout.split("$ keycliq ledger list")[1]
    assert "intact" in result.stdout.split("$ keycliq ledger verify")[1]
    assert "error: demo" not in result.stderr  # every step did what the scenario shows
    no_secrets(result.output)
    assert not stand_in_folder(result.stdout).exists()


def test_integrity_defect(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("demo", "--scenario", "integrity-defect")
    assert result.code == 1, result.output
    assert "\"matchType\" = 'MATCHED'" in result.stdout  # what was planted
    deploy = result.stdout.split("$ keycliq deploy")[1].split("$ keycliq dataclips")[0]
    assert "Checklist" in deploy and "Dataclips failed: G" in deploy
    assert "G   fail" in result.stderr  # the gate's line for G
    g_run = result.stdout.split("$ keycliq dataclips run G -e staging")[1]
    assert "MATCHED" in g_run.split("$ keycliq")[0]
    assert "refusing to promote" in result.output
    assert "the Dataclip gate failed on check G" in result.stdout
    assert "intact" in result.stdout.split("$ keycliq ledger verify")[1]
    assert "error: demo" not in result.stderr
    no_secrets(result.output)


def test_flaky_api_kept_with_json(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """503s, 429s and a cut stream survived; --keep leaves the daemon for `sandbox`."""
    result = cli("demo", "--scenario", "flaky-api", "--keep", "--json")
    try:
        assert result.code == 0, result.output
        summary: dict[str, Any] = json.loads(result.stdout)
        assert summary["scenario"] == "flaky-api" and summary["ok"] is True
        assert summary["kept"] is True and summary["exit_code"] == 0
        commands = [s["command"] for s in summary["steps"] if s["expected"] is not None]
        assert commands[:3] == [
            "keycliq status",
            "keycliq deploy staging --yes --answers keycliq-answers.yaml",
            "keycliq promote --yes --confirm keycliq-production --answers keycliq-answers.yaml",
        ]
        assert all(s["ok"] for s in summary["steps"])
        assert all(s["exit_code"] == 0 for s in summary["steps"] if s["expected"] is not None)
        # With --json the commands' output goes to stderr, the summary alone to stdout.
        assert "HTTP 503 x2 @ /account" in result.stderr
        assert "every planted fault fired" in result.stderr
        assert "Production release" in result.stderr
        no_secrets(result.output)
        # Kept: `keycliq sandbox status` sees it, and its repository's ledger verifies.
        status = cli("sandbox", "status", "--json")
        assert status.code == 0, status.output
        st = json.loads(status.stdout)
        assert st["running"] and st["repo"] == summary["repo"] and st["faults"] == []
        monkeypatch.chdir(summary["repo"])
        verify = cli("ledger", "verify", "--json")
        assert verify.code == 0 and json.loads(verify.stdout)["ok"] is True
    finally:
        down = cli("sandbox", "down")
    assert down.code == 0 and "stopped" in down.stderr
    assert not Path(summary["home"]).exists()


def test_unknown_scenario_is_a_usage_error_before_anything_starts(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("demo", "--scenario", "everything-breaks")
    assert result.code == 2
    assert "error: --scenario 'everything-breaks': unknown scenario" in result.stderr
    assert "release, bad-migration, integrity-defect, flaky-api" in result.stderr
    assert "starting" not in result.output


def test_keep_refuses_to_reuse_a_running_sandbox(cli) -> None:  # type: ignore[no-untyped-def]
    home = state_home()  # inside the test's XDG_STATE_HOME
    home.mkdir(parents=True)
    (home / ".keycliq-sandbox").write_text("")
    state = SandboxState(
        pid=os.getpid(), url="http://127.0.0.1:9", token="t", home=str(home), repo="", apps=[]
    )
    (home / STATE_FILE).write_text(json.dumps(state.__dict__))
    result = cli("demo", "--keep")
    assert result.code == 2
    assert f"a sandbox is already running (pid {os.getpid()}" in result.stderr
    assert "keycliq sandbox down" in result.stderr


# ------------------------------------------------------------ the runner's own checks


def fake_standin(repo: Path) -> StandIn:
    state = SandboxState(
        pid=0, url="http://127.0.0.1:9", token="t", home=str(repo), repo=str(repo), apps=[]
    )
    return StandIn(home=repo, state=state, keep=True, temporary=False)


def run_one(tmp_path: Path, step: Command) -> tuple[bool, str | None, list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    result, problem = _run_command(
        step,
        3,
        fake_standin(tmp_path),
        dict(os.environ),
        lambda stream, text: seen.append((stream, text)),
        sys.executable,
    )
    return result.ok, problem, seen


def test_a_step_with_another_exit_code_is_not_as_expected(tmp_path: Path) -> None:
    ok, problem, seen = run_one(tmp_path, Command(("keycliq", "--version"), "v", expect=1))
    assert not ok
    assert problem == "step 3 `keycliq --version` exited 0, the demo expects 1"
    assert seen[0] == ("out", "$ keycliq --version\n")
    assert any(stream == "out" and text.startswith("keycliq ") for stream, text in seen[1:])


def test_a_step_that_does_not_show_its_text_is_not_as_expected(tmp_path: Path) -> None:
    step = Command(("keycliq", "ledger", "verify"), "v", expect=2, shows=("no such text",))
    ok, problem, seen = run_one(tmp_path, step)
    assert not ok
    assert problem == "step 3 `keycliq ledger verify` exited 2 but did not show 'no such text'"
    assert any(stream == "err" and text.startswith("error:") for stream, text in seen)


def test_expected_failure_and_wrapped_text_pass(tmp_path: Path) -> None:
    # No keycliq.yaml here: exit 2 with "error: …" on stderr; the check ignores line wrapping.
    step = Command(("keycliq", "status"), "v", expect=2, shows=("no   keycliq.yaml\n",))
    ok, problem, seen = run_one(tmp_path, step)
    assert problem is None and ok, seen
    assert seen[-1] == ("out", "# exit 2, as expected\n")


def test_a_step_past_its_timeout_is_killed(tmp_path: Path) -> None:
    # A step that would run ten minutes, a two-second timeout: killed at the timeout
    # however loaded the machine is (nothing here races the clock).
    step = Command((sys.executable, "-c", "import time; time.sleep(600)"), "v", timeout=2)
    ok, problem, _ = run_one(tmp_path, step)
    assert not ok and problem is not None and "did not finish within 2s" in problem


def test_the_demo_stops_its_stand_in_on_ctrl_c(tmp_path: Path) -> None:
    """SIGINT while the stand-in starts: exit 130, its folder and daemon gone."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "keycliq_ops", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the daemon reports progress
        if "creating pipeline" in line:
            break
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()  # the same reader: nothing it buffered is lost
    proc.wait(timeout=120)
    assert proc.stdout is not None
    rest += proc.stdout.read()
    assert proc.returncode == 130, rest
    assert "interrupted" in rest
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("keycliq-demo-")]
