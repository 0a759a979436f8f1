from __future__ import annotations

from pathlib import Path

import pytest

from keycliq_ops.base.errors import ConfigError, UsageError
from keycliq_ops.config import find_config, load_config
from keycliq_ops.config.settings import REQUIRED_CONFIG_ALL
from keycliq_ops.config.starter import render_starter

GOOD = """\
pipeline: keycliq
environments:
  staging:
    app: keycliq-staging
    remote: heroku-staging
    url: https://keycliq-staging.herokuapp.com/
  production:
    app: keycliq-production
    stage: production
"""


def write(tmp_path: Path, text: str, name: str = "keycliq.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_starter_file_is_valid(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, render_starter()))
    assert set(loaded.config.environments) == {"staging", "production"}
    assert loaded.config.migrations.strategy == "release-phase"


def test_defaults_follow_the_runbook(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD)).config
    staging, production = cfg.environments["staging"], cfg.environments["production"]
    assert staging.url == "https://keycliq-staging.herokuapp.com"
    assert staging.effective_dataclips() == ["E1", "E2", "E3", "E4", "F", "G", "H"]
    assert production.effective_dataclips() == ["A", "C"]
    assert set(REQUIRED_CONFIG_ALL) <= set(production.effective_required_config())
    assert "MAIL_FROM_ADDRESS" in production.effective_required_config()
    assert "MAIL_FROM_ADDRESS" not in staging.effective_required_config()
    assert production.effective_mail_required() and not staging.effective_mail_required()
    assert cfg.branch_allowed("main") and cfg.branch_allowed("release/2026-11")
    assert not cfg.branch_allowed("feature/x")


def test_found_by_walking_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, GOOD)
    deep = tmp_path / "app" / "routes"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_config() == path
    assert load_config().path == path.resolve()


def test_paths_resolve_relative_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_config(write(tmp_path, GOOD))
    assert loaded.ledger_path == tmp_path.resolve() / ".keycliq" / "ledger.jsonl"
    monkeypatch.setenv("KEYCLIQ_LEDGER", str(tmp_path / "elsewhere.jsonl"))
    assert loaded.ledger_path == tmp_path / "elsewhere.jsonl"


def test_missing_config_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert "no keycliq.yaml" in info.value.message
    assert info.value.hint and "keycliq init" in info.value.hint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # bad YAML: file:line of the problem
        ("environments:\n  staging: [\n", "keycliq.yaml:3: invalid YAML"),
        # unknown key: its own line and field path
        (
            GOOD + "    colour: red\n",
            "keycliq.yaml:10: environments.production.colour: unknown key",
        ),
        # wrong type
        (
            GOOD.replace("app: keycliq-staging", "app: [1, 2]"),
            "keycliq.yaml:4: environments.staging.app: input should be a valid string",
        ),
        # bad enum value
        (
            GOOD.replace("stage: production", "stage: prod"),
            "keycliq.yaml:9: environments.production.stage: Input should be",
        ),
        # duplicate key
        (GOOD + "pipeline: other\n", "keycliq.yaml:10: duplicate key 'pipeline'"),
        # a required field missing
        (
            "environments:\n  staging:\n    remote: x\n",
            "keycliq.yaml:2: environments.staging.app: required but missing",
        ),
        # not a mapping at all
        ("- a\n- b\n", "keycliq.yaml:1: the file must be a mapping"),
        # the same app twice
        (GOOD.replace("keycliq-production", "keycliq-staging"), "name the same app"),
        # URL must be a URL
        (
            GOOD.replace("url: https://", "url: ftp://"),
            "keycliq.yaml:6: environments.staging.url: Value error, must be a URL",
        ),
    ],
)
def test_bad_files_give_one_located_message(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert info.value.exit_code == 2


def test_unknown_environment_lists_known_ones(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, GOOD))
    with pytest.raises(
        UsageError, match=r"unknown environment 'prod' \(known: staging, production\)"
    ):
        loaded.env("prod")


def test_yaml_tags_that_build_objects_are_refused(tmp_path: Path) -> None:
    text = GOOD + "x: !!python/object/apply:os.system ['true']\n"
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(write(tmp_path, text))
