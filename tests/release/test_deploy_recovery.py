"""How ``keycliq deploy`` recovers and stops (issue 14): a hung test command fails at its
deadline, the test command never sees the Heroku token, a failed release phase can be
retried, an unknown ``--skip`` step is a usage error, and the messages of a resumed run say
what really happened."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.world import World

NO_CHECKLIST = ("deploy", "staging", "--yes", "--skip", "checklist", "--reason", "e2e case")
STAGING = "keycliq-staging"


def git(world: World, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=world.repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def set_tests(world: World, command: str, timeout: int) -> None:
    """keycliq.yaml's tests (command, timeout), committed so the tree stays clean."""
    path = world.repo / "keycliq.yaml"
    text = path.read_text()
    text, n = re.subn(
        r"^tests:\n  command: .*\n  timeout: .*\n",
        f"tests:\n  command: '{command}'\n  timeout: {timeout}\n",
        text,
        flags=re.M,
    )
    assert n == 1, text
    path.write_text(text)
    git(world, "add", "keycliq.yaml")
    git(world, "commit", "-q", "-m", "tests for this case")


def end_record(world: World) -> dict[str, object]:
    record = world.last_record()
    assert record["outcome"] != "running"
    return record


def step(record: dict[str, object], name: str) -> dict[str, object]:
    steps = record["steps"]
    assert isinstance(steps, list)
    found: dict[str, object] = next(s for s in steps if s["name"] == name)
    return found


def releases(world: World) -> int:
    return len(world.sandbox.engine.app(STAGING).releases)


# ------------------------------------------------------------------ finding 3: the tests


@pytest.mark.parametrize(
    "command",
    [
        "sleep 45",  # prints nothing, never ends in time
        "sleep 60 & echo started",  # exits at once; its child holds the output pipe
        "echo started; sleep 60 >/dev/null 2>&1 <&- & exec sleep 60",
    ],
)
def test_a_hung_test_command_fails_at_its_deadline(world: World, cli, command: str) -> None:  # type: ignore[no-untyped-def]
    set_tests(world, command, 3)
    before = releases(world)
    result = cli(*NO_CHECKLIST)
    assert result.code == 1, result.output
    assert "ran longer than 3s" in result.output
    record = end_record(world)
    assert record["outcome"] == "failed" and record["exit_code"] == 1
    assert step(record, "tests")["status"] == "failed"
    assert step(record, "push")["status"] == "not-run"
    assert releases(world) == before


def test_the_test_command_does_not_see_the_heroku_token(
    world: World, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import os

    token = os.environ["HEROKU_API_KEY"]
    monkeypatch.setenv("KEYCLIQ_E2E_COPY", token)  # the token under another name
    monkeypatch.setenv("KEYCLIQ_E2E_PLAIN", "kept")
    dump = tmp_path / "env.txt"
    set_tests(world, f"env > {dump}", 60)
    result = cli(*NO_CHECKLIST)
    assert result.code == 0, result.output
    seen = dump.read_text()
    assert "KEYCLIQ_E2E_PLAIN=kept" in seen and "CI=" in seen
    assert "HEROKU_API_KEY" not in seen and "KEYCLIQ_E2E_COPY" not in seen
    assert token not in seen


# ------------------------------------------------------------------ finding 10: --skip


@pytest.mark.parametrize("skipped", ["nosuchstep", "push"])
def test_skipping_an_unknown_or_unskippable_step_is_a_usage_error(
    world: World, cli, skipped: str
) -> None:  # type: ignore[no-untyped-def]
    before = releases(world)
    result = cli("deploy", "staging", "--yes", "--skip", skipped, "--reason", "why not")
    assert result.code == 2, result.output
    assert f"--skip {skipped}" in result.stderr
    assert "tests" in result.stderr and "checklist" in result.stderr  # the known steps
    assert world.ledger_records() == []
    assert releases(world) == before


# ------------------------------------------------------------------ finding 5: signals


def _keycliq(world: World, *args: str) -> subprocess.Popen[str]:
    import os
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "keycliq_ops", *args],
        cwd=world.repo,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until(proc: subprocess.Popen[str], marker: str) -> list[str]:
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            return seen
    proc.wait()
    pytest.fail(f"no {marker!r} in the output: {''.join(seen)}")


