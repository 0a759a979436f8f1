"""The checks every action ends with: the environment's checklist and its Dataclip gate.

:class:`Gates` holds what they need, read once per action: the checklist file (parsed at
most once, for the check before anything changes and for the walk) and the Dataclip
catalogue. :meth:`Gates.check_runnable` is the check the lifecycle runs once, before it
asks for confirmation; :class:`ChecklistStep` and :class:`DataclipGateStep` are the steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from keycliq_ops.base.errors import GateFailed, KeycliqError, UsageError
from keycliq_ops.dataclips.verdicts import failing_ids
from keycliq_ops.release.session import Session
from keycliq_ops.release.stepper import Facts, StepBase, StepIO, StepOutcome, StepRecord

if TYPE_CHECKING:
    from keycliq_ops.checklists import Checklist, ChecklistContext, ChecklistResult
    from keycliq_ops.dataclips import Catalog


@dataclass
class Gates:
    """The checklist and Dataclips of ``session``'s environment, loaded once."""

    session: Session
    skip: dict[str, str] = field(default_factory=dict)

    @property
    def checklist_name(self) -> str | None:
        s = self.session
        name = s.env.checklist
        if name is None and (s.loaded.checklists_dir / f"{s.env_name}.yaml").exists():
            name = s.env_name
        return name

    @cached_property
    def checklist(self) -> Checklist | None:
        """The checklist file, parsed (once), or None when there is none."""
        from keycliq_ops.checklists import find_checklist, load_checklist

        name = self.checklist_name
        if name is None:
            return None
        return load_checklist(find_checklist(self.session.loaded.checklists_dir, name))

    @cached_property
    def catalog(self) -> Catalog:
        from keycliq_ops.dataclips import load_catalog

        return load_catalog(self.session.loaded.dataclips_dir)

    def input_names(self) -> dict[str, str]:
        """``{item id: name}`` of the checklist's input items (what it captures)."""
        from keycliq_ops.checklists.items import InputItem

        checklist = self.checklist
        if checklist is None:
            return {}
        return {item.id: item.name for _, item in checklist.items() if isinstance(item, InputItem)}

    def context(self, facts: Facts, io: StepIO | None = None) -> ChecklistContext:
        """The checklist engine's view of this run (one place: the check and the walk)."""
        from keycliq_ops.checklists import ChecklistContext, EngineRunner
        from keycliq_ops.checklists.wiring import DynoCommandRunner
        from keycliq_ops.release.oneoff import run_attached_lines

        s = self.session

        def on_event(event: object) -> None:
            result = getattr(event, "result", None)
            if io is not None and getattr(event, "kind", "") == "done" and result is not None:
                answer = f" = {result.answer}" if getattr(result, "answer", None) else ""
                own = " (keycliq's own)" if result.source == "keycliq" else ""
                io.line(f"[{result.verdict}] {result.id}{answer}{own}")
                if result.verdict != "passed" and result.reason:
                    io.line(f"    {result.reason}")
                if result.verdict == "failed" and result.output:
                    io.line("    output (last lines):")
                    for text in result.output.splitlines()[-15:]:
                        io.line(f"    | {text}")

        def attached(
            app: str, command: str, on_line: Callable[[str], None], timeout: float
        ) -> tuple[int, str | None]:
            return run_attached_lines(s.client, app, command, on_line, timeout=timeout)

        return ChecklistContext(
            env=s.env_name,
            app=s.app,
            app_url=s.app_url(),
            commit=s.commit,
            prompter=s.prompter,
            dataclip_runner=EngineRunner(s.loaded.dataclips_dir, s.loaded.config.dataclips),
            database_url=s.database_url,
            dyno_runner=DynoCommandRunner(s.app, attached),
            params=s.params,
            actor=s.heroku_email or "unknown",
            cwd=s.root,
            on_event=on_event,
            secrets=[v for v in s.config_vars().values() if len(v) >= 8],
        )

    def check_runnable(self, facts: Facts) -> None:
        """Before anything changes: the checklist can be answered and checked (a terminal or
        an answers file that answers every required item; its URL and database known), and
        every required parameter of the Dataclip gate will be known. Raises UsageError."""
        if "checklist" not in self.skip and self.checklist is not None:
            from keycliq_ops.checklists import check_checklist

            resume = facts.previous_checklist if facts.resuming else None
            check_checklist(self.checklist, self.context(facts), resume=resume)
        self.check_gate_params()

    def check_gate_params(self) -> None:
        """Every required parameter of the environment's Dataclips is given (``--param``)
        or captured by an input item of the checklist that will run (a promotion must not
        be half done for want of a ``userId``)."""
        s = self.session
        skipped = "checklist" in self.skip
        captured = set() if skipped else set(self.input_names().values())
        for clip_id in s.env.effective_dataclips():
            clip = self.catalog.get(clip_id)
            for param in clip.params:
                if param.required and param.name not in s.params and param.name not in captured:
                    raise UsageError(
                        f"Dataclip {clip.id} of {s.env_name}'s gate needs the parameter "
                        f"{param.name}, and nothing gives it"
                        + (" (the checklist is skipped)" if skipped else ""),
                        hint=f"pass --param {param.name}=VALUE"
                        + (f" (e.g. {param.description})" if param.description else ""),
                    )

    def captured_inputs(self, result: ChecklistResult | None) -> dict[str, str]:
        """``{name: value}`` of the input items the checklist of this run captured."""
        if result is None:
            return {}
        same = self.checklist is not None and result.checklist == self.checklist.name
        names = self.input_names() if same else {}
        return {
            names[i.id]: i.answer
            for i in result.items
            if i.id in names and i.verdict == "passed" and i.answer is not None
        }


