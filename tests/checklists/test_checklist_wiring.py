"""Putting a run together: environment, DATABASE_URL from the Heroku API (respx), params."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.base.errors import UsageError
from keycliq_ops.checklists.wiring import (
    actor,
    database_url_provider,
    head_commit,
    resolve_target,
)
from keycliq_ops.cli.common import parse_params
from keycliq_ops.config import load_config

from .conftest import git, write

API = "https://api.heroku.com"
DB_URL = "postgres://kc_user:Sup3rSecretPw@ec2-1-2-3-4.compute.amazonaws.com:5432/d8x"


def _config(tmp_path: Path, body: str):  # type: ignore[no-untyped-def]
    return load_config(write(tmp_path / "keycliq.yaml", body))


def test_resolve_target(tmp_path: Path) -> None:
    loaded = _config(
        tmp_path,
        """
        environments:
          staging: {app: keycliq-staging, url: "https://s.example", checklist: staging}
          production: {app: keycliq-prod, checklist: prod-after-promotion}
        """,
    )
    assert resolve_target(loaded, "staging", None).app == "keycliq-staging"
    t = resolve_target(loaded, "prod-after-promotion", None)
    assert (t.env, t.app, t.url) == ("production", "keycliq-prod", None)
    assert resolve_target(loaded, "other", None).env is None
    assert resolve_target(loaded, "other", "production").app == "keycliq-prod"
    assert resolve_target(None, "staging", None).env is None
    with pytest.raises(UsageError, match=r"no keycliq\.yaml"):
        resolve_target(None, "staging", "staging")
    both = _config(
        tmp_path,
        """
        environments:
          a: {app: keycliq-a, checklist: shared}
          b: {app: keycliq-b, checklist: shared}
        """,
    )
    with pytest.raises(UsageError, match="environments a, b all walk checklist 'shared'"):
        resolve_target(both, "shared", None)


def test_parse_params() -> None:
    assert parse_params(["userId=ck1", "x=a=b", "empty="]) == {
        "userId": "ck1",
        "x": "a=b",
        "empty": "",
    }
    with pytest.raises(UsageError):
        parse_params(["=v"])


@respx.mock(base_url=API, assert_all_called=False)
def test_database_url_comes_from_config_vars_only_when_needed(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get("/apps/keycliq-staging/config-vars").mock(
        return_value=httpx.Response(200, json={"DATABASE_URL": DB_URL, "NODE_ENV": "production"})
    )
    provide = database_url_provider(None, "keycliq-staging", lambda: HerokuClient("t0ken-abc"))
    assert provide is not None
    assert route.call_count == 0  # nothing fetched until a dataclip item runs
    assert provide() == DB_URL
    assert route.call_count == 1

    explicit = database_url_provider("postgresql://localhost/x", "keycliq-staging", HerokuClient)
    assert explicit is not None and explicit() == "postgresql://localhost/x"
    assert database_url_provider(None, None, HerokuClient) is None


@respx.mock(base_url=API)
def test_app_without_database_url(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("/apps/keycliq-staging/config-vars").mock(
        return_value=httpx.Response(200, json={"NODE_ENV": "production"})
    )
    provide = database_url_provider(None, "keycliq-staging", lambda: HerokuClient("t0ken-abc"))
    assert provide is not None
    with pytest.raises(UsageError, match="app keycliq-staging has no DATABASE_URL") as info:
        provide()
    assert info.value.exit_code == 2
    assert info.value.hint == "attach Heroku Postgres to the app, or pass --database-url"


def test_commit_and_actor_from_git(tmp_path: Path) -> None:
    assert head_commit(tmp_path) is None
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.name", "Pat Tester")
    git(tmp_path, "config", "user.email", "pat@example.com")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "x")
    assert head_commit(tmp_path) == git(tmp_path, "rev-parse", "HEAD")
    assert actor(tmp_path) == "Pat Tester <pat@example.com>"


def test_dataclip_items_without_any_database_exit_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        tmp_path / "clips.yaml",
        """
        title: T
        sections:
          - title: S
            items:
              - id: counts
                kind: dataclip
                text: Counts.
                dataclips: [A]
        """,
    )
    result = cli("checklist", "run", str(path))
    assert result.code == 2
    assert "has dataclip items but no database to run them on" in result.stderr
    assert "--database-url" in result.stderr
