"""Where the token and the API URL come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from keycliq_ops.adapters.heroku.auth import api_base_url, resolve_token
from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.base.errors import EXIT_USAGE, ConfigError

NETRC = """machine git.heroku.com
  login dev@keycliq.example
  password git-token-111111
machine api.heroku.com
  login dev@keycliq.example
  password api-token-222222
"""


def test_env_token_wins(hermetic_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (hermetic_env / ".netrc").write_text(NETRC)
    monkeypatch.setenv("HEROKU_API_KEY", "env-token-333333")
    token = resolve_token()
    assert token.reveal() == "env-token-333333"
    assert token.source == "HEROKU_API_KEY"
    assert "env-token" not in repr(token) and "env-token" not in str(token)


@pytest.mark.parametrize("name", [".netrc", "_netrc"])
def test_netrc_machine_api(hermetic_env: Path, name: str) -> None:
    (hermetic_env / name).write_text(NETRC)
    token = resolve_token()
    assert token.reveal() == "api-token-222222"
    assert name in token.source


def test_no_token_is_a_config_error_with_hint(hermetic_env: Path) -> None:
    (hermetic_env / ".netrc").write_text("machine github.com login x password y\n")
    with pytest.raises(ConfigError) as info:
        resolve_token()
    assert info.value.exit_code == EXIT_USAGE
    assert "HEROKU_API_KEY" in info.value.message
    assert "heroku login" in (info.value.hint or "")


def test_netrc_parse_error_names_file_and_line(hermetic_env: Path) -> None:
    netrc = hermetic_env / ".netrc"
    netrc.write_text("machine api.heroku.com\n  login a\n  bogus-token here\n")
    with pytest.raises(ConfigError) as info:
        resolve_token()
    assert f"{netrc}:3" in info.value.message
    assert info.value.location == f"{netrc}:3"


def test_base_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    assert api_base_url() == "https://api.heroku.com"
    monkeypatch.setenv("HEROKU_HOST", "heroku.example.com")  # not a URL: ignored, as the CLI does
    assert api_base_url() == "https://api.heroku.com"
    monkeypatch.setenv("HEROKU_HOST", "http://127.0.0.1:5050/")
    assert api_base_url() == "http://127.0.0.1:5050"
    monkeypatch.setenv("HEROKU_API_URL", "http://127.0.0.1:6060")
    assert api_base_url() == "http://127.0.0.1:6060"
    monkeypatch.setenv("HEROKU_API_URL", "ftp://nope")
    with pytest.raises(ConfigError):
        api_base_url()


def test_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEROKU_API_KEY", "env-token-444444")
    monkeypatch.setenv("HEROKU_API_URL", "http://127.0.0.1:7070")
    with HerokuClient.from_environment() as client:
        assert client.base_url == "http://127.0.0.1:7070"
        assert "env-token" not in repr(client)
        assert "HEROKU_API_KEY" in repr(client)


def test_netrc_parse_error_does_not_echo_a_token(hermetic_env: Path) -> None:
    secret = "HRKU-0123456789abcdefghijklmnopqrstuvwxyz"
    (hermetic_env / ".netrc").write_text(f"{secret}\nmachine api.heroku.com password x\n")
    with pytest.raises(ConfigError) as info:
        resolve_token()
    assert "bad toplevel token" in info.value.message
    assert secret not in info.value.message and secret[-4:] in info.value.message
