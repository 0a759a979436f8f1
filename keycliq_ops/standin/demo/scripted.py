"""Run a demo scenario: start the stand-in, run each step for real, check it, tear down.

    result = run_demo("release", keep=False, emit=lambda stream, text: ...)

Every ``keycliq …`` step runs as ``<this python> -m keycliq_ops …`` in the sample
repository, with ``HEROKU_API_URL``/``HEROKU_API_KEY`` pointing at the stand-in and no
terminal; its output goes through ``emit`` unchanged, after a ``$ keycliq …`` header. A
step that ends with another exit code than the scenario expects, or does not show the text
it should, stops the demo (``result.ok`` is False and ``result.problem`` says which).
The runner never prints: ``emit("out" | "err", text)`` is the caller's.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from keycliq_ops.standin.demo.scenarios import (
    Command,
    NotAsExpected,
    Scenario,
    WorldChange,
    scenarios,
)
from keycliq_ops.standin.demo.standin import StandIn, start
from keycliq_ops.standin.demo.stream import Emit, run_streamed
from keycliq_ops.standin.failures import usage

# Variables from the outside that would point a step elsewhere than the stand-in and its
# sample repository (the stand-in's own exports are set instead).
_OUTSIDE = (
    "HEROKU_API_KEY",
    "HEROKU_API_URL",
    "HEROKU_HOST",
    "HEROKU_DATA_HOST",
    "HEROKU_POSTGRESQL_HOST",
    "KEYCLIQ_CLOUDINARY_API",
    "KEYCLIQ_RENDEZVOUS_CA",
    "KEYCLIQ_LAUNCHER",
    "NETRC",
    "KEYCLIQ_CONFIG",
    "KEYCLIQ_LEDGER",
    "KEYCLIQ_DATABASE_URL",
    "KEYCLIQ_SANDBOX_REPO",
    "DATABASE_URL",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
)
_DEVELOPER = ("KeyCliq Developer", "dev@keycliq.app")  # the sample repository's author


@dataclass
class StepResult:
    number: int
    command: str  # as shown: "keycliq deploy staging …", or what an action did
    seconds: float
    expected: int | None = None  # None for actions
    exit_code: int | None = None
    missing: list[str] = field(default_factory=list)
    ok: bool = True


@dataclass
class DemoResult:
    scenario: str
    ok: bool  # every step did what the scenario expects
    exit_code: int  # what `keycliq demo` exits with
    seconds: float
    steps: list[StepResult]
    message: str  # the closing line: the outcome, or what did not go as expected
    kept: bool = False
    url: str | None = None
    repo: str | None = None
    home: str | None = None


def scenario_named(name: str) -> Scenario:
    known = scenarios()
    if name not in known:
        raise usage(
            f"--scenario {name!r}: unknown scenario",
            hint=f"choose one of: {', '.join(known)}",
        )
    return known[name]


def run_demo(
    name: str,
    *,
    keep: bool = False,
    emit: Emit,
    python: str = sys.executable,
    answers: str | None = None,
    on_ready: Callable[[Path], None] | None = None,
) -> DemoResult:
    """Run scenario ``name``.

    ``answers`` is the text of the sample's ``keycliq-answers.yaml``; ``on_ready(repo)`` is
    called once the stand-in runs, before the first step (the CLI glue validates the
    sample's ``keycliq.yaml`` there); what it raises stops the demo, the stand-in stopped.
    """
    scenario = scenario_named(name)
    began = time.monotonic()
    emit("out", f"keycliq demo: {scenario.name} — {scenario.summary}\n")
    emit("err", "starting the Heroku stand-in (API, git remotes, embedded PostgreSQL)…\n")
    standin = start(
        keep=keep,
        faults=scenario.faults,
        progress=lambda note: emit("err", f"  {note}\n"),
        answers=answers,
    )
    try:
        if on_ready is not None:
            on_ready(standin.repo)
        emit("out", f"stand-in: {standin.url}; sample repository: {standin.repo}\n")
        steps, problem = _run_steps(scenario, standin, emit, python)
    finally:
        if not keep:
            emit("err", "\nstopping the stand-in and deleting its state…\n")
        standin.stop()
    ok = problem is None
    return DemoResult(
        scenario=scenario.name,
        ok=ok,
        exit_code=scenario.exit_code if ok else 1,
        seconds=time.monotonic() - began,
        steps=steps,
        message=scenario.outcome if problem is None else problem,
        kept=keep,
        url=standin.url,
        repo=str(standin.repo),
        home=str(standin.home),
    )


def _run_steps(
    scenario: Scenario, standin: StandIn, emit: Emit, python: str
) -> tuple[list[StepResult], str | None]:
    env = _environment(standin)
    total = len(scenario.steps)
    results: list[StepResult] = []
    for number, step in enumerate(scenario.steps, 1):
        emit("out", f"\n── {number}/{total}  {step.why}\n")
        began = time.monotonic()
        if isinstance(step, WorldChange):
            try:
                lines = step.run(standin)
            except NotAsExpected as exc:
                results.append(StepResult(number, step.why, time.monotonic() - began, ok=False))
                return results, f"step {number} ({step.why}): {exc}"
            for line in lines:
                emit("out", f"# {line}\n")
            results.append(StepResult(number, step.why, time.monotonic() - began))
            continue
        result, problem = _run_command(step, number, standin, env, emit, python)
        result.seconds = time.monotonic() - began
        results.append(result)
        if problem is not None:
            return results, problem
    return results, None


def _run_command(
    step: Command,
    number: int,
    standin: StandIn,
    env: dict[str, str],
    emit: Emit,
    python: str,
) -> tuple[StepResult, str | None]:
    shown = shlex.join(step.argv)
    emit("out", f"$ {shown}\n")
    if step.argv[0] == "keycliq":
        argv = [python, "-m", "keycliq_ops", *step.argv[1:]]
        step_env = env
    else:
        argv = list(step.argv)
        step_env = _git_environment(env)
    finished = run_streamed(argv, cwd=standin.repo, env=step_env, emit=emit, timeout=step.timeout)
    flat = " ".join(finished.output.split())  # tables wrap long text at the width
    missing = [text for text in step.shows if " ".join(text.split()) not in flat]
    code = finished.exit_code
    result = StepResult(number, shown, 0.0, step.expect, code, missing)
    problem = None
    if code is None:
        problem = f"step {number} `{shown}` did not finish within {step.timeout:g}s"
    elif code != step.expect:
        problem = f"step {number} `{shown}` exited {code}, the demo expects {step.expect}"
    elif missing:
        quoted = ", ".join(repr(text) for text in missing)
        problem = f"step {number} `{shown}` exited {code} but did not show {quoted}"
    result.ok = problem is None
    if result.ok and code != 0:
        emit("out", f"# exit {code}, as expected\n")
    return result, problem


def _environment(standin: StandIn) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in _OUTSIDE}
    env.update(standin.exports())
    env["COLUMNS"] = str(shutil.get_terminal_size().columns)
    env["PYTHONUNBUFFERED"] = "1"  # output as it happens, not when the step ends
    return env


def _git_environment(env: dict[str, str]) -> dict[str, str]:
    name, email = _DEVELOPER
    return {
        **env,
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_CONFIG_GLOBAL": os.devnull,  # no signing or hooks from the user's setup
        "GIT_CONFIG_NOSYSTEM": "1",
    }
