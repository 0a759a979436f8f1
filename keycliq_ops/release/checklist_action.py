"""``keycliq checklist run`` for an environment, as an action like every other one.

What it checks is the commit the environment runs (its current release's commit, as
``keycliq status`` reads it), unless ``--commit`` names another (``--commit HEAD``: the
checkout's HEAD); HEAD too when the environment runs no commit keycliq can tell
(:func:`choose_commit` says which, for the output and the ledger). The walk is one step
(:class:`WalkStep`) of an :class:`~keycliq_ops.release.lifecycle.Action` named
``checklist``, so the lifecycle records it in the ledger (start and completion, the
checklist result, its Dataclip numbers in the trend) and writes its report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from keycliq_ops.base.errors import KeycliqError
from keycliq_ops.release.lifecycle import Action, Confirmation
from keycliq_ops.release.session import Session
from keycliq_ops.release.stepper import Facts, StepBase, StepIO, StepOutcome

if TYPE_CHECKING:
    from keycliq_ops.adapters.git import Repo
    from keycliq_ops.adapters.heroku.client import HerokuClient
    from keycliq_ops.checklists import Checklist, ChecklistContext, ChecklistResult
    from keycliq_ops.config import LoadedConfig

CommitSource = Literal["running", "given", "head"]


@dataclass(frozen=True)
class CommitChoice:
    """The commit a checklist run is for and why: ``running`` (what the environment runs),
    ``given`` (``--commit SHA``) or ``head`` (the checkout's HEAD). ``why`` is one line."""

    sha: str | None
    source: CommitSource
    why: str
    release_version: int | None = None


def running_commit(
    client: HerokuClient, loaded: LoadedConfig, env_name: str, repo: Repo | None
) -> tuple[str | None, int | None]:
    """(commit, release version) of the environment's current release; the commit is None
    when no release is current or its commit cannot be told. Builds and releases of every
    app of keycliq.yaml are read: a promoted slug was built on another app."""
    from keycliq_ops.ops.status import BUILD_WINDOW, RELEASE_WINDOW, release_commit

    app = loaded.env(env_name).app
    releases = client.releases(app, limit=RELEASE_WINDOW)
    current = next((r for r in releases if r.current), None)
    if current is None:
        return None, None
    apps = sorted({e.app for e in loaded.config.environments.values()} | {app})
    builds = [b for a in apps for b in client.builds(a, limit=BUILD_WINDOW)]
    every = (
        releases
        if not current.image_id
        else [
            r
            for a in apps
            for r in (releases if a == app else client.releases(a, limit=RELEASE_WINDOW))
        ]
    )
    return release_commit(current, builds, repo, every), current.version


def choose_commit(
    given: str | None,
    head: str | None,
    *,
    app: str | None,
    running: Callable[[], tuple[str | None, int | None]] | None,
    unknown_why: str | None = None,
) -> CommitChoice:
    """``--commit SHA`` as given; ``--commit HEAD`` the checkout's HEAD; else what the
    environment runs (``running``: asks Heroku), else HEAD, saying why."""
    if given is not None and given.strip().upper() != "HEAD":
        return CommitChoice(given, "given", f"commit {given[:12]} (--commit)")
    if given is not None:
        return CommitChoice(head, "head", "the checkout's HEAD (--commit HEAD)")
    if running is not None:
        sha, version = running()
        if sha:
            return CommitChoice(
                sha, "running", f"the commit {app} runs (release v{version})", version
            )
        unknown_why = (
            f"{app} runs no release yet"
            if version is None
            else f"the commit of {app}'s release v{version} is unknown"
        )
    return CommitChoice(
        head, "head", f"the checkout's HEAD ({unknown_why or 'no environment to ask'})"
    )


@dataclass(frozen=True)
class ChecklistRun:
    """What a checklist run prepared: the checklist, the commit and the run it resumes."""

    checklist: Checklist
    commit: CommitChoice
    resume: ChecklistResult | None = None


@dataclass
class WalkStep(StepBase):
    """Walk the checklist: ask the manual items, verify the others."""

    run_of: ChecklistRun | None = None
    context: Callable[[StepIO], ChecklistContext] | None = None
    name: str = "checklist"
    title: str = "Checklist"

    def plan(self, s: Session) -> str:
        assert self.run_of is not None
        cl = self.run_of.checklist
        how = getattr(s.prompter, "description", None) or "a terminal or --answers"
        return f"walk checklist {cl.name!r} for {(s.commit or '?')[:12]} (answers: {how})"

    def run(self, s: Session, facts: Facts, io: StepIO) -> StepOutcome:
        from keycliq_ops.checklists import run_checklist

        assert self.run_of is not None and self.context is not None
        cl = self.run_of.checklist
        result = run_checklist(cl, self.context(io), resume=self.run_of.resume)
        c = result.counts()
        got = StepOutcome(
            detail=f"{cl.name}: {result.verdict} ({c['passed']} passed, {c['failed']} "
            f"failed, {c['skipped']} skipped)",
            data={"checklist": cl.name, "verdict": result.verdict},
            checklist=result,
        )
        try:
            result.raise_for_verdict()
        except KeycliqError as exc:
            got.error = exc
        return got


def checklist_action(
    session: Session,
    prepared: ChecklistRun,
    context: Callable[[StepIO], ChecklistContext],
) -> Action[ChecklistRun]:
    """The run of ``prepared`` on ``session``'s environment (read-only until run): the
    check that it can be answered comes first (nothing is recorded when it cannot)."""
    from keycliq_ops.checklists import check_checklist

    cl, choice = prepared.checklist, prepared.commit

    def runnable() -> None:
        check_checklist(cl, context(_NO_IO), resume=prepared.resume)

    return Action(
        name="checklist",
        session=session,
        prepared=prepared,
        header=f"checklist {cl.name} for {session.env_name} ({session.app}) at "
        f"{(choice.sha or '?')[:12]}: {choice.why}",
        steps=[WalkStep(run_of=prepared, context=context)],
        confirmation=Confirmation(f"Walk checklist {cl.name} for {session.app}"),
        probe=runnable,
        ledger_details={
            "checklist": cl.name,
            "commit_source": choice.source,
            "commit_why": choice.why,
            **(
                {"resumes_checklist_run": prepared.resume.started.isoformat()}
                if prepared.resume is not None
                else {}
            ),
        },
        about={"checklist": cl.name, "commit_source": choice.source, "commit_why": choice.why},
    )


def _ignore(_event: object) -> None:
    return None


_NO_IO = StepIO("checklist", _ignore)  # the check before the run reports nothing
