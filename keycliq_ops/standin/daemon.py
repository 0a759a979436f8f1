"""``keycliq sandbox up/down/status``: the sandbox as a background process.

``up`` starts a detached child (``python -m keycliq_ops.standin.daemon``) that runs a
:class:`Sandbox`, provisions it, writes its state (``sandbox.json``: URL, token, pid,
paths; mode 0600) and reports readiness through a pipe; ``up`` returns when the child
says everything answers (no polling). The state folder is ``$KEYCLIQ_SANDBOX_HOME``, else
``$XDG_STATE_HOME/keycliq/sandbox``, else ``~/.local/state/keycliq/sandbox``: outside any
repository. ``down`` stops the child (SIGTERM, waiting on its pidfd), makes sure its
PostgreSQL is gone, and deletes the folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from keycliq_ops.standin.failures import StandinError, atomic_write, redact_url, usage

STATE_FILE = "sandbox.json"
ANSWERS_FILE = "answers.yaml"  # the sample's keycliq-answers.yaml, handed to the child
MARKER = ".keycliq-sandbox"
LOG_FILE = "daemon.log"


def state_home() -> Path:
    explicit = os.environ.get("KEYCLIQ_SANDBOX_HOME")
    if explicit:
        return Path(explicit).expanduser().resolve()
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg).expanduser().resolve() / "keycliq" / "sandbox"


@dataclass
class SandboxState:
    """What ``sandbox.json`` holds about a running sandbox."""

    pid: int
    url: str
    token: str
    home: str
    repo: str
    apps: list[str]
    deployed: str | None = None
    faults: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    seed: int | None = None  # --seed it was started with (None: not seeded)
    deploy: str = "baseline"  # --deploy it was started with
    generation: str = "cedar"  # --generation it was started with (cedar or fir)
    rendezvous_ca: str | None = None  # the CA of its one-off dynos' TLS rendezvous

    def exports(self) -> dict[str, str]:
        out = {
            "HEROKU_API_URL": self.url,
            "HEROKU_API_KEY": self.token,
            "HEROKU_DATA_HOST": self.url,  # the Heroku Postgres API (backups) is served too
            "KEYCLIQ_CLOUDINARY_API": self.url,  # so is Cloudinary's Admin API (costs)
            "KEYCLIQ_SANDBOX_REPO": self.repo,
        }
        if self.rendezvous_ca:
            out["KEYCLIQ_RENDEZVOUS_CA"] = self.rendezvous_ca
        return out

    def heroku_cli_environment(self) -> dict[str, str]:
        """What points Heroku's own CLI at this sandbox and keeps it on loopback
        (docs/heroku-cli.md): the API, the token, no update checks, no telemetry."""
        env = {
            "HEROKU_HOST": self.url,
            "HEROKU_API_KEY": self.token,
            "HEROKU_PARTICLEBOARD_URL": self.url,
            "DISABLE_TELEMETRY": "true",
            "HEROKU_SKIP_NEW_VERSION_CHECK": "true",
            "HEROKU_DISABLE_AUTOUPDATE": "true",
        }
        if self.rendezvous_ca:
            env["NODE_EXTRA_CA_CERTS"] = self.rendezvous_ca
        return env


@dataclass
class SandboxStatus:
    running: bool
    home: str
    pid: int | None = None
    url: str | None = None
    repo: str | None = None
    apps: list[dict[str, Any]] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    problem: str | None = None


def read_state(home: Path) -> SandboxState | None:
    try:
        data = json.loads((home / STATE_FILE).read_text())
        return SandboxState(**data)
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_exit(pid: int, timeout: float) -> bool:
    """Wait (on a pidfd, no polling) until ``pid`` exits; False on timeout."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


def _check_home(home: Path) -> None:
    if home.exists() and any(home.iterdir()) and not (home / MARKER).exists():
        raise usage(
            f"{home} exists and is not a keycliq sandbox folder; refusing to use it",
            hint="set KEYCLIQ_SANDBOX_HOME to an empty or new folder",
        )


def _api(state: SandboxState, method: str, path: str, body: Any = None) -> Any:
    import httpx

    resp = httpx.request(
        method,
        state.url + path,
        json=body,
        headers={"Authorization": f"Bearer {state.token}"},
        timeout=10,
    )
    resp.raise_for_status()
    return resp.json()


