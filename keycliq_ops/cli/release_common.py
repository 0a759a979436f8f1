"""What every command that changes an environment (deploy, promote, rollback, secrets
rotate) shares on the command line: :func:`run_release`, the one runner (the session, the
prompter, the dry run, the preview, the check, the confirmation, the progress display, the
lifecycle, the rendering), and the option declarations."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from keycliq_ops.cli.common import err, out

if TYPE_CHECKING:
    from keycliq_ops.config import LoadedConfig
    from keycliq_ops.release.lifecycle import Action, ActionOutcome, Confirmation
    from keycliq_ops.release.session import Session
    from keycliq_ops.release.stepper import RunResult


def help_text(about: str, examples: list[str], *, exit_codes: str | None = None) -> str:
    """A release command's help: what it does, its exit codes, its examples (one a line)."""
    parts = [about] + ([f"Exit codes: {exit_codes}."] if exit_codes else [])
    listed = "\n".join(f"  keycliq {example}" for example in examples)
    return "\n\n".join(parts) + "\n\n\b\nExamples:\n" + listed


Lines = Callable[["ActionOutcome[Any]"], dict[str, str]]
Tail = Callable[["ActionOutcome[Any]"], None]


@dataclass(frozen=True)
class View:
    """How a command shows its outcome beyond the shared summary: ``lines``, its own
    summary lines; ``tail``, what it prints after the summary (never with --json)."""

    lines: Lines | None = None
    tail: Tail | None = None


PLAIN = View()

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


class LateSink:
    """The progress display, once it exists: what a prompt pauses while it asks."""

    def __init__(self) -> None:
        self.sink: Any = None

    def suspend(self) -> None:
        suspend = getattr(self.sink, "suspend", None)
        if suspend:
            suspend()

    def resume(self) -> None:
        resume = getattr(self.sink, "resume", None)
        if resume:
            resume()


class SuspendingPrompter:
    """A terminal prompter that pauses the live progress display while it asks."""

    def __init__(self, inner: Any, display: LateSink) -> None:
        self._inner = inner
        self._display = display

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def ask(self, question: Any) -> Any:
        self._display.suspend()
        try:
            return self._inner.ask(question)
        finally:
            self._display.resume()


@dataclass
class ReleaseFlags:
    """The flags every such command shares (those it has; the rest keep their default)."""

    yes: bool = False
    as_json: bool = False
    dry_run: bool = False
    answers: Path | None = None
    params: list[str] = field(default_factory=list)
    confirm: str | None = None  # --confirm APP
    two_factor_code: str | None = None
    json_events: bool = True  # with --json: the events too (else only the result object)
    skip: dict[str, str] = field(default_factory=dict)  # --skip STEP … --reason WHY


def release_command(*, app_confirmed: bool) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Declare the flags every release command shares (``--yes``, ``--answers``, ``--json``,
    ``--dry-run``, ``--skip``/``--reason``, ``--param``; with ``app_confirmed`` also
    ``--confirm APP`` and ``--two-factor-code``) once: the decorated command takes its own
    options and ``flags: ReleaseFlags``."""
    shared: list[tuple[str, Any, Any]] = [
        ("yes", bool, NO_QUESTIONS_OPTION if app_confirmed else YES_OPTION),
        ("answers", Path | None, ANSWERS_OPTION),
        ("as_json", bool, JSON_EVENTS_OPTION),
        ("dry_run", bool, DRY_RUN_OPTION),
        ("skip", list[str], SKIP_OPTION),
        ("reason", str | None, REASON_OPTION),
        ("param", list[str], PARAM_OPTION),
    ]
    if app_confirmed:
        shared += [
            ("confirm", str | None, CONFIRM_APP_OPTION),
            ("two_factor_code", str | None, TWO_FACTOR_OPTION),
        ]

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        import functools
        import inspect
        import typing

        hints = typing.get_type_hints(fn)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in inspect.signature(fn).parameters.values()
            if p.name != "flags"
        ]
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        added = [inspect.Parameter(n, kind, default=d, annotation=t) for n, t, d in shared]

        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> None:
            given = {name: kwargs.pop(name, None) for name, _, _ in shared}
            flags = ReleaseFlags(
                yes=bool(given["yes"]),
                as_json=bool(given["as_json"]),
                dry_run=bool(given["dry_run"]),
                answers=given["answers"],
                params=list(given["param"] or []),
                confirm=given.get("confirm"),
                two_factor_code=given.get("two_factor_code"),
                skip=skips(list(given["skip"] or []), given["reason"]),
            )
            fn(*args, flags=flags, **kwargs)

        params = own + added
        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate


def build_session(
    loaded: LoadedConfig,
    env_name: str,
    flags: ReleaseFlags,
    display: LateSink,
    *,
    need_checkout: bool = True,
) -> Session:
    from keycliq_ops.adapters.git import Repo
    from keycliq_ops.base.errors import GitError
    from keycliq_ops.cli.common import heroku_client, parse_params
    from keycliq_ops.ledger import Ledger
    from keycliq_ops.release.session import Session

    loaded.env(env_name)  # an unknown environment is a usage error before anything else
    params = parse_params(flags.params)
    repo: Repo | None
    try:
        repo = Repo.discover(loaded.root)
    except GitError as exc:
        if need_checkout:
            # the error's own class (a missing checkout or git is usage, exit 2) and hint
            raise type(exc)(
                f"{loaded.root} is not a git checkout ({exc.message})", hint=exc.hint
            ) from None
        repo = None
    client = heroku_client()
    return Session(
        loaded=loaded,
        env_name=env_name,
        client=client,
        repo=repo,
        ledger=Ledger(loaded.ledger_path, secrets=[client_token_of(client)]),
        commit=repo.head_commit() if repo is not None else "",
        branch=repo.current_branch() if repo is not None else None,
        params=params,
        prompter=choose_prompter(flags.answers, display),
        ask_two_factor=two_factor_asker(flags.two_factor_code, display, yes=flags.yes),
    )


def run_release(
    loaded: LoadedConfig,
    env_name: str,
    build: Callable[[Session], Action[Any]],
    flags: ReleaseFlags,
    view: View = PLAIN,
    *,
    need_checkout: bool = True,
) -> None:
    """The whole command: ``build`` the action (read-only), then the plan (and stop, with
    ``--dry-run``), the check that it can finish, the confirmation, the run with its
    progress, the outcome (as ``view`` says), and the exit code."""
    from keycliq_ops.cli.progress import make_sink
    from keycliq_ops.release.lifecycle import check, run_action

    display = LateSink()
    session = build_session(loaded, env_name, flags, display, need_checkout=need_checkout)
    try:
        action = build(session)
        plan = action.plan()
        if flags.dry_run:
            plan_and_exit(plan, flags.as_json, action.header, action.about)
            show_caveat(action.caveat, flags.as_json)
            return
        preview(action.header, plan, flags.as_json)
        show_caveat(action.caveat, flags.as_json)
        checked = check(action)  # before asking: a run that cannot finish never starts
        confirm_action(action.confirmation, flags)
        sink = make_sink(flags.as_json, err()) if flags.json_events else _quiet_sink(flags)
        display.sink = sink
        try:
            outcome = run_action(checked, sink)
        finally:
            close_sink(sink)
    finally:
        session.client.close()
    render_action(outcome, flags.as_json, view)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def _quiet_sink(flags: ReleaseFlags) -> Any:
    from keycliq_ops.cli.progress import make_sink

    return make_sink(False, err()) if not flags.as_json else (lambda _event: None)


def render_action(outcome: ActionOutcome[Any], as_json: bool, view: View = PLAIN) -> None:
    """The outcome: the steps and the facts (or the JSON result), then the view's tail."""
    facts = {"ledger": outcome.ledger_id, "report": str(outcome.report or "-")}
    if view.lines is not None:
        facts.update(view.lines(outcome))
    if outcome.facts.release is not None:
        facts["release"] = f"v{outcome.facts.release.version}"
    render_outcome(outcome.result, facts, as_json, outcome.summary())
    if view.tail is not None and not as_json:
        view.tail(outcome)


