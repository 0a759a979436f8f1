"""``keycliq sandbox``: run a local Heroku stand-in for the demo and end-to-end tests."""

from __future__ import annotations

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, err, out

app = typer.Typer(
    help="A local Heroku stand-in (API, git remotes, embedded PostgreSQL) with the sample "
    "KeyCliq repository: run keycliq end to end offline.\n\n"
    'Example: eval "$(keycliq sandbox up)" && cd "$KEYCLIQ_SANDBOX_REPO" && keycliq status',
    no_args_is_help=True,
)

FAULT_HELP = (
    "Plant a fault (repeatable): KIND[=VALUE][xCOUNT][@TARGET]. "
    "429x3@/apps/keycliq-staging/releases (3 answers of 429 on that path; glob allowed), "
    "503@/account, slow=2x5@/apps/* (5 answers delayed 2 s), cut=200@release (the next "
    "release output stream stops after 200 bytes; build|release|dyno|log|*), "
    "build-fail@keycliq-staging, release-fail@keycliq-staging, "
    "promote-fail@keycliq-production. Example: --fault 503x2@/account"
)


@app.command(
    "up",
    help="Start the sandbox in the background and print `export NAME=value` lines "
    "(HEROKU_API_URL, HEROKU_API_KEY, KEYCLIQ_SANDBOX_REPO) on stdout; notes go to stderr. "
    "Creates pipeline keycliq with keycliq-staging and keycliq-production (each with its own "
    "database), writes the sample repository with keycliq.yaml, and deploys its first commit "
    "to both apps. When a sandbox is already running, prints its exports (and adds --fault "
    "faults to it).\n\n"
    'Example: eval "$(keycliq sandbox up --seed 1)"',
)
def up(
    fault: list[str] = typer.Option([], "--fault", help=FAULT_HELP),
    deploy: str = typer.Option(
        "baseline",
        "--deploy",
        help="What both apps run at start: `baseline` (the sample's first commit: tables, no "
        "indexes; main is one commit ahead), `head` (main), or `none` (no release yet). "
        "Example: --deploy head",
    ),
    seed: int | None = typer.Option(
        None,
        "--seed",
        min=1,
        help="Seed both databases with sample data at this scale. Example: --seed 2",
    ),
    timeout: float = typer.Option(
        300, "--timeout", min=1, help="Seconds to wait for the sandbox. Example: --timeout 120"
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    import shlex

    from keycliq_ops.base.errors import UsageError
    from keycliq_ops.standin.daemon import state_home
    from keycliq_ops.standin.daemon import up as start

    if deploy not in ("baseline", "head", "none"):
        raise UsageError(f"--deploy {deploy!r}: use baseline, head or none")
    home = state_home()
    state, started = start(
        home,
        faults=fault,
        deploy=deploy,
        seed_scale=seed,
        timeout=timeout,
        progress=lambda note: err().print(f"[dim]sandbox:[/] {note}", markup=True),
    )
    if as_json:
        emit_json({"started": started, "home": str(home), "pid": state.pid, **state.exports()})
        return
    for name, value in state.exports().items():
        typer.echo(f"export {name}={shlex.quote(value)}")
    err().print(
        f"[green]sandbox ready[/]: {state.url} (pid {state.pid}); sample repo {state.repo}; "
        "stop it with `keycliq sandbox down`"
    )


@app.command(
    "down",
    help="Stop the sandbox and delete its state folder (databases, git remotes, sample "
    "repository).\n\nExample: keycliq sandbox down",
)
def down(as_json: bool = JSON_OPTION) -> None:
    from keycliq_ops.standin.daemon import down as stop
    from keycliq_ops.standin.daemon import state_home

    home = state_home()
    was_running = stop(home)
    if as_json:
        emit_json({"stopped": was_running, "home": str(home)})
        return
    err().print("sandbox stopped and its state deleted" if was_running else "no sandbox running")


@app.command(
    "status",
    help="Show whether the sandbox runs, its URL, repository, apps (current release and "
    "commit) and planted faults. Exit 1 when it is not running.\n\n"
    "Example: keycliq sandbox status --json",
)
def status(as_json: bool = JSON_OPTION) -> None:
    from dataclasses import asdict

    from keycliq_ops.standin.daemon import state_home
    from keycliq_ops.standin.daemon import status as read

    st = read(state_home())
    if as_json:
        emit_json(asdict(st))
    elif not st.running:
        err().print(st.problem or f"no sandbox running (state folder {st.home})")
    else:
        from rich.table import Table

        out().print(f"sandbox running: {st.url} (pid {st.pid})")
        out().print(f"sample repository: {st.repo}")
        table = Table("app", "release", "commit", "builds")
        for a in st.apps:
            commit = (a.get("commit") or "")[:8] or "-"
            table.add_row(a["name"], f"v{a['release']}", commit, str(a["builds"]))
        out().print(table)
        for f in st.faults:
            out().print(f"fault planted: {f}")
        if st.problem:
            err().print(st.problem)
    if not st.running or st.problem:
        raise typer.Exit(1)
