"""The team's four incident playbooks: the automatable diagnosis, then the manual steps.

A :class:`Playbook` names the log kinds that signal its incident (from
:data:`keycliq_ops.ops.logs.CATALOGUE`), the config vars it audits, the Dataclips it runs and
the steps left to a person. :func:`run_playbook` gathers the evidence from Heroku and the
app's database and returns a :class:`PlaybookReport` of :class:`Finding` s, each with a
severity; the report fails when a finding is an error. Secret values never enter a report:
log lines are masked by the classifier, config values by :mod:`keycliq_ops.base.redact`, and
the database URL is only used, never recorded.

Example::

    with HerokuClient.from_environment() as client:
        report = run_playbook(get_playbook("scan-failures"), "staging", env, client,
                              catalog=load_catalog(loaded.dataclips_dir))
    if not report.ok:
        ...
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from keycliq_ops.base.errors import UsageError
from keycliq_ops.base.redact import is_secret_name, mask, redact_url

if TYPE_CHECKING:
    from keycliq_ops.adapters.heroku.client import HerokuClient
    from keycliq_ops.config.settings import Environment
    from keycliq_ops.dataclips import Catalog, DataclipRun
    from keycliq_ops.ops.logs import LogEvent

Severity = Literal["ok", "info", "warning", "error"]
SEVERITY_RANK: dict[str, int] = {"ok": 0, "info": 1, "warning": 2, "error": 3}
LAST_LINES = 5  # failing log lines shown per kind
RECENT_HOURS = 24  # the window of "recent key_matchings"
LEGACY_MATCH_TYPE = "POSSIBLE_MATCH"  # the legacy path and demo mode still write it
KNOWN_MATCH_TYPES = ("MATCH_FOUND", "POSSIBLE_KEYS", "NO_MATCH", LEGACY_MATCH_TYPE)


@dataclass(frozen=True)
class Playbook:
    """One incident playbook (what the team did by hand, now partly automated)."""

    name: str
    title: str
    when: str  # the symptom that sends someone here
    error_kinds: tuple[str, ...] = ()  # log kinds that are this incident
    context_kinds: tuple[str, ...] = ()  # log kinds counted for context (e.g. scans)
    config_vars: tuple[str, ...] = ()  # vars audited (present, not placeholder; masked)
    dataclips: tuple[str, ...] = ()
    recent_matchings: bool = False
    manual_steps: tuple[str, ...] = ()

    def automated(self) -> list[str]:
        """What ``run`` checks, in words (for ``show``)."""
        steps: list[str] = []
        if self.error_kinds:
            kinds = ", ".join((*self.error_kinds, *self.context_kinds))
            steps.append(f"classify the app log's last lines and count: {kinds}")
        if self.config_vars:
            steps.append("config vars present and not placeholders: " + ", ".join(self.config_vars))
        if self.name == "email":
            steps.append("mail sender sanity: a mailer key where mail is required, a real domain")
        if self.dataclips:
            steps.append("Dataclips on the app's database: " + ", ".join(self.dataclips))
        if self.recent_matchings:
            steps.append(f"key_matchings of the last {RECENT_HOURS} h by matchType")
        return steps


PLAYBOOKS: tuple[Playbook, ...] = (
    Playbook(
        name="scan-failures",
        title="Scan failures (OpenAI)",
        when="scans fail or hang; users see no match after photographing a key",
        error_kinds=("openai-failed", "scan-crashed", "scan-route-failed", "matching-not-saved"),
        context_kinds=("scan-started", "scan-match-found", "scan-no-match", "scan-possible-match"),
        config_vars=("OPENAI_API_KEY",),
        manual_steps=(
            "Check OpenAI's status page (https://status.openai.com) for an outage.",
            "Check the OpenAI account's usage and quota (429 'exceeded your current quota').",
            "If OpenAI stays down, enable the temporary fallback: manual signature upload.",
            "If the key was revoked or rotated, set the new one: "
            "heroku config:set OPENAI_API_KEY=… -a APP",
        ),
    ),
    Playbook(
        name="data-integrity",
        title="Matching errors or corrupt data",
        when="wrong or missing matches; a migration may have written bad rows",
        config_vars=("DATABASE_URL",),
        dataclips=("E1", "E2", "G"),
        recent_matchings=True,
        manual_steps=(
            "Look at the failing rows (keycliq dataclips run E1 E2 G -e ENV shows samples).",
            "Look at the recent key_matchings around the time the problem started.",
            "If a migration was wrong, write a correction script, review it, run it, and "
            "record it in the ledger with the code version.",
        ),
    ),
    Playbook(
        name="email",
        title="E-mail problems (Resend / Sendgrid)",
        when="password-reset mail does not arrive",
        error_kinds=("mail-disabled", "mail-domain-unverified", "mail-failed"),
        config_vars=("MAIL_FROM_NAME", "MAIL_FROM_ADDRESS"),
        manual_steps=(
            "Open the Resend (or Sendgrid) dashboard's logs for bounces, blocks and "
            "rate or monthly limits.",
            "Check the sending domain is verified there (SPF/DKIM DNS records).",
            "If the mailer key was rotated, set the new RESEND_API_KEY (it takes precedence "
            "over SENDGRID_API_KEY).",
        ),
    ),
    Playbook(
        name="missing-images",
        title="Missing images (Cloudinary)",
        when="keys show no image, or uploads fail",
        error_kinds=("image-upload-failed", "image-delete-failed"),
        context_kinds=("image-uploaded", "image-deleted"),
        config_vars=("CLOUDINARY_CLOUD_NAME", "CLOUDINARY_API_KEY", "CLOUDINARY_API_SECRET"),
        manual_steps=(
            "Check the Cloudinary console: credentials valid, storage and bandwidth quota.",
            "Keys without an image can be re-uploaded from /keys/<id> in the app.",
        ),
    ),
)


def get_playbook(name: str) -> Playbook:
    """The playbook called ``name`` (case-insensitive), or a UsageError listing them."""
    for playbook in PLAYBOOKS:
        if playbook.name == name.strip().lower():
            return playbook
    known = ", ".join(p.name for p in PLAYBOOKS)
    raise UsageError(f"unknown playbook {name!r} (known: {known})", hint="keycliq playbook list")


# -------------------------------------------------------------------------------- report
class Diagnosis(BaseModel):
    """One thing the diagnosis found; ``lines`` are masked log lines or sample rows."""

    check: str  # "log:openai-failed", "config:OPENAI_API_KEY", "dataclip:E1", …
    severity: Severity
    message: str
    lines: list[str] = []


class PlaybookReport(BaseModel):
    playbook: str
    title: str
    environment: str
    app: str
    log_lines: int | None  # lines read (None: the playbook reads no log)
    log_counts: dict[str, int]
    matchings: dict[str, int] | None  # recent key_matchings by matchType
    findings: list[Diagnosis]
    manual_steps: list[str]

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def worst(self) -> Severity:
        return max((f.severity for f in self.findings), key=SEVERITY_RANK.__getitem__, default="ok")

    def errors(self) -> list[Diagnosis]:
        return [f for f in self.findings if f.severity == "error"]


# ---------------------------------------------------------------------------------- logs
def log_findings(
    playbook: Playbook, events: Iterable[LogEvent], *, last: int = LAST_LINES
) -> tuple[int, dict[str, int], list[Diagnosis]]:
    """``(lines read, counts per watched kind, findings)`` for the playbook's log kinds.

    Each error kind seen is an error finding with its last ``last`` (already masked) lines;
    a kind not seen is an ok finding.
    """
    watched = (*playbook.error_kinds, *playbook.context_kinds)
    counts = dict.fromkeys(watched, 0)
    tails: dict[str, list[str]] = {k: [] for k in playbook.error_kinds}
    read = 0
    for event in events:
        read += 1
        if event.kind in counts:
            counts[event.kind] += 1
        if event.kind in tails:
            tail = tails[event.kind]
            tail.append(event.render())
            del tail[:-last]
    findings: list[Diagnosis] = []
    for kind in playbook.error_kinds:
        n = counts[kind]
        if n:
            findings.append(
                Diagnosis(
                    check=f"log:{kind}",
                    severity="error",
                    message=f"{n} {kind} line{'s' if n != 1 else ''} in the last {read} "
                    f"log lines ({_meaning(kind)})",
                    lines=tails[kind],
                )
            )
        else:
            findings.append(
                Diagnosis(
                    check=f"log:{kind}",
                    severity="ok",
                    message=f"no {kind} line in the last {read} log lines",
                )
            )
    return read, counts, findings


def _meaning(kind: str) -> str:
    from keycliq_ops.ops.logs import KINDS

    return KINDS[kind].meaning


# -------------------------------------------------------------------------------- config
# Domains no real mailer can send from (reserved, local, or not the team's to verify).
_UNSENDABLE_DOMAIN = re.compile(
    r"(^|\.)(example\.(com|net|org)|localhost|local|test|invalid|example|herokuapp\.com)$",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"^[^@\s]+@(?P<domain>[^@\s]+\.[^@\s]+)$")


def _shown(name: str, value: str) -> str:
    return mask(value) if is_secret_name(name) else redact_url(value)


def config_findings(
    playbook: Playbook, env: Environment, vars_: Mapping[str, str | None]
) -> list[Diagnosis]:
    """The playbook's config-var audit. Values appear only masked (secrets) or redacted."""
    from keycliq_ops.ops.config_audit import looks_placeholder

    findings: list[Diagnosis] = []
    mail_required = env.effective_mail_required()
    for name in playbook.config_vars:
        value = vars_.get(name)
        needed = not (playbook.name == "email" and not mail_required)
        check = f"config:{name}"
        if value is None:
            if needed:
                findings.append(
                    Diagnosis(check=check, severity="error", message=f"{name} is not set")
                )
            else:
                findings.append(
                    Diagnosis(
                        check=check,
                        severity="info",
                        message=f"{name} is not set (mail is not required in this environment)",
                    )
                )
        elif looks_placeholder(value):
            findings.append(
                Diagnosis(
                    check=check,
                    severity="error",
                    message=f"{name} looks like a placeholder ({_shown(name, value)})",
                )
            )
        elif name == "DATABASE_URL":
            findings.append(Diagnosis(check=check, severity="ok", message="DATABASE_URL is set"))
        else:
            findings.append(
                Diagnosis(
                    check=check, severity="ok", message=f"{name} is set: {_shown(name, value)}"
                )
            )
    if playbook.name == "email":
        findings.extend(_mail_findings(vars_, mail_required))
    return findings


