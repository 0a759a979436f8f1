from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import pytest

from keycliq_ops.base.errors import ExternalError, GateFailed, UsageError
from keycliq_ops.cli.progress import JsonSink, PlainSink
from keycliq_ops.release.stepper import (
    Facts,
    StepEvent,
    StepIO,
    StepOutcome,
    StepRecord,
    StepRunner,
)


@dataclass
class Ctx:
    ran: list[str] = field(default_factory=list)


@dataclass
class FakeStep:
    name: str
    fail: BaseException | None = None
    skippable: bool = False
    done: bool = False
    lines: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.name.capitalize()

    def plan(self, ctx: Ctx) -> str:
        return f"would {self.name}"

    def already_done(
        self, ctx: Ctx, facts: Facts, previous: StepRecord | None
    ) -> StepOutcome | None:
        if self.done and previous is not None and previous.status == "succeeded":
            return StepOutcome(detail="already done")
        return None

    def run(self, ctx: Ctx, facts: Facts, io: StepIO) -> StepOutcome:
        ctx.ran.append(self.name)
        for line in self.lines:
            io.line(line)
        if self.fail is not None:
            raise self.fail
        return StepOutcome(detail=f"{self.name} ok", data={"n": 1})


def collect() -> tuple[list[StepEvent], object]:
    events: list[StepEvent] = []
    return events, events.append


def test_all_steps_succeed_in_order() -> None:
    events, sink = collect()
    ctx = Ctx()
    result = StepRunner([FakeStep("a"), FakeStep("b", lines=("x", "y"))], sink).run(ctx)  # type: ignore[arg-type]
    assert ctx.ran == ["a", "b"]
    assert result.outcome == "succeeded" and result.exit_code == 0
    assert [s.status for s in result.steps] == ["succeeded", "succeeded"]
    assert [e.kind for e in events] == [
        "start",
        "finish",
        "start",
        "line",
        "line",
        "finish",
        "summary",
    ]


def test_gate_failure_stops_with_exit_1_and_keeps_the_tail() -> None:
    _events, sink = collect()
    ctx = Ctx()
    steps = [
        FakeStep("a"),
        FakeStep(
            "b",
            fail=GateFailed("tests failed", hint="fix them"),
            lines=tuple(f"l{i}" for i in range(60)),
        ),
        FakeStep("c"),
    ]
    result = StepRunner(steps, sink).run(ctx)  # type: ignore[arg-type]
    assert ctx.ran == ["a", "b"]
    assert result.outcome == "failed" and result.exit_code == 1
    assert (
        result.failed_step == "b" and result.error == "tests failed" and result.hint == "fix them"
    )
    b = result.step("b")
    assert b is not None and b.output_tail[-1] == "l59" and len(b.output_tail) == 40
    assert [s.status for s in result.steps] == ["succeeded", "failed", "not-run"]


def test_outside_failure_is_exit_3() -> None:
    _, sink = collect()
    result = StepRunner([FakeStep("a", fail=ExternalError("API down"))], sink).run(Ctx())  # type: ignore[arg-type]
    assert result.exit_code == 3 and result.outcome == "failed"


def test_ctrl_c_aborts_at_the_running_step() -> None:
    _, sink = collect()
    result = StepRunner([FakeStep("a"), FakeStep("b", fail=KeyboardInterrupt())], sink).run(Ctx())  # type: ignore[arg-type]
    assert result.outcome == "aborted" and result.exit_code == 130
    assert result.failed_step == "b"
    assert result.hint and "--resume" in result.hint


def test_skip_only_skippable_steps() -> None:
    _, sink = collect()
    ctx = Ctx()
    pipe = StepRunner([FakeStep("a", skippable=True), FakeStep("b")], sink)  # type: ignore[list-item]
    result = pipe.run(ctx, skip={"a": "flaky in CI"})
    assert ctx.ran == ["b"]
    assert result.steps[0].status == "skipped" and "flaky in CI" in result.steps[0].detail
    with pytest.raises(UsageError, match="cannot be skipped") as refused:
        pipe.run(ctx, skip={"b": "no"})
    assert refused.value.exit_code == 2 and refused.value.hint == "skippable: a"
    with pytest.raises(UsageError, match=r"no such step \(steps: a, b\)"):
        pipe.run(ctx, skip={"zzz": "no"})


def test_resume_does_not_repeat_work_already_done() -> None:
    _, sink = collect()
    ctx = Ctx()
    previous = {"a": StepRecord(name="a", title="A", status="succeeded")}
    result = StepRunner([FakeStep("a", done=True), FakeStep("b")], sink).run(ctx, previous=previous)  # type: ignore[list-item]
    assert ctx.ran == ["b"]
    assert result.steps[0].status == "done-before"


def test_unexpected_exception_propagates_after_recording() -> None:
    _, sink = collect()
    seen: list[StepRecord] = []
    with pytest.raises(ZeroDivisionError):
        StepRunner([FakeStep("a", fail=ZeroDivisionError())], sink).run(Ctx(), on_step=seen.append)  # type: ignore[list-item]
    assert seen[0].status == "failed"


def test_plain_and_json_sinks_render_every_event() -> None:
    plain, js = io.StringIO(), io.StringIO()
    p, j = PlainSink(plain), JsonSink(js)

    def both(e: StepEvent) -> None:
        p(e)
        j(e)

    steps = [FakeStep("a", lines=("hello",)), FakeStep("b", fail=GateFailed("nope", hint="h"))]
    StepRunner(steps, both).run(Ctx())  # type: ignore[arg-type]
    text = plain.getvalue()
    assert "==> A" in text and "    | hello" in text and "✗ B [failed" in text and "hint: h" in text
    events = [json.loads(line) for line in js.getvalue().splitlines()]
    assert events[-1]["event"] == "summary"
    assert events[-1]["result"]["outcome"] == "failed"
    assert {e["event"] for e in events} == {"start", "line", "finish", "summary"}
