"""The ``report:``, ``costs:`` and ``notify:`` sections of ``keycliq.yaml``.

``report`` says which Dataclips the scheduled health report runs and which numbers breach;
``costs`` holds the OpenAI price estimate and where Cloudinary's Admin API answers;
``notify`` lists webhooks (Slack-compatible JSON) and the events each wants. What they mean
for people is in ``docs/report.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The report set: A, the matchType balance over all users (C's numbers, every user, the last
# 24 hours), the integrity checks E1-E3 and G, scanning H, housekeeping I, and keys without
# a signature by age.
DEFAULT_REPORT_CHECKS: tuple[str, ...] = (
    "A",
    "C-ALL",
    "E1",
    "E2",
    "E3",
    "G",
    "H",
    "I",
    "KEYS-UNSIGNED",
)

NotifyEvent = Literal[
    "deploy.started",
    "deploy.finished",
    "promote.started",
    "promote.finished",
    "rollback.started",
    "rollback.finished",
    "gate.failed",
    "report.breach",
]
NOTIFY_EVENTS: tuple[str, ...] = (
    "deploy.started",
    "deploy.finished",
    "promote.started",
    "promote.finished",
    "rollback.started",
    "rollback.finished",
    "gate.failed",
    "report.breach",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportThresholds(_Strict):
    """What counts as a breach (``null`` turns a threshold off). A breach makes
    ``keycliq report`` exit 1 and is listed first in the page."""

    no_match_percent: float | None = Field(
        default=60,
        ge=0,
        le=100,
        description="Highest share (percent) of NO_MATCH among the matchings of the last 24 "
        "hours (check C-ALL).",
    )
    min_matchings: int = Field(
        default=20,
        ge=0,
        description="The NO_MATCH share is judged only when the last 24 hours hold at least "
        "this many matchings (a share of three scans says little).",
    )
    stuck_keys: int | None = Field(
        default=5,
        ge=0,
        description="Most keys with a photo stuck in `pending` (check KEYS-UNSIGNED, the same "
        "rule as H).",
    )
    openai_usd_per_day: float | None = Field(
        default=None,
        ge=0,
        description="Budget for the estimated OpenAI spend of the last 24 hours (USD).",
    )
    failing_checks: bool = Field(
        default=True,
        description="Whether a Dataclip of the report set that fails or errors is a breach.",
    )


class ReportSettings(_Strict):
    """The scheduled health report (`keycliq report ENV`)."""

    checks: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REPORT_CHECKS),
        description="Dataclip ids the report runs and records in the history. Default: "
        "`[A, C-ALL, E1, E2, E3, G, H, I, KEYS-UNSIGNED]`.",
        min_length=1,
    )
    environments: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Another report set for some environments, by name, e.g. "
        "`{production: [A, C-ALL, E1, E2]}`.",
    )
    params: dict[str, str] = Field(
        default_factory=dict,
        description="Parameters for the report's checks that take one (e.g. `userId` for C).",
    )
    runs: int = Field(default=10, ge=2, le=200, description="How many past runs the charts show.")
    days: int = Field(
        default=14,
        ge=1,
        le=90,
        description="How many days the matchType balance and the cost table cover.",
    )
    output: Path | None = Field(
        default=None,
        description="Where the HTML page is written (relative to this file). Default: "
        "`health-<env>.html` in `paths.reports`.",
    )
    thresholds: ReportThresholds = Field(
        default_factory=ReportThresholds, description="What counts as a breach."
    )

    def checks_for(self, env_name: str) -> list[str]:
        return list(self.environments.get(env_name, self.checks))


class OpenAIPrices(_Strict):
    """The OpenAI estimate: tokens per call and prices (defaults: the team's figures for
    GPT-4o)."""

    model: str = Field(default="gpt-4o", description="The model the prices are for.")
    prompt_tokens: int = Field(default=500, ge=0, description="Prompt tokens per call.")
    image_tokens: int = Field(
        default=1000, ge=0, description="Image tokens per call (billed as input)."
    )
    output_tokens: int = Field(default=200, ge=0, description="Response tokens per call.")
    input_usd_per_million: float = Field(
        default=2.50, ge=0, description="USD per million input tokens."
    )
    output_usd_per_million: float = Field(
        default=10.00, ge=0, description="USD per million output tokens."
    )
    count_signatures: bool = Field(
        default=True,
        description="Whether each inventory signature (a key_signatures row with a key) "
        "costs one call too (extractSignatureV6), besides each scan.",
    )

    def usd_per_call(self) -> float:
        tokens_in = self.prompt_tokens + self.image_tokens
        return (
            tokens_in * self.input_usd_per_million
            + self.output_tokens * self.output_usd_per_million
        ) / 1_000_000


class CloudinarySettings(_Strict):
    """Cloudinary's Admin API (the usage endpoint), called with the app's own CLOUDINARY_*
    config vars."""

    enabled: bool = Field(default=True, description="Ask Cloudinary for its usage at all.")
    api_url: str | None = Field(
        default=None,
        description="Base URL of the Admin API. Default: `$KEYCLIQ_CLOUDINARY_API`, else "
        "`https://api.cloudinary.com`.",
    )
    timeout: float = Field(default=10, gt=0, le=120, description="Seconds for the call.")

    @field_validator("api_url")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("https://", "http://")):
            raise ValueError("must be a URL starting with https://")
        return v.rstrip("/") if v else v


class CostSettings(_Strict):
    """`keycliq costs` and the report's cost section."""

    openai: OpenAIPrices = Field(default_factory=OpenAIPrices, description="OpenAI estimate.")
    cloudinary: CloudinarySettings = Field(
        default_factory=CloudinarySettings, description="Cloudinary usage."
    )


class NotifyTarget(_Strict):
    """One webhook: a Slack-compatible JSON POST for the events it lists."""

    name: str | None = Field(
        default=None,
        description="How the ledger and the output name it. Default: the URL's host.",
        max_length=60,
    )
    url: str | None = Field(
        default=None,
        description="The webhook URL. A Slack URL is itself a secret: prefer `url_env`.",
    )
    url_env: str | None = Field(
        default=None,
        description="Name of an environment variable holding the URL (e.g. SLACK_WEBHOOK_URL).",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
    )
    events: list[NotifyEvent] = Field(
        default_factory=lambda: list(NOTIFY_EVENTS),  # type: ignore[arg-type]
        description="Events to send; default all.",
        min_length=1,
    )
    timeout: float = Field(
        default=3,
        gt=0,
        le=30,
        description="Seconds one event may take to deliver, retries included.",
    )
    retries: int = Field(
        default=2,
        ge=0,
        le=5,
        description="Extra attempts after a failed one (5xx, 429, no connection).",
    )

    @field_validator("url")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("https://", "http://")):
            raise ValueError("must be a URL starting with https://")
        return v

    @model_validator(mode="after")
    def _one_url(self) -> NotifyTarget:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url and url_env")
        return self

    def wants(self, event: str) -> bool:
        return event in self.events
