"""The steps of ``keycliq deploy``: preflight, tests, push, build, release, migrations.

(The checklist and Dataclip gate steps are every action's: see ``gate_steps.py``.) Each
step returns what it learnt (the build, the release, warnings) in its ``StepOutcome``.
"""

from __future__ import annotations

import os
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from keycliq_ops.base.errors import ExternalError, GateFailed, GitError, KeycliqError
from keycliq_ops.release.follow import MigrationWatch, follow_build, wait_for
from keycliq_ops.release.following import (
    FollowsRelease,
    follow_with_migrations,
    streaming_clause,
)
from keycliq_ops.release.migration_check import (
    COLUMNS_SQL,
    ROWS_SQL,
    TABLE_SQL,
    MigrationRow,
    MigrationState,
    compare,
    explain_failure,
    missing_tables,
    prisma_kind,
    strategy_problem,
)
from keycliq_ops.release.migration_check import TABLE as MIGRATIONS_TABLE
from keycliq_ops.release.session import Session
from keycliq_ops.release.stepper import Facts, StepBase, StepIO, StepOutcome, StepRecord

if TYPE_CHECKING:
    from keycliq_ops.adapters.heroku.resources import Build, Release
    from keycliq_ops.release.gate_steps import Gates


def _short(sha: str | None) -> str:
    return (sha or "?")[:8]


