"""Helpers every command uses: loading the config, consoles, JSON output, and the output
boundary that masks secrets.

The boundary: :func:`install_masking` (run by the root command) wraps ``sys.stdout`` and
``sys.stderr`` in a :class:`MaskedStream`, so that every byte keycliq prints (rich consoles,
plain lines, ``--json``, progress, prompts, error messages) has every secret value in play
masked (``keycliq_ops.base.redact.mask_text``). The values: secret-named variables of the
local environment (registered at install), the Heroku token and every secret config var
read through :func:`heroku_client` (registered as they are read), and what a command that
relays an app's text learns first with :func:`learn_app_secrets` (both apps'). The consoles
also mask before rendering, so that a secret folded over two lines, or cut by a table cell,
is masked whole.

Kept light: rich and pydantic are imported inside the functions.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from keycliq_ops.base.redact import (
    mask_text,
    mask_tree,
    register_config_secrets,
    register_environment,
    register_secrets,
)

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

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


class MaskedStream:
    """A text stream that writes to ``inner`` with every secret in play masked; anything
    else (``isatty``, ``fileno``, ``encoding``…) is the inner stream's."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(mask_text(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def write_for_eval(text: str) -> None:
    """Write ``text`` to stdout past the masking: only for output that is meant to be
    evaluated by the user's own shell (``eval "$(keycliq sandbox up)"``: the local
    stand-in's token must reach the shell whole)."""
    stream = sys.stdout
    inner = stream.inner if isinstance(stream, MaskedStream) else stream
    inner.write(text)
    inner.flush()


def invocation() -> str:
    """How to run this keycliq again from any folder, for the commands keycliq prints for
    the user to paste: ``keycliq`` when that is what PATH finds, else the absolute path of
    the entry point that is running (a project's ``.venv/bin/keycliq`` reached by ``uv run``
    works from another repository too, where ``uv run keycliq`` would not), else
    ``PYTHON -m keycliq_ops``."""
    import shlex
    import shutil

    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "keycliq" and argv0.exists():
        found = shutil.which("keycliq")
        if found and Path(found).resolve() == argv0.resolve():
            return "keycliq"
        return shlex.quote(str(argv0.resolve()))
    return shlex.join([sys.executable, "-m", "keycliq_ops"])


def write_file_text(text: str) -> None:
    """Write a file's text to stdout as it is, byte for byte (UTF-8; secrets still masked):
    never through rich, which would wrap long lines at the width or expand tabs (``keycliq
    dataclips show E2 > e2.sql`` must run unchanged in psql)."""
    stream = sys.stdout
    stream.flush()
    masked = mask_text(text)
    inner = stream.inner if isinstance(stream, MaskedStream) else stream
    buffer = getattr(inner, "buffer", None)
    if buffer is None:  # a text-only stream (tests' capture): its own encoding
        inner.write(masked)
        inner.flush()
        return
    inner.flush()
    buffer.write(masked.encode("utf-8"))
    buffer.flush()


def install_masking() -> None:
    """Start a command's output boundary: learn the local environment's secrets and mask
    stdout and stderr (once per process; a new command in the same process starts with
    what its own environment holds)."""
    from keycliq_ops.base.redact import forget_secrets

    forget_secrets()
    register_environment(os.environ)
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, MaskedStream):
            setattr(sys, name, MaskedStream(stream))


def _mask_renderable(renderable: RenderableType) -> RenderableType:
    """A str, a Text or a Table with the secrets in play masked before rich lays it out
    (a value folded at the width, or cut by a cell, is then never shown in pieces)."""
    from rich.table import Table
    from rich.text import Text

    if isinstance(renderable, str):
        return mask_text(renderable)
    if isinstance(renderable, Text):
        plain = renderable.plain
        masked = mask_text(plain)
        if masked == plain:
            return renderable
        return Text(
            masked,
            style=renderable.style,
            justify=renderable.justify,
            overflow=renderable.overflow,
            no_wrap=renderable.no_wrap,
            end=renderable.end,
        )
    if isinstance(renderable, Table):
        for column in renderable.columns:
            column._cells = [_mask_renderable(cell) for cell in column._cells]
        if isinstance(renderable.title, str | Text):
            renderable.title = _mask_renderable(renderable.title)  # type: ignore[assignment]
        return renderable
    return renderable


def _masking_console(**options: Any) -> Console:
    from rich.console import Console, ConsoleRenderable, RenderHook

    class _Mask(RenderHook):
        def process_renderables(
            self, renderables: list[ConsoleRenderable]
        ) -> list[ConsoleRenderable]:
            return [cast("ConsoleRenderable", _mask_renderable(r)) for r in renderables]

    console = Console(**options)
    console.push_render_hook(_Mask())
    return console


