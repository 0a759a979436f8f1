"""What deploy, promote and rollback share on the command line: building the context,
choosing the prompter, confirming, and rendering the outcome."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from keycliq_ops.cli.common import err, load, out

if TYPE_CHECKING:
    from keycliq_ops.release.session import ReleaseContext
    from keycliq_ops.release.stepper import PipelineResult

YES_OPTION = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (CI).")
ANSWERS_OPTION = typer.Option(
    None,
    "--answers",
    help="Answers file for the checklist's manual items (CI). "
    "Example: --answers keycliq-answers.yaml",
)
JSON_EVENTS_OPTION = typer.Option(
    False,
    "--json",
    help="Emit one JSON event per line on stdout and a final summary object.",
)
DRY_RUN_OPTION = typer.Option(
    False,
    "--dry-run",
    help="Print the plan (commands, API calls) and change nothing.",
)
RESUME_OPTION = typer.Option(
    False,
    "--resume",
    help="Continue the last failed or interrupted run of the same commit "
    "at the step that stopped it (work already done is not repeated).",
)
SKIP_OPTION = typer.Option(
    [],
    "--skip",
    metavar="STEP",
    help="Skip a skippable step (tests, checklist); needs --reason; recorded as skipped. "
    "Repeatable. Example: --skip checklist",
)
REASON_OPTION = typer.Option(
    None,
    "--reason",
    help="Why the steps are skipped (recorded in the ledger). Example: --reason 'walked by hand'",
)
PARAM_OPTION = typer.Option(
    [],
    "--param",
    help="NAME=VALUE for the checklist and Dataclips (e.g. userId=ck…). Repeatable.",
)


class SuspendingPrompter:
    """A terminal prompter that pauses the live progress display while it asks."""

    def __init__(self, inner: Any, sink: Any = None) -> None:
        self._inner = inner
        self.sink = sink  # set once the progress display exists

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def ask(self, question: Any) -> Any:
        suspend = getattr(self.sink, "suspend", None)
        if suspend:
            suspend()
        try:
            return self._inner.ask(question)
        finally:
            resume = getattr(self.sink, "resume", None)
            if resume:
                resume()


def build_context(
    ctx: typer.Context,
    env_name: str,
    *,
    params: list[str],
    database_url: str | None = None,
) -> ReleaseContext:
    from keycliq_ops.adapters.git import Repo
    from keycliq_ops.base.errors import GitError
    from keycliq_ops.cli.common import heroku_client, parse_params
    from keycliq_ops.ledger import Ledger
    from keycliq_ops.release.session import ReleaseContext

    loaded = load(ctx)
    loaded.env(env_name)  # an unknown environment is a usage error before anything else
    try:
        repo = Repo.discover(loaded.root)
    except GitError as exc:
        raise GitError(f"{loaded.root} is not a git checkout ({exc.message})") from None
    client = heroku_client()
    return ReleaseContext(
        loaded=loaded,
        env_name=env_name,
        client=client,
        repo=repo,
        ledger=Ledger(loaded.ledger_path, secrets=[client_token_of(client)]),
        commit=repo.head_commit(),
        branch=repo.current_branch(),
        params=parse_params(params),
        database_url=database_url,
    )


def client_token_of(client: Any) -> str | None:
    """The client's token, only to register it with the ledger's scrubber."""
    token = getattr(client, "_token", None)
    return token.reveal() if token is not None else None


def bind_sink(prompter: Any, sink: Any) -> None:
    """Let a terminal prompter pause ``sink``'s live display while it asks."""
    if isinstance(prompter, SuspendingPrompter):
        prompter.sink = sink


def choose_prompter(answers: Path | None, sink: Any = None) -> Any:
    from keycliq_ops.checklists import AnswersPrompter
    from keycliq_ops.checklists.wiring import actor
    from keycliq_ops.cli.checklist_prompt import TerminalPrompter

    if answers is not None:
        return AnswersPrompter(answers)
    if sys.stdin.isatty():
        return SuspendingPrompter(TerminalPrompter(err(), actor(Path.cwd())), sink)
    return None


def confirm(what: str, yes: bool) -> None:
    from keycliq_ops.base.errors import UsageError

    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            f"{what}: confirmation needed but there is no terminal",
            hint="pass --yes to run non-interactively",
        )
    if not typer.confirm(f"{what}?", default=False, err=True):
        raise typer.Exit(1)


