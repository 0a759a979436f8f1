"""The steps of ``keycliq deploy``: preflight, tests, push, build, release, migrations.

(The checklist and Dataclip gate steps are shared with promote: see ``gates.py``.)
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from keycliq_ops.base.errors import ExternalError, GateFailed, GitError, KeycliqError
from keycliq_ops.release.follow import (
    MigrationWatch,
    follow_build,
    follow_release,
    stream_into,
    wait_for,
)
from keycliq_ops.release.session import ReleaseContext
from keycliq_ops.release.stepper import StepIO, StepOutcome, StepRecord


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
class PreflightStep:
    name: str = "preflight"
    title: str = "Preflight"
    skippable: bool = False
    strict: bool = False

    def plan(self, ctx: ReleaseContext) -> str:
        return (
            f"branch in {', '.join(ctx.loaded.config.branches)}, clean tree, commit on "
            f"{ctx.loaded.config.shared_remote}, GET /account, GET /apps/{ctx.app}, its "
            f"pipeline coupling ({ctx.env.stage}), config-var audit, no other deploy"
        )

    def already_done(self, ctx: ReleaseContext, previous: StepRecord | None) -> StepOutcome | None:
        return None  # cheap, and the world may have changed: always checked again

    def run(self, ctx: ReleaseContext, io: StepIO) -> StepOutcome:
        from keycliq_ops.ops.config_audit import audit_config, secret_digest

        cfg = ctx.loaded.config
        branch = ctx.branch or "(detached HEAD)"
        if ctx.branch is None or not cfg.branch_allowed(ctx.branch):
            raise GateFailed(
                f"branch {branch} may not deploy (allowed: {', '.join(cfg.branches)})",
                hint="check out an allowed branch, or add its pattern to `branches:` in "
                "keycliq.yaml",
            )
        dirty = [d for d in ctx.repo.dirty_files() if not ctx.loaded.owns(d.path)]
        if dirty:
            listed = ", ".join(d.path for d in dirty[:5]) + (" …" if len(dirty) > 5 else "")
            raise GateFailed(
                f"the work tree has {len(dirty)} uncommitted change(s): {listed}",
                hint="commit or stash them: keycliq deploys the commit, and the commit must be "
                "what you tested",
            )
        io.note("asking Heroku")
        # Independent questions at once: the account, the app, the coupling, config vars.
        with ThreadPoolExecutor(max_workers=4) as pool:
            account_f = pool.submit(ctx.client.account)
            app_f = pool.submit(ctx.client.app, ctx.app)
            coupling_f = pool.submit(ctx.client.app_pipeline_coupling, ctx.app)
            vars_f = pool.submit(ctx.prefetch_config_vars)
            shared_f = pool.submit(self._on_shared_remote, ctx)
            account = account_f.result()
            app = app_f.result()
            coupling = coupling_f.result()
            vars_f.result()
            on_shared = shared_f.result()
        ctx.heroku_email = account.email
        ctx.app_id = app.id
        if coupling.stage != ctx.env.stage:
            raise GateFailed(
                f"{ctx.app} is coupled at stage {coupling.stage!r}, keycliq.yaml says "
                f"{ctx.env.stage!r}",
                hint="fix `stage:` in keycliq.yaml or the app's pipeline coupling",
            )
        pipeline_name = coupling.pipeline.name or ctx.client.pipeline(coupling.pipeline.id).name
        if pipeline_name != cfg.pipeline:
            raise GateFailed(
                f"{ctx.app} is in pipeline {pipeline_name!r}, keycliq.yaml says {cfg.pipeline!r}"
            )
        if on_shared is False:
            message = (
                f"commit {_short(ctx.commit)} is not on {cfg.shared_remote} (push it "
                "so the team can see what was deployed)"
            )
            if self.strict:
                raise GateFailed(message, hint=f"git push {cfg.shared_remote} {branch}")
            ctx.warnings.append(message)
            io.note("warning: " + message)
        digests = {
            name: secret_digest(v["SESSION_SECRET"])
            for name, v in ctx._config_vars.items()
            if v.get("SESSION_SECRET")
        }
        report = audit_config(
            ctx.env_name,
            ctx.env,
            ctx.config_vars(),
            other_session_digests=digests,
            web_url=app.web_url,
        )
        for finding in report.findings:
            io.line(f"config {finding.level}: {finding.var} {finding.message}")
        if not report.ok:
            errors = [f.var for f in report.findings if f.level == "error"]
            raise GateFailed(
                f"config audit of {ctx.app} failed: {', '.join(sorted(set(errors)))}",
                hint=f"see `keycliq config check {ctx.env_name}`",
            )
        self._warn_unrecorded_release(ctx, io)
        return StepOutcome(
            detail=f"{branch} @ {_short(ctx.commit)}, {account.email}, {ctx.app} "
            f"({coupling.stage})",
            data={"heroku_email": account.email, "app_id": app.id, "warnings": ctx.warnings},
        )

    @staticmethod
    def _on_shared_remote(ctx: ReleaseContext) -> bool | None:
        remote = ctx.loaded.config.shared_remote
        try:
            return ctx.repo.commit_on_remote(remote, ctx.commit)
        except GitError:
            ctx.warnings.append(f"no shared remote {remote!r} in this checkout")
            return None

    @staticmethod
    def _warn_unrecorded_release(ctx: ReleaseContext, io: StepIO) -> None:
        """Warn when the app's newest release is newer than anything the ledger knows."""
        latest = ctx.client.releases(ctx.app, limit=1)
        if not latest:
            return
        known = next(
            (
                r.release_version
                for r in ctx.ledger.iter(reverse=True)
                if r.app == ctx.app and r.release_version is not None
            ),
            None,
        )
        if known is not None and latest[0].version > known:
            message = (
                f"{ctx.app} is at v{latest[0].version} but the ledger's last record is "
                f"v{known}: someone released from elsewhere"
            )
            ctx.warnings.append(message)
            io.note("warning: " + message)


