"""``sandbox up`` while a sandbox runs: options it cannot honour are refused, not ignored.

The running sandbox is stood in for by a state file naming a live process (this test's
own pid), so nothing starts: the refusal comes before any contact with the sandbox."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest

from keycliq_ops.standin import daemon
from keycliq_ops.standin.failures import StandinError


def running(home: Path, *, seed: int | None, deploy: str = "baseline") -> daemon.SandboxState:
    """A state folder whose sandbox looks alive (its pid is this process)."""
    home.mkdir(parents=True)
    (home / daemon.MARKER).write_text("test\n")
    state = daemon.SandboxState(
        pid=os.getpid(),
        url="http://127.0.0.1:9",  # never contacted: no faults are asked for
        token="t",
        home=str(home),
        repo=str(home / "keycliq"),
        apps=["keycliq-staging", "keycliq-production"],
        seed=seed,
        deploy=deploy,
    )
    (home / daemon.STATE_FILE).write_text(json.dumps(asdict(state)))
    return state


@pytest.mark.parametrize(
    ("running_seed", "asked_seed", "says"),
    [(None, 1, "started without --seed"), (2, 1, "started with --seed 2")],
    ids=["unseeded-asked-seed", "other-seed"],
)
def test_a_different_seed_is_refused(
    tmp_path: Path, running_seed: int | None, asked_seed: int, says: str
) -> None:
    home = tmp_path / "sbx"
    running(home, seed=running_seed)
    with pytest.raises(StandinError) as info:
        daemon.up(home, faults=[], seed_scale=asked_seed)
    assert info.value.kind == "usage"
    assert f"--seed {asked_seed}" in info.value.message and says in info.value.message
    assert info.value.hint is not None
    assert f"keycliq sandbox down && keycliq sandbox up --seed {asked_seed}" in info.value.hint


def test_a_different_deploy_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "sbx"
    running(home, seed=None, deploy="baseline")
    with pytest.raises(StandinError) as info:
        daemon.up(home, faults=[], deploy="head")
    assert info.value.kind == "usage" and "--deploy head" in info.value.message
    assert info.value.hint is not None and "--deploy head" in info.value.hint


def test_the_same_options_or_none_reuse_the_running_sandbox(tmp_path: Path) -> None:
    home = tmp_path / "sbx"
    state = running(home, seed=1, deploy="head")
    for kwargs in ({}, {"seed_scale": 1}, {"deploy": "head", "seed_scale": 1}):
        again, started = daemon.up(home, faults=[], **kwargs)
        assert not started and again.pid == state.pid and again.seed == 1
