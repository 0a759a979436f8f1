"""The config-var audit (``keycliq config check``, and the deploy preflight).

Pure logic over config-var mappings fetched by the caller. What must be set comes from the
app itself, and every finding says where its rule comes from:

- each variable the Prisma schema reads with ``env("NAME")`` (``prisma/schema.prisma:8``),
  read from the repository (:class:`~keycliq_ops.config.app_repo.AppRepo`) at the commit
  being deployed or in the checkout;
- the app's code (the variables it reads, and what it does without them): SESSION_SECRET,
  APP_URL, NODE_ENV; images through Cloudinary (all three ``CLOUDINARY_*``) or its
  alternative ``BLOB_READ_WRITE_TOKEN``; one mail key (``RESEND_API_KEY`` or
  ``SENDGRID_API_KEY``) with ``MAIL_FROM_NAME``/``MAIL_FROM_ADDRESS`` where mail is required
  (production), "mail disabled" as a warning elsewhere; ``OPENAI_API_KEY``, whose absence
  puts the app in demo mode (simulated scans: a problem in production, a warning elsewhere);
- or, when an environment lists ``required_config`` in keycliq.yaml, that list instead of
  the app's presence rules (the schema's variables stay required).

The value rules hold whatever the source: not placeholder-looking, APP_URL https and
matching the environment, NODE_ENV, DATABASE_URL a postgres URL, SESSION_SECRET long enough
and different between environments (digests are compared, never values). Values appear only
masked in the report.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel

from keycliq_ops.base.redact import is_secret_name, mask, redact_url
from keycliq_ops.config.app_repo import AppRepo
from keycliq_ops.config.settings import Environment

Level = Literal["error", "warning"]

_PLACEHOLDER = re.compile(
    r"^(changeme|change[-_ ]?me|todo|tbd|xxx+|placeholder|dummy|example|secret|password|"
    r"your[-_ ].*|<.*>|\$\{.*\}|none|null|undefined|fixme|test|sk-x+|\*+)$",
    re.IGNORECASE,
)
MIN_SESSION_SECRET = 32
# A local stand-in serves plain http on loopback; anything else must be https.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Where the app's code reads each variable (the KeyCliq repository, November 2025; the
# Blob store and demo mode are of February 2026). File names only: the rule's source.
CLOUDINARY = ("CLOUDINARY_CLOUD_NAME", "CLOUDINARY_API_KEY", "CLOUDINARY_API_SECRET")
BLOB = "BLOB_READ_WRITE_TOKEN"
MAIL_KEYS = ("RESEND_API_KEY", "SENDGRID_API_KEY")
MAIL_FROM = ("MAIL_FROM_NAME", "MAIL_FROM_ADDRESS")
OPENAI = "OPENAI_API_KEY"
_CODE = {
    "SESSION_SECRET": "app/utils/session.server.js",
    "APP_URL": "app/utils/email.server.js",
    "NODE_ENV": "app/root.jsx, app/utils/session.server.js",
    "CLOUDINARY": "app/utils/cloudinary.server.js, app/lib/keys.server.js",
    BLOB: "app/utils/blob.server.js",
    "MAIL": "app/utils/email.server.js",
    OPENAI: "app/lib/ai/active-logic/multimodal-keyscan.server.js",
    "DEMO": "app/utils/demoMode.server.js",
}


def code_source(key: str) -> str:
    """``the app's code (<files>)``: the source of a rule the app's code makes."""
    return f"the app's code ({_CODE[key]})"


@dataclass(frozen=True)
class Requirement:
    """A variable that must be set, and where that rule comes from."""

    var: str
    source: str  # 'prisma/schema.prisma:8 reads env("DIRECT_URL")'
    short: str  # 'prisma/schema.prisma:8', for the table


class AuditFinding(BaseModel):
    var: str
    level: Level
    message: str
    source: str | None = None  # where the rule comes from (also in the message)


class VarRow(BaseModel):
    name: str
    value: str  # masked when secret
    required: bool
    status: Literal["ok", "missing", "problem", "optional"]
    required_by: str | None = None  # 'prisma/schema.prisma:8', 'app/utils/session.server.js'


class AuditReport(BaseModel):
    environment: str
    app: str
    rows: list[VarRow]
    findings: list[AuditFinding]
    requirements_from: str | None = None  # "the work tree at /repo", "commit 1a2b3c4d"

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)


def secret_digest(value: str) -> str:
    """A digest to compare secrets across environments without holding both values."""
    return hashlib.sha256(value.encode()).hexdigest()


def looks_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.match(value.strip())) or value.strip() == ""


def schema_requirements(app_repo: AppRepo) -> list[Requirement]:
    """Every variable the repository's Prisma schema reads, with its line."""
    return [
        Requirement(ref.name, f'{ref.source.where()} reads env("{ref.name}")', ref.source.where())
        for ref in app_repo.schema_env()
    ]