def _brief(command: str, width: int = 48) -> str:
    """A command as a person reads it: the program's name, not its full path; cut short."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    if not words:
        return command
    words[0] = os.path.basename(words[0])
    text = " ".join(words)
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class PreflightStep(StepBase):
    name: str = "preflight"
    title: str = "Preflight"
    strict: bool = False
    accept_migration_risk: str | None = None  # --accept-migration-risk REASON
    skipped: tuple[str, ...] = ()  # the steps --skip skips (what needs the database)
    gates: Gates | None = None  # the action's checklist (does it read the database?)

    def plan(self, s: Session) -> str:
        return (
            f"branch in {', '.join(s.loaded.config.branches)}, clean tree, commit on "
            f"{s.loaded.config.shared_remote}, git remote {s.env.remote or '(none)'} "
            f"reachable, GET /account, GET /apps/{s.app}, its DATABASE_URL, its "
            f"pipeline coupling ({s.env.stage}), config-var audit, no other deploy, "
            "squawk's lint of the migrations the database has not applied"
        )

    # --resume: cheap, and the world may have changed: always checked again

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        from keycliq_ops.ops.config_audit import audit_config, backup_schedules_of, secret_digest

        cfg = s.loaded.config
        branch = s.branch or "(detached HEAD)"
        if s.branch is None or not cfg.branch_allowed(s.branch):
            raise GateFailed(
                f"branch {branch} may not deploy (allowed: {', '.join(cfg.branches)})",
                hint="check out an allowed branch, or add its pattern to `branches:` in "
                "keycliq.yaml",
            )
        repo = s.checkout()
        dirty = [d for d in repo.dirty_files() if not s.loaded.owns(d.path)]
        if dirty:
            listed = ", ".join(d.path for d in dirty[:5]) + (" …" if len(dirty) > 5 else "")
            raise GateFailed(
                f"the work tree has {len(dirty)} uncommitted change(s): {listed}",
                hint="commit or stash them: keycliq deploys the commit, and the commit must be "
                "what you tested",
            )
        self._check_repository(s)
        io.note("asking Heroku")
        warnings: list[str] = []
        # Independent questions at once: the account, the app, the coupling, config vars.
        with ThreadPoolExecutor(max_workers=4) as pool:
            account_f = pool.submit(s.account)
            app_f = pool.submit(s.app_info)
            coupling_f = pool.submit(s.client.app_pipeline_coupling, s.app)
            vars_f = pool.submit(s.prefetch_config_vars)
            shared_f = pool.submit(self._on_shared_remote, s)
            account = account_f.result()
            app = app_f.result()
            coupling = coupling_f.result()
            all_vars = vars_f.result()
            on_shared, shared_warning = shared_f.result()
        warnings.extend(shared_warning)
        io.note(f"checking git remote {s.env.remote or '(none)'}")
        self._check_deploy_remote(s, app.git_url)
        self._check_database_url(s, self.skipped, self.gates)
        if coupling.stage != s.env.stage:
            raise GateFailed(
                f"{s.app} is coupled at stage {coupling.stage!r}, keycliq.yaml says "
                f"{s.env.stage!r}",
                hint="fix `stage:` in keycliq.yaml or the app's pipeline coupling",
            )
        pipeline_name = coupling.pipeline.name or s.client.pipeline(coupling.pipeline.id).name
        if pipeline_name != cfg.pipeline:
            raise GateFailed(
                f"{s.app} is in pipeline {pipeline_name!r}, keycliq.yaml says {cfg.pipeline!r}"
            )
        if on_shared is False:
            message = (
                f"commit {_short(s.commit)} is not on {cfg.shared_remote} (push it "
                "so the team can see what was deployed)"
            )
            if self.strict:
                raise GateFailed(message, hint=f"git push {cfg.shared_remote} {branch}")
            warnings.append(message)
            io.note("warning: " + message)
        digests = {
            name: secret_digest(v["SESSION_SECRET"])
            for name, v in all_vars.items()
            if v.get("SESSION_SECRET")
        }
        report = audit_config(
            s.env_name,
            s.env,
            s.config_vars(),
            other_session_digests=digests,
            web_url=app.web_url,
            app_repo=s.app_repo(),
            backups=backup_schedules_of(s.client, s.env),  # production: warn without one
        )
        for finding in report.findings:
            io.line(f"config {finding.level}: {finding.var} {finding.message}")
        warnings.extend(f"{f.var}: {f.message}" for f in report.findings if f.var == "backups")
        if not report.ok:
            errors = [f.var for f in report.findings if f.level == "error"]
            raise GateFailed(
                f"config audit of {s.app} failed: {', '.join(sorted(set(errors)))}",
                hint=f"see `keycliq config check {s.env_name}`",
            )
        from keycliq_ops.release.migration_lint import gate_migrations, risk_warnings

        lint = gate_migrations(s, io, self.accept_migration_risk)
        warnings.extend(risk_warnings(lint))
        unrecorded = self._unrecorded_release(s)
        if unrecorded:
            warnings.append(unrecorded)
            io.note("warning: " + unrecorded)
        return StepOutcome(
            detail=f"{branch} @ {_short(s.commit)}, {account.email}, {s.app} ({coupling.stage})"
            f"; migration lint: {lint.summary()}"
            + (f" (accepted: {self.accept_migration_risk})" if lint.accepted else ""),
            data={
                "heroku_email": account.email,
                "app_id": app.id,
                "warnings": warnings,
                "migration_lint": lint.as_data(),
            },
            warnings=warnings,
        )

    @staticmethod
    def _check_repository(s: Session) -> None:
        """What the commit itself must have for the configured tests and migrations (exit
        2 before anything changes): the npm script the test command runs, the release
        phase or migration history the migration strategy relies on."""
        from keycliq_ops.base.errors import ConfigError
        from keycliq_ops.config.app_repo import script_problem

        cfg = s.loaded.config
        repo = s.app_repo()
        if cfg.tests.command:
            missing = script_problem(cfg.tests.command, repo)
            if missing:
                raise ConfigError(
                    f"tests.command: {missing}",
                    location=s.loaded.where("tests", "command"),
                    hint="set tests.command in keycliq.yaml to one of those (or `null` to "
                    "deploy without tests); `keycliq init` proposes one",
                )
        m = cfg.migrations
        problem = strategy_problem(m.strategy, m.one_off_command(), repo)
        if problem:
            what, fix = problem
            raise ConfigError(what, location=s.loaded.where("migrations", "strategy"), hint=fix)

    @staticmethod
    def _check_deploy_remote(s: Session, git_url: str | None) -> None:
        """The push's remote is set in keycliq.yaml, configured in the checkout and
        answers (``git ls-remote``): else a ConfigError (exit 2) at the setting's line with
        the command that adds it, or git's reason (exit 3), before the tests run."""
        from keycliq_ops.base.errors import ConfigError

        url = git_url or f"https://git.heroku.com/{s.app}.git"
        remote = s.env.remote
        if not remote:
            raise ConfigError(
                f"environment {s.env_name} has no git remote to push to",
                location=s.loaded.where("environments", s.env_name),
                field=f"environments.{s.env_name}.remote",
                hint=f"set environments.{s.env_name}.remote in keycliq.yaml (e.g. "
                f"heroku-{s.env_name}), then: git remote add heroku-{s.env_name} {url}",
            )
        repo = s.checkout()
        try:
            repo.remote_url(remote)
        except GitError as exc:
            raise ConfigError(
                exc.message,
                location=s.loaded.where("environments", s.env_name, "remote"),
                field=f"environments.{s.env_name}.remote",
                hint=f"add it: git remote add {remote} {url}",
            ) from None
        try:
            repo.git("ls-remote", "--", remote, "refs/heads/main")
        except GitError as exc:
            raise GitError(
                f"git remote {remote} does not answer: {exc.message}",
                hint=f"check `git remote get-url {remote}` (Heroku's is {url}) and your "
                "git credentials for Heroku (heroku login)",
            ) from None

    @staticmethod
    def _check_database_url(s: Session, skipped: tuple[str, ...], gates: Gates | None) -> None:
        """The app has a database URL (its DATABASE_URL config var, or an explicit one)
        when a step of this deploy reads the database: else one line naming the app and
        what needs it (exit 2), before the tests run."""
        from keycliq_ops.base.errors import UsageError

        if s.explicit_database_url or s.config_vars().get("DATABASE_URL"):
            return
        readers: list[str] = []
        cfg = s.loaded.config
        if cfg.migrations.lint.enabled:
            readers.append("the migration lint (migrations.lint)")
        if cfg.migrations.strategy != "none" and "migrations" not in skipped:
            readers.append("the migrations check (_prisma_migrations)")
        checklist = gates.checklist if gates is not None else None
        if checklist is not None and "checklist" not in skipped:
            from keycliq_ops.checklists.items import DataclipItem

            if any(isinstance(item, DataclipItem) for _, item in checklist.items()):
                readers.append(f"checklist {checklist.name!r} (its Dataclip items)")
        clips = s.env.effective_dataclips()
        if clips and "dataclips" not in skipped:
            readers.append(f"the Dataclip gate ({', '.join(clips)})")
        if not readers:
            return
        raise UsageError(
            f"{s.app} has no DATABASE_URL config var, and this deploy reads its database: "
            + "; ".join(readers),
            hint=f"attach Heroku Postgres to it: heroku addons:create heroku-postgresql -a {s.app}",
        )

    @staticmethod
    def _on_shared_remote(s: Session) -> tuple[bool | None, list[str]]:
        remote = s.loaded.config.shared_remote
        try:
            return s.checkout().commit_on_remote(remote, s.commit), []
        except GitError:
            return None, [f"no shared remote {remote!r} in this checkout"]

    @staticmethod
    def _unrecorded_release(s: Session) -> str | None:
        """A warning when the app's newest release is newer than anything the ledger knows."""
        latest = s.client.releases(s.app, limit=1)
        if not latest:
            return None
        known = next(
            (
                r.release_version
                for r in s.ledger.iter(reverse=True)
                if r.app == s.app and r.release_version is not None
            ),
            None,
        )
        if known is not None and latest[0].version > known and not _ours(s, latest[0].id):
            return (
                f"{s.app} is at v{latest[0].version} but the ledger's last record is "
                f"v{known}: someone released from elsewhere"
            )
        return None


