"""The one lifecycle of every action that changes an environment.

An action (deploy, promote, rollback, secret rotation) is what it prepared (read-only: its
plan), its steps, its ledger fields and its summary extras. Everything around it is here,
written once:

1. :func:`check` — the resume facts, then the check that the run can finish (the checklist
   can be answered, the Dataclip gate's parameters are known), exactly once, before the
   caller asks for confirmation. It returns a :class:`Checked` action: only that can run.
2. :func:`run_action` — the environment lock, the ledger's start record, the steps, the
   completion record (also when a step fails with an unexpected error: never only a
   ``running`` record), the Markdown report, and the follow-up action (a promotion's
   auto-rollback) when there is one.
3. :meth:`ActionOutcome.summary` — the summary every command prints with ``--json``.

:func:`last_unfinished` is the one resume lookup: the last run of an action on an
environment (and commit) that did not succeed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from keycliq_ops.base.errors import EXIT_INTERNAL
from keycliq_ops.base.signals import interruption
from keycliq_ops.release.session import Session
from keycliq_ops.release.stepper import (
    RESUME_HINT,
    Facts,
    RunResult,
    Sink,
    Step,
    StepEvent,
    StepRecord,
    StepRunner,
    signals_held,
)

if TYPE_CHECKING:
    from keycliq_ops.checklists import ChecklistResult
    from keycliq_ops.ledger import Ledger, StoredRecord
    from keycliq_ops.ops.notify import Notifier
    from keycliq_ops.release.gate_steps import Gates

P = TypeVar("P")


@dataclass(frozen=True)
class Confirmation:
    """What the person confirms: ``question`` answered yes, or, with ``app``, the app's
    name typed (or given with ``--confirm APP``)."""

    question: str
    app: str | None = None


@dataclass
class Action(Generic[P]):
    """One action: what it prepared (``prepared``, e.g. a promotion plan), its steps and
    what it adds to the ledger records and to the summary."""

    name: str  # the ledger's action
    session: Session
    prepared: P
    header: str
    steps: Sequence[Step[Session]]
    confirmation: Confirmation
    gates: Gates | None = None  # checked once before confirmation
    skip: dict[str, str] = field(default_factory=dict)
    resume_record: StoredRecord | None = None
    caveat: str | None = None  # shown with the plan, recorded as the first warning
    ledger_fields: dict[str, Any] = field(default_factory=dict)
    ledger_details: dict[str, Any] = field(default_factory=dict)
    about: dict[str, Any] = field(default_factory=dict)  # summary facts known beforehand
    extras: Callable[[ActionOutcome[P]], dict[str, Any]] | None = None
    follow_up: Callable[[ActionOutcome[P]], Action[Any] | None] | None = None
    # asked first by check(), before anything is recorded: what the whole run needs (a
    # deploy: Heroku answers one GET of the app; a checklist run: it can be answered)
    probe: Callable[[], None] | None = None

    def plan(self) -> list[tuple[str, str, str]]:
        """(step, title, what it would do) for every step; nothing changes."""
        return StepRunner(self.steps, _ignore).plan(self.session)


def _ignore(_event: object) -> None:
    return None


@dataclass(frozen=True)
class Checked(Generic[P]):
    """An action whose run can finish (see :func:`check`), with the facts it starts from."""

    action: Action[P]
    facts: Facts


@dataclass
class ActionOutcome(Generic[P]):
    action: Action[P]
    result: RunResult
    facts: Facts
    ledger_id: str  # the run's id (its start record)
    record_id: str  # the completion record's id
    report: Path | None
    follow_up: ActionOutcome[Any] | None = None
    ledger_sync: dict[str, Any] | None = None  # how sharing the ledger went (None: local)

    @property
    def prepared(self) -> P:
        return self.action.prepared

    @property
    def exit_code(self) -> int:
        return self.result.exit_code

    @property
    def resumed_from(self) -> str | None:
        record = self.action.resume_record
        return record.id if record is not None else None

    def summary(self) -> dict[str, Any]:
        """The result every command prints with ``--json`` (the common keys, then the
        action's own)."""
        s, result, facts = self.action.session, self.result, self.facts
        out: dict[str, Any] = {
            "action": self.action.name,
            "environment": s.env_name,
            "app": s.app,
            "commit": s.commit or None,
            "outcome": result.outcome,
            "exit_code": result.exit_code,
            "failed_step": result.failed_step,
            "error": result.error,
            "hint": result.hint,
            "ledger_id": self.ledger_id,
            "report": str(self.report) if self.report else None,
            "release_version": facts.release.version if facts.release else None,
            "warnings": warnings_of(self.action, facts),
        }
        if self.ledger_sync is not None:
            out["ledger_shared"] = self.ledger_sync["shared"]
            out["ledger_sync"] = self.ledger_sync
            if not self.ledger_sync["shared"]:
                out["warnings"].append(self.ledger_sync["note"])
        out.update(self.action.about)
        if self.action.extras is not None:
            out.update(self.action.extras(self))
        out["steps"] = [step.model_dump(mode="json") for step in result.steps]
        return out


def warnings_of(action: Action[Any], facts: Facts) -> list[str]:
    first = [action.caveat] if action.caveat else []
    return first + [w for w in facts.warnings if w not in first]


# ------------------------------------------------------------------------------ resume


def last_unfinished(
    ledger: Ledger, action: str, env: str, *, commit: str | None = None
) -> StoredRecord | None:
    """The last run of ``action`` on ``env`` (of ``commit``, when given) when it did not
    succeed: its completion record (failed or aborted), or its start record when it never
    completed. None when the last run succeeded, or (with ``commit``) was of another one."""
    completed: set[str] = set()
    for record in ledger.iter(reverse=True):
        if record.action != action or record.environment != env:
            continue
        if record.outcome == "running" and record.id in completed:
            continue
        if commit is not None and record.commit != commit:
            return None
        if record.outcome == "running":
            return record
        if record.ref:
            completed.add(record.ref)
        return record if record.outcome in ("failed", "aborted") else None
    return None


def previous_steps(record: StoredRecord | None) -> dict[str, StepRecord]:
    """The step records of a run being resumed, as the step runner takes them."""
    if record is None:
        return {}
    out: dict[str, StepRecord] = {}
    for step in record.steps:
        out[step.name] = StepRecord.model_validate(
            {
                **step.model_dump(mode="json"),
                "started_at": step.started,
                "title": step.title or step.name,
                "detail": step.detail or "",
                "duration_ms": step.duration_ms or 0,
            }
        )
    return out


def _previous_checklist(record: StoredRecord | None) -> ChecklistResult | None:
    if record is None or not record.checklist:
        return None
    from keycliq_ops.checklists import ChecklistResult

    try:
        return ChecklistResult.model_validate(record.checklist)
    except ValueError:
        return None


# --------------------------------------------------------------------------- lifecycle


def check(action: Action[P]) -> Checked[P]:
    """Before anything changes, once: can the run finish? Raises UsageError (exit 2) when
    not (the checklist cannot be answered, a gate parameter is unknown)."""
    StepRunner(action.steps, _ignore).check_skip(action.skip)
    if action.probe is not None:
        action.probe()
    record = action.resume_record
    facts = Facts(resuming=record is not None, previous_checklist=_previous_checklist(record))
    if action.gates is not None:
        action.gates.check_runnable(facts)
    return Checked(action, facts)


def run_action(checked: Checked[P], sink: Sink) -> ActionOutcome[P]:
    """Lock the environment, record the start, run the steps, record the end (whatever
    happens), write the report; then the follow-up action, if the action has one."""
    from keycliq_ops.ledger import detect_actor
    from keycliq_ops.release.locking import environment_lock

    action = checked.action
    s = action.session
    resumed = action.resume_record
    details = {**action.ledger_details, **({"resumes": resumed.id} if resumed else {})}
    actor_root = s.repo.root if s.repo is not None else s.root
    runner = StepRunner(action.steps, sink)
    recorded: list[StepRecord] = []
    notifier = _notifier(action)  # notify: webhooks, best effort, never fails the run

    def complete(start: StoredRecord, result: RunResult | None) -> StoredRecord:
        facts = runner.facts
        steps = result.steps if result is not None else recorded
        return s.ledger.complete(
            start,
            result.outcome if result is not None else "failed",
            result.exit_code if result is not None else EXIT_INTERNAL,
            actor=detect_actor(actor_root, s.heroku_email),
            steps=[step.model_dump(mode="json") for step in steps],
            build_id=facts.build.id if facts.build else None,
            release_id=facts.release.id if facts.release else None,
            release_version=facts.release.version if facts.release else None,
            checklist=facts.checklist.model_dump(mode="json") if facts.checklist else None,
            dataclips=list(facts.dataclips),
            error=result.error if result is not None else "internal error",
            details={
                **details,
                "warnings": warnings_of(action, facts),
                **notifier.ledger_details(),
            },
            **action.ledger_fields,
        )

    late = False  # a signal came while the completion was written: raised afterwards
    with environment_lock(s.root, s.env_name, action.name):
        begun: StoredRecord | None = None
        result: RunResult | None = None
        interrupted = False
        try:
            with signals_held() as held:  # the start record is written whole
                begun = s.ledger.begin(
                    action.name,
                    s.env_name,
                    app=s.app,
                    commit=s.commit or None,
                    branch=s.branch,
                    actor=detect_actor(actor_root, _heroku_email(s)),
                    details=details,
                    **action.ledger_fields,
                )
            if held.came:
                raise KeyboardInterrupt
            notifier.started(begun.id)
            result = runner.run(
                s,
                skip=action.skip,
                previous=previous_steps(resumed),
                facts=checked.facts,
                on_step=recorded.append,
            )
            _notify_finished(notifier, result, runner.facts)
        except KeyboardInterrupt:
            if begun is None:
                raise  # nothing was recorded, nothing was done
            interrupted = True  # between two steps, or after the last one
        finally:
            # Whatever happens (a signal, an unexpected error), never leave only a
            # `running` record behind; a signal before the end is recorded ends it aborted.
            if begun is not None:
                while True:
                    try:
                        with signals_held() as held:
                            if interrupted or held.came:
                                result = aborted_result(result, recorded, runner.steps)
                            end = complete(begun, result)
                            report = write_report(s, end)
                            record_gate_history(s, action.name, end, runner.facts)
                        break
                    except KeyboardInterrupt:  # came before the signals were held
                        interrupted = True
                late = bool(held.came) and result is not None and result.outcome != "aborted"
    assert result is not None  # an unexpected error propagated from the finally above
    shared = s.ledger.last_sync if s.ledger.remote is not None else None
    if shared is not None and not shared.shared:
        sink(StepEvent(kind="note", text=shared.note()))
    outcome = ActionOutcome(
        action=action,
        result=result,
        facts=runner.facts,
        ledger_id=end.ref or end.id,
        record_id=end.id,
        report=report,
        ledger_sync={**shared.model_dump(mode="json"), "note": shared.note()} if shared else None,
    )
    if late:
        raise KeyboardInterrupt
    if action.follow_up is not None:
        then = action.follow_up(outcome)
        if then is not None:
            outcome.follow_up = run_action(check(then), sink)
    return outcome


def _heroku_email(session: Session) -> str | None:
    """The Heroku account every record names as the actor (asked once per session; a
    failure to ask leaves it unknown, it never stops the action)."""
    from keycliq_ops.base.errors import KeycliqError

    try:
        return session.account().email
    except KeycliqError:
        return session.heroku_email


def aborted_result(
    result: RunResult | None, recorded: Sequence[StepRecord], steps: Sequence[Step[Session]]
) -> RunResult:
    """The run as aborted by a signal that came outside a step: between two steps, after
    the last one, or before its end was recorded (exit 130, 143 for SIGTERM)."""
    code, words = interruption()
    if result is not None and result.outcome == "aborted":
        return result
    done = list(result.steps if result is not None else recorded)
    done += [
        StepRecord(name=st.name, title=st.title, status="not-run") for st in steps[len(done) :]
    ]
    ran = [r for r in done if r.status != "not-run"]
    last = ran[-1].name if ran else None
    if result is not None and result.outcome == "failed":
        error = f"{words} after {result.failed_step} failed: {result.error}"
        hint = result.hint
    elif len(ran) == len(done):
        error = f"{words} after the last step ({last}); every step had finished"
        hint = "run the same command with --resume to record the run (nothing is repeated)"
    else:
        after = f" after {last}" if last else " before the first step"
        error = f"{words}{after}"
        hint = RESUME_HINT
    return RunResult(
        outcome="aborted",
        exit_code=code,
        steps=done,
        failed_step=result.failed_step if result is not None else None,
        error=error,
        hint=hint,
        duration_ms=result.duration_ms if result is not None else 0,
    )


def write_report(session: Session, record: StoredRecord) -> Path:
    """The Markdown report of the run, named by ledger id and commit, in the reports folder."""
    from keycliq_ops.base.fsutil import atomic_write
    from keycliq_ops.ledger.reports import render_markdown

    run = session.ledger.run(record.ref or record.id)
    path = session.loaded.reports_dir / f"{run.start.id}-{(session.commit or 'unknown')[:8]}.md"
    atomic_write(path, render_markdown(run, session.ledger.verify()))
    return path


def record_gate_history(session: Session, source: str, record: StoredRecord, facts: Facts) -> None:
    """The numbers the run's gates found (its checklist's Dataclip items, then its Dataclip
    gate: the gate's values win for a check both ran), as one line of the Dataclip history
    with the action as its source, so that ``keycliq dataclips trend`` shows them. Nothing
    when no Dataclip ran; a history that cannot be written costs the run nothing."""
    from datetime import UTC, datetime

    from filelock import Timeout

    from keycliq_ops.dataclips.history import action_record, append_line

    checks: dict[str, dict[str, Any]] = {}
    if facts.checklist is not None:
        for item in facts.checklist.items:
            for summary in item.checks or ():
                checks[summary.id] = {"verdict": summary.verdict, "numbers": summary.numbers}
    for gate in facts.dataclips:
        if gate.get("id"):
            checks[str(gate["id"])] = {
                "verdict": gate.get("verdict"),
                "numbers": gate.get("numbers") or {},
            }
    if not checks:
        return
    entry = action_record(
        at=datetime.now(UTC),
        target=session.app,
        source=source,
        ledger_id=record.ref or record.id,
        checks=checks,
    )
    try:
        append_line(session.loaded.history_path, entry)
    except (OSError, Timeout):
        return


def _notifier(action: Action[Any]) -> Notifier:
    """The webhooks of ``notify:`` for this run (no-op for actions that send none)."""
    from keycliq_ops.ops.notify import Notifier

    s = action.session
    return Notifier.for_action(
        s.loaded.config.notify,
        action.name,
        environment=s.env_name,
        app=s.app,
        commit=s.commit or None,
    )


def _notify_finished(notifier: Notifier, result: RunResult, facts: Facts) -> None:
    """``<action>.finished`` (and ``gate.failed``), waited for within the targets' timeouts."""
    if notifier.active:
        notifier.finished(
            outcome=result.outcome,
            exit_code=result.exit_code,
            release_version=facts.release.version if facts.release else None,
            failed_step=result.failed_step,
            error=result.error,
        )