def requirements(
    env_name: str, env: Environment, app_repo: AppRepo | None = None
) -> list[Requirement]:
    """The variables that must be set on ``env`` unconditionally, each with its source.

    The schema's ``env()`` variables, then either keycliq.yaml's ``required_config`` or the
    app's own (DATABASE_URL when no schema was read, SESSION_SECRET, APP_URL, NODE_ENV). The
    conditional rules (images, mail, OpenAI) are applied by :func:`audit_config`.
    """
    found: dict[str, Requirement] = {}
    schema_read = app_repo is not None and app_repo.schema is not None
    if app_repo is not None:
        for req in schema_requirements(app_repo):
            found.setdefault(req.var, req)
    if env.required_config is not None:
        where = f"keycliq.yaml: environments.{env_name}.required_config"
        for name in env.required_config:
            found.setdefault(name, Requirement(name, f"{where} lists it", "keycliq.yaml"))
        return list(found.values())
    if not schema_read:
        found.setdefault(
            "DATABASE_URL",
            Requirement(
                "DATABASE_URL",
                'the app\'s prisma/schema.prisma reads env("DATABASE_URL") (its datasource url)',
                "prisma/schema.prisma",
            ),
        )
    for name in ("SESSION_SECRET", "APP_URL", "NODE_ENV"):
        found.setdefault(name, Requirement(name, f"{code_source(name)} reads it", _CODE[name]))
    return list(found.values())


@dataclass(frozen=True)
class BackupSchedules:
    """What the Heroku Postgres API says of the app's backup schedules (``schedules``:
    ``DATABASE_URL: daily at 2:00 UTC`` …), or why it could not be asked (``problem``)."""

    app: str
    database: str | None = None
    schedules: tuple[str, ...] = ()
    problem: str | None = None


def backup_schedules_of(client: object, env: Environment) -> BackupSchedules | None:
    """The production database's backup schedules (None elsewhere: not asked)."""
    if env.stage != "production":
        return None
    from keycliq_ops.adapters.heroku.postgres import PostgresClient
    from keycliq_ops.base.errors import KeycliqError

    try:
        with PostgresClient.for_client(client) as pg:
            addon = pg.database(env.app)
            found = pg.schedules(addon)
    except KeycliqError as exc:
        return BackupSchedules(env.app, problem=exc.message)
    return BackupSchedules(
        env.app,
        database=addon.name,
        schedules=tuple(f"{s.name}: daily at {s.hour}:00 {s.timezone}" for s in found),
    )


def backup_findings(backups: BackupSchedules | None) -> list[AuditFinding]:
    """A warning when the production database has no backup schedule (or it is unknown)."""
    if backups is None or backups.schedules:
        return []
    command = f"heroku pg:backups:schedule DATABASE_URL --at '02:00 UTC' -a {backups.app}"
    if backups.problem is not None:
        message = f"the backup schedule could not be read ({backups.problem})"
    else:
        message = (
            f"{backups.database or 'the database'} has no backup schedule (no automatic daily "
            f"backups): set one with `{command}`"
        )
    return [AuditFinding(var="backups", level="warning", message=message, source="Heroku Postgres")]