def _ours(s: Session, release_id: str) -> bool:
    """Whether a release was made by the build of a commit keycliq pushed to this app (a run
    that was interrupted before it recorded the release, e.g. during the push)."""
    try:
        builds = s.client.builds(s.app, limit=20)
    except KeycliqError:
        return False
    commit = next(
        (b.source_blob.version for b in builds if b.release and b.release.id == release_id),
        None,
    )
    if not commit:
        return False
    return any(
        r.app == s.app and r.action == "deploy" and r.commit == commit
        for r in s.ledger.iter(reverse=True)
    )


@dataclass
class TestsStep(StepBase):
    name: str = "tests"
    title: str = "Tests"
    skippable: bool = True
    resumed_detail: str | None = "passed in the run being resumed (same commit)"

    def plan(self, s: Session) -> str:
        cmd = s.loaded.config.tests.command
        return f"run `{cmd}` in {s.root}" if cmd else "no test command configured"

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        tests = s.loaded.config.tests
        if not tests.command:
            return StepOutcome(detail="no test command configured", skipped=True)
        from keycliq_ops.adapters import shell
        from keycliq_ops.base.errors import CommandError

        try:
            done = shell.run(
                tests.command,
                cwd=s.root,
                timeout=tests.timeout,
                env=_test_environment(s),
                on_line=io.line,
            )
        except CommandError as exc:
            raise GateFailed(f"cannot run `{tests.command}`: {exc.message}") from None
        if done.timed_out:
            raise GateFailed(
                f"`{tests.command}` ran longer than {tests.timeout:.0f}s",
                hint="raise tests.timeout in keycliq.yaml",
            )
        code = done.returncode
        if code != 0:
            raise GateFailed(
                f"`{tests.command}` exited {code}",
                hint="fix the tests (output above), then deploy again",
            )
        return StepOutcome(detail=f"`{_brief(tests.command)}` passed")


