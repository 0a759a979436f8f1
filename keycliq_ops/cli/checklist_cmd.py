"""``keycliq checklist``: list, show and walk the release checklists."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, err, out, state
from keycliq_ops.cli.envopt import ENV_ARGUMENT, ENV_OPTION

if TYPE_CHECKING:
    from collections.abc import Callable

    from keycliq_ops.checklists import ChecklistPlan, ChecklistResult
    from keycliq_ops.config import LoadedConfig
    from keycliq_ops.config.loading import CatalogFolders

app = typer.Typer(
    help="The release checklists (staging, production): list, show and walk them.\n\n"
    "Example: keycliq checklist run staging --answers answers.yaml",
    no_args_is_help=True,
)


def _maybe_load(ctx: typer.Context) -> LoadedConfig | None:
    """The config when there is one (list/show/run also work with the shipped catalogue)."""
    import os

    from keycliq_ops.config import find_config, load_config

    explicit = state(ctx).config_path
    if explicit is None and not os.environ.get("KEYCLIQ_CONFIG") and find_config() is None:
        return None
    return load_config(explicit)


def _folder(loaded: LoadedConfig | None) -> CatalogFolders:
    """The layered checklist folders: the shipped ones, then the repository's."""
    from keycliq_ops.config.loading import shipped_checklists

    return loaded.checklists_dir if loaded is not None else shipped_checklists()


@app.command(
    "list",
    help="List the checklists: the shipped ones, then the repository's own (checklists/ "
    "beside keycliq.yaml, or paths.checklists), which add checklists or replace shipped "
    "ones of the same name; the source column says which.\n\n"
    "Example: keycliq checklist list --json",
)
def list_(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    from rich.markup import escape
    from rich.table import Table

    from keycliq_ops.checklists import list_checklists

    folder = _folder(_maybe_load(ctx))
    infos = list_checklists(folder)
    if as_json:
        emit_json(
            [
                {
                    "name": i.name,
                    "title": i.title,
                    "path": str(i.path),
                    "items": i.items,
                    "manual": i.manual,
                    "automated": i.automated,
                    "error": i.error,
                    "source": i.source,
                    "overrides_shipped": i.overrides is not None,
                    "overrides": str(i.overrides) if i.overrides is not None else None,
                }
                for i in infos
            ]
        )
        return
    table = Table(title=f"checklists: {escape(folder.describe())}", title_justify="left")
    for col in ("name", "title", "items", "asked", "verified", "source"):
        table.add_column(
            col,
            justify="right" if col in ("items", "asked", "verified") else "left",
            no_wrap=col == "source",
        )
    for i in infos:
        if i.error:
            table.add_row(i.name, f"[red]invalid: {escape(i.error)}[/]", "", "", "", i.origin)
        else:
            table.add_row(
                i.name, i.title or "", str(i.items), str(i.manual), str(i.automated), i.origin
            )
    out().print(table)


@app.command(
    "answers",
    help="Print an answers-file template for an environment's checklist (or any checklist "
    "with --checklist): every required manual item answered, `by` and `reason` to fill in. "
    "Edit it, then pass it to `deploy`/`promote`/`checklist run` with --answers.\n\n"
    "\b\nExamples:\n"
    "  keycliq checklist answers staging > keycliq-answers.yaml\n"
    "  keycliq checklist answers --checklist production",
)
def answers_(
    ctx: typer.Context,
    env_arg: str | None = ENV_ARGUMENT,
    env_opt: str | None = ENV_OPTION,
    checklist: str | None = typer.Option(
        None,
        "--checklist",
        metavar="NAME",
        help="A checklist by name (or a .yaml path) instead of the environment's. "
        "Example: --checklist production",
        show_default=False,
    ),
) -> None:
    from keycliq_ops.base.errors import UsageError
    from keycliq_ops.checklists import ChecklistCatalog, load_checklist, render_template
    from keycliq_ops.cli.envopt import pick_env

    loaded = _maybe_load(ctx)
    catalog = ChecklistCatalog(_folder(loaded))
    name = checklist
    if name is None:
        if loaded is None:
            raise UsageError(
                "no keycliq.yaml to find the environment in",
                hint="run it in your checkout, or name a checklist with --checklist NAME",
            )
        env_name = pick_env(loaded, env_arg, env_opt, what="checklist answers")
        name = loaded.env(env_name).checklist
        if name is None and catalog.has(env_name):
            name = env_name
        if name is None:
            raise UsageError(
                f"environment {env_name!r} walks no checklist",
                hint="set environments.NAME.checklist in keycliq.yaml, or pass --checklist",
            )
    elif loaded is not None and (env_arg or env_opt):
        pick_env(loaded, env_arg, env_opt)  # an unknown environment is still an error
    cl = load_checklist(catalog.find(name))
    typer.echo(render_template([cl]), nl=False)


@app.command(
    "show",
    help="Print a checklist: its sections and items, with what is asked and what is "
    "verified.\n\nExample: keycliq checklist show staging",
)
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Checklist name (e.g. staging) or a .yaml path."),
    as_json: bool = JSON_OPTION,
) -> None:
    from rich.markup import escape

    from keycliq_ops.checklists import find_checklist, is_manual, load_checklist

    cl = load_checklist(find_checklist(_folder(_maybe_load(ctx)), name))
    if as_json:
        emit_json({"name": cl.name, "source": cl.source, **cl.model_dump(mode="json")})
        return
    o = out()
    o.print(f"[bold]{escape(cl.title)}[/] [dim]({cl.name}: {escape(cl.source)})[/]")
    if cl.description:
        o.print(escape(cl.description))
    for section in cl.sections:
        o.print(f"\n[bold]{escape(section.title)}[/]")
        for item in section.items:
            how = "asked" if is_manual(item) else "verified"
            need = "" if item.required else ", optional"
            own = ", keycliq's own" if item.source == "keycliq" else ""
            o.print(f"  [cyan]{item.id}[/] [dim]({item.kind}, {how}{need}{own})[/]")
            o.print(f"    {escape(item.text)}")
            detail = _detail(item)
            if detail:
                o.print(f"    [dim]{escape(detail)}[/]")
            if item.help:
                for line in item.help.rstrip().splitlines():
                    o.print(f"    [dim]│ {escape(line)}[/]")


