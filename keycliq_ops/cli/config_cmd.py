"""``keycliq config``: validate, show and document keycliq.yaml."""

from __future__ import annotations

import typer

from keycliq_ops.cli.common import JSON_OPTION, emit_json, err, load, out

app = typer.Typer(help="Validate, show and document keycliq.yaml.", no_args_is_help=True)


@app.command(
    "validate",
    help="Check keycliq.yaml; print what is wrong with file:line.\n\n"
    "Example: keycliq config validate --config ./keycliq.yaml",
)
def validate(ctx: typer.Context) -> None:
    loaded = load(ctx)
    envs = ", ".join(loaded.config.environments)
    err().print(
        f"[green]ok[/]: {loaded.path} ({len(loaded.config.environments)} environments: {envs})"
    )


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