def _test_environment(s: Session) -> dict[str, str]:
    """This process's environment for the test command, without the Heroku token: not
    HEROKU_API_KEY, nor any variable holding its value (the tests never need it, and a
    test that prints its environment must not show it). ``CI`` is set when unset."""
    token = getattr(s.client, "_token", None)
    secrets = {os.environ.get("HEROKU_API_KEY"), token.reveal() if token is not None else None}
    secrets.discard(None)
    secrets.discard("")
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "HEROKU_API_KEY" and value not in secrets
    }
    env.setdefault("CI", "true")
    return env


@dataclass
class PushStep(StepBase):
    name: str = "push"
    title: str = "Push"
    force: bool = False

    def _remote(self, s: Session) -> str:
        remote = s.env.remote
        if not remote:
            raise GateFailed(
                f"environment {s.env_name} has no git remote",
                hint=f"set environments.{s.env_name}.remote in keycliq.yaml",
            )
        return remote

    def plan(self, s: Session) -> str:
        force = " --force" if self.force else ""
        return f"git push{force} {s.env.remote} {_short(s.commit)}:refs/heads/main"

    def _deployed(self, s: Session) -> str | None:
        out = s.checkout().git("ls-remote", self._remote(s), "refs/heads/main", check=False)
        return out.split()[0] if out.strip() else None

    def already_done(
        self, s: Session, facts: Facts, previous: StepRecord | None
    ) -> StepOutcome | None:
        if facts.resuming and self._deployed(s) == s.commit:
            return StepOutcome(
                detail=f"{s.env.remote} main is already {_short(s.commit)}", stale_build=True
            )
        return None

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        remote = self._remote(s)
        if not self.force and self._deployed(s) == s.commit:
            # The same commit again (a re-run after a failure): git has nothing to send and
            # Heroku builds nothing; the Build and Release steps look at the earlier build.
            return StepOutcome(
                detail=f"{remote} main is already {_short(s.commit)}: nothing to push",
                data={"remote": remote, "forced": False, "up_to_date": True},
                stale_build=True,
            )
        watch = MigrationWatch(io)  # a push prints the release phase too
        try:
            s.checkout().push(remote, s.commit, "main", force=self.force, on_line=watch.line)
        except GitError as exc:
            failed = self._failed_build(s)
            if failed:
                raise GateFailed(
                    f"the build of {_short(s.commit)} failed on {s.app}",
                    hint="read the build output above; fix and deploy again",
                ) from None
            if self._build_goes_on(s) or self._deployed(s) == s.commit:
                # The push's connection ended early (its output cut), not the build: the
                # Build step follows the build Heroku is running.
                note = (
                    f"git push ended early ({exc.message}), but {s.app} is building "
                    f"{_short(s.commit)}: following the build"
                )
                io.note("warning: " + note)
                return StepOutcome(
                    detail=f"{remote} main = {_short(s.commit)} (push output cut short)",
                    data={"remote": remote, "forced": self.force, "cut": True},
                    warnings=[note],
                )
            raise GitError(
                exc.message,
                hint=f"no build of {_short(s.commit)} started on {s.app} (none failed): read "
                "git's output above; deploy again",
            ) from None
        return StepOutcome(
            detail=f"{remote} main = {_short(s.commit)}",
            data={"remote": remote, "forced": self.force, "migrations": watch.migrations},
        )

    @staticmethod
    def _build_goes_on(s: Session) -> bool:
        try:
            builds = s.client.builds(s.app, limit=20)
        except KeycliqError:
            return False
        return any(b.source_blob.version == s.commit and b.status == "pending" for b in builds)

    @staticmethod
    def _failed_build(s: Session) -> bool:
        try:
            builds = s.client.builds(s.app, limit=20)
        except KeycliqError:
            return False
        return any(b.source_blob.version == s.commit and b.status == "failed" for b in builds)


