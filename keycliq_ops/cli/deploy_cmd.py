"""``keycliq deploy [ENV]``."""

from __future__ import annotations

import typer

from keycliq_ops.cli.envopt import ENV_ARGUMENT, ENV_OPTION
from keycliq_ops.cli.release_common import RESUME_OPTION, ReleaseFlags, release_command


def register(app: typer.Typer) -> None:
    app.command(
        "deploy",
        help=(
            "Deploy this checkout's commit to an environment: preflight, tests, git push, "
            "build, release (migrations in the release phase), checklist, Dataclip gate, "
            "ledger record and report.\n\n"
            "\b\nExamples:\n"
            "  keycliq deploy staging            (same as: keycliq deploy -e staging)\n"
            "  keycliq deploy -e staging --dry-run\n"
            "  keycliq deploy staging --yes --answers keycliq-answers.yaml --json   (CI)\n"
            "  keycliq deploy staging --resume\n"
            "  keycliq deploy staging --skip tests --reason 'ran in CI already'\n"
            '  keycliq deploy staging --accept-migration-risk "column unused since v40"\n'
            '  keycliq deploy production --no-backup "b012 captured by hand at 09:10"'
        ),
    )(deploy)


@release_command(app_confirmed=False)
def deploy(
    ctx: typer.Context,
    env_arg: str | None = ENV_ARGUMENT,
    env_opt: str | None = ENV_OPTION,
    resume: bool = RESUME_OPTION,
    strict: bool = typer.Option(
        False, "--strict", help="Fail (not warn) when the commit is not on the shared remote."
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Force the git push (replaces what is deployed; only when you mean it).",
    ),
    accept_migration_risk: str | None = typer.Option(
        None,
        "--accept-migration-risk",
        metavar="REASON",
        help="Deploy although squawk's lint of the pending migrations found errors; the "
        "reason, the findings and who accepted them are recorded. "
        'Example: --accept-migration-risk "column unused since v40"',
    ),
    no_backup: str | None = typer.Option(
        None,
        "--no-backup",
        metavar="REASON",
        help="Do not capture a Heroku Postgres backup before the schema changes (on by "
        "default in production); the reason is recorded. "
        'Example: --no-backup "b012 taken by hand"',
    ),
    *,
    flags: ReleaseFlags,
) -> None:
    from keycliq_ops.cli.common import load
    from keycliq_ops.cli.envopt import pick_env
    from keycliq_ops.cli.release_common import run_release
    from keycliq_ops.release.deploy import DeployOptions, deploy_action

    loaded = load(ctx)
    env = pick_env(loaded, env_arg, env_opt, what="deploy")
    options = DeployOptions(
        strict=strict,
        force=force,
        resume=resume,
        skip=flags.skip,
        accept_migration_risk=accept_migration_risk,
        no_backup=no_backup,
    )
    run_release(loaded, env, lambda session: deploy_action(session, options), flags)
