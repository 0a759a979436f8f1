"""``keycliq config``: validate, show and document keycliq.yaml."""

from __future__ import annotations

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, err, load, out
from keycliq_ops.cli.envopt import ENVS_OPTION

app = typer.Typer(
    help="Validate, show, audit and document keycliq.yaml.\n\n"
    "Examples: keycliq config validate · keycliq config check -e staging · "
    "keycliq config show --json",
    no_args_is_help=True,
)


@app.command(
    "validate",
    help="Check keycliq.yaml; print what is wrong with file:line.\n\n"
    "Example: keycliq -c ./keycliq.yaml config validate",
)
def validate(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    loaded = load(ctx)
    envs = list(loaded.config.environments)
    if as_json:
        emit_json({"ok": True, "path": str(loaded.path), "environments": envs})
        return
    err().print(f"[green]ok[/]: {loaded.path} ({len(envs)} environments: {', '.join(envs)})")


@app.command(
    "show",
    help="Print the resolved configuration (defaults filled in; no secrets).\n\n"
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
    help="Audit the apps' config vars: required vars set and not placeholders, APP_URL https "
    "and matching, NODE_ENV, SESSION_SECRET long enough and different per environment, a "
    "mailer key where mail is required. Values are shown masked. Exit 1 on a problem.\n\n"
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
    from keycliq_ops.ops.config_audit import audit_config, secret_digest

    loaded = load(ctx)
    names = pick_envs(loaded, envs, env_opts)
    every = list(loaded.config.environments)
    with heroku_client() as client, ThreadPoolExecutor(max_workers=4) as pool:
        fetched = dict(
            zip(
                every, pool.map(lambda n: client.config_vars(loaded.env(n).app), every), strict=True
            )
        )
    digests = {
        n: secret_digest(v["SESSION_SECRET"]) for n, v in fetched.items() if v.get("SESSION_SECRET")
    }
    reports = [
        audit_config(n, loaded.env(n), fetched[n], other_session_digests=digests) for n in names
    ]
    if as_json:
        emit_json(
            {
                "ok": all(r.ok for r in reports),
                "environments": [r.model_dump(mode="json") for r in reports],
            }
        )
    else:
        from rich.table import Table

        style = {"ok": "green", "optional": "dim", "missing": "red", "problem": "red"}
        for report in reports:
            table = Table(title=f"{report.environment} ({report.app})", title_justify="left")
            table.add_column("var")
            table.add_column("value (masked)")
            table.add_column("status")
            for row in report.rows:
                table.add_row(row.name, row.value, f"[{style[row.status]}]{row.status}[/]")
            out().print(table)
            for f in report.findings:
                colour = "red" if f.level == "error" else "yellow"
                out().print(f"  [{colour}]{f.level}[/]: {f.var} {f.message}")
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


def resolved(loaded: object) -> dict[str, object]:
    from keycliq_ops.config import LoadedConfig

    assert isinstance(loaded, LoadedConfig)
    data = loaded.config.model_dump(mode="json")
    for name, env in loaded.config.environments.items():
        d = data["environments"][name]
        d["dataclips"] = env.effective_dataclips()
        d["required_config"] = env.effective_required_config()
        d["mail_required"] = env.effective_mail_required()
        if d["checklist"] is None and (loaded.checklists_dir / f"{name}.yaml").exists():
            d["checklist"] = name
    data["paths"] = {
        "checklists": str(loaded.checklists_dir),
        "dataclips": str(loaded.dataclips_dir),
        "ledger": str(loaded.ledger_path),
        "reports": str(loaded.reports_dir),
        "history": str(loaded.history_path),
    }
    return data
