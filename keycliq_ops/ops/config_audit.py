"""The config-var audit (``keycliq config check``, and the deploy preflight).

Pure logic over config-var mappings fetched by the caller: required vars present and not
placeholder-looking, APP_URL https and matching the environment, NODE_ENV, SESSION_SECRET
long enough and different between environments (digests are compared, never values), a
mailer key where mail is required. Values appear only masked in the report.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel

from keycliq_ops.base.redact import is_secret_name, mask, redact_url
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


class AuditFinding(BaseModel):
    var: str
    level: Level
    message: str


class VarRow(BaseModel):
    name: str
    value: str  # masked when secret
    required: bool
    status: Literal["ok", "missing", "problem", "optional"]


class AuditReport(BaseModel):
    environment: str
    app: str
    rows: list[VarRow]
    findings: list[AuditFinding]

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)


def secret_digest(value: str) -> str:
    """A digest to compare secrets across environments without holding both values."""
    return hashlib.sha256(value.encode()).hexdigest()


def looks_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.match(value.strip())) or value.strip() == ""


def audit_config(
    env_name: str,
    env: Environment,
    vars_: Mapping[str, str],
    *,
    other_session_digests: Mapping[str, str] | None = None,
    web_url: str | None = None,
) -> AuditReport:
    """Audit one app's config vars. ``other_session_digests``: env name → SESSION_SECRET digest."""
    findings: list[AuditFinding] = []
    required = env.effective_required_config()

    def add(var: str, message: str, level: Level = "error") -> None:
        findings.append(AuditFinding(var=var, level=level, message=message))

    for name in required:
        value = vars_.get(name)
        if value is None:
            add(name, "required but not set")
        elif looks_placeholder(value):
            add(name, "looks like a placeholder")

    app_url = vars_.get("APP_URL")
    if app_url:
        parts = urlsplit(app_url)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
        ):
            add("APP_URL", "must be an https URL")
        expected = env.url or web_url
        if expected and app_url.rstrip("/") != expected.rstrip("/"):
            add("APP_URL", f"is {app_url} but the environment's URL is {expected}")

    node_env = vars_.get("NODE_ENV")
    if node_env is not None and node_env != "production":
        add("NODE_ENV", f"is {node_env!r}, expected 'production'")

    database_url = vars_.get("DATABASE_URL")
    if database_url and not database_url.startswith(("postgres://", "postgresql://")):
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

    if env.effective_mail_required():
        if not (vars_.get("RESEND_API_KEY") or vars_.get("SENDGRID_API_KEY")):
            add("RESEND_API_KEY", "mail is required here: set RESEND_API_KEY (or SENDGRID_API_KEY)")
        address = vars_.get("MAIL_FROM_ADDRESS")
        if address and not _EMAIL.match(address):
            add("MAIL_FROM_ADDRESS", "is not an e-mail address")

    problem_vars = {f.var for f in findings}
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
        rows.append(VarRow(name=name, value=shown, required=name in required, status=status))
    return AuditReport(environment=env_name, app=env.app, rows=rows, findings=findings)
