"""A running sandbox put back to an earlier state, for test suites that share one stand-in.

    snap = take_snapshot(sb)        # after provisioning: releases, builds, config, logs, git, DBs
    ...                             # a test deploys, promotes, plants faults, writes rows
    restore_snapshot(sb, snap)      # everything as it was at take_snapshot

What is put back: every app's releases, builds, dynos, config vars and log (to the lines it
had), the pipelines, couplings, promotions, log sessions and streams, the planted faults
(cleared), the API rate budget, the git remotes (the whole ``git/`` folder of bare
repositories) and any extra folder named at snapshot time, the dyno numbering, and each
app's database (re-created from a template database copied at snapshot time). Apps created
after the snapshot are removed.

Before restoring, the sandbox must settle: every build, release phase, promotion and dyno
worker thread must end. One that does not end within ``settle_seconds`` makes
:func:`restore_snapshot` raise :class:`SandboxBusy`: the caller then starts a fresh sandbox
rather than share a half-reset one.
"""

from __future__ import annotations

import itertools
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from keycliq_ops.standin.streams import AppLog, LiveText, LogLine
from keycliq_ops.standin.world import (
    AppRow,
    BuildRow,
    CouplingRow,
    DynoRow,
    LogSessionRow,
    PipelineRow,
    PromotionRow,
    ReleaseRow,
)

if TYPE_CHECKING:
    from keycliq_ops.standin.sandbox import Sandbox


class SandboxBusy(RuntimeError):
    """The sandbox still runs work (a release phase, a dyno) and cannot be restored."""


@dataclass(frozen=True)
class _ReleaseState:
    release: ReleaseRow
    status: str
    current: bool
    exit_status: int | None
    updated_at: datetime


@dataclass(frozen=True)
class _AppState:
    app: AppRow
    config: dict[str, str]
    releases: list[_ReleaseState]
    builds: list[BuildRow]
    dynos: list[DynoRow]
    log: list[LogLine]
    updated_at: datetime
    released_at: datetime | None


@dataclass(frozen=True)
class SandboxSnapshot:
    """What :func:`restore_snapshot` puts back (see the module docstring)."""

    apps: dict[str, _AppState]
    pipelines: dict[str, PipelineRow]
    couplings: list[CouplingRow]
    promotions: dict[str, PromotionRow]
    sessions: dict[str, LogSessionRow]
    streams: dict[str, tuple[str, LiveText]]
    attach_secrets: dict[str, DynoRow]
    next_number: int
    folders: dict[Path, Path]  # live folder -> its copy
    databases: dict[str, str]  # app database -> template database
    # Each app database's write counters when it was last known to equal its template.
    writes: dict[str, int | None]
    copies: Path = field(repr=False)


def _settle(sb: Sandbox, seconds: float) -> None:
    """Wait for every worker thread of the engine (builds, releases, promotions, dynos)."""
    engine = sb.engine
    deadline = time.monotonic() + seconds
    while True:
        with engine.lock:
            threads = [t for t in engine._threads if t.is_alive()]
        if not threads:
            return
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                raise SandboxBusy(
                    f"the sandbox still runs {thread.name} after {seconds:g}s; not restoring it"
                )


def take_snapshot(
    sb: Sandbox, copies: Path, *, folders: tuple[Path, ...] = (), settle_seconds: float = 60
) -> SandboxSnapshot:
    """Record ``sb``'s state (see the module docstring) once it has settled.

    ``copies``: an empty folder for the copies of the git remotes and of ``folders``.
    """
    _settle(sb, settle_seconds)
    engine = sb.engine
    copies.mkdir(parents=True, exist_ok=True)
    live_folders = (sb.state_dir / "git", *folders)
    copied: dict[Path, Path] = {}
    for n, folder in enumerate(live_folders):
        copy = copies / f"{n}-{folder.name}"
        shutil.copytree(folder, copy, symlinks=True)
        copied[folder] = copy
    with engine.lock:
        apps = {
            name: _AppState(
                app=app,
                config=dict(app.config),
                releases=[
                    _ReleaseState(r, r.status, r.current, r.exit_status, r.updated_at)
                    for r in app.releases
                ],
                builds=list(app.builds),
                dynos=list(app.dynos),
                log=app.log.snapshot(),
                updated_at=app.updated_at,
                released_at=app.released_at,
            )
            for name, app in engine.apps.items()
        }
        next_number = next(engine._numbers)
        engine._numbers = itertools.count(next_number)
        snap = SandboxSnapshot(
            apps=apps,
            pipelines=dict(engine.pipelines),
            couplings=list(engine.couplings),
            promotions=dict(engine.promotions),
            sessions=dict(engine.sessions),
            streams=dict(engine.streams),
            attach_secrets=dict(engine.attach_secrets),
            next_number=next_number,
            folders=copied,
            databases={},
            writes={},
            copies=copies,
        )
    for state in apps.values():
        name = state.app.database_name
        template = f"{name}_tpl"
        _copy_database(sb.postgres.admin_url, name, template)
        snap.databases[name] = template
        snap.writes[name] = _write_count(sb.postgres.admin_url, name)
    return snap