@pytest.mark.parametrize(
    ("sig", "code", "words"),
    [("SIGINT", 130, "interrupted (Ctrl-C)"), ("SIGTERM", 143, "terminated (SIGTERM)")],
)
def test_a_signal_during_a_step_ends_the_run_aborted(
    world: World, tmp_path: Path, sig: str, code: int, words: str
) -> None:
    import os
    import signal

    pidfile = tmp_path / "tests.pid"
    set_tests(world, f"echo $$ > {pidfile}; echo TESTS-$((40+2)); exec sleep 120", 600)
    proc = _keycliq(world, *NO_CHECKLIST)
    before = _read_until(proc, "TESTS-42")  # printed by the command, not in its text
    proc.send_signal(getattr(signal, sig))
    rest, _ = proc.communicate(timeout=120)
    output = "".join(before) + rest
    assert proc.returncode == code, output
    assert f"aborted at tests: {words} during tests" in output
    record = end_record(world)
    assert record["outcome"] == "aborted" and record["exit_code"] == code
    assert step(record, "tests")["status"] == "aborted"
    assert step(record, "push")["status"] == "not-run"
    tests_pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):  # the test command was stopped with keycliq
        for _ in range(600):
            os.kill(tests_pid, 0)
            import time

            time.sleep(0.1)


@pytest.mark.parametrize(
    ("sig", "code", "words"),
    [("SIGINT", 130, "interrupted (Ctrl-C)"), ("SIGTERM", 143, "terminated (SIGTERM)")],
)
def test_a_signal_just_after_the_last_step_still_records_aborted(
    world: World, cli, monkeypatch: pytest.MonkeyPatch, sig: str, code: int, words: str
) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal

    from keycliq_ops.release import stepper

    real = stepper.StepRunner.run

    def then_signalled(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        got = real(self, *args, **kwargs)
        os.kill(os.getpid(), getattr(signal, sig))  # a real signal, to this process
        return got

    monkeypatch.setattr(stepper.StepRunner, "run", then_signalled)
    result = cli(*NO_CHECKLIST)
    assert result.code == code, result.output
    assert words in result.stderr
    record = end_record(world)
    assert record["outcome"] == "aborted" and record["exit_code"] == code
    assert "after the last step" in str(record["error"])
    assert all(s["status"] != "not-run" for s in record["steps"])  # type: ignore[union-attr]


def test_a_signal_while_the_end_is_recorded_leaves_a_whole_record(
    world: World, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal

    from keycliq_ops.ledger import Ledger

    real = Ledger.complete

    def signalled(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGTERM)  # CI cancels the job while the end is written
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Ledger, "complete", signalled)
    result = cli(*NO_CHECKLIST)
    assert result.code == 143, result.output
    assert "terminated (SIGTERM)" in result.stderr
    record = end_record(world)  # never only `running`
    assert record["outcome"] == "succeeded" and record["exit_code"] == 0


# ------------------------------------------------------------------ finding 14: messages


def test_a_cut_push_stream_is_not_called_a_failed_build(
    world: World, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from keycliq_ops.adapters.git import Repo
    from keycliq_ops.base.errors import GitError

    real = Repo.push

    def cut(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        real(self, *args, **kwargs)  # the push lands; git then says what a cut one says
        raise GitError(
            "git push to heroku-staging was refused by the remote: pre-receive hook declined",
            hint="the build failed: read the remote: lines above",
        )

    monkeypatch.setattr(Repo, "push", cut)
    result = cli(*NO_CHECKLIST)
    assert result.code == 0, result.output
    assert "the build failed" not in result.output
    assert "git push ended early" in result.output
    record = end_record(world)
    assert record["outcome"] == "succeeded"
    assert "push output cut short" in str(step(record, "push")["detail"])


def test_a_resume_after_an_interrupted_push_does_not_blame_someone_else(
    world: World, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from keycliq_ops.release import following

    real = following.follow_release
    calls = {"n": 0}

    def interrupted(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(following, "follow_release", interrupted)
    assert cli(*NO_CHECKLIST).code == 130
    second = cli(*NO_CHECKLIST, "--resume")
    assert second.code == 0, second.output
    assert "someone released from elsewhere" not in second.output
    assert "released from elsewhere" not in str(end_record(world)["details"])


def test_resume_after_a_success_says_there_is_nothing_to_resume(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli(*NO_CHECKLIST).code == 0
    records = len(world.ledger_records())
    before = releases(world)
    again = cli(*NO_CHECKLIST, "--resume")
    assert again.code == 2, again.output
    assert "nothing to resume" in again.stderr and "succeeded" in again.stderr
    assert len(world.ledger_records()) == records and releases(world) == before