@dataclass
class BuildStep(StepBase):
    name: str = "build"
    title: str = "Build"

    def plan(self, s: Session) -> str:
        return (
            f"find the build of {_short(s.commit)} (GET /apps/{s.app}/builds) and follow "
            "its output stream to succeeded"
        )

    # --resume: finding the build is one request; run() reuses a finished one

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        timeout = s.loaded.config.timeouts.build

        def find() -> object:
            for b in s.client.builds(s.app, limit=20):
                if b.source_blob.version == s.commit:
                    return b
            return None

        found = wait_for(
            find,
            lambda b: b is not None,
            timeout=min(timeout, 60),
            what=f"a build of {_short(s.commit)}",
            sleep=s.sleep,
        )
        from keycliq_ops.adapters.heroku.resources import Build

        assert isinstance(found, Build)
        build = follow_build(s.client, s.app, found, io, timeout=timeout, sleep=s.sleep)
        got = StepOutcome(
            detail=f"build {build.id[:8]} succeeded", data={"build_id": build.id}, build=build
        )
        if build.status != "succeeded":
            got.data = {}
            got.error = GateFailed(
                f"build {build.id[:8]} of {_short(s.commit)} {build.status}",
                hint="read the build output; fix and deploy again",
            )
        return got


@dataclass
class ReleaseStep(FollowsRelease):
    """The release the build produced, followed to its final status. With the
    ``release-phase`` strategy its release-phase output (the migrations) streams here."""

    name: str = "release"
    title: str = "Release"

    def plan(self, s: Session) -> str:
        return f"follow the build's release to succeeded{streaming_clause(s)}"

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        build = facts.build
        if build is None:  # resumed after the build step: find it again
            builds = [
                b for b in s.client.builds(s.app, limit=20) if b.source_blob.version == s.commit
            ]
            if not builds:
                raise ExternalError(f"no build of {_short(s.commit)} on {s.app}")
            build = builds[0]
        timeout = s.loaded.config.timeouts.release
        if build.release is None:
            build_id = build.id
            build = wait_for(
                lambda: s.client.build(s.app, build_id),
                lambda b: b.release is not None,
                timeout=timeout,
                what="the build's release",
                sleep=s.sleep,
            )
        assert build.release is not None
        release = s.client.release(s.app, build.release.id)
        io.note(f"release v{release.version} {release.status}")
        retry_of: int | None = None
        why = self._release_again(s, build, release) if facts.stale_build else None
        if why is not None:
            release, retry_of = self._retry(s, build, release, why, io), release.version
        release, watch = follow_with_migrations(s, s.app, release, io, seen_before=True)
        data: dict[str, Any] = {"release_id": release.id, "release_version": release.version}
        if retry_of is not None:
            data["retry_of"] = retry_of
        if watch.lines:  # the ledger's memory of what ran (rollback lists it)
            data["migrations"] = watch.migrations
        got = StepOutcome(detail=f"v{release.version} succeeded", data=data, release=release)
        if release.status != "succeeded":
            got.data = {}
            line = s.app_repo().release_line() if release.output_stream_url else None
            if line is None:
                got.error = GateFailed(
                    f"release v{release.version} {release.status}",
                    hint="the new code is not running; read "
                    f"`heroku releases:info v{release.version} -a {s.app}` and deploy again",
                )
            else:
                reading = explain_failure(list(watch.seen), None, line.text, app=s.app)
                got.data = {"release_phase_failure": reading.kind}
                got.error = GateFailed(
                    f"release v{release.version} {release.status}: the release phase "
                    f"(`{line.text}`, {line.where()}) failed: {reading.message}",
                    hint=f"{reading.hint}; the new code is not running (output: `heroku "
                    f"releases:output {release.version} -a {s.app}`)",
                )
        return got

    @staticmethod
    def _release_again(s: Session, build: Build, release: Release) -> str | None:
        """Why an earlier run's release of this build must be released again, or None.

        The push changed nothing (the app's git already had the commit), so Heroku made no
        new release: reporting that old release's verdict would repeat an old failure, or
        call a deploy done while the app runs other code (a rollback since, say)."""
        if release.status == "failed":
            return f"release v{release.version} failed in an earlier run"
        code = build.slug.id if build.slug else release.code_id
        if release.status != "succeeded" or release.current or code is None:
            return None
        current = next((r for r in s.client.releases(s.app, limit=10) if r.current), None)
        if current is None or current.code_id in (None, code):
            return None  # a config change since: the same code runs
        return f"{s.app} now runs v{current.version}, not the build of {_short(s.commit)}"

    @staticmethod
    def _retry(s: Session, build: Build, old: Release, why: str, io: StepIO) -> Release:
        """Release the build's slug again (``POST /apps/{app}/releases {"slug": …}``), so the
        release phase runs once more and the app runs this commit."""
        code = old.code if build.slug is None else None
        slug = build.slug.id if build.slug else (code.id if code else None)
        if slug is None:
            raise GateFailed(
                f"{why}, and its build has no slug or image to release again",
                hint=f"push a new commit, or `heroku releases:retry -a {s.app}`",
            )
        io.note(f"{why}: releasing build {build.id[:8]} again (its release phase runs again)")
        return s.client.create_release(
            s.app,
            slug,
            description=f"Deploy {_short(s.commit)} again (after v{old.version})",
            oci_image=code is not None and code.kind == "oci-image",
        )