def _piped(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return not (isatty is not None and isatty())


def out() -> Console:
    """The console for results (stdout). Into a pipe or a file, lines are not wrapped at
    80 columns (a long path must not split ``chain intact`` for a ``grep``); tables still
    fit the width."""
    global _out
    if _out is None:
        _out = _masking_console(highlight=False, soft_wrap=_piped(sys.stdout))
    return _out


def err() -> Console:
    """The console for progress, warnings and notes (stderr); unwrapped into a pipe, as
    :func:`out`."""
    global _err
    if _err is None:
        _err = _masking_console(stderr=True, highlight=False, soft_wrap=_piped(sys.stderr))
    return _err


def emit_json(data: Any) -> None:
    """Write one JSON document to stdout (pydantic models are dumped in JSON mode), every
    string masked before it is encoded (an escaped character must not hide a secret)."""
    if hasattr(data, "model_dump"):
        data = data.model_dump(mode="json")
    sys.stdout.write(json.dumps(mask_tree(data), indent=2, default=str) + "\n")
    sys.stdout.flush()


@cache
def _masking_client_class() -> type[HerokuClient]:
    from keycliq_ops.adapters.heroku.client import HerokuClient

    class MaskingHerokuClient(HerokuClient):
        """A client whose config-var reads register their secret values for masking."""

        def config_vars(self, app: str) -> dict[str, str]:
            vars_ = super().config_vars(app)
            register_config_secrets(vars_)
            return vars_

        def update_config_vars(self, app: str, changes: Any) -> dict[str, str]:
            register_config_secrets({k: v for k, v in changes.items() if v is not None})
            vars_ = super().update_config_vars(app, changes)
            register_config_secrets(vars_)
            return vars_

    return MaskingHerokuClient


def heroku_client() -> HerokuClient:
    """The Heroku client of the environment's credentials; its token, and every secret
    config var it reads, are masked in all output from then on."""
    client = _masking_client_class().from_environment()
    token = getattr(client, "_token", None)
    if token is not None:
        register_secrets(token.reveal())
    return client


def learn_app_secrets(loaded: LoadedConfig, client: HerokuClient) -> None:
    """Read the config vars of every environment in keycliq.yaml (at once) so that their
    secret values are masked in what the command relays: one app's log may quote the
    other's secrets. An app whose config cannot be read is named in a warning."""
    from concurrent.futures import ThreadPoolExecutor

    from keycliq_ops.base.errors import KeycliqError

    apps = sorted({env.app for env in loaded.config.environments.values()})

    def read(app: str) -> str | None:
        try:
            register_config_secrets(client.config_vars(app))
        except KeycliqError as exc:
            return f"{app}: {exc.message}"
        return None

    with ThreadPoolExecutor(max_workers=max(1, min(4, len(apps)))) as pool:
        failures = [f for f in pool.map(read, apps) if f]
    from rich.markup import escape

    for failure in failures:
        err().print(
            f"[yellow]warning[/]: cannot read config vars ({escape(failure)}): "
            "its secret values are not known to mask"
        )


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

EXIT_CODES = {
    0: "ok",
    1: "a gate or check failed (the output says which)",
    2: "usage or config error (nothing was done)",
    3: "an outside system (Heroku, git, the database) failed after retries",
    70: "internal error: a bug in keycliq (please report it with the output)",
    130: "interrupted (Ctrl-C; 143 when CI cancels with SIGTERM)",
}

# The commands that never fail a gate or a check (their help lists no exit 1).
NO_GATE = frozenset(
    {
        "status",
        "logs",
        "watch",
        "init",
        "dataclips list",
        "dataclips show",
        "dataclips trend",
        "checklist list",
        "checklist answers",
        "checklist show",
        "ledger list",
        "ledger show",
        "ledger export",
        "ledger stats",
        "playbook list",
        "playbook show",
        "secrets list",
        "config show",
        "config reference",
        "sandbox up",
        "sandbox down",
        "sandbox status",
    }
)


def exit_codes_epilog(path: str) -> str:
    """The help's list of the exit codes the command ``path`` (e.g. ``dataclips run``) can
    return; one helper, so every command's help says the same, 70 included."""
    codes = [c for c in EXIT_CODES if not (c == 1 and path in NO_GATE)]
    listed = "\n".join(f"  {code:<4}{EXIT_CODES[code]}" for code in codes)
    return "\b\nExit codes:\n" + listed


def add_exit_codes(app: typer.Typer, prefix: str = "") -> None:
    """Give every command of ``app`` (and of its topics) the exit-code epilog."""
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        path = f"{prefix}{name}".strip()
        epilog = exit_codes_epilog(path)
        info.epilog = f"{info.epilog}\n\n{epilog}" if info.epilog else epilog
    for group in app.registered_groups:
        if group.typer_instance is not None:
            add_exit_codes(group.typer_instance, f"{prefix}{group.name} ")
