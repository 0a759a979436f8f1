"""Running a command in an attached one-off dyno: as a pipeline step (:func:`run_attached`)
and for a checklist's ``dyno`` items (:func:`run_attached_lines`, injected through
:mod:`keycliq_ops.checklists.wiring`).

On a ``cnb`` stack (Fir) the command runs through the CNB ``launcher``, as Heroku's CLI
does (``launcher npx prisma migrate deploy``): the launcher sets the image's environment
up (node, npm and npx on PATH). ``KEYCLIQ_LAUNCHER`` changes that: a program to use
instead of ``launcher``, or ``none`` to run commands as they are; the ``launcher``
argument of the functions below wins over both.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Final

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.adapters.heroku.rendezvous import read_attached, with_exit_marker
from keycliq_ops.base.errors import HerokuError
from keycliq_ops.release.stepper import StepIO

AUTO: Final = "auto"
DEFAULT_LAUNCHER = "launcher"
LAUNCHER_ENV = "KEYCLIQ_LAUNCHER"
_OFF = ("", "none", "off", "false", "0")


def launcher_for(client: HerokuClient, app: str, launcher: str | None = AUTO) -> str | None:
    """The program a one-off command on ``app`` is prefixed with, or None.

    ``launcher``: ``auto`` (the app's stack decides: ``launcher`` on ``cnb``, none
    elsewhere; ``KEYCLIQ_LAUNCHER`` may name another program or ``none``), None (never), or
    a program (always)."""
    if launcher is None:
        return None
    if launcher != AUTO:
        return launcher.strip() or None
    if not client.app(app).uses_launcher:
        return None
    setting = os.environ.get(LAUNCHER_ENV)
    if setting is None:
        return DEFAULT_LAUNCHER
    return None if setting.strip().lower() in _OFF else setting.strip()


def launched(command: str, launcher: str | None) -> str:
    """``command`` as the dyno runs it (``launcher npx prisma migrate deploy``)."""
    if launcher is None or command.split(maxsplit=1)[:1] == [launcher]:
        return command
    return f"{launcher} {command}"


def run_attached_lines(
    client: HerokuClient,
    app: str,
    command: str,
    on_line: Callable[[str], None],
    *,
    timeout: float,
    on_start: Callable[[str], None] | None = None,
    launcher: str | None = AUTO,
) -> tuple[int, str | None]:
    """Run ``command`` on ``app`` attached; hand each output line to ``on_line``; return
    (its exit status, the dyno's name). ``timeout`` bounds the whole run: silence that long
    or output still coming after it is a HerokuError (the dyno may still be running).
    ``launcher``: see :func:`launcher_for` (on Fir the command runs through ``launcher``)."""
    command = launched(command, launcher_for(client, app, launcher))
    dyno = client.create_dyno(app, with_exit_marker(command), attach=True, type="run")
    if on_start is not None:
        on_start(dyno.name)
    if not dyno.attach_url:
        raise_no_attach(app)
    assert dyno.attach_url is not None
    deadline = time.monotonic() + timeout

    def line(text: str) -> None:
        if time.monotonic() > deadline:
            raise HerokuError(
                f"{dyno.name} on {app} was still running after {timeout:g}s; stopped waiting",
                hint=f"see `heroku ps --app {app}` and `heroku logs --app {app}`",
            )
        on_line(text)

    return read_attached(dyno.attach_url, line, timeout=timeout), dyno.name


def run_attached(
    client: HerokuClient,
    app: str,
    command: str,
    io: StepIO,
    *,
    timeout: float,
    launcher: str | None = AUTO,
) -> int:
    """Run ``command`` on ``app`` attached; stream its output; return its exit status."""
    prefix = launcher_for(client, app, launcher)
    shown = launched(command, prefix)
    status, _ = run_attached_lines(
        client,
        app,
        command,
        io.line,
        timeout=timeout,
        on_start=lambda name: io.note(f"{name}: {shown}"),
        launcher=prefix,
    )
    return status


def raise_no_attach(app: str) -> None:
    raise HerokuError(f"Heroku answered no attach_url for the one-off dyno on {app}")