@dataclass
class TestsStep:
    name: str = "tests"
    title: str = "Tests"
    skippable: bool = True

    def plan(self, ctx: ReleaseContext) -> str:
        cmd = ctx.loaded.config.tests.command
        return f"run `{cmd}` in {ctx.root}" if cmd else "no test command configured"

    def already_done(self, ctx: ReleaseContext, previous: StepRecord | None) -> StepOutcome | None:
        if ctx.resume and previous is not None and previous.status in ("succeeded", "done-before"):
            return StepOutcome(detail="passed in the run being resumed (same commit)")
        return None

    def run(self, ctx: ReleaseContext, io: StepIO) -> StepOutcome:
        tests = ctx.loaded.config.tests
        if not tests.command:
            return StepOutcome(detail="no test command configured", skipped=True)
        started = time.monotonic()
        try:
            proc = subprocess.Popen(  # noqa: S602 - the configured command is a shell line
                tests.command,
                shell=True,
                cwd=ctx.root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                start_new_session=True,
                env={**os.environ, "CI": os.environ.get("CI", "true")},
            )
        except OSError as exc:
            raise GateFailed(f"cannot run `{tests.command}`: {exc}") from None
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                io.line(line)
                if time.monotonic() - started > tests.timeout:
                    raise GateFailed(
                        f"`{tests.command}` ran longer than {tests.timeout:.0f}s",
                        hint="raise tests.timeout in keycliq.yaml",
                    )
            code = proc.wait(timeout=max(1.0, tests.timeout - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            raise GateFailed(
                f"`{tests.command}` ran longer than {tests.timeout:.0f}s",
                hint="raise tests.timeout in keycliq.yaml",
            ) from None
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait()
        if code != 0:
            raise GateFailed(
                f"`{tests.command}` exited {code}",
                hint="fix the tests (output above), then deploy again",
            )
        return StepOutcome(detail=f"`{_brief(tests.command)}` passed")


@dataclass
class PushStep:
    name: str = "push"
    title: str = "Push"
    skippable: bool = False
    force: bool = False

    def _remote(self, ctx: ReleaseContext) -> str:
        remote = ctx.env.remote
        if not remote:
            raise GateFailed(
                f"environment {ctx.env_name} has no git remote",
                hint=f"set environments.{ctx.env_name}.remote in keycliq.yaml",
            )
        return remote

    def plan(self, ctx: ReleaseContext) -> str:
        force = " --force" if self.force else ""
        return f"git push{force} {ctx.env.remote} {_short(ctx.commit)}:refs/heads/main"

    def _deployed(self, ctx: ReleaseContext) -> str | None:
        out = ctx.repo.git("ls-remote", self._remote(ctx), "refs/heads/main", check=False)
        return out.split()[0] if out.strip() else None

    def already_done(self, ctx: ReleaseContext, previous: StepRecord | None) -> StepOutcome | None:
        if ctx.resume and self._deployed(ctx) == ctx.commit:
            return StepOutcome(detail=f"{ctx.env.remote} main is already {_short(ctx.commit)}")
        return None

    def run(self, ctx: ReleaseContext, io: StepIO) -> StepOutcome:
        remote = self._remote(ctx)
        watch = MigrationWatch(io)  # a push prints the release phase too
        try:
            ctx.repo.push(remote, ctx.commit, "main", force=self.force, on_line=watch.line)
        except GitError as exc:
            failed = self._failed_build(ctx)
            if failed:
                raise GateFailed(
                    f"the build of {_short(ctx.commit)} failed on {ctx.app}",
                    hint="read the build output above; fix and deploy again",
                ) from None
            raise exc
        return StepOutcome(
            detail=f"{remote} main = {_short(ctx.commit)}",
            data={"remote": remote, "forced": self.force, "migrations": watch.migrations},
        )

    @staticmethod
    def _failed_build(ctx: ReleaseContext) -> bool:
        try:
            builds = ctx.client.builds(ctx.app, limit=20)
        except KeycliqError:
            return False
        return any(b.source_blob.version == ctx.commit and b.status == "failed" for b in builds)


@dataclass
class BuildStep:
    name: str = "build"
    title: str = "Build"
    skippable: bool = False

    def plan(self, ctx: ReleaseContext) -> str:
        return (
            f"find the build of {_short(ctx.commit)} (GET /apps/{ctx.app}/builds) and follow "
            "its output stream to succeeded"
        )

    def already_done(self, ctx: ReleaseContext, previous: StepRecord | None) -> StepOutcome | None:
        return None  # finding the build is one request; run() reuses a finished one

    def run(self, ctx: ReleaseContext, io: StepIO) -> StepOutcome:
        timeout = ctx.loaded.config.timeouts.build

        def find() -> object:
            for b in ctx.client.builds(ctx.app, limit=20):
                if b.source_blob.version == ctx.commit:
                    return b
            return None

        found = wait_for(
            find,
            lambda b: b is not None,
            timeout=min(timeout, 60),
            what=f"a build of {_short(ctx.commit)}",
            sleep=ctx.sleep,
        )
        from keycliq_ops.adapters.heroku.resources import Build

        assert isinstance(found, Build)
        build = follow_build(ctx.client, ctx.app, found, io, timeout=timeout, sleep=ctx.sleep)
        ctx.build = build
        if build.status != "succeeded":
            raise GateFailed(
                f"build {build.id[:8]} of {_short(ctx.commit)} {build.status}",
                hint="read the build output; fix and deploy again",
            )
        return StepOutcome(detail=f"build {build.id[:8]} succeeded", data={"build_id": build.id})


@dataclass
class ReleaseStep:
    """The release the build produced, followed to its final status. With the
    ``release-phase`` strategy its release-phase output (the migrations) streams here."""

    name: str = "release"
    title: str = "Release"
    skippable: bool = False

    def plan(self, ctx: ReleaseContext) -> str:
        phase = (
            " streaming the release phase (migrations)"
            if ctx.loaded.config.migrations.strategy == "release-phase"
            else ""
        )
        return f"follow the build's release to succeeded{phase}"

    def already_done(self, ctx: ReleaseContext, previous: StepRecord | None) -> StepOutcome | None:
        if not (ctx.resume and previous and previous.data.get("release_id")):
            return None
        release = ctx.client.release(ctx.app, str(previous.data["release_id"]))
        if release.status == "succeeded":
            ctx.release = release
            return StepOutcome(
                detail=f"v{release.version} had already succeeded", data=previous.data
            )
        return None

    def run(self, ctx: ReleaseContext, io: StepIO) -> StepOutcome:
        build = ctx.build
        if build is None:  # resumed after the build step: find it again
            builds = [
                b
                for b in ctx.client.builds(ctx.app, limit=20)
                if b.source_blob.version == ctx.commit
            ]
            if not builds:
                raise ExternalError(f"no build of {_short(ctx.commit)} on {ctx.app}")
            build = builds[0]
        timeout = ctx.loaded.config.timeouts.release
        if build.release is None:
            build_id = build.id
            build = wait_for(
                lambda: ctx.client.build(ctx.app, build_id),
                lambda b: b.release is not None,
                timeout=timeout,
                what="the build's release",
                sleep=ctx.sleep,
            )
        assert build.release is not None
        release = ctx.client.release(ctx.app, build.release.id)
        io.note(f"release v{release.version} {release.status}")
        stream = ctx.loaded.config.migrations.strategy == "release-phase"
        watch = MigrationWatch(io)
        release = follow_release(
            ctx.client, ctx.app, release, watch, timeout=timeout, stream=stream, sleep=ctx.sleep
        )
        ctx.release = release
        data = {"release_id": release.id, "release_version": release.version}
        if watch.lines:  # the ledger's memory of what ran (rollback lists it)
            data["migrations"] = watch.migrations
        if release.status != "succeeded":
            if not watch.lines and release.output_stream_url:
                # It had already failed when we looked (its output went by in the push):
                # read the release phase's output again so the failure shows its tail.
                stream_into(ctx.client, release.output_stream_url, watch)
            raise GateFailed(
                f"release v{release.version} {release.status}"
                + (": the release phase (migrations) failed" if stream else ""),
                hint="the new code is not running; fix the migration and deploy again "
                f"(see `heroku releases:output {release.version} -a {ctx.app}`)",
            )
        return StepOutcome(detail=f"v{release.version} succeeded", data=data)


@dataclass
class MigrationsStep:
    name: str = "migrations"
    title: str = "Migrations"
    skippable: bool = False

    def plan(self, ctx: ReleaseContext) -> str:
        m = ctx.loaded.config.migrations
        if m.strategy == "release-phase":
            return "applied by the release phase (Procfile `release:`), watched in Release"
        if m.strategy == "one-off":
            return f"run `{m.command}` in an attached one-off dyno; its exit status decides"
        return "none (migrations.strategy: none)"

    def already_done(self, ctx: ReleaseContext, previous: StepRecord | None) -> StepOutcome | None:
        if ctx.resume and previous is not None and previous.status in ("succeeded", "done-before"):
            return StepOutcome(detail="applied in the run being resumed")
        return None

    def run(self, ctx: ReleaseContext, io: StepIO) -> StepOutcome:
        m = ctx.loaded.config.migrations
        if m.strategy == "none":
            return StepOutcome(detail="migrations.strategy is none", skipped=True)
        if m.strategy == "release-phase":
            version = ctx.release.version if ctx.release else "?"
            return StepOutcome(detail=f"applied by the release phase of v{version}")
        from keycliq_ops.release.oneoff import run_attached

        code = run_attached(ctx.client, ctx.app, m.command, io, timeout=m.timeout)
        if code != 0:
            raise GateFailed(
                f"`{m.command}` exited {code} in a one-off dyno on {ctx.app}",
                hint="read its output above; fix and run the deploy with --resume",
            )
        return StepOutcome(detail=f"`{m.command}` exited 0", data={"command": m.command})
