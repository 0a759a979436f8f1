"""What the stand-in does, as Heroku does it: apps, config, builds, releases, the release
phase, rollbacks, pipelines, promotions, one-off dynos and logs.

Thread-safe: state changes happen under one lock; processes (release phase, one-off dynos)
run in worker threads without it. Statuses move ``pending`` -> ``succeeded``/``failed``
as the work finishes; every waiting point is an event or a live stream, never a poll.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from keycliq_ops.standin.dynorunner import ProcessTable, build_slug
from keycliq_ops.standin.faults import FaultBook
from keycliq_ops.standin.gitrepo import create_bare_repo, install_hook
from keycliq_ops.standin.streams import Live, LiveText
from keycliq_ops.standin.world import (
    AccountRow,
    AppRow,
    BuildRow,
    CouplingRow,
    DynoRow,
    LogSessionRow,
    PipelineRow,
    PromotionRow,
    ReleaseRow,
    SlugRow,
    fir_dyno_name,
    fir_matches,
    new_id,
    now,
    render_fir,
)

EXIT_MARKER = "\uffff heroku-command-exit-status: "
_CONFIG_NAME = re.compile(r"^\w+$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class ApiError(Exception):
    """An answer Heroku would give as ``{id, message}`` with an HTTP status."""

    def __init__(self, status: int, error_id: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"Couldn't find that {what}.")


class Engine:
    """The state and behaviour of one sandbox."""

    # A Fir log session ends after about 15 minutes; the client opens another one.
    FIR_LOG_SESSION_SECONDS = 900.0

    def __init__(
        self,
        root: Path,
        *,
        base_url: str,
        token: str,
        faults: FaultBook,
        generation: str = "cedar",
    ) -> None:
        if generation not in ("cedar", "fir"):
            raise ValueError(f"unknown generation {generation!r}: cedar or fir")
        self.generation = generation
        self.fir_log_session_seconds = self.FIR_LOG_SESSION_SECONDS
        self.fir_streams: dict[str, Live[str]] = {}
        self.root = root
        self.base_url = base_url
        self.token = token
        self.faults = faults
        self.account = AccountRow()
        self.lock = threading.RLock()
        self.apps: dict[str, AppRow] = {}
        self.pipelines: dict[str, PipelineRow] = {}
        self.couplings: list[CouplingRow] = []
        self.promotions: dict[str, PromotionRow] = {}
        self.sessions: dict[str, LogSessionRow] = {}
        self.streams: dict[str, tuple[str, LiveText]] = {}
        self.attach_secrets: dict[str, DynoRow] = {}
        self.attach_address: tuple[str, int] | None = None
        self.web_restarted: dict[str, datetime] = {}  # app id -> last restart-all
        self.procs = ProcessTable(root / "dynos", launcher=generation == "fir")
        self._threads: list[threading.Thread] = []
        self._numbers = itertools.count(1001)
        (root / "slugs").mkdir(parents=True, exist_ok=True)

    # ----------------------------------------------------------------- lookups
    def app(self, ident: str) -> AppRow:
        with self.lock:
            found = self.apps.get(ident) or next(
                (a for a in self.apps.values() if a.id == ident), None
            )
        if found is None:
            raise not_found("app")
        return found

    def release(self, app: AppRow, ident: str) -> ReleaseRow:
        with self.lock:
            for rel in app.releases:
                if rel.id == ident or (ident.isdigit() and rel.version == int(ident)):
                    return rel
        raise not_found("release")

    def pipeline(self, ident: str) -> PipelineRow:
        with self.lock:
            found = self.pipelines.get(ident) or next(
                (p for p in self.pipelines.values() if p.name == ident), None
            )
        if found is None:
            raise not_found("pipeline")
        return found

    def coupling_of(self, app: AppRow) -> CouplingRow:
        with self.lock:
            found = next((c for c in self.couplings if c.app_id == app.id), None)
        if found is None:
            raise ApiError(404, "not_found", f"{app.name} is not part of any pipeline.")
        return found

    # ------------------------------------------------------------ provisioning
    def create_pipeline(self, name: str) -> PipelineRow:
        with self.lock:
            pipeline = PipelineRow(name=name, owner_id=self.account.id, generation=self.generation)
            self.pipelines[pipeline.id] = pipeline
        return pipeline

    def create_app(self, name: str, *, database_name: str) -> AppRow:
        bare = create_bare_repo(self.root / "git" / f"{name}.git")
        install_hook(bare, app=name, url=self.base_url, token=self.token)
        app = AppRow(
            name=name,
            owner=self.account,
            bare_repo=bare,
            database_name=database_name,
            generation=self.generation,
        )
        with self.lock:
            if name in self.apps:
                raise ApiError(422, "invalid_params", "Name is already taken")
            self.apps[name] = app
            self.new_release(app, None, {}, "Initial release")
        app.log.write("Initial release by user " + self.account.email, dyno="api")
        return app

    def couple(self, app: AppRow, pipeline: PipelineRow, stage: str) -> CouplingRow:
        with self.lock:
            coupling = CouplingRow(app_id=app.id, pipeline_id=pipeline.id, stage=stage)
            self.couplings.append(coupling)
        return coupling

    # ------------------------------------------------------------------ config
    def set_config(
        self, app: AppRow, changes: dict[str, str | None], *, description: str | None = None
    ) -> dict[str, str]:
        for key, value in changes.items():
            if not _CONFIG_NAME.match(key) or not (value is None or isinstance(value, str)):
                raise ApiError(422, "invalid_params", f"Invalid config var: {key!r}")
        with self.lock:
            new = dict(app.config)
            for key, value in changes.items():
                if value is None:
                    new.pop(key, None)
                else:
                    new[key] = value
            if new == app.config:
                return dict(app.config)
            set_ = sorted(k for k, v in changes.items() if v is not None)
            unset = sorted(k for k, v in changes.items() if v is None)
            if description is None:
                parts = []
                if set_:
                    parts.append("Set " + ", ".join(set_))
                if unset:
                    parts.append(("remove " if set_ else "Remove ") + ", ".join(unset))
                description = " and ".join(parts) + " config vars"
            current = app.current
            self.new_release(app, current.slug if current else None, new, description)
            return dict(app.config)

    # ------------------------------------------------------------------ builds
    def start_build(self, app: AppRow, *, commit: str, message: str, tarball: bytes) -> BuildRow:
        """A pending build of ``tarball``; it runs in a worker thread."""
        output = LiveText()
        stream_id = new_id()
        build = BuildRow(
            app_id=app.id,
            commit=commit,
            checksum="SHA256:" + hashlib.sha256(tarball).hexdigest(),
            description=message,
            user=self.account.ref(),
            output=output,
            output_url=f"{self.base_url}/streams/build/{stream_id}",
            generation=app.generation,
        )
        with self.lock:
            self.streams[stream_id] = ("build", output)
            app.builds.append(build)
        app.log.write(f"Build started by user {self.account.email}", dyno="api")
        self.spawn(self._run_build, app, build, tarball)
        return build

    def _run_build(self, app: AppRow, build: BuildRow, tarball: bytes) -> None:
        result = build_slug(tarball, app_name=app.name)
        fault = self.faults.take("build-fail", app.name)
        if fault and result.ok:
            result.ok = False
            result.lines[-2:] = [
                "-----> Build",
                "       Running build",
                "npm ERR! code ELIFECYCLE",
                "npm ERR! keycliq@1.0.0 build: `remix vite:build`",
                "npm ERR! Exit status 1 (sandbox fault build-fail)",
                "-----> Build failed",
                " !     Push rejected, failed to compile Node.js app.",
                " !     Push failed",
            ]
        for line in result.lines:
            build.output.write_line(line)
            app.log.write(line, dyno="build")
        with self.lock:
            build.updated_at = now()
            if not result.ok:
                build.status = "failed"
            else:
                slug = SlugRow(
                    commit=build.commit,
                    tarball=self.root / "slugs" / f"{build.id}.tar",
                    process_types=result.process_types,
                    size=len(tarball),
                    description=build.description,
                )
                slug.tarball.write_bytes(tarball)
                build.slug = slug
                build.status = "succeeded"
                build.release = self.new_release(
                    app, slug, dict(app.config), f"Deploy {build.commit[:8]}"
                )
        app.log.write(f"Build {build.status}", dyno="api")
        build.output.close()

    # ---------------------------------------------------------------- releases
    def new_release(
        self, app: AppRow, slug: SlugRow | None, config: dict[str, str], description: str
    ) -> ReleaseRow:
        """Create release vN+1; run its release phase (when the slug has one) in a thread."""
        with self.lock:
            version = max((r.version for r in app.releases), default=0) + 1
            rel = ReleaseRow(
                app_id=app.id,
                app_name=app.name,
                version=version,
                description=description,
                config=dict(config),
                slug=slug,
                user=self.account.ref(),
                generation=app.generation,
            )
            app.config = dict(config)
            app.releases.append(rel)
            app.updated_at = now()
            app.log.write(f"Release v{version} created by user {self.account.email}", dyno="api")
            if slug is not None and slug.release_command:
                stream_id = new_id()
                rel.status = "pending"
                rel.output = LiveText()
                rel.output_url = f"{self.base_url}/streams/release/{stream_id}"
                self.streams[stream_id] = ("release", rel.output)
                self.spawn(self._release_phase, app, rel)
            else:
                self._finish_release(app, rel, succeeded=True)
        return rel

    def _finish_release(self, app: AppRow, rel: ReleaseRow, *, succeeded: bool) -> None:
        with self.lock:
            rel.status = "succeeded" if succeeded else "failed"
            rel.updated_at = now()
            current = app.current
            # A newer release that already finished keeps its place (releases supersede).
            if succeeded and (current is None or current.version < rel.version):
                for other in app.releases:
                    other.current = other is rel
                app.released_at = rel.updated_at
        if rel.output is not None:
            rel.output.close()
        rel.done.set()
        if succeeded and rel.slug is not None:
            self._restart_web(app, rel)

    def _release_phase(self, app: AppRow, rel: ReleaseRow) -> None:
        assert rel.slug is not None and rel.output is not None
        command = rel.slug.release_command or ""
        dyno = f"release.{next(self._numbers)}"
        out = rel.output

        def line(text: str) -> None:
            out.write_line(text)
            app.log.write(text, dyno=dyno)

        app.log.write(f"Starting process with command `{command}`", source="heroku", dyno=dyno)
        if self.faults.take("release-fail", app.name):
            # Prisma's own words for a database it cannot reach (the fault's doing)
            line("Prisma schema loaded from prisma/schema.prisma")
            line("Error: P1001: Can't reach database server at `sandbox-db:5432`")
            line("")
            line("Please make sure your database server is running at `sandbox-db:5432`.")
            line("(sandbox fault release-fail)")
            code = 1
        else:
            code = self.procs.run(
                command, slug_tarball=rel.slug.tarball, config=rel.config, dyno=dyno, on_line=line
            )
        app.log.write(f"Process exited with status {code}", source="heroku", dyno=dyno)
        rel.exit_status = code
        self._finish_release(app, rel, succeeded=code == 0)

    def _restart_web(self, app: AppRow, rel: ReleaseRow) -> None:
        assert rel.slug is not None
        web = rel.slug.process_types.get("web")
        if not web:
            return
        web_dyno = fir_dyno_name(app.id, "web.1") if app.fir else "web.1"
        heroku = {"source": "heroku", "dyno": web_dyno}
        app.log.write("Restarting", **heroku)
        app.log.write(f"Starting process with command `{web}`", **heroku)
        app.log.write(f"> keycliq@1.0.0 start\n> {web}\n[remix-serve] http://localhost:5000")
        app.log.write("State changed from starting to up", **heroku)
        app.log.write(
            f'at=info method=GET path="/healthz" host={app.name}.herokuapp.com '
            f"request_id={new_id()} dyno={web_dyno} connect=0ms service=4ms status=200 bytes=220 "
            "protocol=https",
            source="heroku",
            dyno="router",
        )

    def rollback(self, app: AppRow, ident: str) -> ReleaseRow:
        target = self.release(app, ident)
        if target.status != "succeeded":
            raise ApiError(
                422, "invalid_params", f"Cannot roll back to v{target.version}: it failed"
            )
        return self.new_release(app, target.slug, target.config, f"Rollback to v{target.version}")

    def release_from_slug(self, app: AppRow, slug_id: str, description: str | None) -> ReleaseRow:
        """``POST /apps/{app}/releases {"slug": id}``: release a slug this app already has.

        Heroku accepts any slug the app owns; the stand-in knows the slugs of the app's
        builds and releases (a promotion copies the slug into the target's releases).
        """
        with self.lock:
            slugs = [r.slug for r in app.releases if r.slug is not None]
            slugs += [b.slug for b in app.builds if b.slug is not None]
            # On Fir the same build is an OCI image, named by its image id.
            slug = next(
                (s for s in slugs if s.id == slug_id or (app.fir and s.image_id == slug_id)),
                None,
            )
        if slug is None:
            raise ApiError(404, "not_found", "Couldn't find that slug.")
        return self.new_release(
            app, slug, dict(app.config), description or f"Deploy {slug.commit[:8]}"
        )

    # -------------------------------------------------------------- promotions
    def promote(self, pipeline: PipelineRow, source: AppRow, targets: list[AppRow]) -> PromotionRow:
        """Copy the source's current slug to each target (see :mod:`.promotions`)."""
        from keycliq_ops.standin.promotions import start_promotion

        return start_promotion(self, pipeline, source, targets)

    # ------------------------------------------------------------------- dynos
    def run_dyno(
        self,
        app: AppRow,
        command: str,
        *,
        env: dict[str, str],
        attach: bool,
        size: str,
        type_: str,
    ) -> DynoRow:
        current = app.current
        if current is None:
            raise ApiError(422, "invalid_params", f"{app.name} has no release.")
        name = f"{type_}.{next(self._numbers)}"
        if app.fir:
            name = fir_dyno_name(app.id, name)
        dyno = DynoRow(
            app_id=app.id,
            app_name=app.name,
            name=name,
            command=command,
            type=type_,
            size=size,
            attach=attach,
            release=current,
            output=LiveText(),
        )
        with self.lock:
            app.dynos.append(dyno)
            self.streams[dyno.id] = ("dyno", dyno.output)
            if attach and self.attach_address:
                secret = secrets.token_urlsafe(24)
                host, port = self.attach_address
                dyno.attach_url = f"rendezvous://{host}:{port}/{secret}"
                self.attach_secrets[secret] = dyno
        self.spawn(self._run_dyno, app, dyno, env)
        return dyno

    def _run_dyno(self, app: AppRow, dyno: DynoRow, env: dict[str, str]) -> None:
        heroku = {"source": "heroku", "dyno": dyno.name}
        app.log.write(f"Starting process with command `{dyno.command}`", **heroku)
        with self.lock:
            dyno.state = "up"
            dyno.updated_at = now()

        def line(text: str) -> None:
            dyno.output.write_line(text)
            if not dyno.attach:
                app.log.write(text, dyno=dyno.name)

        slug = dyno.release.slug
        missing = _needs_launcher(dyno.command) if app.fir else None
        if missing is not None:
            # A Fir dyno sets its image's environment up through the CNB launcher: without
            # it the buildpacks' programs (node, npm, npx) are not on PATH.
            line(f"bash: line 1: {missing}: command not found")
            code = 127
        else:
            code = self._run_command(dyno, slug, line, env)
        self._dyno_exited(app, dyno, code)

    def _run_command(
        self,
        dyno: DynoRow,
        slug: SlugRow | None,
        line: Callable[[str], None],
        env: dict[str, str],
    ) -> int:
        return self.procs.run(
            dyno.command,
            slug_tarball=slug.tarball if slug else None,
            config=dyno.release.config,
            dyno=dyno.name,
            on_line=line,
            extra_env=env,
        )

    def _dyno_exited(self, app: AppRow, dyno: DynoRow, code: int) -> None:
        heroku = {"source": "heroku", "dyno": dyno.name}
        if dyno.attach and EXIT_MARKER not in dyno.output.text():
            dyno.output.write_line(f"{EXIT_MARKER}{code}")
        app.log.write(f"Process exited with status {code}", **heroku)
        app.log.write("State changed from up to complete", **heroku)
        with self.lock:
            dyno.exit_status = code
            dyno.state = "complete" if code == 0 else "crashed"
            dyno.updated_at = now()
        dyno.output.close()
        dyno.done.set()

    def dyno(self, app: AppRow, ident: str) -> DynoRow:
        with self.lock:
            found = next((d for d in app.dynos if ident in (d.id, d.name)), None)
        if found is None:
            raise not_found("process")
        return found

    def restart_dynos(self, app: AppRow) -> None:
        """``DELETE /apps/{app}/dynos``: the formation's dynos restart (the log says so)."""
        with self.lock:
            current = app.current
            if current is None or current.slug is None:
                return
            self.web_restarted[app.id] = now()
        self._restart_web(app, current)

    # -------------------------------------------------------------------- logs
    def open_log_session(
        self, app: AppRow, *, lines: int, tail: bool, source: str | None, dyno_name: str | None
    ) -> LogSessionRow:
        session = LogSessionRow(
            app_id=app.id,
            # Fir keeps no history: ``lines`` is ignored and every session tails.
            lines=0 if app.fir else max(0, min(lines, 1500)),
            tail=True if app.fir else tail,
            source=source,
            dyno_name=dyno_name,
            start=len(app.log),
        )
        session.url = f"{self.base_url}/streams/log/{session.id}"
        with self.lock:
            self.sessions[session.id] = session
        return session

    def log_stream(self, session_id: str) -> Iterator[str]:
        with self.lock:
            session = self.sessions.get(session_id)
        if session is None:
            raise not_found("log session")
        app = self.app(session.app_id)
        if app.fir:
            return self._fir_log_stream(app, session)
        return app.log.session(
            lines=session.lines,
            tail=session.tail,
            source=session.source,
            dyno_name=session.dyno_name,
            start=session.start,
        )

    def _fir_log_stream(self, app: AppRow, session: LogSessionRow) -> Iterator[str]:
        """A Fir log session: no history, every line from its opening on, in Fir's form;
        Heroku ends it after :attr:`fir_log_session_seconds` (the client reopens one).

        A forwarder thread copies the app's matching lines into the session's own buffer,
        which a timer closes at the session's end (so the reader's stream ends then, not
        at the next log line); the forwarder ends at the next line after that."""
        buffer: Live[str] = Live()
        log = app.log
        with self.lock:
            self.fir_streams[session.id] = buffer

        def forward() -> None:
            for line in log.follow(session.start):
                if buffer.closed:
                    return
                if fir_matches(app.id, line, session.source, session.dyno_name):
                    buffer.append(render_fir(app.id, line))
            buffer.close()

        def end() -> None:
            buffer.close()
            with self.lock:
                self.fir_streams.pop(session.id, None)

        threading.Thread(target=forward, name=f"fir-log-{session.id[:8]}", daemon=True).start()
        timer = threading.Timer(self.fir_log_session_seconds, end)
        timer.daemon = True
        timer.start()
        return buffer.follow()

    # ---------------------------------------------------------------- plumbing
    def spawn(self, fn: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=fn, args=args, daemon=True)
        with self.lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        """Stop running processes and end every open stream."""
        self.procs.stop_all()
        with self.lock:
            streams = [s for _, s in self.streams.values()]
            fir_streams = list(self.fir_streams.values())
            logs = [a.log for a in self.apps.values()]
            threads = list(self._threads)
        for text in streams:
            text.abort()
        for buffer in fir_streams:
            buffer.abort()
        for log in logs:
            log.abort()
        for thread in threads:
            thread.join(timeout=10)


_BUILDPACK_PROGRAMS = ("node", "npm", "npx", "prisma")


def _needs_launcher(command: str) -> str | None:
    """The buildpack program a Fir one-off command starts without ``launcher``, if any."""
    words = command.split()
    first = words[0] if words else ""
    return first if first in _BUILDPACK_PROGRAMS else None


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))
