"""Running a command in an attached one-off dyno as a pipeline step."""

from __future__ import annotations

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.adapters.heroku.rendezvous import read_attached, with_exit_marker
from keycliq_ops.release.stepper import StepIO


def run_attached(
    client: HerokuClient, app: str, command: str, io: StepIO, *, timeout: float
) -> int:
    """Run ``command`` on ``app`` attached; stream its output; return its exit status."""
    dyno = client.create_dyno(app, with_exit_marker(command), attach=True, type="run")
    io.note(f"{dyno.name}: {command}")
    if not dyno.attach_url:
        raise_no_attach(app)
    assert dyno.attach_url is not None
    return read_attached(dyno.attach_url, io.line, timeout=timeout)


def raise_no_attach(app: str) -> None:
    from keycliq_ops.base.errors import HerokuError

    raise HerokuError(f"Heroku answered no attach_url for the one-off dyno on {app}")
