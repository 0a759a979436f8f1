"""The ``keycliq.yaml`` schema as pydantic models.

Field descriptions are the configuration reference: ``docs/configuration.md`` is generated
from them (``keycliq config reference``) and a test fails when the page is stale.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from keycliq_ops.config.health_settings import CostSettings, NotifyTarget, ReportSettings

# The table in the KeyCliq reference ("Config vars (per app)"): required everywhere…
REQUIRED_CONFIG_ALL: tuple[str, ...] = (
    "DATABASE_URL",
    "SESSION_SECRET",
    "OPENAI_API_KEY",
    "APP_URL",
    "CLOUDINARY_CLOUD_NAME",
    "CLOUDINARY_API_KEY",
    "CLOUDINARY_API_SECRET",
    "NODE_ENV",
)
# …and in production, where password-reset mail must go out.
REQUIRED_CONFIG_PRODUCTION: tuple[str, ...] = ("MAIL_FROM_NAME", "MAIL_FROM_ADDRESS")

Stage = Literal["review", "development", "staging", "production"]


class _StrictSetting(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Environment(_StrictSetting):
    """One deploy target: a Heroku app in the pipeline."""

    app: str = Field(description="Heroku app name, e.g. `keycliq-staging`.", min_length=3)
    remote: str | None = Field(
        default=None,
        description="git remote that pushes to the app (e.g. `heroku-staging`). "
        "Needed to deploy by push; production is reached by promotion and may leave it out.",
    )
    url: str | None = Field(
        default=None,
        description="Public https URL of the app (used by smoke checks and the config audit). "
        "Default: the app's `web_url` from the API.",
    )
    stage: Stage = Field(
        default="staging",
        description="Pipeline stage the app must be coupled at: "
        "review, development, staging or production.",
    )
    checklist: str | None = Field(
        default=None,
        description="Name of the checklist walked after a deploy/promotion to this environment "
        "(a file `<name>.yaml` in `paths.checklists`). Default: the environment's name when "
        "such a checklist exists.",
    )
    dataclips: list[str] | None = Field(
        default=None,
        description="Dataclip ids run as the gate after code reaches this environment. "
        "Default: `[E1, E2, E3, E4, F, G, H]` for staging, `[A, C]` for production.",
    )
    required_config: list[str] | None = Field(
        default=None,
        description="Config vars that must be set on the app, replacing the app's own rules "
        "(SESSION_SECRET, APP_URL, NODE_ENV; Cloudinary or `BLOB_READ_WRITE_TOKEN`; "
        "`OPENAI_API_KEY` in production). Default: the app's rules. The variables "
        "`prisma/schema.prisma` reads with `env()` are required either way.",
    )
    mail_required: bool | None = Field(
        default=None,
        description="Whether `RESEND_API_KEY` or `SENDGRID_API_KEY`, and `MAIL_FROM_NAME`/"
        "`MAIL_FROM_ADDRESS`, must be set (elsewhere 'mail disabled' is a warning). "
        "Default: true in production.",
    )
    backup: bool | None = Field(
        default=None,
        description="Capture a Heroku Postgres backup of the app's database (and wait for it) "
        "before a deploy or promotion that will change its schema (pending migrations, or a "
        "`db push` that adds or drops tables or columns). `--no-backup REASON` skips it for "
        "one run, recorded. Default: true in production.",
    )

    @field_validator("url")
    @classmethod
    def _https(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("https://", "http://")):
            raise ValueError("must be a URL starting with https://")
        return v.rstrip("/") if v else v

    def effective_dataclips(self) -> list[str]:
        if self.dataclips is not None:
            return list(self.dataclips)
        staging = ["E1", "E2", "E3", "E4", "F", "G", "H"]
        return ["A", "C"] if self.stage == "production" else staging

    def effective_required_config(self) -> list[str]:
        if self.required_config is not None:
            return list(self.required_config)
        extra = REQUIRED_CONFIG_PRODUCTION if self.stage == "production" else ()
        return [*REQUIRED_CONFIG_ALL, *extra]

    def effective_backup(self) -> bool:
        return self.backup if self.backup is not None else (self.stage == "production")

    def effective_mail_required(self) -> bool:
        return (
            self.mail_required if self.mail_required is not None else (self.stage == "production")
        )


class Tests(_StrictSetting):
    """The local test command run before a push."""

    command: str | None = Field(
        default="npm test",
        description="Shell command run in the repository before pushing; exit 0 passes. "
        "`null` skips the step.",
    )
    timeout: float = Field(default=1800, gt=0, description="Seconds before the tests are stopped.")


LintLevel = Literal["error", "error-if-rows", "warning", "off"]
# squawk's rules as they suit Prisma's generated SQL (`migrations.lint.rules` overrides each).
DEFAULT_LINT_RULES: dict[str, LintLevel] = {
    "ban-drop-column": "error",
    "ban-drop-table": "error-if-rows",
    "adding-required-field": "error-if-rows",
    "prefer-robust-stmts": "off",  # Prisma's history is the guard against re-runs
    "require-lock-timeout": "off",  # Prisma's generated SQL never sets them
    "require-statement-timeout": "off",
    "prefer-bigint-over-int": "off",  # Prisma's `Int` is INTEGER
    "prefer-bigint-over-smallint": "off",
    "prefer-identity": "off",  # Prisma's `autoincrement()` is SERIAL
    "prefer-timestamp-tz": "off",  # Prisma's `DateTime` is TIMESTAMP(3)
}


class MigrationLint(_StrictSetting):
    """The lint of the migrations a deploy is about to apply (squawk), in preflight."""

    enabled: bool = Field(
        default=True,
        description="Lint the migrations the target database has not applied, before the push.",
    )
    rules: dict[str, LintLevel] = Field(
        default_factory=dict,
        description="squawk rule → `error` (stops the deploy unless `--accept-migration-risk "
        "REASON`), `error-if-rows` (an error when the table has rows, a warning on an empty "
        "or new table), `warning` or `off`; merged over the defaults (`ban-drop-column: "
        "error`, `adding-required-field` and `ban-drop-table: error-if-rows`, "
        "`prefer-robust-stmts`, the timeout rules and the type preferences Prisma's SQL "
        "cannot follow `off`). A rule not named keeps squawk's own level.",
    )

    @field_validator("rules", mode="before")
    @classmethod
    def _yaml_off(cls, v: object) -> object:
        # YAML 1.1 reads a bare `off` as false (and `on` as true).
        if isinstance(v, dict):
            return {k: ("off" if x is False else x) for k, x in v.items()}
        return v

    def level(self, rule: str) -> LintLevel | None:
        """The configured level of ``rule`` (None: squawk's own)."""
        return self.rules.get(rule, DEFAULT_LINT_RULES.get(rule))

    def off_rules(self) -> list[str]:
        return sorted(r for r in {*DEFAULT_LINT_RULES, *self.rules} if self.level(r) == "off")


class Migrations(_StrictSetting):
    """How schema changes reach the database (`keycliq init` picks it from the repository)."""

    strategy: Literal["release-phase", "one-off", "db-push", "none"] = Field(
        default="release-phase",
        description="`release-phase`: the Procfile's `release:` runs them (watched and "
        "gated); `one-off`: keycliq runs `command` (default `npx prisma migrate deploy`) in "
        "an attached one-off dyno; `db-push`: keycliq runs `command` (default `npm run "
        "db:push`) in a one-off dyno, for an app without migration history; `none`. Either "
        "way the database is asked afterwards (`_prisma_migrations`, the schema's tables).",
    )
    command: str | None = Field(
        default=None,
        description="The one-off command; default `npx prisma migrate deploy` (one-off) or "
        "`npm run db:push` (db-push).",
    )
    timeout: float = Field(default=900, gt=0, description="Seconds to wait for the migrations.")
    lint: MigrationLint = Field(
        default_factory=MigrationLint,
        description="squawk's lint of the pending migrations (preflight).",
    )

    def one_off_command(self) -> str | None:
        """The command keycliq runs in a one-off dyno (None: release-phase, none)."""
        if self.strategy == "one-off":
            return self.command or "npx prisma migrate deploy"
        if self.strategy == "db-push":
            return self.command or "npm run db:push"
        return None


class Paths(_StrictSetting):
    """Where keycliq reads its catalogues and writes its records (relative to this file)."""

    checklists: Path | None = Field(
        default=None,
        description="The repository's folder of checklist YAML files, layered over the "
        "shipped ones: a file adds a checklist, or replaces the shipped one of the same name. "
        "Default: `checklists/` beside this file (when it exists).",
    )
    dataclips: Path | None = Field(
        default=None,
        description="The repository's folder of Dataclip `.sql` files, layered over the "
        "shipped ones: a check adds an id, or replaces the shipped check of the same id. "
        "Default: `dataclips/` beside this file (when it exists).",
    )
    shipped: bool = Field(
        default=True,
        description="Whether the shipped checklists and Dataclips are the bottom layer of the "
        "catalogue. `false`: only the repository's folders (which must then exist).",
    )
    ledger: Path = Field(
        default=Path(".keycliq/ledger.jsonl"),
        description="The deploy ledger (JSON Lines). `KEYCLIQ_LEDGER` overrides it.",
    )
    reports: Path = Field(
        default=Path(".keycliq/reports"), description="Folder for deploy reports (Markdown)."
    )
    history: Path = Field(
        default=Path(".keycliq/dataclips-history.jsonl"),
        description="Dataclip numbers of past runs, for `dataclips trend`.",
    )


class DataclipSettings(_StrictSetting):
    """How Dataclips run."""

    statement_timeout_ms: int = Field(
        default=30_000, gt=0, description="Per-check `statement_timeout`."
    )
    lock_timeout_ms: int = Field(default=5_000, gt=0, description="Per-check `lock_timeout`.")
    concurrency: int = Field(
        default=4, ge=1, le=32, description="Checks run at once, each on its own connection."
    )
    parallel_workers: int | None = Field(
        default=None,
        ge=0,
        le=64,
        description="PostgreSQL's `max_parallel_workers_per_gather` in keycliq's sessions. "
        "Default: 0 while several checks run side by side (they already share the "
        "database's cores; measured 1.3x faster on 2 cores), the server's own setting when "
        "one check runs alone.",
    )
    trend_jump_ratio: float = Field(
        default=0.5,
        gt=0,
        description="`dataclips trend` flags a value that moved by more than this ratio.",
    )


class Timeouts(_StrictSetting):
    """How long to wait on Heroku (seconds)."""

    build: float = Field(default=1800, gt=0, description="Build to reach a final status.")
    release: float = Field(default=1800, gt=0, description="Release (and its release phase).")
    promotion: float = Field(default=1800, gt=0, description="Promotion targets to finish.")
    backup: float = Field(
        default=1800, gt=0, description="A Heroku Postgres backup capture to finish."
    )


class LedgerSettings(_StrictSetting):
    """How the team shares one ledger through a git remote (see docs/ledger.md)."""

    remote: str | None = Field(
        default=None,
        description="The git remote whose branch holds the team's ledger; `none` keeps the "
        "ledger on this machine only. Default: `shared_remote`.",
    )
    branch: str = Field(
        default="keycliq-ledger",
        description="The branch on that remote (its only file is `ledger.jsonl`).",
        min_length=1,
        pattern=r"^[A-Za-z0-9._][A-Za-z0-9._/-]*$",
    )
    timeout: float = Field(
        default=30, gt=0, le=600, description="Seconds a fetch or push of the branch may take."
    )

    def effective_remote(self, shared_remote: str) -> str | None:
        """The remote to share through, or None when the ledger is local only."""
        remote = self.remote if self.remote is not None else shared_remote
        return None if remote.strip().lower() == "none" else remote


class Config(_StrictSetting):
    """The whole ``keycliq.yaml``."""

    version: Literal[1] = Field(default=1, description="Format version of this file.")
    pipeline: str = Field(default="keycliq", description="Heroku pipeline name.")
    environments: dict[str, Environment] = Field(
        description="Environments by name (e.g. `staging`, `production`)."
    )
    branches: list[str] = Field(
        default_factory=lambda: ["main", "release/*"],
        description="Branches allowed to deploy (glob patterns).",
        min_length=1,
    )
    shared_remote: str = Field(
        default="origin",
        description="The git remote the team shares; preflight checks the commit is on it.",
    )
    tests: Tests = Field(default_factory=Tests, description="Local test command.")
    migrations: Migrations = Field(default_factory=Migrations, description="Migrations.")
    paths: Paths = Field(default_factory=Paths, description="Files and folders.")
    dataclips: DataclipSettings = Field(
        default_factory=DataclipSettings, description="Dataclip engine settings."
    )
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Waiting on Heroku.")
    report: ReportSettings = Field(
        default_factory=ReportSettings, description="The scheduled health report."
    )
    costs: CostSettings = Field(default_factory=CostSettings, description="Cost estimates.")
    notify: list[NotifyTarget] = Field(
        default_factory=list,
        description="Webhooks (Slack-compatible JSON) and the events each wants: "
        "deploy/promote/rollback started and finished, gate failed, report breach.",
    )
    ledger: LedgerSettings = Field(
        default_factory=LedgerSettings, description="Sharing the ledger through git."
    )

    @field_validator("environments")
    @classmethod
    def _non_empty(cls, v: dict[str, Environment]) -> dict[str, Environment]:
        if not v:
            raise ValueError("at least one environment is required")
        return v

    @model_validator(mode="after")
    def _one_app_per_env(self) -> Config:
        seen: dict[str, str] = {}
        for name, env in self.environments.items():
            if env.app in seen:
                raise ValueError(
                    f"environments {seen[env.app]!r} and {name!r} name the same app {env.app!r}"
                )
            seen[env.app] = name
        return self

    def branch_allowed(self, branch: str) -> bool:
        return any(fnmatch.fnmatchcase(branch, pattern) for pattern in self.branches)

    def env_by_stage(self, stage: str) -> list[tuple[str, Environment]]:
        return [(n, e) for n, e in self.environments.items() if e.stage == stage]
