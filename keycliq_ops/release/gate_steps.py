"""Steps shared by deploy, promote and rollback: the checklist and the Dataclip gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from keycliq_ops.base.errors import GateFailed, UsageError
from keycliq_ops.release.session import ReleaseContext
from keycliq_ops.release.stepper import StepIO, StepOutcome, StepRecord

if TYPE_CHECKING:
    from keycliq_ops.checklists import Checklist, ChecklistContext


@dataclass
class ChecklistStep:
    """Walk the environment's checklist (prompts in a terminal, an answers file in CI)."""

    name: str = "checklist"
    title: str = "Checklist"
    skippable: bool = True

    def _checklist_name(self, ctx: ReleaseContext) -> str | None:
        name = ctx.env.checklist
        if name is None and (ctx.loaded.checklists_dir / f"{ctx.env_name}.yaml").exists():
            name = ctx.env_name
        return name

    def plan(self, ctx: ReleaseContext) -> str:
        name = self._checklist_name(ctx)
        if name is None:
            return "no checklist configured for this environment"
        how = getattr(ctx.prompter, "description", None) or "no prompter: fails if it must ask"
        return f"walk checklist {name!r} (answers: {how})"

    def already_done(self, ctx: ReleaseContext, previous: StepRecord | None) -> StepOutcome | None:
        if previous is not None and previous.status in ("succeeded", "done-before"):
            return StepOutcome(detail="passed in the run being resumed", data=previous.data)
        return None

    def load(self, ctx: ReleaseContext) -> Checklist | None:
        from keycliq_ops.checklists import find_checklist, load_checklist

        name = self._checklist_name(ctx)
        if name is None:
            return None
        return load_checklist(find_checklist(ctx.loaded.checklists_dir, name))

    def context(self, ctx: ReleaseContext, io: StepIO | None = None) -> ChecklistContext:
        """The checklist engine's view of this run (one place: the check and the walk)."""
        from keycliq_ops.checklists import ChecklistContext, EngineRunner

        def on_event(event: object) -> None:
            result = getattr(event, "result", None)
            if io is not None and getattr(event, "kind", "") == "done" and result is not None:
                answer = f" = {result.answer}" if getattr(result, "answer", None) else ""
                io.line(f"[{result.verdict}] {result.id}{answer}")

        return ChecklistContext(
            env=ctx.env_name,
            app=ctx.app,
            app_url=ctx.app_url(),
            commit=ctx.commit,
            prompter=ctx.prompter,
            dataclip_runner=EngineRunner(ctx.loaded.dataclips_dir, ctx.loaded.config.dataclips),
            database_url=ctx.db_url,
            params=ctx.params,
            actor=ctx.heroku_email or "unknown",
            cwd=ctx.root,
            on_event=on_event,
            secrets=[v for v in ctx.config_vars().values() if len(v) >= 8],
        )

    def run(self, ctx: ReleaseContext, io: StepIO) -> StepOutcome:
        from keycliq_ops.checklists import run_checklist

        checklist = self.load(ctx)
        if checklist is None:
            return StepOutcome(detail="no checklist for this environment", skipped=True)
        name = checklist.name
        run_ctx = self.context(ctx, io)
        previous = ctx.previous_checklist if ctx.resume else None
        result = run_checklist(checklist, run_ctx, resume=previous)
        ctx.checklist_result = result
        counts = {
            v: sum(1 for i in result.items if i.verdict == v)
            for v in ("passed", "failed", "skipped")
        }
        detail = (
            f"{name}: {result.verdict} ({counts['passed']} passed, {counts['failed']} "
            f"failed, {counts['skipped']} skipped)"
        )
        result.raise_for_verdict()
        return StepOutcome(detail=detail, data={"checklist": name, "verdict": result.verdict})


