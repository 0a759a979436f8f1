"""``keycliq config``: validate, show and document keycliq.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, err, load, out
from keycliq_ops.cli.envopt import ENVS_OPTION

if TYPE_CHECKING:
    from keycliq_ops.config.app_repo import AppRepo

app = typer.Typer(
    help="Validate, show, audit and document keycliq.yaml.\n\n"
    "Examples: keycliq config validate · keycliq config check -e staging · "
    "keycliq config show --json",
    no_args_is_help=True,
)


@app.command(
    "validate",
    help="Check keycliq.yaml, and that the checklists and Dataclip ids it names (and the "
    "Dataclips those checklists run) are in the catalogues; print every problem, each on "
    "its own line with file:line and field. Exit 2 when there is one.\n\n"
    "Example: keycliq -c ./keycliq.yaml config validate",
)
def validate(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    from keycliq_ops.base.redact import redact_url
    from keycliq_ops.cli.common import state
    from keycliq_ops.config.loading import config_problems

    loaded, problems = config_problems(state(ctx).config_path)
    if problems:
        if as_json:
            emit_json(
                {
                    "ok": False,
                    "path": str(loaded.path if loaded else problems[0].location or ""),
                    "problems": [
                        {
                            "message": redact_url(p.message),
                            "location": p.location,
                            "field": p.field,
                            "hint": p.hint,
                        }
                        for p in problems
                    ],
                }
            )
        stream = err()
        for p in problems:
            stream.print(
                f"error: {redact_url(p.message)}", markup=False, highlight=False, soft_wrap=True
            )
        hints = list(dict.fromkeys(p.hint for p in problems if p.hint))
        for h in hints:
            stream.print(f"hint: {redact_url(h)}", markup=False, highlight=False, soft_wrap=True)
        if len(problems) > 1:  # one problem stays one line
            stream.print(
                f"{len(problems)} problems found", markup=False, highlight=False, soft_wrap=True
            )
        raise typer.Exit(2)
    assert loaded is not None
    envs = list(loaded.config.environments)
    if as_json:
        emit_json({"ok": True, "path": str(loaded.path), "environments": envs})
        return
    err().print(f"[green]ok[/]: {loaded.path} ({len(envs)} environments: {', '.join(envs)})")


@app.command(
    "show",
    help="Print the resolved configuration (defaults filled in; no secrets; required_config "
    "as `config check` applies it, read from the checkout's repository).\n\n"
    "Example: keycliq config show --json",
)
def show(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    loaded = load(ctx)
    data = resolved(loaded)
    if as_json:
        emit_json(data)
        return
    import yaml

    out().print(f"# {loaded.path}", style="dim")
    out().print(yaml.safe_dump(data, sort_keys=False).rstrip(), markup=False)


@app.command(
    "reference",
    help="Print the keycliq.yaml reference (Markdown), generated from "
    "the models.\n\nExample: keycliq config reference > docs/configuration.md",
)
def reference() -> None:
    from keycliq_ops.config.reference import render_reference

    typer.echo(render_reference(), nl=False)


@app.command(
    "check",
    help="Audit the apps' config vars against what the app needs: every variable "
    'prisma/schema.prisma reads with env("…"), read from this checkout\'s work tree, and '
    "the app's own rules (SESSION_SECRET long and different per environment, APP_URL https "
    "and matching, NODE_ENV, Cloudinary or BLOB_READ_WRITE_TOKEN for images, a mail key "
    "where mail is required, OPENAI_API_KEY or demo mode). Each problem says where its rule "
    "comes from (e.g. prisma/schema.prisma:8). Values are shown masked. Exit 1 on a "
    "problem.\n\n"
    "The environments are the arguments or -e ENV (each a name from keycliq.yaml or its "
    "Heroku app name); default: all.\n\n"
    "\b\nExamples:\n"
    "  keycliq config check staging production\n"
    "  keycliq config check -e keycliq-production --json",
)
def check(
    ctx: typer.Context,
    envs: list[str] = typer.Argument(
        None,
        metavar="ENV",
        help="Environments to audit (from keycliq.yaml, or their Heroku app names); same "
        "as -e ENV. Default: all.",
        show_default=False,
    ),
    env_opts: list[str] = ENVS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from keycliq_ops.cli.common import heroku_client
    from keycliq_ops.cli.envopt import pick_envs
    from keycliq_ops.ops.config_audit import audit_config, backup_schedules_of, secret_digest

    loaded = load(ctx)
    names = pick_envs(loaded, envs, env_opts)
    app_repo = checkout_repo(loaded.root)
    every = list(loaded.config.environments)
    with heroku_client() as client, ThreadPoolExecutor(max_workers=4) as pool:
        fetched = dict(
            zip(
                every, pool.map(lambda n: client.config_vars(loaded.env(n).app), every), strict=True
            )
        )
        # Production's backup schedule (the Heroku Postgres API), asked beside the vars.
        schedules = pool.map(lambda n: backup_schedules_of(client, loaded.env(n)), names)
        backups = dict(zip(names, schedules, strict=True))
    digests = {
        n: secret_digest(v["SESSION_SECRET"]) for n, v in fetched.items() if v.get("SESSION_SECRET")
    }
    reports = [
        audit_config(
            n,
            loaded.env(n),
            fetched[n],
            other_session_digests=digests,
            app_repo=app_repo,
            backups=backups[n],
        )
        for n in names
    ]
    if as_json:
        emit_json(
            {
                "ok": all(r.ok for r in reports),
                "environments": [r.model_dump(mode="json") for r in reports],
            }
        )
    else:
        from rich.markup import escape
        from rich.table import Table

        style = {"ok": "green", "optional": "dim", "missing": "red", "problem": "red"}
        out().print(f"requirements read from {app_repo.origin}", style="dim", markup=False)
        for report in reports:
            table = Table(title=f"{report.environment} ({report.app})", title_justify="left")
            table.add_column("var")
            table.add_column("value (masked)")
            table.add_column("status")
            table.add_column("required by")
            for row in report.rows:
                table.add_row(
                    row.name,
                    escape(row.value),
                    f"[{style[row.status]}]{row.status}[/]",
                    escape(row.required_by or ""),
                )
            out().print(table)
            for f in report.findings:
                colour = "red" if f.level == "error" else "yellow"
                out().print(f"  [{colour}]{f.level}[/]: {escape(f.var)} {escape(f.message)}")
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


def checkout_repo(root: Path) -> AppRepo:
    """The app's files in the work tree of the checkout holding keycliq.yaml (its git
    top level; ``root`` itself outside git): what the next deploy would ship."""
    from keycliq_ops.adapters.git import Repo
    from keycliq_ops.base.errors import GitError
    from keycliq_ops.config.app_repo import read_worktree

    try:
        top = Repo.discover(root).root
    except GitError:
        top = root
    return read_worktree(top)


def resolved(loaded: object) -> dict[str, object]:
    from keycliq_ops.config import LoadedConfig
    from keycliq_ops.ops.config_audit import requirements

    assert isinstance(loaded, LoadedConfig)
    data = loaded.config.model_dump(mode="json")
    app_repo = checkout_repo(loaded.root)
    for name, env in loaded.config.environments.items():
        d = data["environments"][name]
        d["dataclips"] = env.effective_dataclips()
        # what `config check` requires unconditionally (the schema's env() vars, then
        # keycliq.yaml's list or the app's rules), each with where the rule comes from
        required = requirements(name, env, app_repo)
        d["required_config"] = [r.var for r in required]
        d["required_by"] = {r.var: r.short for r in required}
        d["mail_required"] = env.effective_mail_required()
        if d["checklist"] is None and (loaded.checklists_dir / f"{name}.yaml").exists():
            d["checklist"] = name
    data["requirements_from"] = app_repo.origin
    data["paths"] = {
        "checklists": str(loaded.checklists_dir),
        "dataclips": str(loaded.dataclips_dir),
        "ledger": str(loaded.ledger_path),
        "reports": str(loaded.reports_dir),
        "history": str(loaded.history_path),
    }
    return data
