"""Setting a sandbox up as the demo needs it: pipeline, apps, sample repo, first deploy.

``provision`` creates pipeline ``keycliq`` with ``keycliq-staging`` and
``keycliq-production``, writes the sample repository with its remotes (``origin``, a bare
repository it is pushed to, ``heroku-staging`` and ``heroku-production``), a
``keycliq.yaml`` and, when given its text, ``keycliq-answers.yaml`` (keycliq's CLI glue
renders it from the shipped checklists and validates the ``keycliq.yaml``: the stand-in
reads neither); then, unless told otherwise,
deploys the sample's *baseline* commit with a real ``git push heroku-staging`` and promotes
it to production, so both apps run a release with migrated databases, and ``main`` is
one commit ahead (the index migration) for the demo to ship.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from keycliq_ops.standin.failures import StandinError
from keycliq_ops.standin.gitrepo import git
from keycliq_ops.standin.sample.repo import SampleRepo, add_remote, write_sample_repo
from keycliq_ops.standin.sandbox import PRODUCTION, STAGING, KeycliqApps, Sandbox

Deploy = Literal["baseline", "head", "none"]


@dataclass(frozen=True)
class Provisioned:
    apps: KeycliqApps
    sample: SampleRepo
    origin: Path
    deployed: str | None  # the commit both apps run, when deployed
    seeded: int | None  # the seed scale, when seeded


def provision(
    sb: Sandbox,
    repo_dir: Path,
    *,
    deploy: Deploy = "baseline",
    seed_scale: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
    answers: str | None = None,
    app_traffic: bool = True,
) -> Provisioned:
    progress("creating pipeline keycliq with keycliq-staging and keycliq-production")
    apps = sb.setup_keycliq()
    progress(f"writing the sample KeyCliq repository at {repo_dir}")
    sample = write_sample_repo(
        repo_dir,
        staging_url=sb.web_url(STAGING),
        production_url=sb.web_url(PRODUCTION),
        answers=answers,
    )
    origin = sb.state_dir / "origin.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    add_remote(repo_dir, "origin", str(origin))
    add_remote(repo_dir, "heroku-staging", sb.git_url(STAGING))
    add_remote(repo_dir, "heroku-production", sb.git_url(PRODUCTION))
    git("push", "--quiet", "-u", "origin", "main", cwd=repo_dir)
    deployed = None
    if deploy != "none":
        deployed = sample.baseline if deploy == "baseline" else sample.head
        progress(f"deploying {deployed[:8]} to {STAGING} (git push) and promoting to {PRODUCTION}")
        push_and_promote(sb, repo_dir, deployed, apps)
    if seed_scale:
        progress(f"seeding both databases (scale {seed_scale})")
        seed_databases(sb, seed_scale)
    if deploy != "none" and app_traffic:
        write_traffic(sb)
    return Provisioned(apps, sample, origin, deployed, seed_scale)


def write_traffic(sb: Sandbox) -> None:
    """A short session of normal use in both apps' logs, in the app's own words (so that
    `keycliq logs` on the sandbox shows what the real app writes). Older than any later
    release, so a watch of a new release does not count it."""
    from keycliq_ops.standin import applog

    for name in (STAGING, PRODUCTION):
        for w in applog.traffic(app=name, user_id=applog.cuid(f"user {name}")):
            sb.write_log(name, w.text, source=w.source, dyno=w.dyno)


def push_and_promote(sb: Sandbox, repo: Path, commit: str, apps: KeycliqApps) -> None:
    """``git push heroku-staging <commit>:main``, wait for its release, promote it."""
    proc = subprocess.run(
        ["git", "push", "--force", "heroku-staging", f"{commit}:refs/heads/main"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise StandinError(f"git push heroku-staging failed: {' / '.join(tail)}")
    staging = sb.engine.app(STAGING)
    release = staging.releases[-1]
    release.done.wait()
    if release.status != "succeeded":
        raise StandinError(f"the release phase of {STAGING} v{release.version} failed")
    promotion = sb.engine.promote(apps.pipeline, staging, [sb.engine.app(PRODUCTION)])
    promotion.done.wait()
    target = promotion.targets[0]
    if target.status != "succeeded":
        raise StandinError(f"promotion to {PRODUCTION} failed: {target.error_message}")


def seed_databases(sb: Sandbox, scale: int) -> None:
    """Seed both apps' databases with the sample seeder, with rows written the way the
    app's own code paths write them (``mode="app"``)."""
    from keycliq_ops.standin.sample.seed import seed

    for app in (STAGING, PRODUCTION):
        seed(sb.database_url(app), scale=scale, mode="app")