# --------------------------------------------------------------------------- up
def _refuse_other_options(
    existing: SandboxState,
    deploy: str | None,
    seed_scale: int | None,
    faults: list[str],
    generation: str | None = None,
) -> None:
    """A usage error when ``up`` asks for a start the running sandbox did not have (its
    data is seeded once, its apps deployed once): say so and how to restart, rather than
    hand back a sandbox that is not what was asked for."""
    differs: list[str] = []
    if seed_scale is not None and seed_scale != existing.seed:
        was = f"with --seed {existing.seed}" if existing.seed is not None else "without --seed"
        differs.append(f"--seed {seed_scale} (it was started {was})")
    if deploy is not None and deploy != existing.deploy:
        differs.append(f"--deploy {deploy} (it was started with --deploy {existing.deploy})")
    if generation is not None and generation != existing.generation:
        differs.append(
            f"--generation {generation} (it was started with --generation {existing.generation})"
        )
    if not differs:
        return
    asked = [f"--seed {seed_scale}"] if seed_scale is not None else []
    asked += [f"--deploy {deploy}"] if deploy is not None else []
    asked += [f"--generation {generation}"] if generation is not None else []
    asked += [f"--fault {spec}" for spec in faults]
    raise usage(
        f"a sandbox is already running (pid {existing.pid}, {existing.url}) and cannot take "
        + " or ".join(differs),
        hint="restart it with those options (this deletes its state): "
        f"keycliq sandbox down && keycliq sandbox up {' '.join(asked)}",
    )


