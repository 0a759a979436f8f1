"""The :class:`Sandbox`: a local Heroku stand-in, started in-process or by the daemon.

    with Sandbox(tmp_path, postgres=pg_server) as sb:
        apps = sb.setup_keycliq()          # pipeline keycliq, staging + production apps
        sb.faults.fail_release("keycliq-staging")
        httpx.get(f"{sb.url}/apps/keycliq-staging", headers=sb.headers())

Each app gets its own database on the sandbox's PostgreSQL (``DATABASE_URL``) and
realistic, per-app random config vars. ``Sandbox(..., generation="fir")`` serves Fir apps
and pipelines (stack ``cnb``, releases of OCI images, Fir's log sessions and dyno names).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from keycliq_ops.standin.api import routes
from keycliq_ops.standin.attach import RendezvousServer
from keycliq_ops.standin.faults import Fault, FaultBook
from keycliq_ops.standin.pgembed import PostgresServer, start_postgres
from keycliq_ops.standin.platform import Engine
from keycliq_ops.standin.server import RateLimiter, SandboxHTTPServer
from keycliq_ops.standin.world import GENERATIONS, AppRow, DynoRow, PipelineRow, fir_dyno_name

if TYPE_CHECKING:
    from keycliq_ops.standin.snapshot import SandboxSnapshot

PIPELINE = "keycliq"
STAGING = "keycliq-staging"
PRODUCTION = "keycliq-production"


@dataclass(frozen=True)
class KeycliqApps:
    pipeline: PipelineRow
    staging: AppRow
    production: AppRow


def app_config(app: str, stage: str, app_url: str | None = None) -> dict[str, str]:
    """Realistic config vars for a KeyCliq app (random secrets, different per app).

    ``app_url``: where the app answers; in the sandbox its loopback web page (see
    :meth:`Sandbox.web_url`), as the app's public URL would be on Heroku.
    """
    config = {
        "SESSION_SECRET": secrets.token_hex(32),
        "OPENAI_API_KEY": "sk-proj-" + secrets.token_urlsafe(36),
        "APP_URL": app_url or f"https://{app}.herokuapp.com",
        "CLOUDINARY_CLOUD_NAME": f"keycliq-{stage}",
        "CLOUDINARY_API_KEY": str(secrets.randbelow(10**15)).zfill(15),
        "CLOUDINARY_API_SECRET": secrets.token_urlsafe(21),
        "NODE_ENV": "production",
    }
    if stage == "production":
        config |= {
            "MAIL_FROM_NAME": "KeyCliq",
            "MAIL_FROM_ADDRESS": "no-reply@keycliq.app",
            "RESEND_API_KEY": "re_" + secrets.token_urlsafe(24),
        }
    return config


class Sandbox:
    """A running stand-in: HTTP API on 127.0.0.1, git remotes, databases, faults."""

    def __init__(
        self,
        state_dir: Path,
        *,
        postgres: PostgresServer | None = None,
        token: str | None = None,
        faults: Iterable[Fault] = (),
        port: int = 0,
        generation: str = "cedar",
    ) -> None:
        if generation not in GENERATIONS:
            raise ValueError(f"generation {generation!r}: one of {', '.join(GENERATIONS)}")
        self.generation = generation
        self.state_dir = state_dir
        self.token = token or "HRKU-sbx-" + secrets.token_hex(24)
        self.faults = FaultBook()
        for fault in faults:
            self.faults.add(fault)
        self._port = port
        self._postgres = postgres
        self._own_postgres = postgres is None
        self._databases: list[str] = []
        self._prefix = "sbx" + secrets.token_hex(4)
        self._server: SandboxHTTPServer | None = None
        self._attach: RendezvousServer | None = None
        self._engine: Engine | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> Sandbox:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self._postgres is None:
            self._postgres = start_postgres(self.state_dir)
        rate = RateLimiter()
        server = SandboxHTTPServer(("127.0.0.1", self._port), self.token, self.faults, rate)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        engine = Engine(
            self.state_dir,
            base_url=url,
            token=self.token,
            faults=self.faults,
            generation=self.generation,
        )
        server.routes = routes(engine, rate)
        attach = RendezvousServer(self._claim_attach, cert_dir=self.state_dir / "rendezvous")
        engine.attach_address = ("127.0.0.1", attach.port)
        self._server, self._engine, self._attach = server, engine, attach
        # A short poll interval: stop() (server.shutdown) returns within it, not half a second.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        attach.start()
        return self

    def stop(self) -> None:
        server, engine, attach = self._server, self._engine, self._attach
        self._server = self._engine = self._attach = None
        if server is not None:
            server.stopping.set()
            server.shutdown()
        if engine is not None:
            engine.stop()
        if server is not None:
            server.server_close()
        if attach is not None:
            attach.stop()
        if self._postgres is not None:
            if self._own_postgres:
                self._postgres.stop()
            else:
                for name in self._databases:
                    self._postgres.drop_database(name, role=True)
            self._databases.clear()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --------------------------------------------------------------- accessors
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the sandbox is not running")
        return self._engine

    @property
    def postgres(self) -> PostgresServer:
        if self._postgres is None:
            raise RuntimeError("the sandbox is not running")
        return self._postgres

    @property
    def url(self) -> str:
        return self.engine.base_url

    def headers(self) -> dict[str, str]:
        """What a Platform API client sends."""
        return {
            "Accept": "application/vnd.heroku+json; version=3",
            "Authorization": f"Bearer {self.token}",
        }

    def environment(self) -> dict[str, str]:
        """What points a client at this sandbox, and only at it: the Platform API and its
        token, the Heroku Postgres API (backups), Cloudinary's Admin API, and the CA its
        TLS rendezvous is signed by (one-off dynos)."""
        env = {
            "HEROKU_API_URL": self.url,
            "HEROKU_API_KEY": self.token,
            "HEROKU_DATA_HOST": self.url,
            "KEYCLIQ_CLOUDINARY_API": self.url,
        }
        if self._attach is not None:
            env["KEYCLIQ_RENDEZVOUS_CA"] = str(self._attach.ca_file)
        return env

    def web_url(self, app: str) -> str:
        """The app's public URL: a loopback page answering as the app's web dyno would
        (200 while a release runs, 503 with an H14-like error when none does)."""
        return f"{self.url}/_sandbox/web/{app}"

    def git_url(self, app: str) -> str:
        """The app's git remote (a local bare repository)."""
        return str(self.engine.app(app).bare_repo)

    def database_url(self, app: str) -> str:
        return self.engine.app(app).config["DATABASE_URL"]

    # ------------------------------------------------------------ provisioning
    def create_pipeline(self, name: str = PIPELINE) -> PipelineRow:
        return self.engine.create_pipeline(name)

    def create_app(
        self,
        name: str,
        *,
        stage: str = "staging",
        pipeline: PipelineRow | None = None,
        config: dict[str, str] | None = None,
    ) -> AppRow:
        """An app with its own database and KeyCliq config vars, coupled at ``stage``."""
        db = f"{self._prefix}_{name.replace('-', '_')}"
        url = self.postgres.create_app_database(db)  # its own role, not a superuser
        self._databases.append(db)
        app = self.engine.create_app(name, database_name=db)
        word = secrets.choice(["curly", "rigid", "shallow", "vertical"])
        addon = f"postgresql-{word}-{secrets.randbelow(90000) + 10000}"
        self.engine.set_config(
            app, {"DATABASE_URL": url}, description=f"Attach DATABASE (@ref:{addon})"
        )
        self.engine.set_config(
            app, {**app_config(name, stage, self.web_url(name)), **(config or {})}
        )
        if pipeline is not None:
            self.engine.couple(app, pipeline, stage)
        return app

    def setup_keycliq(self) -> KeycliqApps:
        """Pipeline ``keycliq`` with ``keycliq-staging`` and ``keycliq-production``."""
        pipeline = self.create_pipeline(PIPELINE)
        staging = self.create_app(STAGING, stage="staging", pipeline=pipeline)
        production = self.create_app(PRODUCTION, stage="production", pipeline=pipeline)
        return KeycliqApps(pipeline, staging, production)

    def write_log(self, app: str, text: str, *, source: str = "app", dyno: str = "web.1") -> None:
        """Lines the app (or Heroku's router) "writes" to its log. On Fir, a Cedar-style
        dyno name (``web.1``) becomes the app's Fir dyno name (``web-1234abcde-123ab``)."""
        row = self.engine.app(app)
        row.log.write(text, source=source, dyno=fir_dyno_name(row.id, dyno) if row.fir else dyno)

    def dyno_name(self, app: str, name: str = "web.1") -> str:
        """The name the app's log and API give dyno ``name`` (its Fir name on Fir)."""
        row = self.engine.app(app)
        return fir_dyno_name(row.id, name) if row.fir else name

    # ------------------------------------------------------------ test support
    @property
    def rate_limiter(self) -> RateLimiter | None:
        return None if self._server is None else self._server.rate

    def snapshot(self, copies: Path, *, folders: tuple[Path, ...] = ()) -> SandboxSnapshot:
        """Record this sandbox's state (see :mod:`.snapshot`), ``folders`` included; the
        copies go to ``copies``; :meth:`restore` puts it all back."""
        from keycliq_ops.standin.snapshot import take_snapshot

        snap = take_snapshot(self, copies, folders=folders)
        self._databases.extend(snap.databases.values())
        return snap

    def restore(self, snap: SandboxSnapshot) -> None:
        """Back to ``snap``; :class:`~.snapshot.SandboxBusy` while work still runs."""
        from keycliq_ops.standin.snapshot import restore_snapshot

        restore_snapshot(self, snap)

    def _claim_attach(self, secret: str) -> DynoRow | None:
        engine = self._engine
        if engine is None:
            return None
        with engine.lock:
            return engine.attach_secrets.pop(secret, None)
