"""Masking of secret values: the only way a secret may be shown.

Config vars, tokens and database URLs pass through here before they reach a terminal,
log, ledger record or report. The process-wide registry (:func:`register_secrets`) holds
every secret value in play; :func:`mask_text` masks them (and URL credentials and token
shapes) in any text, which the CLI's output boundary applies to everything it writes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

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
        # Its own values and every value registered in the process (see ``register_secrets``)
        for s in sorted(self._secrets.union(_ordered), key=len, reverse=True):
            if s in text:
                text = text.replace(s, mask(s))
        return redact_url(text)


# ------------------------------------------------------------- every secret value in play
# One registry per process: the values that must never be shown, whoever learned them (the
# Heroku token, the apps' secret config vars, secret-named variables of the environment).
# The output boundary (``keycliq_ops.cli.common``) masks them in everything it writes.

MIN_SECRET = 6  # shorter values would mask ordinary words; they are not real secrets
MIN_ENV_SECRET = 8  # a local variable's value shorter than this is a flag, not a secret

_known: set[str] = set()
_ordered: tuple[str, ...] = ()
_lock = threading.Lock()

# Linear time on any input: the userinfo after ``://`` (``redact_url``'s pattern is bounded
# but backtracks on long runs), and the shapes of tokens nobody registered.
_USERINFO = re.compile(r"://[^@/\s]{1,512}@")
_TOKEN_SHAPES = re.compile(
    r"\b(?:HRKU-[A-Za-z0-9_-]{16,}|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,})"
    r"|(?<=Bearer )[A-Za-z0-9._~+/=-]{12,}",
)


def _url_password(value: str) -> str | None:
    """The password of ``scheme://user:password@host…``, if any."""
    if "://" not in value:
        return None
    rest = value.split("://", 1)[1]
    userinfo, at, _ = rest.partition("@")
    if not at or "/" in userinfo:
        return None
    _, colon, password = userinfo.partition(":")
    return password if colon else None


def register_secrets(*values: str | None) -> None:
    """Make these values secret for the rest of the process: masked wherever shown. A URL
    also registers its password (the URL itself is masked as a whole too)."""
    fresh: set[str] = set()
    for value in values:
        if not value:
            continue
        password = _url_password(value)
        for v in (value, password):
            if v and len(v) >= MIN_SECRET:
                fresh.add(v)
    global _ordered
    with _lock:
        if fresh <= _known:
            return
        _known.update(fresh)
        _ordered = tuple(sorted(_known, key=len, reverse=True))


def register_config_secrets(vars_: Mapping[str, str | None]) -> None:
    """Register the values of a config-var mapping whose names are secret."""
    register_secrets(*(v for k, v in vars_.items() if is_secret_name(k)))


def register_environment(env: Mapping[str, str]) -> None:
    """Register the secret-named variables of ``env`` (``os.environ``) whose values are
    long enough to be worth masking."""
    register_secrets(
        *(v for k, v in env.items() if is_secret_name(k) and v and len(v) >= MIN_ENV_SECRET)
    )


def known_secrets() -> tuple[str, ...]:
    """Every registered value, longest first."""
    return _ordered


def forget_secrets() -> None:
    """Empty the registry (a new command in the same process starts from nothing)."""
    global _ordered
    with _lock:
        _known.clear()
        _ordered = ()


def mask_text(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every registered value (and ``extra``) masked, URL credentials replaced
    by ``•••`` and token shapes (``HRKU-…``, ``sk-…``, ``Bearer …``) masked."""
    if not text:
        return text
    secrets = _ordered
    if extra:
        more = [e for e in extra if e and len(e) >= MIN_SECRET]
        secrets = tuple(sorted({*secrets, *more}, key=len, reverse=True))
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, mask(secret))
    if "://" in text:
        text = _USERINFO.sub("://•••@", text)
    if "HRKU-" in text or "sk-" in text or "gh" in text or "Bearer " in text:
        text = _TOKEN_SHAPES.sub(lambda m: mask(m.group(0)), text)
    return text


def mask_tree(tree: Any) -> Any:
    """A JSON tree with :func:`mask_text` applied to every string (keys included)."""
    if isinstance(tree, str):
        return mask_text(tree)
    if isinstance(tree, dict):
        return {mask_tree(k) if isinstance(k, str) else k: mask_tree(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return [mask_tree(v) for v in tree]
    return tree