@dataclass
class MigrationsStep(StepBase):
    """The schema reached the database: asked of the database, never assumed.

    ``release-phase``: the release step watched the Procfile's ``release:`` run; this step
    checks that Heroku really ran a release phase and then reads ``_prisma_migrations``.
    ``one-off`` / ``db-push``: the command runs in an attached one-off dyno; its exit
    status, then the database, decide. See ``migration_check``.
    """

    name: str = "migrations"
    title: str = "Migrations"
    resumed_detail: str | None = "applied and verified in the run being resumed"

    def plan(self, s: Session) -> str:
        m = s.loaded.config.migrations
        if m.strategy == "release-phase":
            return (
                "applied by the release phase (Procfile `release:`), watched in Release; "
                "then verified in the database (_prisma_migrations)"
            )
        if m.strategy in ("one-off", "db-push"):
            what = "the schema's tables" if m.strategy == "db-push" else "_prisma_migrations"
            return (
                f"run `{m.one_off_command()}` in an attached one-off dyno; its exit status, "
                f"then {what} in the database, decide"
            )
        return "none (migrations.strategy: none)"

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        m = s.loaded.config.migrations
        if m.strategy == "none":
            return StepOutcome(
                detail="skipped: migrations.strategy is none in keycliq.yaml", skipped=True
            )
        if m.strategy == "release-phase":
            return self._release_phase(s, facts, io)
        command = m.one_off_command()
        assert command is not None
        local = _has_commit(s)
        kind = prisma_kind(command, s.app_repo().scripts() if local else {})
        since = _db_now(s) if kind == "migrate-deploy" else None
        from keycliq_ops.release.oneoff import run_attached

        watch = MigrationWatch(io)
        code = run_attached(s.client, s.app, command, watch, timeout=m.timeout)
        if code != 0:
            reading = explain_failure(list(watch.seen), code, command, app=s.app)
            raise GateFailed(
                f"`{command}` exited {code} in a one-off dyno on {s.app}: {reading.message}",
                hint=reading.hint,
            )
        data: dict[str, Any] = {"command": command, "exit_status": code}
        if kind is not None and not local:
            return StepOutcome(
                detail=f"`{command}` exited 0; not compared with the database: commit "
                f"{_short(s.commit)} is not in this checkout (`git fetch`)",
                data=data,
            )
        if kind == "migrate-deploy":
            return self._verify_history(s, io, since, f"`{command}` exited 0", data)
        if kind == "db-push":
            return self._verify_push(s, io, f"`{command}` exited 0", data)
        return StepOutcome(
            detail=f"`{command}` exited 0 (not a Prisma command keycliq can verify in the "
            "database)",
            data=data,
        )

    def _release_phase(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        release = facts.release
        if not _has_commit(s):
            # A promotion of a commit this checkout never fetched: Heroku's word only.
            version = release.version if release else "?"
            return StepOutcome(
                detail=f"skipped: commit {_short(s.commit)} is not in this checkout, so its "
                f"migrations cannot be compared with the database (release v{version} "
                f"succeeded; `git fetch`, and `keycliq dataclips run F -e {s.env_name}` checks "
                "the indexes)",
                skipped=True,
            )
        repo = s.app_repo()
        line = repo.release_line()
        if line is None:  # preflight refuses this; a resumed run may meet it
            return StepOutcome(
                detail=f"skipped: {repo.origin}'s Procfile has no release phase", skipped=True
            )
        if release is None:
            raise GateFailed(
                "no release to verify the migrations of", hint="deploy again with --resume"
            )
        if not release.output_stream_url:
            raise GateFailed(
                f"v{release.version} ran no release phase, though {line.where()} declares "
                f"`{line.text}`",
                hint=f"see `heroku releases:info v{release.version} -a {s.app}`; deploy again",
            )
        done = f"the release phase of v{release.version} succeeded"
        data: dict[str, Any] = {"release_version": release.version, "command": line.text}
        kind = prisma_kind(line.text, repo.scripts())
        if kind == "migrate-deploy":
            return self._verify_history(s, io, release.created_at, done, data)
        if kind == "db-push":
            return self._verify_push(s, io, done, data)
        return StepOutcome(
            detail=f"{done} (`{line.text}` is not a Prisma command keycliq can verify in "
            "the database)",
            data=data,
        )

    def _verify_history(
        self,
        s: Session,
        io: StepIO,
        since: datetime | None,
        done: str,
        data: dict[str, Any],
    ) -> StepOutcome:
        from keycliq_ops.adapters.db import DbSession

        repo = s.app_repo()
        io.note(f"reading {MIGRATIONS_TABLE} from the database")
        with DbSession.open(s.database_url()) as db:
            exists = db.query(TABLE_SQL, [MIGRATIONS_TABLE], action="looking for migrations")
            rows = None
            if exists.rows and exists.rows[0][0]:
                found = db.query(ROWS_SQL, action=f"reading {MIGRATIONS_TABLE}")
                rows = [MigrationRow.of(r) for r in found.rows]
        state = compare(repo.migrations(), rows, since=since)
        for problem in state.problems():
            io.line(f"migration {problem}")
        data = {**data, "verified": state.as_data()}
        if rows is None and state.folders:
            raise GateFailed(
                f"{done}, but the database has no {MIGRATIONS_TABLE} table: none of the "
                f"{state.folders} migration(s) of {repo.origin} was applied",
                hint="read the release output; is DATABASE_URL the app's database?",
            )
        if not state.ok:
            first = state.problems()[0]
            raise GateFailed(
                f"{done}, but the database disagrees with {repo.migrations_dir}/ of "
                f"{repo.origin}: {first}"
                + (f" (and {len(state.problems()) - 1} more)" if len(state.problems()) > 1 else ""),
                hint=_history_hint(state, s.app),
            )
        names = state.applied_now or state.applied_before
        last = f"; last: {names[-1]}" if names else ""
        check_f = self._check_f_after_change(s, io, state.applied_now)
        return StepOutcome(
            detail=f"{done}; verified: {state.summary()}{last}"
            + (f"; check F {check_f['verdict']}" if check_f.get("verdict") else ""),
            data={**data, "migrations": state.applied_now, "check_f": check_f},
        )

    def _check_f_after_change(self, s: Session, io: StepIO, applied: list[str]) -> dict[str, Any]:
        """The runbook's "revalidar tras cambios de schema": check F (indexes) right after
        migrations changed the schema, unless the Dataclip gate runs F anyway."""
        if not applied:
            return {"ran": False, "why": "no migration was applied in this release"}
        if "F" in s.env.effective_dataclips():
            return {"ran": False, "why": "F is in the Dataclip gate of this environment"}
        verdict = self._check_f(s, io, what=f"{len(applied)} migration(s) changed the schema")
        if verdict is None:
            return {"ran": False, "why": "the Dataclip catalogue has no check F"}
        return {"ran": True, "verdict": verdict, "after": applied}

    def _verify_push(self, s: Session, io: StepIO, done: str, data: dict[str, Any]) -> StepOutcome:
        from keycliq_ops.adapters.db import DbSession

        repo = s.app_repo()
        models = repo.models()
        with DbSession.open(s.database_url()) as db:
            present = db.query(COLUMNS_SQL, action="reading the database's tables")
        missing = missing_tables(models, [(str(r[0]), str(r[1])) for r in present.rows])
        for item in missing:
            io.line(f"missing in the database: {item}")
        if missing:
            raise GateFailed(
                f"{done}, but the database lacks {len(missing)} table(s)/column(s) of "
                f"{repo.schema_path}: {', '.join(missing[:3])}"
                + (" …" if len(missing) > 3 else ""),
                hint="read the db push output above; run it again or check DATABASE_URL",
            )
        indexes = self._check_f(s, io)
        data = {**data, "verified": {"models": len(models), "indexes": indexes}}
        return StepOutcome(
            detail=f"{done}; verified: the {len(models)} model(s) of {repo.schema_path} have "
            f"their tables and columns" + (f"; check F {indexes}" if indexes else ""),
            data=data,
        )

    @staticmethod
    def _check_f(s: Session, io: StepIO, what: str = "the schema was pushed") -> str | None:
        """Check F (the indexes) after a db push: ``passed``, or None when the catalogue has
        no F; GateFailed when it does not pass."""
        from keycliq_ops.dataclips import run_dataclips
        from keycliq_ops.dataclips.verdicts import is_failing

        catalog = s.loaded.dataclip_catalog()
        if "F" not in catalog.ids():
            return None
        run = run_dataclips(catalog, ["F"], s.database_url(), settings=s.loaded.config.dataclips)
        result = run.results[0]
        io.line(f"F   {result.verdict:<5} {result.title}")
        if is_failing(result.verdict):
            raise GateFailed(
                f"{what}, but check F (indexes) {result.verdict}"
                + (f": {result.error}" if result.error else ""),
                hint=f"`keycliq dataclips run F -e {s.env_name}` lists what is missing",
            )
        return "passed"


def _has_commit(s: Session) -> bool:
    """Whether the checkout has the commit shipped (a promotion may ship one it lacks)."""
    return s.repo is not None and bool(s.commit) and s.checkout().has_commit(s.commit)


def _db_now(s: Session) -> datetime | None:
    """The database's clock just before a one-off runs (what 'applied now' is measured by)."""
    from keycliq_ops.adapters.db import DbSession

    with DbSession.open(s.database_url()) as db:
        got = db.query("SELECT now()", action="reading the database's clock")
    value = got.rows[0][0] if got.rows else None
    return value if isinstance(value, datetime) else None


def _history_hint(state: MigrationState, app: str) -> str:
    if state.failed:
        name = state.failed[0][0]
        return (
            f"mark it rolled back (`heroku run -a {app} -- npx prisma migrate resolve "
            f"--rolled-back {name}`), fix its SQL, and deploy again"
        )
    if state.modified:
        return (
            "an applied migration must not change: restore its migration.sql and put the "
            "change in a new migration"
        )
    if state.pending:
        return "the migrations did not run: read the release output above and deploy again"
    return (
        "the database has migrations this commit does not know: is an older commit being "
        "deployed over a newer one? (`npx prisma migrate status`)"
    )
