"""Delivery figures from the ledger: the four DORA measures and releases per week.

Definitions (docs/ledger.md says the same for users):

- a **production deployment** is a ``promote`` run to a production environment whose
  completion names a release (the code reached production), whatever its outcome;
- **deployment frequency**: production deployments per week of the window (days / 7);
- **lead time for changes**: from the commit's time (git's committer time; without the
  commit in the checkout, the first ledger record naming the commit) to the deployment's
  completion; the median and the mean;
- **change failure rate**: failed deployments / deployments; a deployment *failed* when its
  outcome is not succeeded (its production checks failed, or it was aborted after the
  release) or when a rollback of that environment started before the next deployment;
- **time to restore**: from a failed deployment's completion to the completion of the next
  good production release of that environment (a succeeded rollback, or a deployment that
  did not fail); the median and the mean; failures not restored yet are counted apart.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from keycliq_ops.ledger.query import Run

CommitTime = Callable[[str], "datetime | None"]


class Durations(BaseModel):
    count: int
    median_seconds: float | None
    mean_seconds: float | None

    @classmethod
    def of(cls, values: list[float]) -> Durations:
        if not values:
            return cls(count=0, median_seconds=None, mean_seconds=None)
        return cls(
            count=len(values),
            median_seconds=float(statistics.median(values)),
            mean_seconds=float(statistics.fmean(values)),
        )


class Week(BaseModel):
    """Release runs (deploy, promote, rollback) started in one ISO week, by outcome."""

    week: str = Field(description="ISO week, e.g. `2026-W47`.")
    start: str = Field(description="Its Monday (UTC date).")
    succeeded: int = 0
    failed: int = 0
    aborted: int = 0
    other: int = Field(default=0, description="Running or interrupted.")

    @property
    def total(self) -> int:
        return self.succeeded + self.failed + self.aborted + self.other


class Stats(BaseModel):
    since: datetime
    until: datetime
    weeks: float = Field(description="Length of the window in weeks.")
    environments: list[str] = Field(description="The production environments counted.")
    deployments: int
    deployment_ids: list[str]
    deployment_frequency_per_week: float
    lead_time: Durations
    failed_deployments: int
    failed_ids: list[str]
    change_failure_rate: float | None
    time_to_restore: Durations
    unrestored: list[str] = Field(description="Failed deployments not restored yet.")
    weekly: list[Week]


def _end_ts(run: Run) -> datetime:
    return run.end.ts if run.end is not None else run.start.ts


def compute(
    runs: Iterable[Run],
    *,
    since: datetime,
    until: datetime | None = None,
    production: Iterable[str] = ("production",),
    commit_time: CommitTime | None = None,
) -> Stats:
    """The figures over the runs that started in ``[since, until]`` (all runs are given:
    earlier ones still supply a commit's first appearance)."""
    until = until or datetime.now(UTC)
    prod = sorted(set(production))
    every = sorted(runs, key=lambda r: r.start.ts)
    window = [r for r in every if since <= r.start.ts <= until]
    first_seen: dict[str, datetime] = {}
    for run in every:
        commit = run.value("commit")
        if commit and commit not in first_seen:
            first_seen[commit] = run.start.ts

    def is_deployment(run: Run) -> bool:
        return (
            run.start.action == "promote"
            and run.start.environment in prod
            and run.end is not None
            and run.end.release_version is not None
        )

    releases = [
        r
        for r in window
        if r.start.environment in prod
        and r.end is not None
        and (is_deployment(r) or r.start.action == "rollback")
    ]
    deployments = [r for r in releases if is_deployment(r)]
    failed: list[Run] = []
    for i, run in enumerate(releases):
        if not is_deployment(run):
            continue
        later = [r for r in releases[i + 1 :] if r.start.environment == run.start.environment]
        nxt = next((k for k, r in enumerate(later) if is_deployment(r)), len(later))
        rolled_back = any(r.start.action == "rollback" for r in later[:nxt])
        if run.status != "succeeded" or rolled_back:
            failed.append(run)
    failed_ids = {r.id for r in failed}

    lead: list[float] = []
    for run in deployments:
        commit = run.value("commit")
        if not commit:
            continue
        made = commit_time(commit) if commit_time is not None else None
        made = made or first_seen.get(commit)
        if made is not None:
            lead.append(max(0.0, (_end_ts(run) - made).total_seconds()))

    restore: list[float] = []
    unrestored: list[str] = []
    for run in failed:
        after = [
            r
            for r in releases
            if r.start.environment == run.start.environment
            and r.start.ts > run.start.ts
            and r.status == "succeeded"
            and r.id not in failed_ids
        ]
        if after:
            restore.append((_end_ts(after[0]) - _end_ts(run)).total_seconds())
        else:
            unrestored.append(run.id)

    weeks = max((until - since).total_seconds() / timedelta(weeks=1).total_seconds(), 1 / 7)
    return Stats(
        since=since,
        until=until,
        weeks=round(weeks, 4),
        environments=prod,
        deployments=len(deployments),
        deployment_ids=[r.id for r in deployments],
        deployment_frequency_per_week=round(len(deployments) / weeks, 4),
        lead_time=Durations.of(lead),
        failed_deployments=len(failed),
        failed_ids=[r.id for r in failed],
        change_failure_rate=round(len(failed) / len(deployments), 4) if deployments else None,
        time_to_restore=Durations.of(restore),
        unrestored=unrestored,
        weekly=weekly(window),
    )


def weekly(runs: Iterable[Run]) -> list[Week]:
    """Deploy, promote and rollback runs per ISO week (every week between the first and the
    last, empty ones included), by outcome."""
    counts: dict[tuple[int, int], Week] = {}
    for run in runs:
        if run.start.action not in ("deploy", "promote", "rollback"):
            continue
        year, week, _ = run.start.ts.isocalendar()
        if (year, week) not in counts:
            counts[(year, week)] = _week(year, week)
        bar = counts[(year, week)]
        field = run.status if run.status in ("succeeded", "failed", "aborted") else "other"
        setattr(bar, field, getattr(bar, field) + 1)
    if not counts:
        return []
    first, last = min(counts), max(counts)
    monday = datetime.fromisocalendar(*first, 1)
    end = datetime.fromisocalendar(*last, 1)
    out: list[Week] = []
    while monday <= end:
        year, week, _ = monday.isocalendar()
        out.append(counts.get((year, week)) or _week(year, week))
        monday += timedelta(weeks=1)
    return out


def _week(year: int, week: int) -> Week:
    monday = datetime.fromisocalendar(year, week, 1)
    return Week(week=f"{year}-W{week:02d}", start=monday.date().isoformat())


# ------------------------------------------------------------------------------- the chart

_COLOURS = (("succeeded", "#2da44e"), ("failed", "#cf222e"), ("aborted", "#bf8700"))


def svg_chart(weeks: list[Week], *, width: int = 640, height: int = 180) -> str:
    """An inline SVG bar chart of releases per week, stacked by outcome (no script, no
    external reference: it can sit in a page whose CSP forbids both)."""
    from html import escape

    if not weeks:
        return '<p class="mono">no releases recorded</p>'
    top = max(w.total for w in weeks) or 1
    pad_l, pad_b, pad_t = 28, 34, 10
    plot_h = height - pad_b - pad_t
    slot = (width - pad_l) / len(weeks)
    bar_w = max(2.0, slot * 0.7)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Releases per week by outcome">',
        f"<title>Releases per week by outcome (max {top})</title>",
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width}" y2="{pad_t + plot_h}" '
        'stroke="#8c959f"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 8}" font-size="10" text-anchor="end">{top}</text>',
        f'<text x="{pad_l - 4}" y="{pad_t + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for i, w in enumerate(weeks):
        x = pad_l + i * slot + (slot - bar_w) / 2
        y = pad_t + plot_h
        for field, colour in (*_COLOURS, ("other", "#8c959f")):
            n = getattr(w, field)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(w.week)}: {n} {field}</title></rect>'
            )
        if len(weeks) <= 16 or i % max(1, len(weeks) // 8) == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - pad_b + 14}" font-size="10" '
                f'text-anchor="middle">{escape(w.week[5:])}</text>'
            )
    legend_x = pad_l
    for field, colour in _COLOURS:
        parts.append(
            f'<rect x="{legend_x}" y="{height - 12}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="{height - 3}" font-size="10">{field}</text>'
        )
        legend_x += 90
    parts.append("</svg>")
    return "".join(parts)
