"""Walking a checklist: ask the manual items, verify the automated ones, record each.

The engine never prints and never reads stdin: a person is reached through the injected
:class:`~keycliq_ops.checklists.prompting.Prompter`, progress goes to ``on_event``, and the
partial result goes to ``record`` after every item (so ``--resume`` survives a crash).
Ctrl-C ends the walk with the result ``aborted``; it is returned, never ``passed``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from keycliq_ops.base.errors import UsageError
from keycliq_ops.base.redact import Redactor, is_secret_name
from keycliq_ops.checklists import checks
from keycliq_ops.checklists.checks import CheckOutcome, DataclipRunner, DynoRunner
from keycliq_ops.checklists.items import (
    Checklist,
    CommandItem,
    DataclipItem,
    DynoItem,
    HttpItem,
    InputItem,
    Item,
    Section,
    is_manual,
)
from keycliq_ops.checklists.prompting import Prompter, Question, answer_problem
from keycliq_ops.checklists.results import (
    AUTOMATED_BY,
    ChecklistPlan,
    ChecklistResult,
    ItemResult,
    PlannedItem,
)
from keycliq_ops.checklists.template import MissingVariable, placeholders, render

if TYPE_CHECKING:
    from keycliq_ops.adapters.web import Transport

MAX_ASKS = 5


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ChecklistEvent:
    """Progress: ``start`` before an item is walked, ``done`` after (with its result)."""

    kind: Literal["start", "done", "resumed"]
    position: int
    total: int
    section: str
    item_id: str
    item_kind: str
    text: str
    result: ItemResult | None = None


@dataclass
class ChecklistContext:
    """Everything a run needs from the outside, injected."""

    env: str | None = None
    app: str | None = None
    app_url: str | None = None
    commit: str | None = None
    prompter: Prompter | None = None
    dataclip_runner: DataclipRunner | None = None
    database_url: Callable[[], str] | None = None  # called once, at the first dataclip item
    dyno_runner: DynoRunner | None = None  # None: dyno items are skipped (never passed)
    params: Mapping[str, str] = field(default_factory=dict)
    actor: str = "unknown"
    cwd: Path = field(default_factory=Path.cwd)
    clock: Callable[[], datetime] = _utcnow
    monotonic: Callable[[], float] = time.monotonic
    http_transport: Transport | None = None  # for tests: a mock transport
    on_event: Callable[[ChecklistEvent], None] | None = None
    record: Callable[[ChecklistResult], None] | None = None
    secrets: Iterable[str] = ()

    def builtins(self, checklist: Checklist) -> dict[str, str | None]:
        return {
            "env": self.env,
            "app": self.app,
            "app_url": self.app_url.rstrip("/") if self.app_url else None,
            "commit": self.commit,
            "checklist": checklist.name,
        }


def _carry_over(
    checklist: Checklist, resume: ChecklistResult | None
) -> tuple[list[ItemResult], dict[str, str]]:
    """Leading items settled in ``resume`` (in today's order), and the values they captured."""
    if resume is None:
        return [], {}
    carried: list[ItemResult] = []
    values: dict[str, str] = {}
    for _, item in checklist.items():
        prev = resume.item(item.id)
        if prev is None or not prev.settled or prev.kind != item.kind:
            break
        carried.append(prev.model_copy(update={"resumed": True}))
        if isinstance(item, InputItem) and prev.verdict == "passed" and prev.answer is not None:
            values[item.name] = prev.answer
    return carried, values


class _Run:
    def __init__(
        self, checklist: Checklist, ctx: ChecklistContext, resume: ChecklistResult | None
    ) -> None:
        self.cl = checklist
        self.ctx = ctx
        self.ordered: list[tuple[Section, Item]] = list(checklist.items())
        carried, captured = _carry_over(checklist, resume)
        self.carried = carried
        self.values: dict[str, str | None] = {**ctx.builtins(checklist)}
        self.values.update(ctx.params)
        self.values.update(captured)
        self.todo = self.ordered[len(carried) :]
        self.resume = resume if carried else None
        secret_env = [v for k, v in os.environ.items() if is_secret_name(k)]
        self.redactor = Redactor([*secret_env, *ctx.secrets])
        self._db_url: str | None = None

    # -- before anything runs -------------------------------------------------------------
    def prefilled(self, item: Item) -> str | None:
        if isinstance(item, InputItem) and item.name in self.ctx.params:
            return self.ctx.params[item.name]
        return None

    def preflight(self) -> None:
        ctx = self.ctx
        to_ask = [i for _, i in self.todo if is_manual(i) and self.prefilled(i) is None]
        for _, item in self.todo:
            value = self.prefilled(item)
            if isinstance(item, InputItem) and value is not None and not item.matches(value):
                raise UsageError(
                    f"--param {item.name}={value!r} does not match {item.pattern} (item {item.id})"
                )
        if to_ask and ctx.prompter is None:
            ids = ", ".join(i.id for i in to_ask[:5]) + (" …" if len(to_ask) > 5 else "")
            raise UsageError(
                f"checklist {self.cl.name} needs a person for {len(to_ask)} item(s) ({ids}), "
                "and there is no terminal to ask in and no answers file",
                hint="run it in a terminal, or pass --answers FILE (format: docs/checklists.md)",
            )
        if ctx.prompter is not None and to_ask:
            ctx.prompter.preflight(self.cl, to_ask, ctx.commit)
        automated = [i for _, i in self.todo if not is_manual(i)]
        has_dataclips = any(isinstance(i, DataclipItem) for i in automated)
        if has_dataclips and (ctx.dataclip_runner is None or ctx.database_url is None):
            raise UsageError(
                f"checklist {self.cl.name} has dataclip items but no database to run them on",
                hint="pass --database-url (or set KEYCLIQ_DATABASE_URL), or --env ENV to use "
                "the app's DATABASE_URL",
            )
        known_ids = getattr(ctx.dataclip_runner, "known_ids", None)
        if has_dataclips and callable(known_ids):
            known: set[str] = set(known_ids())
            lowered = {k.lower() for k in known}
            for item in automated:
                unknown = [d for d in getattr(item, "dataclips", []) if d.lower() not in lowered]
                if unknown:
                    raise UsageError(
                        f"item {item.id} names unknown Dataclip(s) {', '.join(unknown)} "
                        f"(known: {', '.join(sorted(known)) or 'none'})"
                    )
        for item in automated:
            for text in item.templates():
                for name in placeholders(text):
                    if name in self.values and self.values[name] is None:
                        raise UsageError(
                            f"item {item.id} uses {{{name}}}, which is not known for this run",
                            hint="set environments.<env>.url in keycliq.yaml"
                            if name == "app_url"
                            else f"pass --{name.replace('_', '-')} or --param {name}=VALUE",
                        )

    # -- walking --------------------------------------------------------------------------
    def database_url(self) -> str:
        if self._db_url is None:
            assert self.ctx.database_url is not None
            self._db_url = self.ctx.database_url()
            self.redactor.add(self._db_url)
        return self._db_url

    def _result(self, section: Section, item: Item, started: float, **kw: object) -> ItemResult:
        ms = max(0, int((self.ctx.monotonic() - started) * 1000))
        return ItemResult.model_validate(
            {
                "id": item.id,
                "kind": item.kind,
                "section": section.title,
                "required": item.required,
                "source": item.source,
                "when": self.ctx.clock(),
                "duration_ms": ms,
                **kw,
            }
        )

    def ask(self, section: Section, item: Item, position: int, started: float) -> ItemResult:
        prompter = self.ctx.prompter
        value = self.prefilled(item)
        if isinstance(item, InputItem) and value is not None:
            self.values[item.name] = value
            return self._result(
                section,
                item,
                started,
                verdict="passed",
                answer=value,
                reason=f"given with --param {item.name}",
                who=self.ctx.actor,
            )
        assert prompter is not None
        q = Question(
            item_id=item.id,
            kind="input" if isinstance(item, InputItem) else "confirm",
            section=section.title,
            text=render(item.text, self.values, strict=False),
            help=render(item.help, self.values, strict=False) if item.help else None,
            required=item.required,
            position=position,
            total=len(self.ordered),
            pattern=item.pattern if isinstance(item, InputItem) else None,
            example=item.example if isinstance(item, InputItem) else None,
        )
        for _ in range(MAX_ASKS):
            answer = prompter.ask(q)
            problem = answer_problem(q, answer)
            if problem is None:
                break
            if not prompter.interactive:
                break
            q = replace(q, problem=problem)
        who = answer.who or self.ctx.actor
        if problem is not None:
            return self._result(
                section,
                item,
                started,
                verdict="failed",
                who=who,
                answer=answer.value if answer.action == "value" else answer.action,
                reason=f"answer refused: {problem}",
            )
        reason = answer.reason.strip() if answer.reason else None
        if answer.action == "skip":
            return self._result(
                section, item, started, verdict="skipped", answer="skip", reason=reason, who=who
            )
        if isinstance(item, InputItem):
            assert answer.value is not None
            self.values[item.name] = answer.value
            return self._result(
                section,
                item,
                started,
                verdict="passed",
                answer=answer.value,
                reason=reason,
                who=who,
            )
        verdict = "passed" if answer.action == "yes" else "failed"
        return self._result(
            section, item, started, verdict=verdict, answer=answer.action, reason=reason, who=who
        )

    def check(self, item: Item) -> CheckOutcome:
        ctx = self.ctx
        if isinstance(item, HttpItem):
            return checks.run_http(
                render(item.url, self.values),
                expect_status=item.expect_status,
                expect_text=render(item.expect_text, self.values) if item.expect_text else None,
                timeout=item.timeout,
                follow_redirects=item.follow_redirects,
                transport=ctx.http_transport,
            )
        if isinstance(item, CommandItem):
            argv = [render(arg, self.values) for arg in item.argv()]
            return checks.run_command(argv, ctx.cwd, item.timeout, self.redactor)
        if isinstance(item, DynoItem):
            return checks.run_dyno_item(
                render(item.command, self.values),
                ctx.dyno_runner,
                timeout=item.timeout,
                expect_exit=item.expect_exit,
                expect_text=[render(t, self.values) for t in item.expect_text],
                expect_json=item.expect_json,
                redactor=self.redactor,
            )
        assert isinstance(item, DataclipItem)
        assert ctx.dataclip_runner is not None
        params = {k: v for k, v in ctx.params.items()}
        params.update({k: render(v, self.values) for k, v in item.params.items()})
        return checks.run_dataclip_item(
            item.dataclips,
            params,
            ctx.dataclip_runner,
            self.database_url,
            fail_on_warn=item.fail_on_warn,
            redactor=self.redactor,
        )

    def verify(self, section: Section, item: Item, started: float) -> ItemResult:
        try:
            outcome = self.check(item)
        except MissingVariable as exc:
            verdict = "failed" if item.required else "skipped"
            return self._result(
                section,
                item,
                started,
                verdict=verdict,
                who=AUTOMATED_BY,
                reason=f"needs {{{exc.name}}}, which was not captured",
            )
        verdict = "passed" if outcome.passed else "failed"
        if outcome.skipped:
            verdict = "skipped"
        return self._result(
            section,
            item,
            started,
            who=AUTOMATED_BY,
            verdict=verdict,
            reason=outcome.reason,
            summary=outcome.summary,
            output=outcome.output,
            checks=outcome.checks,
        )

    def snapshot(
        self, started: datetime, items: list[ItemResult], *, verdict: str, **kw: object
    ) -> ChecklistResult:
        done = {i.id for i in items}
        return ChecklistResult.model_validate(
            {
                "checklist": self.cl.name,
                "title": self.cl.title,
                "digest": self.cl.digest,
                "env": self.ctx.env,
                "app": self.ctx.app,
                "commit": self.ctx.commit,
                "started": started,
                "verdict": verdict,
                "answered_by": self.ctx.prompter.description if self.ctx.prompter else "none",
                "resumed_from": self.resume.started if self.resume else None,
                "items": items,
                "not_reached": [i.id for _, i in self.ordered if i.id not in done],
                **kw,
            }
        )

    def emit(
        self,
        kind: Literal["start", "done", "resumed"],
        pos: int,
        section: Section,
        item: Item,
        result: ItemResult | None = None,
    ) -> None:
        if self.ctx.on_event is None:
            return
        text = render(item.text, self.values, strict=False)
        self.ctx.on_event(
            ChecklistEvent(
                kind, pos, len(self.ordered), section.title, item.id, item.kind, text, result
            )
        )

    def walk(self) -> ChecklistResult:
        started = self.ctx.clock()
        items: list[ItemResult] = list(self.carried)
        for pos, (section, item) in enumerate(self.ordered[: len(self.carried)], 1):
            self.emit("resumed", pos, section, item, items[pos - 1])
        current: str | None = None
        try:
            for pos, (section, item) in enumerate(self.todo, len(self.carried) + 1):
                current = item.id
                self.emit("start", pos, section, item)
                t0 = self.ctx.monotonic()
                if is_manual(item):
                    result = self.ask(section, item, pos, t0)
                else:
                    result = self.verify(section, item, t0)
                items.append(result)
                current = None
                self.emit("done", pos, section, item, result)
                if self.ctx.record is not None:
                    self.ctx.record(self.snapshot(started, items, verdict="aborted"))
        except KeyboardInterrupt:
            final = self.snapshot(
                started, items, verdict="aborted", finished=self.ctx.clock(), aborted_at=current
            )
        else:
            verdict = "failed" if any(i.blocking for i in items) else "passed"
            final = self.snapshot(started, items, verdict=verdict, finished=self.ctx.clock())
        if self.ctx.record is not None:
            self.ctx.record(final)
        return final


def check_checklist(
    checklist: Checklist, ctx: ChecklistContext, *, resume: ChecklistResult | None = None
) -> None:
    """What ``run_checklist`` checks before it asks anything, alone: raises UsageError when
    the items cannot all be answered or checked. Callers that must not start something they
    cannot finish (a deploy before its push) call this first."""
    _Run(checklist, ctx, resume).preflight()


def run_checklist(
    checklist: Checklist, ctx: ChecklistContext, *, resume: ChecklistResult | None = None
) -> ChecklistResult:
    """Walk ``checklist``; with ``resume``, keep its leading settled items and start after.

    Raises UsageError before anything runs when the items cannot be answered or checked
    (no prompter, an answers file missing a required item, no database for dataclip items,
    an unknown ``{app_url}``). Returns the result; ``aborted`` after Ctrl-C.
    """
    if resume is not None and (resume.checklist != checklist.name or resume.commit != ctx.commit):
        raise UsageError(
            f"cannot resume: the earlier run is of {resume.checklist} at {resume.commit}, "
            f"this one of {checklist.name} at {ctx.commit}"
        )
    run = _Run(checklist, ctx, resume)
    run.preflight()
    return run.walk()


def _action(run: _Run, item: Item) -> str:
    v = run.values
    if isinstance(item, InputItem):
        if run.prefilled(item) is not None:
            return f"take {item.name} from --param"
        return f"ask for {item.name} (matching {item.pattern})"
    if isinstance(item, HttpItem):
        extra = f" containing {item.expect_text!r}" if item.expect_text else ""
        return f"GET {render(item.url, v, strict=False)}, expect {item.expect_status}{extra}"
    if isinstance(item, CommandItem):
        argv = [render(a, v, strict=False) for a in item.argv()]
        return f"run {run.redactor(' '.join(argv))} (exit 0 passes)"
    if isinstance(item, DynoItem):
        command = run.redactor(render(item.command, v, strict=False))
        runner = run.ctx.dyno_runner
        if runner is None:
            return f"skip (no app to run a one-off dyno on): `{command}`"
        wants = [f"exit {item.expect_exit}"]
        wants += [f"text {t!r}" for t in item.expect_text]
        wants += [f"JSON {p}" for p in item.expect_json]
        return f"run `{command}` in a one-off dyno on {runner.app}, expect " + ", ".join(wants)
    if isinstance(item, DataclipItem):
        params = {
            **run.ctx.params,
            **{k: render(p, v, strict=False) for k, p in item.params.items()},
        }
        shown = ", ".join(f"{k}={p}" for k, p in params.items())
        return f"run Dataclips {', '.join(item.dataclips)}" + (f" with {shown}" if shown else "")
    return "ask: yes / no" + ("" if item.required else " / skip")


def plan_checklist(
    checklist: Checklist, ctx: ChecklistContext, *, resume: ChecklistResult | None = None
) -> ChecklistPlan:
    """What a run would ask and check (``--dry-run``): nothing is asked, run or fetched."""
    run = _Run(checklist, ctx, resume)
    carried = {i.id for i in run.carried}
    items = [
        PlannedItem(
            id=item.id,
            kind=item.kind,
            section=section.title,
            required=item.required,
            source=item.source,
            text=render(item.text, run.values, strict=False),
            help=render(item.help, run.values, strict=False) if item.help else None,
            action="already settled; kept" if item.id in carried else _action(run, item),
            resumed=item.id in carried,
        )
        for section, item in run.ordered
    ]
    return ChecklistPlan(
        checklist=checklist.name,
        title=checklist.title,
        env=ctx.env,
        app=ctx.app,
        commit=ctx.commit,
        items=items,
    )
