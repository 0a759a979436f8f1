"""The record of a checklist run: returned to the caller, stored by the deploy ledger
(``result.model_dump(mode="json")``) and kept as resume state. Never holds a secret."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from keycliq_ops.base.errors import EXIT_GATE, EXIT_INTERRUPTED, EXIT_OK

ItemVerdict = Literal["passed", "failed", "skipped"]
RunVerdict = Literal["passed", "failed", "aborted"]
AUTOMATED_BY = "keycliq"


class CheckSummary(BaseModel):
    """One Dataclip's outcome inside a ``dataclip`` item: verdict and numbers, no rows."""

    model_config = ConfigDict(extra="forbid")

    id: str
    verdict: str
    numbers: dict[str, float | int] = Field(default_factory=dict)
    error: str | None = None


class ItemResult(BaseModel):
    """What happened to one item."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: str
    section: str
    required: bool
    verdict: ItemVerdict
    source: Literal["team", "keycliq"] = Field(
        default="team", description="`keycliq`: an item keycliq adds to the team's list."
    )
    answer: str | None = Field(
        default=None, description="confirm: yes/no/skip; input: the captured value."
    )
    reason: str | None = Field(default=None, description="Why it failed or was skipped, or a note.")
    who: str = Field(description="Who answered; `keycliq` for verified items.")
    when: datetime
    duration_ms: int = 0
    summary: str | None = Field(default=None, description="One line: what was checked, outcome.")
    output: str | None = Field(
        default=None,
        description="Tail of a command's output (redacted); a dyno item's only when it failed.",
    )
    checks: list[CheckSummary] | None = Field(default=None, description="Dataclip outcomes.")
    resumed: bool = Field(default=False, description="Carried over from an earlier run.")

    @property
    def settled(self) -> bool:
        """Done and not to be redone on ``--resume``: passed, or an optional item skipped."""
        return self.verdict == "passed" or (self.verdict == "skipped" and not self.required)

    @property
    def blocking(self) -> bool:
        """Makes the run fail: a required item that failed or was skipped."""
        return self.required and self.verdict != "passed"


class ChecklistResult(BaseModel):
    """One run of one checklist."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    checklist: str
    title: str
    digest: str = Field(description="SHA-256 of the checklist file that was walked.")
    env: str | None
    app: str | None = None
    commit: str | None
    started: datetime
    finished: datetime | None = None
    verdict: RunVerdict
    answered_by: str = Field(description="terminal, answers file (path), or script.")
    resumed_from: datetime | None = Field(
        default=None, description="Start of the earlier run whose passed items were kept."
    )
    aborted_at: str | None = Field(default=None, description="Item id being walked at Ctrl-C.")
    items: list[ItemResult] = Field(default_factory=list)
    not_reached: list[str] = Field(
        default_factory=list, description="Item ids never walked (after an abort)."
    )

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"

    @property
    def exit_code(self) -> int:
        return {"passed": EXIT_OK, "failed": EXIT_GATE, "aborted": EXIT_INTERRUPTED}[self.verdict]

    def counts(self) -> dict[str, int]:
        out = {"passed": 0, "failed": 0, "skipped": 0}
        for item in self.items:
            out[item.verdict] += 1
        return out

    def blocking_items(self) -> list[ItemResult]:
        return [i for i in self.items if i.blocking]

    def item(self, item_id: str) -> ItemResult | None:
        return next((i for i in self.items if i.id == item_id), None)

    def raise_for_verdict(self) -> None:
        """Raise GateFailed (failed) or Interrupted (aborted); nothing when passed."""
        from keycliq_ops.base.errors import GateFailed, Interrupted

        if self.verdict == "aborted":
            raise Interrupted(
                f"checklist {self.checklist} aborted at item {self.aborted_at or '?'}",
                hint=f"continue with `keycliq checklist run {self.checklist} --resume`",
            )
        if self.verdict == "failed":
            ids = ", ".join(i.id for i in self.blocking_items())
            raise GateFailed(
                f"checklist {self.checklist} failed: {ids}",
                hint="fix what failed, then `keycliq checklist run "
                f"{self.checklist} --resume` re-walks from the first item not passed",
            )


class PlannedItem(BaseModel):
    """What ``--dry-run`` shows for one item: what would be asked or checked."""

    id: str
    kind: str
    section: str
    required: bool
    source: Literal["team", "keycliq"] = "team"
    text: str
    help: str | None = None
    action: str = Field(description="What keycliq would do: ask, GET url, run command, …")
    resumed: bool = False


class ChecklistPlan(BaseModel):
    checklist: str
    title: str
    env: str | None
    app: str | None
    commit: str | None
    items: list[PlannedItem]
