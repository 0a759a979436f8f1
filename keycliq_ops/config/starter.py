"""What ``keycliq init`` writes: the commented starter ``keycliq.yaml`` (its migration
strategy and test command read from the app's repository, each with the reason), an answers-file
template, the repository's catalogue folders (``checklists/``, ``dataclips/``) with a
README line each, and the CI workflow example (``templates/deploy.yml``, a copy of keycliq's
own ``.github/workflows/deploy.yml``: a test keeps them equal)."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

from keycliq_ops.config.app_repo import Strategy

STARTER = """\
# keycliq.yaml: how keycliq deploys this KeyCliq checkout.
# Reference: docs/configuration.md (or `keycliq config reference`).
version: 1

# The Heroku pipeline holding both apps.
pipeline: {pipeline}

environments:
  staging:
    app: {staging_app}           # Heroku app name
    remote: heroku-staging       # `git push heroku-staging <branch>:main` deploys
    url: https://{staging_app}.herokuapp.com
    stage: staging
    checklist: staging           # see `keycliq checklist list`
    dataclips: [E1, E2, E3, E4, F, G, H]  # the gate after every staging deploy
  production:
    app: {production_app}
    url: https://{production_app}.herokuapp.com
    stage: production            # reached only by `keycliq promote`
    checklist: production
    dataclips: [A, C]

# Branches allowed to deploy (glob patterns).
branches: [main, "release/*"]

# The remote the team shares: preflight warns when the commit is not on it.
shared_remote: origin

{tests}
{migrations}
paths:
  ledger: .keycliq/ledger.jsonl  # commit this file: it is the deploy record
  reports: .keycliq/reports
  # checklists/ and dataclips/ beside this file hold the team's own checklists and checks:
  # they add to the shipped ones and replace a shipped one of the same name (checklist)
  # or id (Dataclip). `keycliq checklist list` / `keycliq dataclips list` show the source.
"""


@dataclass(frozen=True)
class RepoDecisions:
    """What ``keycliq init`` read from the app's repository, and what it decided."""

    origin: str  # "the work tree at /path"
    migrations: Strategy
    test_command: str | None
    test_why: str


def decide(root: Path) -> RepoDecisions:
    """The migration strategy and the test command the checkout at ``root`` calls for
    (its git top level when ``root`` is inside a checkout)."""
    from keycliq_ops.adapters.git import Repo
    from keycliq_ops.base.errors import GitError
    from keycliq_ops.config.app_repo import detect_strategy, propose_test_command, read_worktree

    try:
        top = Repo.discover(root).root
    except GitError:
        top = root
    repo = read_worktree(top)
    if repo.package_problem:
        command: str | None = None
        why = f"{repo.package_problem}: no test command can be proposed"
    elif repo.package is None:
        command, why = None, "there is no package.json: no test command can be proposed"
    else:
        command, why = propose_test_command(repo)
    return RepoDecisions(repo.origin, detect_strategy(repo), command, why)


def _comment(text: str, indent: str = "  ") -> str:
    return "\n".join(
        textwrap.wrap(text, width=88, initial_indent=f"{indent}# ", subsequent_indent=f"{indent}# ")
    )


def _tests_block(decisions: RepoDecisions | None) -> str:
    if decisions is None:
        return "tests:\n  command: npm test              # null to skip\n  timeout: 1800\n"
    if decisions.test_command is None:
        return (
            "tests:\n"
            f"{_comment(f'keycliq init: {decisions.test_why}.')}\n"
            f"{_comment('So no tests run before a push: set a command here to run them.')}\n"
            "  command: null\n"
            "  timeout: 1800\n"
        )
    return (
        "tests:\n"
        f"{_comment(f'keycliq init: {decisions.test_why}.')}\n"
        f"  command: {json.dumps(decisions.test_command)}  # null to skip\n"
        "  timeout: 1800\n"
    )


def _migrations_block(decisions: RepoDecisions | None) -> str:
    if decisions is None:
        return (
            "migrations:\n"
            "  strategy: release-phase        # release-phase | one-off | db-push | none\n"
        )
    strategy = decisions.migrations
    lines = [
        "migrations:",
        _comment(f"keycliq init: {strategy.reason}."),
        f"  strategy: {strategy.strategy}  # release-phase | one-off | db-push | none",
    ]
    if strategy.command and strategy.strategy in ("one-off", "db-push"):
        lines.append(f"  command: {json.dumps(strategy.command)}")
    return "\n".join(lines) + "\n"


def render_starter(
    pipeline: str = "keycliq",
    staging_app: str = "keycliq-staging",
    production_app: str = "keycliq-production",
    decisions: RepoDecisions | None = None,
) -> str:
    """The starter keycliq.yaml; with ``decisions`` (:func:`decide`), its ``tests`` and
    ``migrations`` are the repository's, each with a comment saying why."""
    return STARTER.format(
        pipeline=pipeline,
        staging_app=staging_app,
        production_app=production_app,
        tests=_tests_block(decisions),
        migrations=_migrations_block(decisions),
    )


TEMPLATES = Path(__file__).resolve().parent / "templates"
CI_WORKFLOW = Path(".github/workflows/deploy.yml")
ANSWERS_NAME = "keycliq-answers.yaml"

CHECKLISTS_README = (
    "Checklists of this repository, layered over keycliq's shipped ones: `NAME.yaml` here "
    "adds checklist NAME, or replaces the shipped one of that name (`keycliq checklist list` "
    "shows which; format: docs/checklists.md of keycliq).\n"
)
DATACLIPS_README = (
    "Dataclips of this repository, layered over keycliq's shipped ones: a `.sql` file here "
    "adds a check, or replaces the shipped check of the same `-- id:` (`keycliq dataclips "
    "list` shows which; format: keycliq_ops/dataclips/fileformat.py of keycliq).\n"
)


def ci_workflow() -> str:
    """The GitHub Actions example (``.github/workflows/deploy.yml``)."""
    return (TEMPLATES / "deploy.yml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Scaffold:
    """One file ``keycliq init`` writes, relative to the folder it runs in."""

    path: Path
    text: str


def scaffold(
    root: Path,
    pipeline: str = "keycliq",
    staging_app: str = "keycliq-staging",
    production_app: str = "keycliq-production",
    decisions: RepoDecisions | None = None,
) -> list[Scaffold]:
    """Every file of a team's start, in the order written. The answers template covers the
    checklists the starter's environments walk (``staging``, ``production``), taken from the
    catalogue as it will be in ``root`` (the shipped ones, or the repository's own).
    ``decisions``: the repository's migration strategy and test command (:func:`decide`)."""
    from keycliq_ops.checklists.answers import render_template
    from keycliq_ops.checklists.files import ChecklistCatalog
    from keycliq_ops.config.loading import CONFIG_NAME, layered

    catalog = ChecklistCatalog(layered("checklists", root / "checklists"))
    checklists = [catalog.load(name) for name in ("staging", "production") if catalog.has(name)]
    return [
        Scaffold(
            Path(CONFIG_NAME), render_starter(pipeline, staging_app, production_app, decisions)
        ),
        Scaffold(Path(ANSWERS_NAME), render_template(checklists)),
        Scaffold(Path("checklists/README.md"), CHECKLISTS_README),
        Scaffold(Path("dataclips/README.md"), DATACLIPS_README),
        Scaffold(CI_WORKFLOW, ci_workflow()),
    ]
