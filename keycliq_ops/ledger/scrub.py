"""The scrubber every record passes through before it is written: no secret value, ever.

Three nets, applied to every string in the record (keys of mappings are left as they are):

1. a value under a secret-looking key (``is_secret_name``: *SECRET*, *TOKEN*, *_KEY*,
   *PASSWORD*, ``DATABASE_URL``…) is masked, unless it is a plain answer word (yes, done…);
2. known secret values are masked wherever they occur: the values the caller registers
   (config-var secrets of the app) and the values of secret-named variables of this
   process's environment (``HEROKU_API_KEY``, ``DATABASE_URL``…);
3. URL credentials (``scheme://user:password@``) and token shapes (Heroku ``HRKU-…``,
   ``sk-…`` API keys, ``Bearer …``) are masked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from keycliq_ops.base.redact import is_secret_name, mask

# Linear-time on any input (``redact.redact_url``'s pattern backtracks quadratically on long
# runs of letters, so records never go through it): the userinfo after ``://``.
_URL_USERINFO = re.compile(r"://[^@/\s]+@")
_TOKEN_SHAPES = re.compile(
    r"\b(?:HRKU-[A-Za-z0-9_-]{16,}|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,})"
    r"|(?<=Bearer )[A-Za-z0-9._~+/=-]{12,}",
)
_ANSWER_WORDS = frozenset(
    {
        "yes",
        "no",
        "true",
        "false",
        "done",
        "ok",
        "pass",
        "passed",
        "fail",
        "failed",
        "skipped",
        "n/a",
        "set",
        "unset",
        "(unset)",
        "(empty)",
        "rotated",
        "present",
        "missing",
    }
)


class Scrubber:
    """Masks secrets in a JSON tree; ``add`` registers more secret values."""

    def __init__(self, secrets: Iterable[str | None] = (), *, environ: bool = True) -> None:
        self._secrets: list[str] = []
        self.add(*secrets)
        if environ:
            self.add_environment(os.environ)

    def add(self, *secrets: str | None) -> None:
        # Very short values would scrub ordinary words; they are not real secrets.
        known = set(self._secrets) | {v for v in secrets if v and len(v) >= 6}
        self._secrets = sorted(known, key=len, reverse=True)

    def add_environment(self, env: Mapping[str, str]) -> None:
        """Register the values of secret-named variables (URLs: only their credentials)."""
        for name, value in env.items():
            if not is_secret_name(name) or not value:
                continue
            if "://" in value:
                continue  # URL credentials are masked by shape; the rest of a URL is not secret
            self.add(value)

    def text(self, value: str) -> str:
        from keycliq_ops.base.redact import known_secrets

        # Its own values, and whatever secret this process has learnt (config vars read,
        # the token): longest first, so a value that contains another is masked whole.
        for secret in sorted({*self._secrets, *known_secrets()}, key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, mask(secret))
        if "://" in value:
            value = _URL_USERINFO.sub("://•••@", value)
        return _TOKEN_SHAPES.sub(lambda m: mask(m.group(0)), value)

    def __call__(self, tree: Any, *, key: str | None = None) -> Any:
        if isinstance(tree, str):
            if key is not None and is_secret_name(key) and not _harmless(tree):
                if _plain_url_key(key) and "://" in tree:
                    return self.text(tree)  # e.g. WEB_URL: only its credentials are secret
                return mask(tree)
            return self.text(tree)
        if isinstance(tree, dict):
            return {k: self(v, key=str(k)) for k, v in tree.items()}
        if isinstance(tree, list):
            return [self(v, key=key) for v in tree]
        return tree


def _plain_url_key(key: str) -> bool:
    upper = key.upper()
    return upper.endswith("_URL") and upper != "DATABASE_URL"


def _harmless(value: str) -> bool:
    return value.strip().lower() in _ANSWER_WORDS or value.startswith("••••")