def render_outcome(
    result: PipelineResult, facts: dict[str, str], as_json: bool, summary: dict[str, Any]
) -> None:
    from keycliq_ops.cli.progress import render_summary

    if as_json:
        # JSON Lines: the result is the last event, on one line like the others.
        import json

        sys.stdout.write(json.dumps({"event": "result", **summary}, default=str) + "\n")
        sys.stdout.flush()
    else:
        render_summary(out(), result, facts)
        if result.outcome != "succeeded":
            where = f" at {result.failed_step}" if result.failed_step else ""
            err().print(f"[red]error[/]: {result.outcome}{where}: {result.error}")
            if result.hint:
                err().print(f"hint: {result.hint}")


def plan_and_exit(plan: list[tuple[str, str, str]], as_json: bool, header: str) -> None:
    from keycliq_ops.cli.common import emit_json
    from keycliq_ops.cli.progress import render_plan

    if as_json:
        emit_json(
            {"plan": [{"step": n, "title": t, "does": d} for n, t, d in plan], "header": header}
        )
    else:
        out().print(header)
        render_plan(out(), plan)
        out().print("(dry run: nothing was changed)")


NO_QUESTIONS_OPTION = typer.Option(
    False,
    "--yes",
    "-y",
    help="Ask nothing (CI). The act itself still needs --confirm APP, and a two-factor "
    "code, when Heroku asks, --two-factor-code.",
)
CONFIRM_APP_OPTION = typer.Option(
    None,
    "--confirm",
    metavar="APP",
    help="The app's name, to confirm the act without typing it (CI). "
    "Example: --confirm keycliq-production",
)
TWO_FACTOR_OPTION = typer.Option(
    None,
    "--two-factor-code",
    metavar="CODE",
    help="A two-factor code for when Heroku asks for one (else it is asked for in a "
    "terminal). Example: --two-factor-code 123456",
)


def confirm_app(what: str, app: str, *, given: str | None, yes: bool) -> None:
    """A dangerous act: the app's name typed in a terminal, or given with ``--confirm``."""
    from keycliq_ops.base.errors import UsageError

    if given is not None:
        if given != app:
            raise UsageError(
                f"--confirm {given} does not match the app {app}: nothing was done",
                hint=f"--confirm {app}",
            )
        return
    if yes or not sys.stdin.isatty():
        why = "--yes does not confirm it" if yes else "there is no terminal to type it in"
        raise UsageError(
            f"{what}: confirm by typing the app name, but {why}",
            hint=f"pass --confirm {app}",
        )
    err().print(f"[bold]{what}[/]")
    typed = typer.prompt(f"Type the app name ({app}) to confirm", default="", err=True)
    if typed.strip() != app:
        err().print(f"confirmation {typed.strip()!r} does not match {app}: nothing was done")
        raise typer.Exit(1)


def two_factor_asker(code: str | None, sink: Any, *, yes: bool) -> Any:
    """What the core calls when Heroku asks for a second factor: ``--two-factor-code``
    first, then (in a terminal, without --yes) a hidden prompt; None when there is none."""
    pending = [code] if code else []

    def ask(message: str) -> str | None:
        if pending:
            return pending.pop()
        if yes or not sys.stdin.isatty():
            return None
        suspend = getattr(sink, "suspend", None)
        if suspend:
            suspend()
        try:
            err().print(f"Heroku: {message}")
            answer: str = typer.prompt("Two-factor code", hide_input=True, err=True)
            return answer
        finally:
            resume = getattr(sink, "resume", None)
            if resume:
                resume()

    return ask


def skips(skip: list[str], reason: str | None) -> dict[str, str]:
    """``--skip STEP`` (repeatable) with the one ``--reason`` every skip is recorded with."""
    from keycliq_ops.base.errors import UsageError

    if skip and not (reason and reason.strip()):
        raise UsageError("--skip needs --reason (it is recorded in the ledger)")
    return dict.fromkeys(skip, (reason or "").strip())


def preview(header: str, plan: list[tuple[str, str, str]], as_json: bool) -> None:
    """Before acting: the header and the plan, on stderr (nothing with --json)."""
    if as_json:
        return
    from keycliq_ops.cli.progress import render_plan

    err().print(header)
    render_plan(err(), plan)


def close_sink(sink: Any) -> None:
    close = getattr(sink, "close", None)
    if close:
        close()
