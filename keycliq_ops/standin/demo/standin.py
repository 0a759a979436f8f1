"""The demo's Heroku stand-in: ``keycliq sandbox``'s daemon, in a temp folder or kept.

The demo does not simulate anything itself. It starts the same background sandbox as
``keycliq sandbox up`` (Platform API on loopback, git remotes, an embedded PostgreSQL with
a database per app, the sample repository, both apps on the sample's first commit, seeded
data), reaches it the way a user would (the exported ``HEROKU_API_URL`` /
``HEROKU_API_KEY``; the app's ``DATABASE_URL`` through the Platform API) and tears it down.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keycliq_ops.standin.daemon import (
    LOG_FILE,
    SandboxState,
    down,
    read_state,
    state_home,
    up,
)
from keycliq_ops.standin.failures import StandinError, usage

SEED_SCALE = 1


@dataclass
class StandIn:
    """A running sandbox daemon the demo drives."""

    home: Path
    state: SandboxState
    keep: bool
    temporary: bool

    @property
    def repo(self) -> Path:
        return Path(self.state.repo)

    @property
    def url(self) -> str:
        return self.state.url

    def exports(self) -> dict[str, str]:
        return self.state.exports()

    def database_url(self, app: str) -> str:
        """The app's ``DATABASE_URL`` as ``heroku config:get`` gives it (never shown)."""
        config = self._internal("GET", f"/apps/{app}/config-vars")
        return str(config["DATABASE_URL"])

    def pending_faults(self) -> list[str]:
        """The planted faults that have not fired yet (described as ``sandbox status``)."""
        result = self._internal("GET", "/_sandbox/faults")
        return [str(item) for item in result]

    def _internal(self, method: str, path: str) -> Any:
        import httpx

        try:
            resp = httpx.request(
                method,
                self.state.url + path,
                headers={
                    "Authorization": f"Bearer {self.state.token}",
                    "Accept": "application/vnd.heroku+json; version=3",
                },
                timeout=10,
            )
            resp.raise_for_status()
            return resp.json()
        except httpx.HTTPError as exc:
            raise StandinError(
                f"the stand-in did not answer {path}: {type(exc).__name__}"
            ) from None

    def stop(self) -> None:
        """Stop the daemon and delete its folder (a kept stand-in is left running)."""
        if self.keep:
            return
        down(self.home)
        if self.temporary:
            shutil.rmtree(self.home, ignore_errors=True)


def start(
    *,
    keep: bool,
    faults: tuple[str, ...],
    progress: Callable[[str], None],
    answers: str | None = None,
) -> StandIn:
    """Start a fresh, provisioned, seeded sandbox with ``faults`` planted.

    Without ``keep`` it lives in a new temp folder (a running ``keycliq sandbox`` is not
    touched); with ``keep`` in the folder ``keycliq sandbox status/down`` use, which must
    not hold a running sandbox already.
    """
    if keep:
        home = state_home()
        existing = read_state(home)
        if existing is not None and _alive(existing.pid):
            raise usage(
                f"a sandbox is already running (pid {existing.pid}, {existing.url}); "
                "--keep would reuse its state",
                hint="stop it with `keycliq sandbox down`, or run the demo without --keep",
            )
        temporary = False
    else:
        home = Path(tempfile.mkdtemp(prefix="keycliq-demo-"))
        temporary = True
    try:
        state, _ = up(
            home,
            faults=list(faults),
            deploy="baseline",
            seed_scale=SEED_SCALE,
            progress=progress,
            answers=answers,
        )
    except BaseException as exc:
        if isinstance(exc, StandinError) and temporary:
            kept = _keep_log(home)
            if kept is not None:
                exc.hint = f"the stand-in's log: {kept}"
        with contextlib.suppress(Exception):
            down(home)
        if temporary:
            shutil.rmtree(home, ignore_errors=True)
        raise
    return StandIn(home=home, state=state, keep=keep, temporary=temporary)


def _keep_log(home: Path) -> Path | None:
    """Copy the daemon's log out of a temp folder about to be deleted."""
    log = home / LOG_FILE
    if not log.exists():
        return None
    fd, name = tempfile.mkstemp(prefix="keycliq-demo-", suffix=".log")
    with open(fd, "wb") as out:
        out.write(log.read_bytes())
    return Path(name)


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