def _mail_findings(vars_: Mapping[str, str | None], mail_required: bool) -> list[Diagnosis]:
    findings: list[Diagnosis] = []
    resend, sendgrid = vars_.get("RESEND_API_KEY"), vars_.get("SENDGRID_API_KEY")
    if resend and sendgrid:
        message = (
            f"RESEND_API_KEY is set ({mask(resend)}) and takes precedence over "
            f"SENDGRID_API_KEY ({mask(sendgrid)})"
        )
        findings.append(Diagnosis(check="config:mailer", severity="ok", message=message))
    elif resend or sendgrid:
        name = "RESEND_API_KEY" if resend else "SENDGRID_API_KEY"
        value = resend or sendgrid or ""
        findings.append(
            Diagnosis(check="config:mailer", severity="ok", message=f"{name} is set: {mask(value)}")
        )
    else:
        findings.append(
            Diagnosis(
                check="config:mailer",
                severity="error" if mail_required else "info",
                message="neither RESEND_API_KEY nor SENDGRID_API_KEY is set"
                + ("" if mail_required else " (mail is not required in this environment)"),
            )
        )
    address = vars_.get("MAIL_FROM_ADDRESS")
    if address and not _looks_placeholder(address):
        m = _EMAIL.match(address.strip())
        if m is None:
            findings.append(
                Diagnosis(
                    check="config:mail-domain",
                    severity="error",
                    message=f"MAIL_FROM_ADDRESS {address!r} is not an e-mail address",
                )
            )
        elif _UNSENDABLE_DOMAIN.search(m.group("domain")):
            findings.append(
                Diagnosis(
                    check="config:mail-domain",
                    severity="error",
                    message=f"MAIL_FROM_ADDRESS's domain {m.group('domain')} cannot be "
                    "verified with a mailer (use the app's own domain)",
                )
            )
        else:
            findings.append(
                Diagnosis(
                    check="config:mail-domain",
                    severity="ok",
                    message=f"sender domain {m.group('domain')} (verify it in the mailer)",
                )
            )
    return findings


