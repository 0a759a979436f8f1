"""A ``dyno`` item through the real stand-in: the sample's scripts pushed to staging
(real git), the command run in an attached one-off dyno over loopback HTTP and the
rendezvous socket, its JSON read from the seeded staging database with psql."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.checklists import Answer, ChecklistContext, ScriptedPrompter, run_checklist
from keycliq_ops.checklists.files import parse_checklist
from keycliq_ops.checklists.wiring import DynoCommandRunner, dyno_runner
from keycliq_ops.release.oneoff import run_attached_lines
from keycliq_ops.standin.sample.app_scripts import APP_FILES
from keycliq_ops.standin.sample.seed import sample_user_id
from tests.world import World

pytestmark = pytest.mark.db

CHECKLIST = """
title: Dyno items on the stand-in
sections:
  - title: C. Internal queries
    items:
      - id: test-user
        kind: input
        name: userId
        pattern: "^c[a-z0-9]{19,31}$"
        text: The userId.
      - id: user-stats
        kind: dyno
        text: getUserStats(userId) on {app}.
        command: python scripts/user_stats.py {userId}
        expect_json:
          keys.total: {type: integer, min: 1}
          queries.total: {type: integer, min: 2}
          matchings.byType.MATCH_FOUND: {type: integer, min: 1}
      - id: validation
        kind: dyno
        text: The validation refuses a MATCH_FOUND without a key.
        command: >-
          python scripts/save_matching.py --user-id {userId} --query-id no-such-scan
          --match-type MATCH_FOUND --similarity 1.0 --confidence 1.0
        expect_text: "MATCH_FOUND requires matchedKeyId"
        expect_json:
          code: {equals: VALIDATION_ERROR}
      - id: too-many-keys
        kind: dyno
        text: A count the data does not have (fails, with the output's tail).
        command: python scripts/user_stats.py {userId}
        expect_json:
          keys.total: {type: integer, min: 100000}
"""


def _push_sample_scripts(world: World) -> None:
    repo = world.repo
    for rel, text in APP_FILES.items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
            cwd=repo, check=True, capture_output=True, text=True,
        )  # fmt: skip

    git("add", "-A")
    git("commit", "--allow-empty", "-q", "-m", "sample scripts for the dyno items")
    git("push", "-q", "--force", "heroku-staging", "HEAD:refs/heads/main")
    release = world.sandbox.engine.app("keycliq-staging").releases[-1]
    release.done.wait()
    assert release.status == "succeeded"


def test_dyno_items_run_on_the_stand_in(world: World) -> None:
    _push_sample_scripts(world)
    checklist = parse_checklist(CHECKLIST, world.repo / "dyno.yaml")
    user = sample_user_id()
    with HerokuClient.from_environment() as heroku:

        def attached(
            app: str, command: str, on_line: Callable[[str], None], timeout: float
        ) -> tuple[int, str | None]:
            return run_attached_lines(heroku, app, command, on_line, timeout=timeout)

        ctx = ChecklistContext(
            env="staging", app="keycliq-staging", commit="c" * 40,
            prompter=ScriptedPrompter({"test-user": Answer("value", value=user, who="Ana")}),
            dyno_runner=DynoCommandRunner("keycliq-staging", attached),
            secrets=[world.database_url()],
        )  # fmt: skip
        result = run_checklist(checklist, ctx)
    verdicts = {i.id: i.verdict for i in result.items}
    assert verdicts == {
        "test-user": "passed", "user-stats": "passed", "validation": "passed",
        "too-many-keys": "failed",
    }, [(i.id, i.reason, i.output) for i in result.items]  # fmt: skip
    stats = result.item("user-stats")
    assert stats is not None and "dyno on keycliq-staging (run." in (stats.summary or "")
    bad = result.item("too-many-keys")
    assert bad is not None and bad.reason is not None
    assert bad.reason.startswith("keys.total is ") and "expected at least 100000" in bad.reason
    assert bad.output is not None and '"byType": {' in bad.output
    assert world.database_url() not in (bad.output or "")


def test_the_cli_runner_masks_the_apps_secrets(world: World) -> None:
    """`keycliq checklist run`'s runner: a client per run, the app's secret-named config
    vars masked in what is kept of the output."""
    _push_sample_scripts(world)
    runner = dyno_runner("keycliq-staging", HerokuClient.from_environment, run_attached_lines)
    assert (
        runner is not None
        and dyno_runner(None, HerokuClient.from_environment, run_attached_lines) is None
    )
    got = runner('echo "url=$DATABASE_URL"; exit 3', timeout=60)
    assert got.status == 3 and got.dyno is not None
    assert any(line.startswith("url=postgres") for line in got.lines)
    assert world.database_url() in got.secrets