def up(
    home: Path,
    *,
    faults: list[str],
    deploy: str | None = None,
    seed_scale: int | None = None,
    timeout: float = 300,
    progress: Callable[[str], None] = lambda _: None,
    answers: str | None = None,
    generation: str | None = None,
) -> tuple[SandboxState, bool]:
    """Start the sandbox (or reuse the running one); (state, started_now).

    ``deploy`` (default ``baseline``) and ``seed_scale`` decide how a new sandbox starts; a
    running one is reused only when they are not given or match how it was started (else a
    usage error saying how to restart it). ``faults`` are added to a running sandbox.
    ``answers`` is the text of the sample repository's ``keycliq-answers.yaml`` (rendered by
    the CLI glue from keycliq's shipped checklists).
    """
    from keycliq_ops.standin.faults import parse_fault

    for spec in faults:
        parse_fault(spec)  # a bad spec fails here, before anything starts
    _check_home(home)
    existing = read_state(home)
    if existing is not None and _alive(existing.pid):
        _refuse_other_options(existing, deploy, seed_scale, faults, generation)
        if faults:
            _api(existing, "POST", "/_sandbox/faults", {"faults": faults})
            existing.faults += faults
        progress(f"the sandbox is already running (pid {existing.pid}, {existing.url})")
        return existing, False
    if existing is not None or (home / MARKER).exists():
        progress(f"cleaning up a stopped sandbox in {home}")
        down(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("keycliq sandbox state folder; `keycliq sandbox down` deletes it\n")
    read_fd, write_fd = os.pipe()
    args = [sys.executable, "-m", "keycliq_ops.standin.daemon", "--home", str(home)]
    args += ["--ready-fd", str(write_fd), "--deploy", deploy or "baseline"]
    args += [f"--fault={spec}" for spec in faults]
    args += ["--generation", generation or "cedar"]
    if answers is not None:
        atomic_write(home / ANSWERS_FILE, answers)
        args += ["--answers", str(home / ANSWERS_FILE)]
    if seed_scale:
        args += ["--seed", str(seed_scale)]
    with open(home / LOG_FILE, "ab") as log:
        proc = subprocess.Popen(
            args,
            pass_fds=(write_fd,),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    os.close(write_fd)
    try:
        state = _await_ready(read_fd, timeout, progress, home / LOG_FILE)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        raise
    finally:
        os.close(read_fd)
    return state, True


def _await_ready(
    fd: int, timeout: float, progress: Callable[[str], None], log: Path
) -> SandboxState:
    deadline = time.monotonic() + timeout
    buffer = b""
    while True:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(0.0, left))
        if not ready:
            raise StandinError(
                f"the sandbox did not come up within {timeout:g}s",
                hint=f"see {log}",
            )
        chunk = os.read(fd, 65536)
        if not chunk:
            raise StandinError(
                "the sandbox process exited before it was ready",
                hint=f"see {log}",
            )
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            message = json.loads(line)
            if "note" in message:
                progress(message["note"])
            elif "error" in message:
                raise StandinError(f"the sandbox failed to start: {message['error']}")
            elif "ready" in message:
                return SandboxState(**message["ready"])


# ------------------------------------------------------------------------- down
def down(home: Path, *, timeout: float = 60) -> bool:
    """Stop the sandbox and delete its folder; whether one was running."""
    _check_home(home)
    state = read_state(home)
    was_running = state is not None and _alive(state.pid)
    if state is not None and was_running:
        os.kill(state.pid, signal.SIGTERM)
        if not _wait_exit(state.pid, timeout):
            os.killpg(state.pid, signal.SIGKILL)
            _wait_exit(state.pid, 10)
    _stop_leftover_postgres(home)
    if (home / MARKER).exists():
        shutil.rmtree(home, ignore_errors=True)
    return was_running


def _stop_leftover_postgres(home: Path) -> None:
    """A PostgreSQL left running by a killed daemon: fast shutdown before deleting its data."""
    pidfile = home / "pgdata" / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    if _alive(pid):
        os.kill(pid, signal.SIGINT)
        _wait_exit(pid, 30)


# ----------------------------------------------------------------------- status
def status(home: Path) -> SandboxStatus:
    state = read_state(home)
    if state is None:
        return SandboxStatus(running=False, home=str(home))
    out = SandboxStatus(
        running=_alive(state.pid), home=str(home), pid=state.pid, url=state.url, repo=state.repo
    )
    if not out.running:
        out.problem = "the sandbox process is gone; run `keycliq sandbox down` to clean up"
        return out
    try:
        summary = _api(state, "GET", "/_sandbox/status")
    except Exception as exc:
        out.problem = f"the sandbox does not answer: {type(exc).__name__}"
        return out
    out.apps, out.faults = summary["apps"], summary["faults"]
    return out


# ------------------------------------------------------------------ child side
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="keycliq-sandbox-daemon")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--ready-fd", type=int, required=True)
    parser.add_argument("--deploy", default="baseline", choices=["baseline", "head", "none"])
    parser.add_argument("--fault", action="append", default=[])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--answers", type=Path, default=None)
    parser.add_argument("--generation", default="cedar", choices=["cedar", "fir"])
    args = parser.parse_args(argv)
    pipe = os.fdopen(args.ready_fd, "w")

    def tell(**message: Any) -> None:
        pipe.write(json.dumps(message) + "\n")
        pipe.flush()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())

    from keycliq_ops.standin.attach import ca_file_for
    from keycliq_ops.standin.faults import parse_fault
    from keycliq_ops.standin.provision import provision
    from keycliq_ops.standin.sandbox import Sandbox

    home: Path = args.home
    sb = Sandbox(home, generation=args.generation)
    try:
        tell(note="starting PostgreSQL and the API server")
        sb.start()
        done = provision(
            sb,
            home / "keycliq",
            deploy=args.deploy,
            seed_scale=args.seed,
            progress=lambda text: tell(note=text),
            answers=args.answers.read_text(encoding="utf-8") if args.answers else None,
        )
        for spec in args.fault:
            sb.faults.add(parse_fault(spec))
        state = SandboxState(
            pid=os.getpid(),
            url=sb.url,
            token=sb.token,
            home=str(home),
            repo=str(done.sample.path),
            apps=[done.apps.staging.name, done.apps.production.name],
            deployed=done.deployed,
            faults=list(args.fault),
            seed=args.seed,
            deploy=args.deploy,
            generation=args.generation,
            rendezvous_ca=str(ca) if (ca := ca_file_for(sb.engine.attach_address)) else None,
        )
        atomic_write(home / STATE_FILE, json.dumps(asdict(state), indent=2), mode=0o600)
        tell(ready=asdict(state))
        pipe.close()
    except Exception as exc:
        message = redact_url(str(exc))
        print(f"sandbox failed to start: {type(exc).__name__}: {message}", file=sys.stderr)
        with contextlib.suppress(OSError):
            tell(error=message)
        sb.stop()
        return 1
    stop.wait()
    sb.stop()
    (home / STATE_FILE).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
