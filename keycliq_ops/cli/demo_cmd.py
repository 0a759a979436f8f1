"""``keycliq demo``: the whole release flow on the local Heroku stand-in, for real."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from keycliq_ops.cli.common import emit_json

if TYPE_CHECKING:
    from keycliq_ops.standin.demo import DemoResult
    from keycliq_ops.standin.demo.stream import Emit

HELP = (
    "Run the release flow end to end on a local Heroku stand-in (no network, no system "
    "PostgreSQL, no Heroku account): start `keycliq sandbox` with a staging and a "
    "production app in a pipeline, an embedded PostgreSQL database per app and the sample "
    "KeyCliq repository; then run the real commands in that repository and show their real "
    "output: keycliq status, deploy staging (checklist answered from keycliq-answers.yaml, "
    "each answer shown), dataclips run A C, promote, ledger list, ledger verify. Then stop "
    "the stand-in and delete it (or leave it running with --keep).\n\n"
    "Scenarios show how keycliq stops: bad-migration (the release phase fails, the deploy "
    "stops and says why), integrity-defect (a bad row: the Dataclip gate fails, promotion "
    "is refused), flaky-api (503s, 429s and a cut stream: retried, exit 0). Each checks "
    "that the ledger verifies afterwards.\n\n"
    "Exit codes: 0 every step did what the demo shows (release, flaky-api); 1 "
    "bad-migration and integrity-defect stopped where they say (the last line says so), or "
    "a step did not do what the demo expects (an error line names it); 2 usage; 3 the "
    "stand-in could not start.\n\n"
    "\b\nExamples:\n"
    "  keycliq demo\n"
    "  keycliq demo --scenario bad-migration\n"
    "  keycliq demo --keep && keycliq sandbox status"
)

SCENARIO_HELP = (
    "What to show: release (the whole flow; default), bad-migration, integrity-defect, "
    "flaky-api. Example: --scenario integrity-defect"
)
KEEP_HELP = (
    "Leave the stand-in running afterwards (as `keycliq sandbox up` does) and print how to "
    "reach it; `keycliq sandbox down` stops it. Example: keycliq demo --keep"
)
DEMO_JSON_HELP = (
    "Send the commands' output to stderr and print a JSON summary on stdout (each step's "
    "command, exit code, expected code, time). Example: keycliq demo --json | jq .steps"
)


def register(app: typer.Typer) -> None:
    app.command("demo", help=HELP)(demo)


def demo(
    scenario: str = typer.Option("release", "--scenario", "-s", metavar="NAME", help=SCENARIO_HELP),
    keep: bool = typer.Option(False, "--keep", help=KEEP_HELP),
    as_json: bool = typer.Option(False, "--json", help=DEMO_JSON_HELP),
) -> None:
    import sys
    from dataclasses import asdict

    from keycliq_ops.base.errors import GateFailed
    from keycliq_ops.cli.sandbox_cmd import (
        check_sample_config,
        require_standin,
        sample_answers,
        standin_errors,
    )

    require_standin()  # before anything of the stand-in is imported
    from keycliq_ops.standin.demo import run_demo, scenario_named

    with standin_errors():
        scenario_named(scenario)  # a bad name fails before anything starts

    def emit(stream: str, text: str) -> None:
        target = sys.stderr if (as_json or stream == "err") else sys.stdout
        target.write(text)
        target.flush()

    with standin_errors():
        result = run_demo(
            scenario,
            keep=keep,
            emit=emit,
            answers=sample_answers(),
            on_ready=check_sample_config,
        )
    if as_json:
        emit_json(asdict(result))
    else:
        _closing(result, emit)
    if not result.ok:
        raise GateFailed(
            f"demo {result.scenario}: {result.message}",
            hint="the step's output above shows what it did instead",
        )
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _closing(result: DemoResult, emit: Emit) -> None:
    """The demo's last words; with --keep, commands that run as printed from where the
    user stands (and in the sandbox repository): this keycliq's own invocation, not a bare
    ``keycliq`` that may not be on PATH (see common.invocation)."""
    import shlex

    from keycliq_ops.cli.common import invocation

    kq = invocation()
    emit("out", "\n")
    if result.ok:
        emit("out", f"demo {result.scenario}: {result.message} ({result.seconds:.1f} s)\n")
    if result.kept and result.repo:
        emit(
            "out",
            f"\nthe stand-in keeps running at {result.url}. To use it:\n"
            f'  eval "$({kq} sandbox up)"   # exports HEROKU_API_URL, HEROKU_API_KEY, '
            "KEYCLIQ_SANDBOX_REPO\n"
            f"  cd {shlex.quote(result.repo)}\n"
            f"  {kq} status\n"
            f"Stop it with: {kq} sandbox down\n",
        )
