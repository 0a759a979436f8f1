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
            "  keycliq deploy staging --skip tests --reason 'ran in CI already'"
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
    *,
    flags: ReleaseFlags,
) -> None:
    from keycliq_ops.cli.common import load
    from keycliq_ops.cli.envopt import pick_env
    from keycliq_ops.cli.release_common import run_release
    from keycliq_ops.release.deploy import DeployOptions, deploy_action

    loaded = load(ctx)
    env = pick_env(loaded, env_arg, env_opt, what="deploy")
    options = DeployOptions(strict=strict, force=force, resume=resume, skip=flags.skip)
    run_release(loaded, env, lambda session: deploy_action(session, options), flags)
