"""``keycliq config check`` reads what the app needs from the checkout's repository."""

from __future__ import annotations

import json

import pytest

from tests.world import World

DATASOURCE = """\
generator client {
  provider = "prisma-client-js"
}

datasource db {
  provider  = "postgresql"
  url       = env("DATABASE_URL")
%s}

model User {
  id    String @id @default(cuid())
  email String @unique
}
"""


def write_schema(world: World, *, direct_url: bool) -> None:
    line = '  directUrl = env("DIRECT_URL")\n' if direct_url else ""
    (world.repo / "prisma" / "schema.prisma").write_text(DATASOURCE % line)


def test_a_variable_the_schema_reads_and_the_app_lacks(  # type: ignore[no-untyped-def]
    world: World, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    write_schema(world, direct_url=True)
    result = cli("config", "check", "staging", "--json")
    assert result.code == 1, result.output
    report = json.loads(result.stdout)["environments"][0]
    assert report["requirements_from"] == f"the work tree at {world.repo}"
    problems = [f for f in report["findings"] if f["level"] == "error"]
    assert problems == [
        {
            "var": "DIRECT_URL",
            "level": "error",
            "message": "is not set on keycliq-staging: "
            'prisma/schema.prisma:8 reads env("DIRECT_URL")',
            "source": 'prisma/schema.prisma:8 reads env("DIRECT_URL")',
        }
    ]
    rows = {r["name"]: r for r in report["rows"]}
    assert rows["DIRECT_URL"]["status"] == "missing"
    assert rows["DATABASE_URL"]["required_by"] == "prisma/schema.prisma:7"

    text = cli("config", "check", "staging")
    assert text.code == 1
    assert (
        "error: DIRECT_URL is not set on keycliq-staging: "
        'prisma/schema.prisma:8 reads env("DIRECT_URL")'
    ) in text.stdout
    assert f"requirements read from the work tree at {world.repo}" in text.stdout
    staging = world.sandbox.engine.app("keycliq-staging").config
    assert staging["DATABASE_URL"] not in text.output

    # set on the app, the same check passes
    engine = world.sandbox.engine
    engine.set_config(engine.app("keycliq-staging"), {"DIRECT_URL": staging["DATABASE_URL"]})
    fixed = cli("config", "check", "staging", "--json")
    assert fixed.code == 0, fixed.output
    assert staging["DATABASE_URL"] not in fixed.output


def test_a_schema_reading_only_database_url_passes(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    write_schema(world, direct_url=False)
    result = cli("config", "check", "--json")
    assert result.code == 0, result.output
    for report in json.loads(result.stdout)["environments"]:
        rows = {r["name"]: r for r in report["rows"]}
        assert "DIRECT_URL" not in rows
        assert rows["DATABASE_URL"]["required_by"] == "prisma/schema.prisma:7"
        assert rows["SESSION_SECRET"]["required_by"] == "app/utils/session.server.js"