def restore_snapshot(sb: Sandbox, snap: SandboxSnapshot, *, settle_seconds: float = 60) -> None:
    """Put ``sb`` back to ``snap``; :class:`SandboxBusy` when work still runs."""
    _settle(sb, settle_seconds)
    engine = sb.engine
    sb.faults.clear()
    with engine.lock:
        extra_streams = [s for k, (_, s) in engine.streams.items() if k not in snap.streams]
        old_logs = [app.log for app in engine.apps.values()]
        for name in [n for n in engine.apps if n not in snap.apps]:
            del engine.apps[name]
        for name, state in snap.apps.items():
            app = state.app
            engine.apps[name] = app
            app.config = dict(state.config)
            app.releases = [r.release for r in state.releases]
            for r in state.releases:
                r.release.status = r.status
                r.release.current = r.current
                r.release.exit_status = r.exit_status
                r.release.updated_at = r.updated_at
            app.builds = list(state.builds)
            app.dynos = list(state.dynos)
            log = AppLog()
            for line in state.log:
                log.append(line)
            app.log = log
            app.updated_at = state.updated_at
            app.released_at = state.released_at
        engine.pipelines = dict(snap.pipelines)
        engine.couplings = list(snap.couplings)
        engine.promotions = dict(snap.promotions)
        engine.sessions = dict(snap.sessions)
        engine.streams = dict(snap.streams)
        engine.attach_secrets = dict(snap.attach_secrets)
        engine._numbers = itertools.count(snap.next_number)
    # Wake and end whoever still follows a stream or a log the test left open.
    for stream in extra_streams:
        stream.abort()
    for old in old_logs:
        old.abort()
    rate = sb.rate_limiter
    if rate is not None:
        rate.reset()
    for folder, copy in snap.folders.items():
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(copy, folder, symlinks=True)
    for name, template in snap.databases.items():
        if _untouched(sb.postgres.admin_url, name, snap.writes[name]):
            continue
        _copy_database(sb.postgres.admin_url, template, name)
        snap.writes[name] = _write_count(sb.postgres.admin_url, name)


_WRITES = "SELECT tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = %s"


def _copy_database(admin_url: str, source: str, target: str) -> None:
    from keycliq_ops.standin import pgclient

    pgclient.copy_database(admin_url, source, target)


def _write_count(admin_url: str, name: str) -> int | None:
    """Rows inserted, updated and deleted in database ``name`` (catalogs included, so DDL
    counts too), from the statistics; ``None`` before anything was counted there."""
    from keycliq_ops.standin import pgclient

    with pgclient.connect(admin_url, action=f"reading the statistics of {name!r}") as conn:
        row = conn.execute(_WRITES, (name,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _untouched(admin_url: str, name: str, writes: int | None) -> bool:
    """Whether nothing was written to ``name`` since its write count was ``writes``.

    Only answered yes when no session is connected to it: a backend flushes its statistics
    as it exits, before it leaves ``pg_stat_activity`` (PostgreSQL 15+: ``before_shmem_exit``
    then ``on_shmem_exit``), so once none is left the counters include every write. A
    change that counts no row (``nextval`` alone) goes unseen: the sample schema has no
    sequences. When unsure (a session still open, an older server), the answer is no.
    """
    from keycliq_ops.standin import pgclient

    with pgclient.connect(admin_url, action=f"reading the statistics of {name!r}") as conn:
        if conn.info.server_version < 150000:
            return False
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchone()
        if row is None or row[0]:
            return False
        # Each statement is its own transaction here: the statistics are read afresh.
        row = conn.execute(_WRITES, (name,)).fetchone()
    now = None if row is None or row[0] is None else int(row[0])
    return now == writes
