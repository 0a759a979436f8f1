"""``keycliq sandbox``: run a local Heroku stand-in for the demo and end-to-end tests.

With ``cli/demo_cmd.py`` this is the glue between keycliq and its stand-in, the only modules
that import both: the stand-in (``keycliq_ops.standin``) imports no keycliq module, so what
needs keycliq's core happens here: rendering the sample's ``keycliq-answers.yaml`` from the
shipped checklists, validating the sample's ``keycliq.yaml``, and turning a
:class:`~keycliq_ops.standin.failures.StandinError` into keycliq's error of the same kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, err, out, write_for_eval

app = typer.Typer(
    help="A local Heroku stand-in (API, git remotes, embedded PostgreSQL) with the sample "
    "KeyCliq repository: run keycliq end to end offline.\n\n"
    'Example: eval "$(keycliq sandbox up)" && cd "$KEYCLIQ_SANDBOX_REPO" && keycliq status',
    no_args_is_help=True,
)

EXTRA_MISSING = (
    "the local stand-in needs the `standin` extra (embedded PostgreSQL): "
    "pip install 'keycliq-ops[standin]'"
)
ANSWERS_BY = "keycliq sandbox (demo) <demo@keycliq.invalid>"
ANSWERS_REASON = "simulated answer: the sandbox has no real app to click through"


def require_standin() -> None:
    """A :class:`UsageError` (exit 2) when the stand-in's extra is not installed.

    Checked before anything of the stand-in is imported. ``KEYCLIQ_DATABASE_URL`` (a
    PostgreSQL of your own) makes the embedded one unnecessary.
    """
    import importlib.util
    import os

    if os.environ.get("KEYCLIQ_DATABASE_URL"):
        return
    if importlib.util.find_spec("pgserver") is None:
        from keycliq_ops.base.errors import UsageError

        raise UsageError(EXTRA_MISSING)


@contextmanager
def standin_errors() -> Iterator[None]:
    """Report a stand-in failure as keycliq's error: usage → exit 2, else exit 3."""
    from keycliq_ops.standin.failures import StandinError

    try:
        yield
    except StandinError as exc:
        from keycliq_ops.base.errors import ExternalError, UsageError

        kind = UsageError if exc.kind == "usage" else ExternalError
        raise kind(exc.message, hint=exc.hint) from None


def sample_answers(user_id: str | None = None) -> str:
    """The sample's ``keycliq-answers.yaml``: the shipped checklists' manual items answered.

    Every required confirm item answered yes, the test user's id the seeder's sample user,
    the deleted key's id the key the seeder deletes,
    each answer saying who and why (used by the demo and the CI example).
    """
    from keycliq_ops.checklists import find_checklist, load_checklist, render_answers
    from keycliq_ops.config.loading import SHIPPED_CHECKLISTS
    from keycliq_ops.standin.sample.seed import deleted_key_id, sample_user_id

    checklists = [
        load_checklist(find_checklist(SHIPPED_CHECKLISTS, name))
        for name in ("staging", "production")
    ]
    return render_answers(
        checklists,
        by=ANSWERS_BY,
        reason=ANSWERS_REASON,
        values={"userId": user_id or sample_user_id(), "keyId": deleted_key_id()},
    )


def write_answers_file(path: Path, *, user_id: str | None = None) -> Path:
    """Write :func:`sample_answers` to ``path``."""
    from keycliq_ops.base.fsutil import atomic_write

    atomic_write(path, sample_answers(user_id))
    return path


def check_sample_config(repo: Path) -> None:
    """Validate the sample repository's ``keycliq.yaml`` (a ConfigError names file:line)."""
    from keycliq_ops.config import load_config

    load_config(repo / "keycliq.yaml")


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
    "(HEROKU_API_URL, HEROKU_API_KEY, HEROKU_DATA_HOST, KEYCLIQ_CLOUDINARY_API, "
    "KEYCLIQ_RENDEZVOUS_CA, KEYCLIQ_SANDBOX_REPO) on stdout; notes go to stderr. "
    "Creates pipeline keycliq with keycliq-staging and keycliq-production (each with its own "
    "database), writes the sample repository with keycliq.yaml, and deploys its first commit "
    "to both apps. When a sandbox is already running, prints its exports (and adds --fault "
    "faults to it); a --seed, --deploy or --generation other than the one it was started "
    "with is refused (exit 2): restart with `keycliq sandbox down` first. "
    "--generation fir serves Fir apps (see docs/fir.md).\n\n"
    'Example: eval "$(keycliq sandbox up --seed 1)"\n\n'
    'Example: eval "$(keycliq sandbox up --generation fir)"',
)
def up(
    fault: list[str] = typer.Option([], "--fault", help=FAULT_HELP),
    deploy: str | None = typer.Option(
        None,
        "--deploy",
        help="What both apps run at start: `baseline` (the default: the sample's first "
        "commit: tables, no indexes; main is one commit ahead), `head` (main), or `none` (no "
        "release yet). Example: --deploy head",
        show_default=False,
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
    generation: str | None = typer.Option(
        None,
        "--generation",
        metavar="cedar|fir",
        help="Heroku generation the apps and pipeline belong to: `cedar` (the default: "
        "slugs, Logplex) or `fir` (stack cnb, OCI images, log sessions without history, "
        "Fir dyno names). Example: --generation fir",
        show_default=False,
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    import shlex

    from keycliq_ops.base.errors import UsageError

    if deploy not in (None, "baseline", "head", "none"):
        raise UsageError(f"--deploy {deploy!r}: use baseline, head or none")
    if generation not in (None, "cedar", "fir"):
        raise UsageError(f"--generation {generation!r}: use cedar or fir")
    require_standin()
    from keycliq_ops.standin.daemon import down as stop
    from keycliq_ops.standin.daemon import state_home
    from keycliq_ops.standin.daemon import up as start

    home = state_home()
    with standin_errors():
        state, started = start(
            home,
            faults=fault,
            deploy=deploy,
            seed_scale=seed,
            timeout=timeout,
            progress=lambda note: err().print(f"[dim]sandbox:[/] {note}", markup=True),
            answers=sample_answers(),
            generation=generation,
        )
    if started:
        try:
            check_sample_config(Path(state.repo))
        except BaseException:
            with standin_errors():
                stop(home)
            raise
    # The exports are for `eval` in the user's shell: the stand-in's own token (a local,
    # throwaway credential) is written whole, past the output masking.
    if as_json:
        import json

        data = {"started": started, "home": str(home), "pid": state.pid, **state.exports()}
        write_for_eval(json.dumps(data) + "\n")
        return
    for name, value in state.exports().items():
        write_for_eval(f"export {name}={shlex.quote(value)}\n")
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
    with standin_errors():
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