def _looks_placeholder(value: str) -> bool:
    from keycliq_ops.ops.config_audit import looks_placeholder

    return looks_placeholder(value)


# ----------------------------------------------------------------------------- database
_DATACLIP_SEVERITY: dict[str, Severity] = {"pass": "ok", "info": "info", "warn": "warning"}


def dataclip_findings(run: DataclipRun) -> list[Diagnosis]:
    """One finding per check: pass → ok, warn → warning, fail/error → error."""
    from keycliq_ops.dataclips.verdicts import is_failing

    findings: list[Diagnosis] = []
    for r in run.results:
        severity: Severity = (
            "error" if is_failing(r.verdict) else _DATACLIP_SEVERITY.get(r.verdict, "error")
        )
        broken = [e.actual or e.text for e in r.expectations if e.status != "pass"]
        detail = r.error or "; ".join(broken)
        message = f"{r.id} {r.title}: {r.verdict}" + (f" ({detail})" if detail else "")
        lines = [", ".join(str(v) for v in row) for row in r.rows[:LAST_LINES]] if broken else []
        findings.append(
            Diagnosis(check=f"dataclip:{r.id}", severity=severity, message=message, lines=lines)
        )
    return findings


RECENT_MATCHINGS_SQL = """
SELECT "matchType", count(*)
FROM key_matchings
WHERE "createdAt" >= $1
GROUP BY "matchType"
ORDER BY count(*) DESC, "matchType"
"""