@dataclass
class DataclipGateStep:
    """Run the environment's Dataclips against its database; a failing check fails."""

    name: str = "dataclips"
    title: str = "Dataclip gate"
    skippable: bool = False

    def plan(self, ctx: ReleaseContext) -> str:
        ids = " ".join(ctx.env.effective_dataclips())
        return f"run Dataclips {ids} read-only against {ctx.app}'s DATABASE_URL"

    def already_done(self, ctx: ReleaseContext, previous: StepRecord | None) -> StepOutcome | None:
        return None  # always re-checked: the data may have changed since

    def run(self, ctx: ReleaseContext, io: StepIO) -> StepOutcome:
        from keycliq_ops.dataclips import load_catalog, run_dataclips

        # The values the checklist captured (e.g. the test user's id) feed the checks;
        # --param values win.
        ctx.params = {**captured_inputs(ctx), **ctx.params}
        ids = ctx.env.effective_dataclips()
        catalog = load_catalog(ctx.loaded.dataclips_dir)
        run = run_dataclips(
            catalog, ids, ctx.db_url(), params=ctx.params, settings=ctx.loaded.config.dataclips
        )
        ctx.dataclips = [
            {"id": r.id, "verdict": r.verdict, "numbers": dict(r.numbers)} for r in run.results
        ]
        for r in run.results:
            extra = f": {r.error}" if r.error else ""
            io.line(f"{r.id:<3} {r.verdict:<5} {r.title}{extra}")
        bad = [r.id for r in run.results if r.verdict in ("fail", "error")]
        warned = [r.id for r in run.results if r.verdict == "warn"]
        if bad:
            raise GateFailed(
                f"Dataclips failed: {', '.join(bad)}",
                hint=f"see `keycliq dataclips run {' '.join(bad)} --app {ctx.env_name}` "
                "for the failing rows",
            )
        detail = f"{' '.join(r.id for r in run.results)} passed"
        if warned:
            detail += f" ({len(warned)} warning: {', '.join(warned)})"
        return StepOutcome(detail=detail, data={"verdicts": {r.id: r.verdict for r in run.results}})


def check_gate_params(ctx: ReleaseContext, skip: dict[str, str]) -> None:
    """Before anything changes: every required parameter of the environment's Dataclips
    is given (``--param``) or captured by an input item of the checklist that will run
    (a promotion must not be half done for want of a ``userId``)."""
    from keycliq_ops.checklists import find_checklist, load_checklist
    from keycliq_ops.checklists.items import InputItem
    from keycliq_ops.dataclips import load_catalog

    captured: set[str] = set()
    checklist = ChecklistStep()._checklist_name(ctx)
    if checklist is not None and "checklist" not in skip:
        loaded = load_checklist(find_checklist(ctx.loaded.checklists_dir, checklist))
        captured = {i.name for _, i in loaded.items() if isinstance(i, InputItem)}
    catalog = load_catalog(ctx.loaded.dataclips_dir)
    for clip_id in ctx.env.effective_dataclips():
        clip = catalog.get(clip_id)
        for param in clip.params:
            if param.required and param.name not in ctx.params and param.name not in captured:
                raise UsageError(
                    f"Dataclip {clip.id} of {ctx.env_name}'s gate needs the parameter "
                    f"{param.name}, and nothing gives it"
                    + (" (the checklist is skipped)" if "checklist" in skip else ""),
                    hint=f"pass --param {param.name}=VALUE"
                    + (f" (e.g. {param.description})" if param.description else ""),
                )


def captured_inputs(ctx: ReleaseContext) -> dict[str, str]:
    """``{name: value}`` of the input items the checklist of this run captured."""
    result = ctx.checklist_result
    if result is None:
        return {}
    from keycliq_ops.checklists import find_checklist, load_checklist
    from keycliq_ops.checklists.items import InputItem

    checklist = load_checklist(find_checklist(ctx.loaded.checklists_dir, result.checklist))
    names = {item.id: item.name for _, item in checklist.items() if isinstance(item, InputItem)}
    return {
        names[i.id]: i.answer
        for i in result.items
        if i.id in names and i.verdict == "passed" and i.answer is not None
    }


def check_runnable(ctx: ReleaseContext, skip: dict[str, str]) -> None:
    """Before anything changes: the checklist can be answered and checked (a terminal or an
    answers file that answers every required item; its URL and database known), and every
    required parameter of the Dataclip gate will be known. Raises UsageError (exit 2)."""
    if "checklist" not in skip:
        step = ChecklistStep()
        checklist = step.load(ctx)
        if checklist is not None:
            from keycliq_ops.checklists import check_checklist

            resume = ctx.previous_checklist if ctx.resume else None
            check_checklist(checklist, step.context(ctx), resume=resume)
    check_gate_params(ctx, skip)
