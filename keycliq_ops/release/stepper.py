"""A small step engine: run named steps in order, report progress, stop at the first failure.

Each step declares its name, a one-line plan (what it would do: commands, API calls), whether
it may be skipped, how to tell it already happened (for ``--resume``), and how to run. The
engine never prints: it sends :class:`Event` objects to a sink the CLI renders (rich in a
terminal, plain lines otherwise, one JSON object per line with ``--json``). It returns a
:class:`RunResult` whose step records the ledger stores.

Steps never write into shared state: each returns a :class:`StepOutcome` whose typed facts
(the build, the release, the checklist result, Dataclip verdicts, warnings …) the runner
merges into a read-only :class:`Facts` that the next steps read and the lifecycle records.
A step that fails after learning something returns an outcome with ``error`` set (the facts
are kept); one that fails before raises its :class:`KeycliqError`.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, Field

from keycliq_ops.base.errors import (
    EXIT_GATE,
    EXIT_OK,
    Interrupted,
    KeycliqError,
    UsageError,
)
from keycliq_ops.base.signals import interruption, note_signal

if TYPE_CHECKING:
    from keycliq_ops.adapters.heroku.resources import Build, Release
    from keycliq_ops.checklists import ChecklistResult

StepStatus = Literal["succeeded", "failed", "skipped", "aborted", "done-before", "not-run"]
C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)


class StepRecord(BaseModel):
    """What happened to one step; stored in the ledger."""

    name: str
    title: str
    status: StepStatus
    started_at: datetime | None = None
    duration_ms: int = 0
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    output_tail: list[str] = Field(default_factory=list)
    hint: str | None = None


class RunResult(BaseModel):
    """The outcome of a whole run of steps."""

    outcome: Literal["succeeded", "failed", "aborted"]
    exit_code: int
    steps: list[StepRecord]
    failed_step: str | None = None
    error: str | None = None
    hint: str | None = None
    duration_ms: int = 0

    def step(self, name: str) -> StepRecord | None:
        return next((s for s in self.steps if s.name == name), None)


@dataclass
class StepEvent:
    """A progress event. ``kind``: plan, start, line, note, finish, summary."""

    kind: Literal["plan", "start", "line", "note", "finish", "summary"]
    step: str | None = None
    title: str | None = None
    text: str | None = None
    record: StepRecord | None = None
    result: RunResult | None = None
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event": self.kind,
            "at": datetime.fromtimestamp(self.at, UTC).isoformat(),
        }
        if self.step:
            out["step"] = self.step
        if self.title:
            out["title"] = self.title
        if self.text is not None:
            out["text"] = self.text
        if self.record is not None:
            out["record"] = self.record.model_dump(mode="json")
        if self.result is not None:
            out["result"] = self.result.model_dump(mode="json")
        return out


Sink = Callable[[StepEvent], None]


class StepIO:
    """What a running step may use to report: output lines and notes (never print)."""

    def __init__(self, step: str, sink: Sink, tail_size: int = 40) -> None:
        self._step = step
        self._sink = sink
        self.tail: list[str] = []
        self._tail_size = tail_size

    def line(self, text: str) -> None:
        """One line of streamed output (build log, test output, release phase …)."""
        text = text.rstrip("\n")
        self.tail.append(text)
        if len(self.tail) > self._tail_size:
            del self.tail[0]
        self._sink(StepEvent("line", step=self._step, text=text))

    def note(self, text: str) -> None:
        """A short status note shown with the step (e.g. 'build 3f2a… pending')."""
        self._sink(StepEvent("note", step=self._step, text=text))


@dataclass
class StepOutcome:
    """A step's own account: what it did (``detail``, ``data`` for its record) and the
    facts it learnt. ``error``: the step failed after learning them (recorded, kept)."""

    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False
    error: KeycliqError | None = None
    build: Build | None = None
    release: Release | None = None
    checklist: ChecklistResult | None = None
    dataclips: list[dict[str, Any]] | None = None
    promotion_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    stale_build: bool = False  # the push changed nothing: the build found is an earlier run's


@dataclass(frozen=True)
class Facts:
    """What the steps of one run learnt so far (read-only; the runner makes a new one per
    step), and what the run started from (``resuming``: the records of an unfinished run
    are being continued; ``previous_checklist``: that run's checklist result)."""

    resuming: bool = False
    previous_checklist: ChecklistResult | None = None
    build: Build | None = None
    release: Release | None = None
    checklist: ChecklistResult | None = None
    dataclips: tuple[dict[str, Any], ...] = ()
    promotion_id: str | None = None
    warnings: tuple[str, ...] = ()
    stale_build: bool = False  # the app already had this commit: its build is from before

    def merged(self, got: StepOutcome) -> Facts:
        """These facts with what ``got`` learnt (a fact given replaces the one known)."""
        return dataclasses.replace(
            self,
            build=got.build or self.build,
            release=got.release or self.release,
            checklist=got.checklist or self.checklist,
            dataclips=self.dataclips if got.dataclips is None else tuple(got.dataclips),
            promotion_id=got.promotion_id or self.promotion_id,
            warnings=self.warnings + tuple(w for w in got.warnings if w not in self.warnings),
            stale_build=got.stale_build or self.stale_build,
        )


class Step(Protocol[C_contra]):
    @property
    def name(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def skippable(self) -> bool: ...

    def plan(self, ctx: C_contra) -> str: ...

    def already_done(
        self, ctx: C_contra, facts: Facts, previous: StepRecord | None
    ) -> StepOutcome | None:
        """An outcome when this step's work already happened (resume), else None."""
        ...

    def run(self, ctx: C_contra, facts: Facts, io: StepIO) -> StepOutcome: ...


def passed_before(facts: Facts, previous: StepRecord | None) -> bool:
    """On resume: whether this step succeeded in the run being resumed."""
    return bool(facts.resuming and previous and previous.status in ("succeeded", "done-before"))


def resumed_value(facts: Facts, previous: StepRecord | None, key: str) -> str | None:
    """On resume: what this step recorded under ``key`` in the run being resumed, when it
    succeeded there (e.g. the id of the release it made); else None."""
    if previous is None or not passed_before(facts, previous):
        return None
    value = previous.data.get(key)
    return str(value) if value else None


def made_before(what: str, previous: StepRecord | None, **facts: Any) -> StepOutcome:
    """On resume: ``what`` the run being resumed made is reused (its record's data kept)."""
    return StepOutcome(
        detail=f"{what} was created by the run being resumed",
        data=previous.data if previous else {},
        **facts,
    )


class StepBase:
    """What most steps are: not skippable, and with nothing to resume (run again on
    ``--resume``). A step says so where it differs: ``resumed_detail`` set means that a step
    which succeeded in the run being resumed is not run again (the detail says why)."""

    skippable = False
    resumed_detail: str | None = None

    def already_done(
        self, ctx: Any, facts: Facts, previous: StepRecord | None
    ) -> StepOutcome | None:
        if self.resumed_detail is not None and passed_before(facts, previous):
            return StepOutcome(detail=self.resumed_detail)
        return None


class StepRunner(Generic[C]):
    """Runs steps in order, stopping at the first failure."""

    def __init__(
        self, steps: Sequence[Step[C]], sink: Sink, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        names = [s.name for s in steps]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate step names in {names}")
        self.steps = list(steps)
        self._sink = sink
        self._clock = clock
        self.facts = Facts()

    def check_skip(self, skip: Mapping[str, str]) -> None:
        """UsageError (exit 2) unless every step named in ``skip`` exists and may be
        skipped; the message names the steps that may be."""
        may = [s.name for s in self.steps if s.skippable]
        for name in skip:
            step = next((s for s in self.steps if s.name == name), None)
            if step is None:
                raise UsageError(
                    f"--skip {name}: no such step (steps: {', '.join(s.name for s in self.steps)})",
                    hint="skippable: " + (", ".join(may) or "none"),
                )
            if not step.skippable:
                raise UsageError(
                    f"--skip {name}: step {name!r} cannot be skipped",
                    hint="skippable: " + (", ".join(may) or "none"),
                )

    def plan(self, ctx: C) -> list[tuple[str, str, str]]:
        """(name, title, what it would do) for every step."""
        return [(s.name, s.title, s.plan(ctx)) for s in self.steps]

    def run(
        self,
        ctx: C,
        *,
        skip: Mapping[str, str] | None = None,
        previous: Mapping[str, StepRecord] | None = None,
        facts: Facts | None = None,
        on_step: Callable[[StepRecord], None] | None = None,
    ) -> RunResult:
        """Run every step. ``skip``: step → reason; ``previous``: records of a run to resume;
        ``facts``: what the run starts from. The facts learnt are ``self.facts`` afterwards
        (also when a step raised).

        A ``KeyboardInterrupt`` ends the run as ``aborted`` (exit 130, or 143 after a
        SIGTERM: see :func:`interruption`) at the running step;
        a :class:`KeycliqError` fails it with that error's exit code; any other exception
        propagates (a bug) after the step is recorded as failed.
        """
        skip = dict(skip or {})
        self.check_skip(skip)
        records: list[StepRecord] = []
        started = self._clock()
        outcome: Literal["succeeded", "failed", "aborted"] = "succeeded"
        exit_code = EXIT_OK
        failed_step = error = hint = None
        self.facts = facts if facts is not None else Facts()

        for step in self.steps:
            t0 = self._clock()
            wall = datetime.now(UTC)
            self._sink(StepEvent("start", step=step.name, title=step.title))
            io = StepIO(step.name, self._sink)
            record: StepRecord
            got: StepOutcome | None = None
            try:
                if step.name in skip:
                    record = StepRecord(
                        name=step.name,
                        title=step.title,
                        status="skipped",
                        started_at=wall,
                        detail=f"skipped: {skip[step.name]}",
                    )
                else:
                    done = step.already_done(ctx, self.facts, (previous or {}).get(step.name))
                    got = done if done is not None else step.run(ctx, self.facts, io)
                    self.facts = self.facts.merged(got)
                    if got.error is not None:
                        raise got.error
                    status: StepStatus = (
                        "done-before"
                        if done is not None
                        else ("skipped" if got.skipped else "succeeded")
                    )
                    record = StepRecord(
                        name=step.name,
                        title=step.title,
                        status=status,
                        started_at=wall,
                        detail=got.detail,
                        data=got.data,
                    )
            except (KeyboardInterrupt, Interrupted):
                code, words = interruption()
                record = StepRecord(
                    name=step.name,
                    title=step.title,
                    status="aborted",
                    started_at=wall,
                    detail=words,
                )
                outcome, exit_code, failed_step = "aborted", code, step.name
                error = f"{words} during {step.name}"
                hint = RESUME_HINT
            except KeycliqError as exc:
                record = StepRecord(
                    name=step.name,
                    title=step.title,
                    status="failed",
                    started_at=wall,
                    detail=exc.message,
                    hint=exc.hint,
                    data=got.data if got is not None and got.error is exc else {},
                )
                outcome, exit_code, failed_step = "failed", exc.exit_code, step.name
                error, hint = exc.message, exc.hint
            except BaseException:
                record = StepRecord(
                    name=step.name,
                    title=step.title,
                    status="failed",
                    started_at=wall,
                    detail="internal error",
                )
                record.duration_ms = int((self._clock() - t0) * 1000)
                record.output_tail = list(io.tail)
                records.append(record)
                if on_step:
                    on_step(record)
                raise
            record.duration_ms = int((self._clock() - t0) * 1000)
            record.output_tail = list(io.tail) if record.status in ("failed", "aborted") else []
            records.append(record)
            self._sink(StepEvent("finish", step=step.name, title=step.title, record=record))
            if on_step:
                on_step(record)
            if outcome != "succeeded":
                break

        for step in self.steps[len(records) :]:
            records.append(StepRecord(name=step.name, title=step.title, status="not-run"))
        if outcome == "failed" and exit_code == EXIT_OK:  # pragma: no cover - defensive
            exit_code = EXIT_GATE
        result = RunResult(
            outcome=outcome,
            exit_code=exit_code,
            steps=records,
            failed_step=failed_step,
            error=error,
            hint=hint,
            duration_ms=int((self._clock() - started) * 1000),
        )
        self._sink(StepEvent("summary", result=result))
        return result


# ---------------------------------------------------------------------------- signals
# note_signal, forget_signals, interruption: keycliq_ops.base.signals (re-exported here)

RESUME_HINT = "run the same command with --resume to continue from this step"


@dataclass
class HeldSignals:
    """The signals that came while they were held (see :func:`signals_held`)."""

    came: list[int] = field(default_factory=list)


@contextmanager
def signals_held() -> Iterator[HeldSignals]:
    """SIGINT and SIGTERM are held while the block runs (a ledger record being written
    must be written whole): one that comes is noted (:func:`interruption` knows it) and
    listed in ``came``, for the caller to act on; nothing is raised. Outside the main
    thread (where Python runs no signal handler) this holds nothing."""
    held = HeldSignals()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def hold(signum: int, _frame: object) -> None:
        note_signal(signum)
        held.came.append(signum)

    previous: dict[signal.Signals, Any] = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            current = signal.getsignal(sig)
            if current != signal.SIG_IGN:  # an ignored signal stays ignored
                previous[sig] = signal.signal(sig, hold)
        yield held
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
