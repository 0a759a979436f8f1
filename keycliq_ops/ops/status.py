"""``keycliq status``: where each environment stands, and how the code differs between them.

For every environment of keycliq.yaml: the app's current release (version, status, age),
the commit it runs (the ``source_blob.version`` of the build whose slug the release runs;
a promoted or rolled-back release finds the build in any environment's recent builds),
and its pipeline stage. Then the local branch and commit, and the git comparisons:
production → staging (is staging ahead, by which commits) and staging → local.

Independent API calls run concurrently (a small thread pool; the client is thread-safe).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Literal, TypeVar

from pydantic import BaseModel, Field

from keycliq_ops.adapters.git import Repo
from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.adapters.heroku.resources import Build, PipelineCoupling, Release
from keycliq_ops.base.errors import GitError, HerokuError
from keycliq_ops.config import LoadedConfig

T = TypeVar("T")

RELEASE_WINDOW = 25
BUILD_WINDOW = 50
DESCRIBED_SHA = re.compile(r"^(?:Deploy|Promote)\b.*?\b([0-9a-f]{7,40})\b")


class CommitInfo(BaseModel):
    sha: str
    subject: str


class ReleaseInfo(BaseModel):
    id: str
    version: int
    status: str
    description: str
    created_at: datetime
    age_seconds: int = Field(description="Seconds since the release was created.")
    by: str | None = None


class DeployedCommit(BaseModel):
    sha: str
    source: Literal["build", "description"] = Field(
        description="`build`: the build's source_blob.version; `description`: read from "
        "the release description (no matching build found)."
    )
    build_id: str | None = None
    subject: str | None = Field(default=None, description="From the local repository.")


class BackupInfo(BaseModel):
    """The environment's newest completed Heroku Postgres backup."""

    name: str = Field(description="As Heroku's CLI names it, e.g. `b012` (`a…`: scheduled).")
    database: str | None = None
    finished_at: datetime | None = None
    age_seconds: int | None = Field(default=None, description="Seconds since it finished.")
    size_bytes: int = 0
    scheduled: bool = False


class EnvironmentStatus(BaseModel):
    name: str
    app: str
    expected_stage: str
    stage: str | None = None
    pipeline: str | None = None
    release: ReleaseInfo | None = None
    commit: DeployedCommit | None = None
    error: str | None = Field(default=None, description="Why this environment is unknown.")
    hint: str | None = Field(default=None, description="What to do about ``error``.")
    notes: list[str] = Field(default_factory=list)
    backup: BackupInfo | None = Field(
        default=None,
        description="The newest completed backup (asked where backups are on: "
        "`environments.<env>.backup`, production by default).",
    )


class LocalStatus(BaseModel):
    root: str
    branch: str | None
    commit: str
    subject: str | None = None
    clean: bool
    dirty_files: int
    branch_allowed: bool | None = None


class Comparison(BaseModel):
    base: str
    head: str
    base_commit: str | None
    head_commit: str | None
    state: Literal["same", "ahead", "behind", "diverged", "unknown"]
    ahead: list[CommitInfo] = Field(
        default_factory=list, description="Commits in head, not in base (newest first)."
    )
    behind: list[CommitInfo] = Field(
        default_factory=list, description="Commits in base, not in head (newest first)."
    )
    note: str | None = None


class StatusReport(BaseModel):
    generated_at: datetime
    pipeline: str
    environments: list[EnvironmentStatus]
    local: LocalStatus | None
    comparisons: list[Comparison]
    notes: list[str] = Field(default_factory=list)
    api_requests: int

    @property
    def failed(self) -> bool:
        return any(env.error for env in self.environments)


def _soft(fn: Callable[[], T]) -> Callable[[], T | HerokuError]:
    """Run ``fn``; a 403/404 answer is returned (shown per environment), other errors raise."""

    def run() -> T | HerokuError:
        try:
            return fn()
        except HerokuError as exc:
            if exc.status in (403, 404) and exc.error_id != "two_factor":
                return exc
            raise

    return run


