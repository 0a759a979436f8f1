"""Where the Heroku token and API base URL come from (as the official CLI finds them).

Token: ``HEROKU_API_KEY``, else ``~/.netrc`` (``~/_netrc`` on Windows-style homes),
machine ``api.heroku.com``, password field. API base: ``HEROKU_API_URL``, else
``HEROKU_HOST`` when it starts with ``http`` (how a client is pointed at a stand-in), else
``https://api.heroku.com``.
"""

from __future__ import annotations

import netrc
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from keycliq_ops.base.errors import ConfigError
from keycliq_ops.base.redact import mask

DEFAULT_API_URL = "https://api.heroku.com"
NETRC_MACHINE = "api.heroku.com"


class Token:
    """A secret token: ``str()``/``repr()`` never show it; ``reveal()`` gives the value."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Token(source={self.source!r}, value='••••••••')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Token) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Credentials:
    token: Token
    base_url: str


def api_base_url(env: dict[str, str] | None = None) -> str:
    """The API base URL (no trailing slash)."""
    env = dict(os.environ) if env is None else env
    url = env.get("HEROKU_API_URL", "").strip()
    if not url:
        host = env.get("HEROKU_HOST", "").strip()
        url = host if host.startswith("http") else DEFAULT_API_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"the Heroku API URL {url!r} is not an http(s) URL",
            field="HEROKU_API_URL",
            hint="unset HEROKU_API_URL to use https://api.heroku.com",
        )
    return url.rstrip("/")


def netrc_paths(home: Path | None = None) -> list[Path]:
    """The netrc files looked at, in order (``$NETRC`` first when set)."""
    home = home or Path(os.path.expanduser("~"))
    paths = [home / ".netrc", home / "_netrc"]
    override = os.environ.get("NETRC")
    return [Path(override), *paths] if override else paths


def token_from_netrc(path: Path, machine: str = NETRC_MACHINE) -> str | None:
    """The password for ``machine`` in ``path``; ConfigError (with file:line) when unparsable."""
    try:
        parsed = netrc.netrc(str(path))
    except netrc.NetrcParseError as exc:
        where = f"{exc.filename or path}:{exc.lineno}" if exc.lineno else str(path)
        # The parser quotes the token it choked on, which may be the password itself.
        message = re.sub(r"'([^']{12,})'", lambda m: f"'{mask(m.group(1))}'", exc.msg)
        raise ConfigError(
            message,
            location=where,
            hint=f"fix the file, or set HEROKU_API_KEY (the token for {machine})",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read: {exc.strerror}", location=str(path), hint="check its permissions"
        ) from None
    entry = parsed.authenticators(machine)
    if entry is None:
        return None
    password = entry[2]
    return password or None


def resolve_token(env: dict[str, str] | None = None, home: Path | None = None) -> Token:
    """The token, or ConfigError (exit 2) saying where it was looked for."""
    env = dict(os.environ) if env is None else env
    value = env.get("HEROKU_API_KEY", "").strip()
    if value:
        return Token(value, "HEROKU_API_KEY")
    looked = []
    for path in netrc_paths(home):
        looked.append(str(path))
        if path.is_file():
            found = token_from_netrc(path)
            if found:
                return Token(found, f"{path} (machine {NETRC_MACHINE})")
    raise ConfigError(
        "no Heroku API token: HEROKU_API_KEY is not set and no netrc entry for "
        f"machine {NETRC_MACHINE} ({', '.join(looked)})",
        hint="run `heroku login` (writes ~/.netrc), or export HEROKU_API_KEY=$(heroku auth:token)",
    )


def resolve_credentials(env: dict[str, str] | None = None, home: Path | None = None) -> Credentials:
    return Credentials(token=resolve_token(env, home), base_url=api_base_url(env))