def recent_matchings(database_url: str, *, hours: int = RECENT_HOURS) -> dict[str, int]:
    """key_matchings created in the last ``hours``, counted by matchType (read-only).

    DatabaseError (exit 3) when the database cannot be reached or the query fails."""
    from keycliq_ops.adapters.db import DbSession

    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=hours)
    with DbSession.open(database_url) as session:
        result = session.query(RECENT_MATCHINGS_SQL, [since], action="count recent key_matchings")
    return {str(kind): int(n) for kind, n in result.rows}


def matching_findings(counts: Mapping[str, int], *, hours: int = RECENT_HOURS) -> list[Diagnosis]:
    total = sum(counts.values())
    unknown = {k: n for k, n in counts.items() if k not in KNOWN_MATCH_TYPES}
    parts = ", ".join(f"{k} {n}" for k, n in counts.items()) or "none"
    findings = [
        Diagnosis(
            check="db:recent-matchings",
            severity="info",
            message=f"{total} key_matchings in the last {hours} h: {parts}",
        )
    ]
    legacy = counts.get(LEGACY_MATCH_TYPE, 0)
    if legacy:
        findings.append(
            Diagnosis(
                check="db:recent-match-types",
                severity="warning",
                message=f"{LEGACY_MATCH_TYPE} ×{legacy}: written by the app's legacy "
                "single-candidate path (app/routes/scan_.possible.jsx) and by demo mode (no "
                "OPENAI_API_KEY): not a defect, but a sign scans are simulated or old",
            )
        )
    if unknown:
        findings.append(
            Diagnosis(
                check="db:recent-match-types",
                severity="error",
                message="recent key_matchings with an unknown matchType: "
                + ", ".join(f"{k} ×{n}" for k, n in unknown.items()),
            )
        )
    return findings


# ---------------------------------------------------------------------------------- run
ProgressCallback = Callable[[str], None]


def run_playbook(
    playbook: Playbook,
    env_name: str,
    env: Environment,
    client: HerokuClient,
    *,
    catalog: Catalog | None = None,
    lines: int = 500,
    progress: ProgressCallback | None = None,
) -> PlaybookReport:
    """Diagnose ``playbook``'s incident on ``env``'s app; Heroku/database errors propagate
    as :mod:`keycliq_ops.base.errors` (exit 3)."""
    from keycliq_ops.ops.logs import Classifier, read_logs, secrets_of

    say = progress or (lambda _msg: None)
    say(f"reading config vars of {env.app}")
    vars_ = client.config_vars(env.app)
    findings = config_findings(playbook, env, vars_)
    log_lines: int | None = None
    counts: dict[str, int] = {}
    if playbook.error_kinds:
        say(f"reading the last {lines} log lines of {env.app}")
        events = read_logs(client, env.app, lines=lines, classifier=Classifier(secrets_of(vars_)))
        log_lines, counts, found = log_findings(playbook, events)
        findings.extend(found)
    matchings: dict[str, int] | None = None
    if playbook.dataclips or playbook.recent_matchings:
        from keycliq_ops.adapters.db import database_url_of

        database_url = database_url_of(vars_, env.app, flag=None)
        if playbook.dataclips:
            from keycliq_ops.dataclips import load_catalog, run_dataclips

            if catalog is None:
                from keycliq_ops.config.loading import shipped_dataclips

                catalog = load_catalog(shipped_dataclips())
            say("running Dataclips " + " ".join(playbook.dataclips))
            run = run_dataclips(catalog, list(playbook.dataclips), database_url, target=env.app)
            findings.extend(dataclip_findings(run))
        if playbook.recent_matchings:
            say("counting recent key_matchings")
            matchings = recent_matchings(database_url)
            findings.extend(matching_findings(matchings))
    return PlaybookReport(
        playbook=playbook.name,
        title=playbook.title,
        environment=env_name,
        app=env.app,
        log_lines=log_lines,
        log_counts=counts,
        matchings=matchings,
        findings=findings,
        manual_steps=list(playbook.manual_steps),
    )