def collect_status(
    loaded: LoadedConfig,
    client: HerokuClient,
    repo: Repo | None = None,
    *,
    now: datetime | None = None,
    max_workers: int = 8,
    backups: bool = False,
) -> StatusReport:
    """Ask Heroku and git where every environment stands (``backups``: also the newest
    Heroku Postgres backup of each environment whose backups are on)."""
    config = loaded.config
    now = now or datetime.now(UTC)
    envs = list(config.environments.items())
    report_notes: list[str] = []
    local_repo = repo
    if local_repo is None:
        try:
            local_repo = Repo.discover(loaded.root)
        except GitError as exc:
            report_notes.append(f"no local git repository at {loaded.root}: {exc.message}")

    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="status") as pool:
        couplings: dict[str, Future[PipelineCoupling | HerokuError]] = {}
        releases: dict[str, Future[list[Release] | HerokuError]] = {}
        builds: dict[str, Future[list[Build] | HerokuError]] = {}
        for name, env in envs:
            app = env.app
            couplings[name] = pool.submit(_soft(partial(client.app_pipeline_coupling, app)))
            releases[name] = pool.submit(_soft(partial(client.releases, app, limit=RELEASE_WINDOW)))
            builds[name] = pool.submit(_soft(partial(client.builds, app, limit=BUILD_WINDOW)))
        local_future = pool.submit(_local_status, local_repo, loaded) if local_repo else None
        backup_futures = {
            name: pool.submit(last_backup, client, env.app, now)
            for name, env in envs
            if backups and env.effective_backup()
        }

        coupling_of = {n: f.result() for n, f in couplings.items()}
        release_of = {n: f.result() for n, f in releases.items()}
        builds_of = {n: f.result() for n, f in builds.items()}
        pipeline_ids = {
            c.pipeline.id for c in coupling_of.values() if isinstance(c, PipelineCoupling)
        }
        pipeline_futures = {
            pid: pool.submit(_soft(partial(client.pipeline, pid))) for pid in sorted(pipeline_ids)
        }
        pipeline_names = {
            pid: (r.name if not isinstance(r, HerokuError) else None)
            for pid, r in ((pid, f.result()) for pid, f in pipeline_futures.items())
        }
        local = local_future.result() if local_future else None

    all_builds = [b for bs in builds_of.values() if isinstance(bs, list) for b in bs]
    all_releases = [r for rs in release_of.values() if isinstance(rs, list) for r in rs]
    statuses: list[EnvironmentStatus] = []
    for name, env in envs:
        status = EnvironmentStatus(name=name, app=env.app, expected_stage=env.stage)
        coupling = coupling_of[name]
        if isinstance(coupling, PipelineCoupling):
            status.stage = coupling.stage
            status.pipeline = pipeline_names.get(coupling.pipeline.id) or coupling.pipeline.id
            if coupling.stage != env.stage:
                status.notes.append(
                    f"coupled at stage {coupling.stage!r}, keycliq.yaml says {env.stage!r}"
                )
            if status.pipeline != config.pipeline:
                status.notes.append(
                    f"in pipeline {status.pipeline!r}, keycliq.yaml says {config.pipeline!r}"
                )
        elif coupling.status == 404 and not isinstance(release_of[name], HerokuError):
            status.notes.append("not in any pipeline")
        found = release_of[name]
        if isinstance(found, HerokuError):
            status.error, status.hint = found.message, found.hint
        else:
            _fill_release(status, found, all_builds, now, local_repo, all_releases)
        if name in backup_futures:
            got = backup_futures[name].result()
            if isinstance(got, BackupInfo):
                status.backup = got
            else:
                status.notes.append(got)
        statuses.append(status)

    comparisons = _comparisons(statuses, local, local_repo)
    return StatusReport(
        generated_at=now,
        pipeline=config.pipeline,
        environments=statuses,
        local=local,
        comparisons=comparisons,
        notes=report_notes,
        api_requests=client.request_count,
    )


def last_backup(client: HerokuClient, app: str, now: datetime) -> BackupInfo | str:
    """The app's newest completed backup, or a note saying why there is none to show."""
    from keycliq_ops.adapters.heroku.postgres import PostgresClient

    try:
        with PostgresClient.for_client(client) as pg:
            done = [b for b in pg.backups(app) if b.status == "completed"]
    except HerokuError as exc:
        return f"last backup unknown: {exc.message}"
    if not done:
        return f"no backup yet (`heroku pg:backups:capture -a {app}` takes one)"
    newest = done[0]  # newest first (by time, then number)
    at = newest.finished_at
    return BackupInfo(
        name=newest.name,
        database=newest.from_name,
        finished_at=at,
        age_seconds=max(0, int((now - at).total_seconds())) if at else None,
        size_bytes=newest.processed_bytes,
        scheduled=newest.schedule is not None,
    )