@dataclass
class ChecklistStep(StepBase):
    """Walk the environment's checklist (prompts in a terminal, an answers file in CI)."""

    gates: Gates
    name: str = "checklist"
    title: str = "Checklist"
    skippable: bool = True

    def plan(self, session: Session) -> str:
        name = self.gates.checklist_name
        if name is None:
            return "no checklist configured for this environment"
        how = getattr(session.prompter, "description", None) or "no prompter: fails if it must ask"
        return f"walk checklist {name!r} (answers: {how})"

    def already_done(
        self, session: Session, facts: Facts, previous: StepRecord | None
    ) -> StepOutcome | None:
        if previous is not None and previous.status in ("succeeded", "done-before"):
            return StepOutcome(detail="passed in the run being resumed", data=previous.data)
        return None

    def run(self, session: Session, facts: Facts, io: StepIO) -> StepOutcome:
        from keycliq_ops.checklists import run_checklist

        checklist = self.gates.checklist
        if checklist is None:
            return StepOutcome(detail="no checklist for this environment", skipped=True)
        previous = facts.previous_checklist if facts.resuming else None
        result = run_checklist(checklist, self.gates.context(facts, io), resume=previous)
        counts = {
            v: sum(1 for i in result.items if i.verdict == v)
            for v in ("passed", "failed", "skipped")
        }
        got = StepOutcome(
            detail=f"{checklist.name}: {result.verdict} ({counts['passed']} passed, "
            f"{counts['failed']} failed, {counts['skipped']} skipped)",
            data={"checklist": checklist.name, "verdict": result.verdict},
            checklist=result,
        )
        try:
            result.raise_for_verdict()
        except KeycliqError as exc:
            got.error = exc
        return got


@dataclass
class DataclipGateStep(StepBase):
    """Run the environment's Dataclips against its database; a failing check fails."""

    gates: Gates
    name: str = "dataclips"
    title: str = "Dataclip gate"

    def plan(self, session: Session) -> str:
        ids = " ".join(session.env.effective_dataclips())
        return f"run Dataclips {ids} read-only against {session.app}'s DATABASE_URL"

    # --resume: always re-checked: the data may have changed since

    def run(self, session: Session, facts: Facts, io: StepIO) -> StepOutcome:
        from keycliq_ops.dataclips import run_dataclips

        # The values the checklist captured (e.g. the test user's id) feed the checks;
        # --param values win.
        params = {**self.gates.captured_inputs(facts.checklist), **session.params}
        ids = session.env.effective_dataclips()
        run = run_dataclips(
            self.gates.catalog,
            ids,
            session.database_url(),
            params=params,
            settings=session.loaded.config.dataclips,
        )
        verdicts = [
            {"id": r.id, "verdict": r.verdict, "numbers": dict(r.numbers)} for r in run.results
        ]
        for r in run.results:
            extra = f": {r.error}" if r.error else ""
            io.line(f"{r.id:<3} {r.verdict:<5} {r.title}{extra}")
        bad = failing_ids(run.results)
        warned = [r.id for r in run.results if r.verdict == "warn"]
        detail = f"{' '.join(r.id for r in run.results)} passed"
        if warned:
            detail += f" ({len(warned)} warning: {', '.join(warned)})"
        got = StepOutcome(
            detail=detail,
            data={"verdicts": {r.id: r.verdict for r in run.results}},
            dataclips=verdicts,
        )
        if bad:
            got.data = {}
            got.error = GateFailed(
                f"Dataclips failed: {', '.join(bad)}",
                hint=f"see `keycliq dataclips run {' '.join(bad)} -e {session.env_name}` "
                "for the failing rows",
            )
        return got
