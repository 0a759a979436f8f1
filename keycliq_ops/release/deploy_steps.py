"""The steps of ``keycliq deploy``: preflight, tests, push, build, release, migrations.

(The checklist and Dataclip gate steps are every action's: see ``gate_steps.py``.) Each
step returns what it learnt (the build, the release, warnings) in its ``StepOutcome``.
"""

from __future__ import annotations

import os
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from keycliq_ops.base.errors import ExternalError, GateFailed, GitError, KeycliqError
from keycliq_ops.release.follow import MigrationWatch, follow_build, wait_for
from keycliq_ops.release.following import (
    FollowsRelease,
    follow_with_migrations,
    streaming_clause,
)
from keycliq_ops.release.session import Session
from keycliq_ops.release.stepper import Facts, StepBase, StepIO, StepOutcome, StepRecord


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

    def plan(self, s: Session) -> str:
        return (
            f"branch in {', '.join(s.loaded.config.branches)}, clean tree, commit on "
            f"{s.loaded.config.shared_remote}, GET /account, GET /apps/{s.app}, its "
            f"pipeline coupling ({s.env.stage}), config-var audit, no other deploy"
        )

    # --resume: cheap, and the world may have changed: always checked again

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        from keycliq_ops.ops.config_audit import audit_config, secret_digest

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
        io.note("asking Heroku")
        warnings: list[str] = []
        # Independent questions at once: the account, the app, the coupling, config vars.
        with ThreadPoolExecutor(max_workers=4) as pool:
            account_f = pool.submit(s.account)
            app_f = pool.submit(s.client.app, s.app)
            coupling_f = pool.submit(s.client.app_pipeline_coupling, s.app)
            vars_f = pool.submit(s.prefetch_config_vars)
            shared_f = pool.submit(self._on_shared_remote, s)
            account = account_f.result()
            app = app_f.result()
            coupling = coupling_f.result()
            all_vars = vars_f.result()
            on_shared, shared_warning = shared_f.result()
        warnings.extend(shared_warning)
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
        )
        for finding in report.findings:
            io.line(f"config {finding.level}: {finding.var} {finding.message}")
        if not report.ok:
            errors = [f.var for f in report.findings if f.level == "error"]
            raise GateFailed(
                f"config audit of {s.app} failed: {', '.join(sorted(set(errors)))}",
                hint=f"see `keycliq config check {s.env_name}`",
            )
        unrecorded = self._unrecorded_release(s)
        if unrecorded:
            warnings.append(unrecorded)
            io.note("warning: " + unrecorded)
        return StepOutcome(
            detail=f"{branch} @ {_short(s.commit)}, {account.email}, {s.app} ({coupling.stage})",
            data={"heroku_email": account.email, "app_id": app.id, "warnings": warnings},
            warnings=warnings,
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
        if known is not None and latest[0].version > known:
            return (
                f"{s.app} is at v{latest[0].version} but the ledger's last record is "
                f"v{known}: someone released from elsewhere"
            )
        return None


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
                env={**os.environ, "CI": os.environ.get("CI", "true")},
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
            return StepOutcome(detail=f"{s.env.remote} main is already {_short(s.commit)}")
        return None

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        remote = self._remote(s)
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
            raise exc
        return StepOutcome(
            detail=f"{remote} main = {_short(s.commit)}",
            data={"remote": remote, "forced": self.force, "migrations": watch.migrations},
        )

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
        release, watch = follow_with_migrations(s, s.app, release, io, seen_before=True)
        data: dict[str, Any] = {"release_id": release.id, "release_version": release.version}
        if watch.lines:  # the ledger's memory of what ran (rollback lists it)
            data["migrations"] = watch.migrations
        got = StepOutcome(detail=f"v{release.version} succeeded", data=data, release=release)
        if release.status != "succeeded":
            stream = s.loaded.config.migrations.strategy == "release-phase"
            got.data = {}
            got.error = GateFailed(
                f"release v{release.version} {release.status}"
                + (": the release phase (migrations) failed" if stream else ""),
                hint="the new code is not running; fix the migration and deploy again "
                f"(see `heroku releases:output {release.version} -a {s.app}`)",
            )
        return got


@dataclass
class MigrationsStep(StepBase):
    name: str = "migrations"
    title: str = "Migrations"
    resumed_detail: str | None = "applied in the run being resumed"

    def plan(self, s: Session) -> str:
        m = s.loaded.config.migrations
        if m.strategy == "release-phase":
            return "applied by the release phase (Procfile `release:`), watched in Release"
        if m.strategy == "one-off":
            return f"run `{m.command}` in an attached one-off dyno; its exit status decides"
        return "none (migrations.strategy: none)"

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        m = s.loaded.config.migrations
        if m.strategy == "none":
            return StepOutcome(detail="migrations.strategy is none", skipped=True)
        if m.strategy == "release-phase":
            version = facts.release.version if facts.release else "?"
            return StepOutcome(detail=f"applied by the release phase of v{version}")
        from keycliq_ops.release.oneoff import run_attached

        code = run_attached(s.client, s.app, m.command, io, timeout=m.timeout)
        if code != 0:
            raise GateFailed(
                f"`{m.command}` exited {code} in a one-off dyno on {s.app}",
                hint="read its output above; fix and run the deploy with --resume",
            )
        return StepOutcome(detail=f"`{m.command}` exited 0", data={"command": m.command})