def show_caveat(caveat: str | None, as_json: bool) -> None:
    if caveat and not as_json:
        err().print(f"[yellow]warning[/]: {caveat}")


def confirm_action(confirmation: Confirmation, flags: ReleaseFlags) -> None:
    if confirmation.app is None:
        confirm(confirmation.question, flags.yes)
    else:
        confirm_app(confirmation.question, confirmation.app, given=flags.confirm, yes=flags.yes)


def client_token_of(client: Any) -> str | None:
    """The client's token, only to register it with the ledger's scrubber."""
    token = getattr(client, "_token", None)
    return token.reveal() if token is not None else None


def choose_prompter(answers: Path | None, display: LateSink) -> Any:
    from keycliq_ops.checklists import AnswersPrompter
    from keycliq_ops.checklists.wiring import actor
    from keycliq_ops.cli.checklist_prompt import TerminalPrompter

    if answers is not None:
        return AnswersPrompter(answers)
    if sys.stdin.isatty():
        return SuspendingPrompter(TerminalPrompter(err(), actor(Path.cwd())), display)
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
    result: RunResult, facts: dict[str, str], as_json: bool, summary: dict[str, Any]
) -> None:
    from keycliq_ops.cli.progress import render_summary

    if as_json:
        # JSON Lines: the result is the last event, on one line like the others.
        import json

        sys.stdout.write(json.dumps({"event": "result", **summary}, default=str) + "\n")
        sys.stdout.flush()
    else:
        render_summary(out(), result, facts)
        from rich.text import Text

        # Printed when they arose, and again here: the summary is what stays on screen.
        for warning in summary.get("warnings") or []:
            out().print(Text.assemble(("warning", "yellow"), f": {warning}"), soft_wrap=True)
        if result.outcome != "succeeded":
            where = f" at {result.failed_step}" if result.failed_step else ""
            err().print(f"[red]error[/]: {result.outcome}{where}: {result.error}")
            if result.hint:
                err().print(f"hint: {result.hint}")


def plan_and_exit(
    plan: list[tuple[str, str, str]],
    as_json: bool,
    header: str,
    about: dict[str, Any] | None = None,
) -> None:
    from keycliq_ops.cli.common import emit_json
    from keycliq_ops.cli.progress import render_plan

    if as_json:
        steps = [{"step": n, "title": t, "does": d} for n, t, d in plan]
        emit_json({"dry_run": True, **(about or {}), "plan": steps, "header": header})
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


def two_factor_asker(
    code: str | None, display: LateSink, *, yes: bool
) -> Callable[[str], str | None]:
    """What the core calls when Heroku asks for a second factor: ``--two-factor-code``
    first, then (in a terminal, without --yes) a hidden prompt; None when there is none."""
    pending = [code] if code else []

    def ask(message: str) -> str | None:
        if pending:
            return pending.pop()
        if yes or not sys.stdin.isatty():
            return None
        display.suspend()
        try:
            err().print(f"Heroku: {message}")
            answer: str = typer.prompt("Two-factor code", hide_input=True, err=True)
            return answer
        finally:
            display.resume()

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
