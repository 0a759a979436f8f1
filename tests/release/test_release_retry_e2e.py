"""A failed release phase is retried by releasing the same build again, on both
generations: ``--resume`` posts the build's slug (Cedar) or image (Fir) as a new release,
and the ledger names the release it replaces (issue 14, finding 4)."""

from __future__ import annotations

import json

from tests.world import World

STAGING = "keycliq-staging"
DEPLOY = ("deploy", "staging", "--yes", "--skip", "checklist", "--reason", "retry test")


def test_resume_after_a_failed_release_phase_releases_the_build_again(
    both_worlds: World, cli
) -> None:  # type: ignore[no-untyped-def]
    world = both_worlds
    app = world.sandbox.engine.app(STAGING)
    world.sandbox.faults.fail_release(STAGING)
    first = cli(*DEPLOY)
    assert first.code == 1, first.output
    failed = app.releases[-1]
    assert failed.status == "failed"

    again = cli(*DEPLOY, "--resume", "--json")
    assert again.code == 0, again.output
    retry = app.releases[-1]
    assert retry.version == failed.version + 1 and retry.status == "succeeded"
    assert retry.slug is failed.slug  # the same build: slug on Cedar, its image on Fir
    record = json.loads(again.stdout.strip().splitlines()[-1])  # events, then the result
    release_step = next(s for s in record["steps"] if s.get("name", s.get("step")) == "release")
    assert release_step["status"] == "succeeded"
    assert release_step["data"]["retry_of"] == failed.version
    assert release_step["data"]["release_version"] == retry.version
