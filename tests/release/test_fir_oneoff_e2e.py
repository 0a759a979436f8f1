"""One-off dynos on a Fir app (stack ``cnb``) run through ``launcher``, as Heroku's CLI
runs them; on Cedar commands run as they are. Real attached dynos of the stand-in."""

from __future__ import annotations

import pytest

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.release.oneoff import launcher_for, run_attached_lines
from tests.world import World

STAGING = "keycliq-staging"


def _run(command: str, **kw: object) -> tuple[int, list[str], str]:
    lines: list[str] = []
    with HerokuClient.from_environment() as client:
        code, name = run_attached_lines(
            client,
            STAGING,
            command,
            lines.append,
            timeout=120,
            **kw,  # type: ignore[arg-type]
        )
    assert name is not None
    return code, lines, name


def test_a_fir_one_off_runs_through_launcher(fir_world: World) -> None:
    code, lines, name = _run("npx prisma migrate status")
    assert code == 0, lines
    assert any("Database schema is up to date" in ln or "migration" in ln for ln in lines), lines
    dyno = fir_world.sandbox.engine.dyno(fir_world.sandbox.engine.app(STAGING), name)
    assert dyno.command.startswith("launcher npx prisma migrate status")
    assert name.startswith("run-") and "." not in name  # a Fir dyno name


def test_without_launcher_a_fir_dyno_lacks_the_buildpacks_programs(
    fir_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYCLIQ_LAUNCHER", "none")
    code, lines, _ = _run("npx prisma migrate status")
    assert code == 127 and any("npx: command not found" in ln for ln in lines), lines
    monkeypatch.delenv("KEYCLIQ_LAUNCHER")
    code, lines, _ = _run("npx prisma migrate status", launcher=None)
    assert code == 127, lines


def test_cedar_commands_run_as_they_are(world: World) -> None:
    with HerokuClient.from_environment() as client:
        assert launcher_for(client, STAGING) is None
        assert launcher_for(client, STAGING, "launcher") == "launcher"
    code, lines, name = _run("npx prisma migrate status")
    assert code == 0, lines
    dyno = world.sandbox.engine.dyno(world.sandbox.engine.app(STAGING), name)
    assert dyno.command.startswith("npx prisma migrate status")
