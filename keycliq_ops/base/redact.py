"""Masking of secret values: the only way a secret may be shown.

Config vars, tokens and database URLs pass through here before they reach a terminal,
log, ledger record or report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# Config var names whose values are secret. Anything matching is masked; others are shown.
_SECRET_NAME = re.compile(
    r"(SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|APIKEY|PRIVATE|CREDENTIAL|_KEY$|^DATABASE_URL$|_URL$)",
    re.IGNORECASE,
)
# URL credentials: scheme://user:password@host
# Bounded repeats keep this linear on long text (an unbounded scheme run is quadratic).
_URL_CREDENTIALS = re.compile(
    r"(?<![a-z0-9+.-])(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)(?P<userinfo>[^@/\s]{1,512})@", re.I
)
_NOT_SECRET_URL_NAMES = frozenset({"APP_URL"})


def is_secret_name(name: str) -> bool:
    """Whether a config var of this name holds a secret value."""
    if name.upper() in _NOT_SECRET_URL_NAMES:
        return False
    return bool(_SECRET_NAME.search(name))


def mask(value: str | None) -> str:
    """A masked form that shows only the length and, for long values, the last 4 chars."""
    if value is None:
        return "(unset)"
    if value == "":
        return "(empty)"
    if len(value) < 12:
        return "•" * 8
    return f"••••••••{value[-4:]} ({len(value)} chars)"


def redact_url(url: str) -> str:
    """Replace the user:password part of every URL in ``url`` with ``•••``."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}•••@", url)


def mask_config(vars_: Mapping[str, str | None]) -> dict[str, str]:
    """A copy of a config-var mapping with secret values masked."""
    out: dict[str, str] = {}
    for name, value in vars_.items():
        if value is None:
            out[name] = "(unset)"
        elif is_secret_name(name):
            out[name] = mask(value)
        else:
            out[name] = redact_url(value)
    return out


class Redactor:
    """Scrubs known secret values out of free text (command output, error messages)."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        for s in secrets:
            # Very short values would scrub ordinary words; they are not real secrets.
            if s and len(s) >= 6:
                self._secrets.add(s)

    def __call__(self, text: str) -> str:
        for s in sorted(self._secrets, key=len, reverse=True):
            if s in text:
                text = text.replace(s, mask(s))
        return redact_url(text)
