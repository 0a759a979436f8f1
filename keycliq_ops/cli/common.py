"""Helpers every command uses: loading the config, consoles, JSON output.

Kept light: rich and pydantic are imported inside the functions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from keycliq_ops.adapters.heroku.client import HerokuClient
    from keycliq_ops.config import LoadedConfig


class State:
    """Global options, carried on the typer context."""

    config_path: Path | None = None


def state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def load(ctx: typer.Context) -> LoadedConfig:
    from keycliq_ops.config import load_config

    return load_config(state(ctx).config_path)


_out: Console | None = None
_err: Console | None = None


def _piped(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return not (isatty is not None and isatty())


def out() -> Console:
    """The console for results (stdout). Into a pipe or a file, lines are not wrapped at
    80 columns (a long path must not split ``chain intact`` for a ``grep``); tables still
    fit the width."""
    global _out
    if _out is None:
        from rich.console import Console

        _out = Console(highlight=False, soft_wrap=_piped(sys.stdout))
    return _out


def err() -> Console:
    """The console for progress, warnings and notes (stderr); unwrapped into a pipe, as
    :func:`out`."""
    global _err
    if _err is None:
        from rich.console import Console

        _err = Console(stderr=True, highlight=False, soft_wrap=_piped(sys.stderr))
    return _err


def emit_json(data: Any) -> None:
    """Write one JSON document to stdout (pydantic models are dumped in JSON mode)."""
    if hasattr(data, "model_dump"):
        data = data.model_dump(mode="json")
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def heroku_client() -> HerokuClient:
    from keycliq_ops.adapters.heroku.client import HerokuClient

    return HerokuClient.from_environment()


def parse_params(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``--param NAME=VALUE`` pairs → ``{"NAME": "VALUE"}``; a pair without ``=`` is a
    UsageError (exit 2)."""
    from keycliq_ops.base.errors import UsageError

    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param {pair!r}: expected NAME=VALUE (e.g. --param userId=ck…)")
        out[name.strip()] = value
    return out


JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON on stdout.")
