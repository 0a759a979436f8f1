"""``{name}`` placeholders in checklist text, commands, URLs and Dataclip parameters.

A placeholder is ``{identifier}``; ``{{`` and ``}}`` stand for literal braces. Anything
else in braces (JSON, ``'{}'::jsonb``) is left as it is, so SQL and JSON in help text need no
escaping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Variables every run provides (values may be unknown, e.g. no URL configured).
BUILTINS: tuple[str, ...] = ("env", "app", "app_url", "commit", "checklist")


def placeholders(text: str) -> list[str]:
    """The names used in ``text``, in order of appearance (duplicates kept once)."""
    seen: dict[str, None] = {}
    for m in _TOKEN.finditer(text):
        if m.group(1):
            seen.setdefault(m.group(1))
    return list(seen)


class MissingVariable(KeyError):
    """A placeholder with no value; ``name`` is the placeholder."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def render(text: str, values: Mapping[str, str | None], *, strict: bool = True) -> str:
    """Substitute ``{name}`` with ``values[name]``.

    ``strict``: a missing (or ``None``) value raises :class:`MissingVariable`; otherwise the
    placeholder is kept as written (used to show text whose values are not known yet).
    """

    def sub(m: re.Match[str]) -> str:
        whole = m.group(0)
        if whole in ("{{", "}}"):
            return whole[0]
        name = m.group(1)
        value = values.get(name)
        if value is None:
            if strict:
                raise MissingVariable(name)
            return whole
        return value

    return _TOKEN.sub(sub, text)
