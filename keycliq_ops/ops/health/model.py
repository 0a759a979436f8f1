"""The shapes of the health report and the cost table (what ``--json`` prints)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
ESTIMATE_LABEL = (
    "estimate: database counts × the token estimate and prices of keycliq.yaml "
    "(costs.openai), not OpenAI's bill"
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------------------- costs


class CostDay(_Model):
    """One 24-hour window (``start`` to ``start`` + 24 h)."""

    start: datetime
    scans: int
    inventory_signatures: int
    calls: int = Field(description="OpenAI calls counted: scans (+ signatures when counted).")
    usd: float = Field(description="Estimated USD for the window.")


class OpenAIEstimate(_Model):
    estimate: Literal[True] = True
    label: str = ESTIMATE_LABEL
    model: str
    tokens_per_call: dict[str, int] = Field(description="prompt, image and output tokens.")
    usd_per_million: dict[str, float] = Field(description="input and output prices.")
    usd_per_call: float
    count_signatures: bool
    since: datetime
    until: datetime
    days: list[CostDay] = Field(description="Oldest first.")
    scans: int
    inventory_signatures: int
    calls: int
    usd_total: float
    usd_last_24h: float
    usd_per_day: float = Field(description="Average over the days shown.")


class CloudinaryFigures(_Model):
    """Cloudinary's usage report for the app's cloud (rolling 30 days), or why it is
    missing."""

    available: bool
    error: str | None = None
    hint: str | None = None
    cloud_name: str | None = None
    plan: str | None = None
    last_updated: str | None = None
    storage_bytes: float | None = None
    storage_credits: float | None = None
    bandwidth_bytes: float | None = None
    bandwidth_credits: float | None = None
    transformations: float | None = None
    transformations_credits: float | None = None
    credits_used: float | None = None
    credits_limit: float | None = None
    credits_used_percent: float | None = None
    objects: float | None = None
    requests: int | None = None
    resources: int | None = None
    derived_resources: int | None = None


class CostReport(_Model):
    schema_version: int = SCHEMA_VERSION
    environment: str
    app: str
    generated_at: datetime
    openai: OpenAIEstimate
    cloudinary: CloudinaryFigures


# ----------------------------------------------------------------------------- report


class Breach(_Model):
    """One threshold breached, in words first."""

    kind: Literal["no_match_share", "stuck_keys", "openai_budget", "failing_check"]
    message: str
    value: float | None = None
    limit: float | None = None
    setting: str | None = Field(default=None, description="The keycliq.yaml key, if any.")


class Marker(_Model):
    """A release from the ledger: a deploy, promotion or rollback of this environment."""

    at: datetime
    action: str
    label: str = Field(description="e.g. `deploy v42`.")
    release_version: int | None = None
    commit: str | None = None
    outcome: str
    ledger_id: str


class Series(_Model):
    name: str
    values: list[float | int | None]
    last: float | int | None = None


class CheckTrend(_Model):
    """One check over the last runs of the report (oldest first)."""

    id: str
    title: str
    verdict: str = Field(description="This run's verdict.")
    error: str | None = None
    at: list[datetime]
    verdicts: list[str]
    series: list[Series]


class BalanceDay(_Model):
    start: datetime
    matchings: int
    match_found: int
    possible_keys: int
    possible_match: int
    no_match: int
    other_types: int


class UnsignedKeys(_Model):
    """Keys without a signature by age (KEYS-UNSIGNED), None when it did not run."""

    buckets: list[str] = Field(description="Age buckets, youngest first.")
    pending: list[int]
    failed: list[int]
    no_photo: int
    unsigned: int
    stuck: int


class HealthReport(_Model):
    schema_version: int = SCHEMA_VERSION
    environment: str
    app: str
    target: str
    generated_at: datetime
    ok: bool = Field(description="No breach.")
    breaches: list[Breach]
    notes: list[str] = Field(default_factory=list)
    checks: list[CheckTrend]
    markers: list[Marker]
    balance: list[BalanceDay] = Field(description="matchType balance per day, oldest first.")
    no_match_percent: Series | None = Field(
        default=None,
        description="C-ALL's no_match_percent over the runs (same axis as `run_times`).",
    )
    run_times: list[datetime] = Field(description="When each charted run happened.")
    no_match_threshold: float | None = Field(
        default=None, description="report.thresholds.no_match_percent (drawn on the chart)."
    )
    unsigned_keys: UnsignedKeys | None = None
    costs: CostReport | None = None
    output: str | None = Field(default=None, description="Where the HTML page was written.")
    notifications: list[dict[str, Any]] = Field(default_factory=list)