def audit_config(
    env_name: str,
    env: Environment,
    vars_: Mapping[str, str],
    *,
    other_session_digests: Mapping[str, str] | None = None,
    web_url: str | None = None,
    app_repo: AppRepo | None = None,
    backups: BackupSchedules | None = None,
) -> AuditReport:
    """Audit one app's config vars.

    ``other_session_digests``: env name → SESSION_SECRET digest. ``app_repo``: the app's
    repository (at the deployed commit, or the checkout); without it the schema's variables
    are not known and DATABASE_URL stands for them. ``backups``: the production database's
    backup schedules (:func:`backup_schedules_of`); none is a warning naming the command.
    """
    findings: list[AuditFinding] = []
    app = env.app
    required: dict[str, str] = {}  # var → short source, for the table

    def add(var: str, message: str, level: Level = "error", source: str | None = None) -> None:
        findings.append(AuditFinding(var=var, level=level, message=message, source=source))

    def present(name: str) -> bool:
        value = vars_.get(name)
        return value is not None and not looks_placeholder(value)

    def need(name: str, source: str, short: str, level: Level = "error") -> None:
        """``name`` must be set (``level``: how bad it is when not)."""
        if level == "error":
            required.setdefault(name, short)
        value = vars_.get(name)
        if value is None:
            add(name, f"is not set on {app}: {source}", level, source)
        elif looks_placeholder(value):
            add(name, f"looks like a placeholder (required: {source})", "error", source)

    for req in requirements(env_name, env, app_repo):
        need(req.var, req.source, req.short)
    app_rules = env.required_config is None

    # Images: Cloudinary when all three are set, else the Blob store, else nothing stored.
    cloudinary_src = code_source("CLOUDINARY")
    blob_src = code_source(BLOB)
    if app_rules:
        if present(BLOB) and not all(present(n) for n in CLOUDINARY):
            partial = [n for n in CLOUDINARY if present(n)]
            keys_src = "the app's code (app/lib/keys.server.js)"
            for name in partial:
                add(
                    name,
                    f"is set but Cloudinary is incomplete on {app}, so images go to the Blob "
                    f"store: {keys_src} uses Cloudinary only with all three CLOUDINARY_* set",
                    "warning",
                    keys_src,
                )
            need(BLOB, f"{blob_src} reads it", _CODE[BLOB])
        else:
            source = (
                f"{cloudinary_src} needs all three CLOUDINARY_* to store images, or {BLOB} "
                f"instead ({_CODE[BLOB]})"
            )
            for name in CLOUDINARY:
                need(name, source, _CODE["CLOUDINARY"].split(",")[0])
    for name in (*CLOUDINARY, BLOB):
        value = vars_.get(name)
        if value is not None and looks_placeholder(value) and name not in required:
            add(name, "looks like a placeholder", "error", cloudinary_src)

    # OpenAI: without a key the app runs in demo mode (scans are simulated).
    openai_src = code_source(OPENAI)
    demo_src = code_source("DEMO")
    openai = vars_.get(OPENAI)
    if openai is None and OPENAI not in required:
        production = env.stage == "production"
        add(
            OPENAI,
            f"is not set on {app}: the app runs in demo mode and scans are simulated"
            + (", which production must not do" if production else "")
            + f"; {demo_src} turns demo mode on without it",
            "error" if production and app_rules else "warning",
            demo_src,
        )
        if production and app_rules:
            required.setdefault(OPENAI, _CODE[OPENAI])
    elif openai is not None and looks_placeholder(openai) and OPENAI not in required:
        add(OPENAI, f"looks like a placeholder: {openai_src} sends it to OpenAI", "error")
    elif openai is not None and app_rules:
        required.setdefault(OPENAI, _CODE[OPENAI])

    # Mail: one key (Resend first, Sendgrid as the fallback) and the sender.
    mail_src = code_source("MAIL")
    for name in MAIL_KEYS:
        value = vars_.get(name)
        if value is not None and looks_placeholder(value):
            add(name, "looks like a placeholder", "error", mail_src)
    if env.effective_mail_required():
        if not any(n in vars_ for n in MAIL_KEYS):
            add(
                "RESEND_API_KEY",
                f"is not set (nor SENDGRID_API_KEY) on {app}: mail is required here "
                f"({_mail_setting(env)}) and {mail_src} needs one of them",
                "error",
                mail_src,
            )
        key = next((n for n in MAIL_KEYS if n in vars_), "RESEND_API_KEY")
        required.setdefault(key, "app/utils/email.server.js")
        for name in MAIL_FROM:
            need(name, f"{mail_src} sends password-reset mail from it", "app/utils/email.server.js")
    elif not any(n in vars_ for n in MAIL_KEYS):
        add(
            "RESEND_API_KEY",
            f"is not set (nor SENDGRID_API_KEY) on {app}: mail disabled, password-reset "
            f"mail is not sent; {mail_src} needs one of them",
            "warning",
            mail_src,
        )
    else:
        for name in MAIL_FROM:
            if name not in vars_:
                add(
                    name,
                    f"is not set on {app}: {mail_src} sends password-reset mail from it",
                    "warning",
                    mail_src,
                )
    address = vars_.get("MAIL_FROM_ADDRESS")
    if address and not looks_placeholder(address) and not _EMAIL.match(address):
        add("MAIL_FROM_ADDRESS", "is not an e-mail address")

    # Value rules, whatever required the variable.
    app_url = vars_.get("APP_URL")
    if app_url and not looks_placeholder(app_url):
        parts = urlsplit(app_url)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
        ):
            add(
                "APP_URL",
                f"must be an https URL: {code_source('APP_URL')} builds the password-reset "
                "link on it",
            )
        expected = env.url or web_url
        if expected and app_url.rstrip("/") != expected.rstrip("/"):
            add("APP_URL", f"is {app_url} but the environment's URL is {expected}")

    node_env = vars_.get("NODE_ENV")
    if node_env is not None and node_env != "production":
        add(
            "NODE_ENV",
            f"is {node_env!r}, expected 'production': {code_source('NODE_ENV')} turns on the "
            "https redirect and secure cookies with it",
        )

    database_url = vars_.get("DATABASE_URL")
    if (
        database_url
        and not looks_placeholder(database_url)
        and not database_url.startswith(("postgres://", "postgresql://"))
    ):
        add("DATABASE_URL", "is not a postgres:// URL")

    session = vars_.get("SESSION_SECRET")
    if session and not looks_placeholder(session):
        if len(session) < MIN_SESSION_SECRET:
            add(
                "SESSION_SECRET",
                f"is {len(session)} chars; use at least {MIN_SESSION_SECRET} "
                "(32 random bytes, hex)",
            )
        digest = secret_digest(session)
        for other, other_digest in (other_session_digests or {}).items():
            if other != env_name and other_digest == digest:
                add("SESSION_SECRET", f"is the same as in {other}; each environment needs its own")

    findings.extend(backup_findings(backups))

    problem_vars = {f.var for f in findings if f.level == "error"}
    rows: list[VarRow] = []
    for name in sorted(set(required) | set(vars_)):
        value = vars_.get(name)
        shown = (
            "(unset)"
            if value is None
            else (mask(value) if is_secret_name(name) else redact_url(value))
        )
        status: Literal["ok", "missing", "problem", "optional"]
        if value is None:
            status = "missing"
        elif name in problem_vars:
            status = "problem"
        else:
            status = "ok" if name in required else "optional"
        rows.append(
            VarRow(
                name=name,
                value=shown,
                required=name in required,
                status=status,
                required_by=required.get(name),
            )
        )
    return AuditReport(
        environment=env_name,
        app=app,
        rows=rows,
        findings=findings,
        requirements_from=app_repo.origin if app_repo is not None else None,
    )


def _mail_setting(env: Environment) -> str:
    if env.mail_required is not None:
        return "keycliq.yaml: mail_required"
    return f"stage {env.stage}"