def _fill_release(
    status: EnvironmentStatus,
    releases: list[Release],
    builds: list[Build],
    now: datetime,
    repo: Repo | None,
    every_release: list[Release] | None = None,
) -> None:
    current = next((r for r in releases if r.current), None)
    if current is None:
        status.notes.append(
            "no release yet"
            if not releases
            else f"no current release in the latest {len(releases)}"
        )
        return
    status.release = ReleaseInfo(
        id=current.id,
        version=current.version,
        status=current.status,
        description=current.description,
        created_at=current.created_at,
        age_seconds=max(0, int((now - current.created_at).total_seconds())),
        by=current.user.email if current.user else None,
    )
    build = build_of(current, builds, every_release)
    sha: str | None = None
    if build is not None and build.commit:
        status.commit = DeployedCommit(sha=build.commit, source="build", build_id=build.id)
        sha = build.commit
    else:
        m = DESCRIBED_SHA.match(current.description)
        if m:
            sha = (repo.resolve(m.group(1)) if repo else None) or m.group(1)
            status.commit = DeployedCommit(sha=sha, source="description")
        else:
            status.notes.append("deployed commit unknown (no matching build)")
    if status.commit is not None and repo is not None and repo.has_commit(status.commit.sha):
        subject = repo.git("log", "-1", "--format=%s", status.commit.sha, "--").strip()
        status.commit.subject = subject or None


def release_commit(
    release: Release,
    builds: list[Build],
    repo: Repo | None,
    releases: list[Release] | None = None,
) -> str | None:
    """The commit a release runs: its slug's build (a promoted slug was built on another
    app, so pass every app's builds), else a sha named in its description. On Fir (no
    slug), ``releases`` of every app lets the image lead to the release its build made."""
    build = build_of(release, builds, releases)
    if build is not None and build.commit:
        return build.commit
    m = DESCRIBED_SHA.match(release.description)
    if m:
        return (repo.resolve(m.group(1)) if repo else None) or m.group(1)
    return None


def build_of(
    release: Release, builds: list[Build], releases: list[Release] | None = None
) -> Build | None:
    """The build that made ``release``'s code (:attr:`Release.code`), among ``builds``.

    Cedar: the build of its slug. Fir (a build names no image): the build whose release
    is ``release``, or is one of ``releases`` (any app's) running the same image (a
    promotion or rollback reuses the image of the release a build made)."""
    for build in builds:
        if build.release is not None and build.release.id == release.id:
            return build
    if release.slug is not None:
        for build in builds:
            if build.slug is not None and build.slug.id == release.slug.id:
                return build
    code = release.code_id
    if code is not None and releases:
        same = {r.id for r in releases if r.code_id == code}
        for build in builds:
            if build.release is not None and build.release.id in same:
                return build
    return None


def _local_status(repo: Repo, loaded: LoadedConfig) -> LocalStatus:
    head = repo.head_commit()
    branch = repo.current_branch()
    dirty = [d for d in repo.dirty_files() if not loaded.owns(d.path)]
    subject = repo.git("log", "-1", "--format=%s", head, "--").strip() or None
    return LocalStatus(
        root=str(repo.root),
        branch=branch,
        commit=head,
        subject=subject,
        clean=not dirty,
        dirty_files=len(dirty),
        branch_allowed=loaded.config.branch_allowed(branch) if branch else None,
    )


def _comparisons(
    envs: list[EnvironmentStatus], local: LocalStatus | None, repo: Repo | None
) -> list[Comparison]:
    by_stage: dict[str, list[EnvironmentStatus]] = {}
    for env in envs:
        by_stage.setdefault(env.expected_stage, []).append(env)
    out: list[Comparison] = []
    for prod in by_stage.get("production", []):
        for staging in by_stage.get("staging", []):
            out.append(_compare(repo, prod.name, _sha(prod), staging.name, _sha(staging)))
    if local is not None:
        for staging in by_stage.get("staging", []):
            out.append(_compare(repo, staging.name, _sha(staging), "local", local.commit))
    return out


def _sha(env: EnvironmentStatus) -> str | None:
    return env.commit.sha if env.commit else None


def _compare(
    repo: Repo | None, base: str, base_sha: str | None, head: str, head_sha: str | None
) -> Comparison:
    c = Comparison(
        base=base, head=head, base_commit=base_sha, head_commit=head_sha, state="unknown"
    )
    if base_sha is None or head_sha is None:
        c.note = f"the commit running in {base if base_sha is None else head} is unknown"
        return c
    if repo is None:
        c.note = "no local git repository to compare in"
        return c
    missing = [s for s in (base_sha, head_sha) if not repo.has_commit(s)]
    if missing:
        c.note = f"commit {missing[0][:12]} is not in the local repository (git fetch?)"
        return c
    base_full, head_full = repo.resolve(base_sha), repo.resolve(head_sha)
    assert base_full is not None and head_full is not None
    if base_full == head_full:
        c.state = "same"
        return c
    c.ahead = [
        CommitInfo(sha=x.sha, subject=x.subject) for x in repo.commits_between(base_full, head_full)
    ]
    c.behind = [
        CommitInfo(sha=x.sha, subject=x.subject) for x in repo.commits_between(head_full, base_full)
    ]
    c.state = "diverged" if c.ahead and c.behind else "ahead" if c.ahead else "behind"
    return c