def _detail(item: Any) -> str:
    kind = item.kind
    if kind == "input":
        return f"captures {{{item.name}}} matching {item.pattern}"
    if kind == "dataclip":
        params = ", ".join(f"{k}={v}" for k, v in item.params.items())
        return f"Dataclips {', '.join(item.dataclips)}" + (f" with {params}" if params else "")
    if kind == "command":
        return f"runs: {item.command}"
    if kind == "http":
        text = f" containing {item.expect_text!r}" if item.expect_text else ""
        return f"GET {item.url} → {item.expect_status}{text}"
    if kind == "dyno":
        wants = [f"exit {item.expect_exit}", *(f"text {t!r}" for t in item.expect_text)]
        for path, exp in item.expect_json.items():
            rules = exp.model_dump(exclude_unset=True)
            shown = ", ".join(f"{k}: {v}" for k, v in rules.items()) or "present"
            wants.append(f"{path} ({shown})")
        return f"one-off dyno: {item.command}\n    expects: " + "; ".join(wants)
    return ""


@app.command(
    "run",
    help="Walk a checklist: ask the manual items (terminal, or --answers in CI), verify "
    "the others, print the summary; exit 0 passed, 1 failed, 2 cannot run, 130 "
    "interrupted. For an environment it checks the commit the environment runs (its "
    "current release), and the run is recorded in the ledger with a report, as a "
    "deploy is.\n\n"
    "Example: keycliq checklist run staging --answers ci/answers.yaml --json",
)
def run(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Checklist name (e.g. staging) or a .yaml path."),
    env: str | None = typer.Option(
        None,
        "--env",
        "-e",
        metavar="ENV",
        help="Environment it is walked for: a name from keycliq.yaml or its Heroku app name. "
        "Default: the one whose `checklist` is NAME, else the one named NAME. Example: -e staging",
        show_default=False,
    ),
    answers: Path | None = typer.Option(
        None,
        "--answers",
        help="Answers file for the manual items (CI); each answer says who and why. "
        "Example: --answers ci/staging-answers.yaml",
    ),
    commit: str | None = typer.Option(
        None,
        "--commit",
        help="Commit the run is for (default: the commit the environment runs, its current "
        "release's; HEAD of the checkout when it runs none keycliq can tell, or with "
        "--commit HEAD). Example: --commit 3f2c1a9",
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        envvar="KEYCLIQ_DATABASE_URL",
        show_default=False,
        help="Database for the dataclip items (default: the app's DATABASE_URL config var; "
        "or $KEYCLIQ_DATABASE_URL). Never shown. Example: --database-url postgres://…",
    ),
    param: list[str] = typer.Option(
        [],
        "--param",
        help="NAME=VALUE: answers the input item capturing NAME and is passed to every "
        "Dataclip. Repeatable. Example: --param userId=ckz1q2w3e4r5t6y7u8i9o0p1a",
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Start at the first item not passed in the last run of this checklist for "
        "this commit (state in .keycliq/checklist-state.json). Example: --resume",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print what would be asked and checked; do nothing."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    import sys

    from keycliq_ops.base.errors import UsageError
    from keycliq_ops.base.redact import known_secrets
    from keycliq_ops.checklists import (
        AnswersPrompter,
        ChecklistContext,
        EngineRunner,
        StateStore,
        find_checklist,
        load_checklist,
        plan_checklist,
        run_checklist,
        state_path,
    )
    from keycliq_ops.checklists.wiring import (
        actor,
        database_url_provider,
        dyno_runner,
        head_commit,
        resolve_target,
    )
    from keycliq_ops.cli.checklist_prompt import TerminalPrompter, render_event
    from keycliq_ops.cli.common import heroku_client
    from keycliq_ops.config.loading import SHIPPED_DATACLIPS

    loaded = _maybe_load(ctx)
    cl = load_checklist(find_checklist(_folder(loaded), name))
    from keycliq_ops.cli.common import parse_params

    params = parse_params(param)
    if env is not None and loaded is not None:
        from keycliq_ops.cli.envopt import resolve_env

        env = resolve_env(loaded, env)
    target = resolve_target(loaded, cl.name, env)
    root = loaded.root if loaded is not None else Path.cwd()
    client, no_client = _client_for(loaded, target.env, target.app)
    choice = _choose_commit(loaded, target.env, target.app, commit, head_commit(root), client)
    sha = choice.sha
    who = actor(root)
    app_url = target.url
    if app_url is None and target.app and not dry_run and "app_url" in cl.variables_used():
        with heroku_client() as heroku:
            app_url = heroku.app(target.app).web_url
    if loaded is not None and target.app and not dry_run:
        _learn_secrets(loaded)
    store = StateStore(state_path(loaded.root)) if loaded is not None else None
    earlier = None
    if resume:
        if store is None or sha is None:
            raise UsageError(
                "--resume needs a keycliq.yaml (the state lives beside it) and a commit",
                hint="run inside the checkout, or pass --config and --commit",
            )
        earlier = store.last(cl.name, sha)
        if earlier is None:
            err().print(f"no earlier run of {cl.name} for {sha[:12]}; starting from the top")
    prompter: Any = None
    if answers is not None:
        prompter = AnswersPrompter(answers)
    elif sys.stdin.isatty() and not dry_run:
        prompter = TerminalPrompter(err(), who)
    context = ChecklistContext(
        env=target.env,
        app=target.app,
        app_url=app_url,
        commit=sha,
        prompter=prompter,
        dataclip_runner=EngineRunner(
            loaded.dataclips_dir if loaded else SHIPPED_DATACLIPS,
            loaded.config.dataclips if loaded else None,
        ),
        database_url=database_url_provider(database_url, target.app, heroku_client),
        dyno_runner=_dyno_runner(target.app, dyno_runner, heroku_client),
        params=params,
        actor=who,
        cwd=root,
        on_event=lambda event: render_event(err(), event),
        record=_masked_saver(store.save) if store is not None else None,
        secrets=[*known_secrets(), *([database_url] if database_url else [])],
    )
    if dry_run:
        if client is not None:
            client.close()
        plan = plan_checklist(cl, context, resume=earlier)
        if as_json:
            emit_json(plan)
        else:
            _print_plan(plan)
        return
    from keycliq_ops.checklists import check_checklist

    check_checklist(cl, context, resume=earlier)  # before a word: can it be answered?
    if not as_json:
        err().print(f"checking {(sha or 'no commit')[:12]}: {choice.why}", markup=False)
    if loaded is None or target.env is None or client is None:
        if loaded is not None and target.env is not None:
            err().print(f"note: not recorded in the ledger: {no_client}", markup=False)
        result = run_checklist(cl, context, resume=earlier)
        if as_json:
            emit_json({**result.model_dump(mode="json"), **_commit_facts(choice)})
        else:
            _print_result(result)
        result.raise_for_verdict()
        return
    _run_recorded(
        loaded,
        target.env,
        client,
        cl,
        choice,
        earlier,
        context,
        params,
        prompter,
        database_url,
        as_json,
    )


def _client_for(
    loaded: LoadedConfig | None, env: str | None, app: str | None
) -> tuple[Any, str | None]:
    """The Heroku client for a run for an environment, or None and why there is none."""
    from keycliq_ops.base.errors import KeycliqError
    from keycliq_ops.cli.common import heroku_client

    if loaded is None or env is None or app is None:
        return None, "no environment of keycliq.yaml walks this checklist"
    try:
        return heroku_client(), None
    except KeycliqError as exc:
        return None, f"no Heroku credentials ({exc.message})"


def _choose_commit(
    loaded: LoadedConfig | None,
    env: str | None,
    app: str | None,
    given: str | None,
    head: str | None,
    client: Any,
) -> Any:
    from keycliq_ops.release.checklist_action import choose_commit, running_commit

    running = None
    if client is not None and loaded is not None and env is not None:
        repo = _repo_or_none(loaded.root)

        def running() -> tuple[str | None, int | None]:
            return running_commit(client, loaded, env, repo)

    unknown = None if client is not None else "the commit it runs needs Heroku credentials"
    if app is None:
        unknown = "no environment walks this checklist"
    return choose_commit(given, head, app=app, running=running, unknown_why=unknown)


def _repo_or_none(root: Path) -> Any:
    from keycliq_ops.adapters.git import Repo
    from keycliq_ops.base.errors import GitError

    try:
        return Repo.discover(root)
    except GitError:
        return None


def _commit_facts(choice: Any) -> dict[str, Any]:
    return {"commit_source": choice.source, "commit_why": choice.why}


def _run_recorded(
    loaded: LoadedConfig,
    env_name: str,
    client: Any,
    cl: Any,
    choice: Any,
    earlier: Any,
    context: Any,
    params: dict[str, str],
    prompter: Any,
    database_url: str | None,
    as_json: bool,
) -> None:
    """The run through the release lifecycle: recorded in the ledger, with a report."""
    from keycliq_ops.base.errors import KeycliqError
    from keycliq_ops.cli.release_common import client_token_of
    from keycliq_ops.ledger import Ledger
    from keycliq_ops.release.checklist_action import ChecklistRun, checklist_action
    from keycliq_ops.release.lifecycle import check, run_action
    from keycliq_ops.release.session import Session

    repo = _repo_or_none(loaded.root)
    with client:
        session = Session(
            loaded=loaded,
            env_name=env_name,
            client=client,
            repo=repo,
            ledger=Ledger(loaded.ledger_path, secrets=[client_token_of(client)]),
            commit=choice.sha or "",
            branch=repo.current_branch() if repo is not None else None,
            params=params,
            prompter=prompter,
            explicit_database_url=database_url,
        )
        action = checklist_action(session, ChecklistRun(cl, choice, earlier), lambda _io: context)
        outcome = run_action(check(action), lambda _event: None)
    result = outcome.facts.checklist
    recorded = {"ledger_id": outcome.ledger_id, "report": str(outcome.report or "")}
    if result is None:  # stopped before it had a result (an answers file short of one…)
        failure = KeycliqError(
            outcome.result.error or "the checklist did not run", hint=outcome.result.hint
        )
        failure.exit_code = outcome.exit_code or 70
        if not as_json:
            err().print(f"ledger: {outcome.ledger_id}", markup=False, soft_wrap=True)
        raise failure
    if as_json:
        emit_json({**result.model_dump(mode="json"), **_commit_facts(choice), **recorded})
    else:
        _print_result(result)
        out().print(f"ledger: {outcome.ledger_id}", markup=False, soft_wrap=True)
        out().print(f"report: {outcome.report}", markup=False, soft_wrap=True)
    result.raise_for_verdict()
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def _learn_secrets(loaded: LoadedConfig) -> None:
    """Know both apps' secret config values before anything is asked: a typed reason, a
    command's output or a check's rows may quote one (no Heroku credentials: nothing to
    learn, and the run may not need Heroku at all)."""
    from keycliq_ops.base.errors import KeycliqError
    from keycliq_ops.cli.common import heroku_client, learn_app_secrets

    try:
        client = heroku_client()
    except KeycliqError:
        return
    with client:
        learn_app_secrets(loaded, client)


def _masked_saver(save: Callable[[ChecklistResult], None]) -> Callable[[ChecklistResult], None]:
    """``save`` of a copy of the result with the secrets in play masked (a reason typed by
    a person may hold one; the state file must not)."""
    from keycliq_ops.base.redact import mask_tree

    def masked(result: ChecklistResult) -> None:
        save(type(result).model_validate(mask_tree(result.model_dump(mode="json"))))

    return masked


def _dyno_runner(app: str | None, make: Any, client: Any) -> Any:
    """The one-off dyno runner of the environment's app (None without an app)."""
    from keycliq_ops.release.oneoff import run_attached_lines

    return make(app, client, run_attached_lines)


def _print_plan(plan: ChecklistPlan) -> None:
    from rich.markup import escape

    o = out()
    where = f" for {plan.env} ({plan.app})" if plan.env else ""
    commit = f" at {plan.commit[:12]}" if plan.commit else ""
    o.print(f"[bold]{escape(plan.title)}{escape(where)}{commit}[/] — dry run, nothing is done")
    section = None
    for n, item in enumerate(plan.items, 1):
        if item.section != section:
            section = item.section
            o.print(f"\n[bold]{escape(section)}[/]")
        need = "" if item.required else ", optional"
        need += ", keycliq's own" if item.source == "keycliq" else ""
        o.print(f"  {n:>2}. [cyan]{item.id}[/] [dim]({item.kind}{need})[/]: {escape(item.action)}")
        o.print(f"      {escape(item.text)}")


def _print_result(result: ChecklistResult) -> None:
    from rich.markup import escape
    from rich.table import Table

    colour = {"passed": "green", "failed": "red", "skipped": "yellow", "aborted": "red"}
    table = Table(title=f"{result.title} ({result.checklist})", title_justify="left")
    for col in ("item", "kind", "verdict", "who", "answer / check", "reason"):
        table.add_column(col)
    for i in result.items:
        label = f"[{colour[i.verdict]}]{i.verdict}[/]" + (" [dim](kept)[/]" if i.resumed else "")
        optional = "" if i.required else " (optional)"
        optional += " (keycliq's own)" if i.source == "keycliq" else ""
        table.add_row(
            i.id,
            i.kind + optional,
            label,
            escape(i.who),
            escape(i.summary or i.answer or ""),
            escape(i.reason or ""),
        )
    out().print(table)
    c = result.counts()
    tail = f", {len(result.not_reached)} not reached" if result.not_reached else ""
    out().print(
        f"[{colour[result.verdict]}]{result.verdict}[/]: {c['passed']} passed, "
        f"{c['failed']} failed, {c['skipped']} skipped{tail}"
        + (f" — commit {result.commit[:12]}" if result.commit else "")
    )
