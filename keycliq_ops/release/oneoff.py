"""Running a command in an attached one-off dyno: as a pipeline step (:func:`run_attached`)
and for a checklist's ``dyno`` items (:func:`run_attached_lines`, injected through
:mod:`keycliq_ops.checklists.wiring`)."""

from __future__ import annotations

import time
from collections.abc import Callable

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.adapters.heroku.rendezvous import read_attached, with_exit_marker
from keycliq_ops.base.errors import HerokuError
from keycliq_ops.release.stepper import StepIO


def run_attached_lines(
    client: HerokuClient,
    app: str,
    command: str,
    on_line: Callable[[str], None],
    *,
    timeout: float,
    on_start: Callable[[str], None] | None = None,
) -> tuple[int, str | None]:
    """Run ``command`` on ``app`` attached; hand each output line to ``on_line``; return
    (its exit status, the dyno's name). ``timeout`` bounds the whole run: silence that long
    or output still coming after it is a HerokuError (the dyno may still be running)."""
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
    client: HerokuClient, app: str, command: str, io: StepIO, *, timeout: float
) -> int:
    """Run ``command`` on ``app`` attached; stream its output; return its exit status."""
    status, _ = run_attached_lines(
        client,
        app,
        command,
        io.line,
        timeout=timeout,
        on_start=lambda name: io.note(f"{name}: {command}"),
    )
    return status


def raise_no_attach(app: str) -> None:
    raise HerokuError(f"Heroku answered no attach_url for the one-off dyno on {app}")
