"""``keycliq config check`` against the stand-in's apps."""

from __future__ import annotations

import json

from tests.world import World


def test_clean_apps_pass_with_masked_values(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("config", "check")
    assert result.code == 0, result.output
    assert "staging (keycliq-staging)" in result.stdout
    assert "production (keycliq-production)" in result.stdout
    for app in ("keycliq-staging", "keycliq-production"):
        config = world.sandbox.engine.app(app).config
        for name in ("SESSION_SECRET", "DATABASE_URL", "OPENAI_API_KEY", "CLOUDINARY_API_SECRET"):
            assert config[name] not in result.output


def test_problems_exit_1_and_name_the_var(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    engine = world.sandbox.engine
    staging = engine.app("keycliq-staging")
    production = engine.app("keycliq-production")
    engine.set_config(
        staging,
        {"SESSION_SECRET": production.config["SESSION_SECRET"], "OPENAI_API_KEY": "changeme"},
    )
    result = cli("config", "check", "staging", "--json")
    assert result.code == 1
    data = json.loads(result.stdout)
    findings = {(f["var"], f["message"].split()[0]) for f in data["environments"][0]["findings"]}
    assert ("OPENAI_API_KEY", "looks") in findings
    assert ("SESSION_SECRET", "is") in findings
    assert production.config["SESSION_SECRET"] not in result.output


def test_unknown_environment_is_a_usage_error(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("config", "check", "qa")
    assert result.code == 2
    assert "unknown environment 'qa'" in result.stderr
    assert cli("config", "check", "-e", "qa").code == 2
    two = cli("config", "check", "staging", "-e", "production")
    assert two.code == 2 and "named twice, differently" in two.stderr


def test_environments_by_dash_e_and_app_name(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ("-e", "keycliq-production"),
        ("--env", "production"),
        ("keycliq-production",),
        ("production", "-e", "keycliq-production"),
    ):
        result = cli("config", "check", *args, "--json")
        assert result.code == 0, (args, result)
        data = json.loads(result.stdout)
        assert [e["environment"] for e in data["environments"]] == ["production"], args
    both = cli("config", "check", "-e", "staging", "-e", "keycliq-production", "--json")
    assert both.code == 0, both
    assert [e["environment"] for e in json.loads(both.stdout)["environments"]] == [
        "staging",
        "production",
    ]
