"""The log lines that matter: the pattern catalogue, classification, summaries, the watch.

A Heroku log line (``2025-11-11T10:30:00.123456+00:00 app[web.1]: message``) is parsed
into a :class:`LogEvent` and classified by :data:`CATALOGUE` into a *kind*
(``scan-match-found``, ``scan-crashed``, ``openai-failed``, ``H12``…) with a severity
(info, warning, error): the app's failure lines are error kinds named after what failed,
its normal lines info kinds, scans counted by outcome from the scan route's banners.
Secrets are masked before anything else looks at a line. A :class:`Summary` counts kinds
(first/last seen) and scans by outcome; :func:`verdict` turns a summary and a
:class:`WatchPolicy` into the post-deploy verdict.

Example::

    classifier = Classifier(secrets=[config["SESSION_SECRET"]])
    summary = Summary()
    for raw in client.stream_lines(session.logplex_url, reconnect=False):
        summary.add(classifier.event(raw))
    result = verdict(summary, DEFAULT_POLICY, app=app, environment=env, seconds=300)

:func:`until_deadline` reads a blocking line stream on a worker thread and stops at a
deadline (a timed wait on a queue, no polling).
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, computed_field

from keycliq_ops.base.errors import HerokuError, UsageError
from keycliq_ops.base.redact import Redactor, is_secret_name

if TYPE_CHECKING:
    from keycliq_ops.adapters.heroku.client import HerokuClient

Severity = Literal["info", "warning", "error"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class Pattern:
    """One kind of line that matters."""

    kind: str
    severity: Severity
    meaning: str
    regex: re.Pattern[str]
    source: Literal["app", "heroku"] | None = None  # None: either
    hint: str | None = None  # what to do when the watch fails on it


def _re(text: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(text, flags)


# Order matters: the first pattern that matches decides the kind, on each line by itself (a
# multi-line value the app printed, e.g. ``Error sending email: {`` and its ``  statusCode:
# 403,`` lines, is classified by its first line; the lines after it are classified on their
# own). Heroku's own error codes come first (router lines ``at=error code=H12 …``, dyno lines
# ``Error R14 (…)``), then the app's failure lines, which name the operation that failed
# (a scan, a matching save, an upload) before the generic database lines, then the app's
# normal lines. The app's texts are those of its source (keycliq-app-code.md, "Log lines the
# code really writes"); some of its emoji prefixes are stored mis-encoded (``ÔØî`` for ❌),
# so the patterns match the words after them.
CATALOGUE: tuple[Pattern, ...] = (
    Pattern("H10", "error", "app crashed (router)", _re(r"\bcode=H10\b|\bError H10\b")),
    Pattern("H12", "error", "request timeout (router)", _re(r"\bcode=H12\b|\bError H12\b")),
    Pattern(
        "H13",
        "error",
        "connection closed without response",
        _re(r"\bcode=H13\b|\bError H13\b"),
    ),
    Pattern("H14", "error", "no web dynos running", _re(r"\bcode=H14\b|\bError H14\b")),
    Pattern("R14", "warning", "memory quota exceeded", _re(r"\bcode=R14\b|\bError R14\b")),
    Pattern("R15", "error", "memory quota vastly exceeded", _re(r"\bcode=R15\b|\bError R15\b")),
    Pattern(
        "heroku-error",
        "error",
        "another Heroku error code (Hxx/Rxx/Lxx)",
        _re(r"\bat=error\b|\bError [HRL]\d\d\b"),
        source="heroku",
    ),
    Pattern(
        "crashed",
        "error",
        "a dyno crashed",
        _re(r"State changed from \w+ to crashed"),
        source="heroku",
    ),
    # -- the app's failure lines ----------------------------------------------------------
    Pattern(
        "scan-crashed",
        "error",
        "scan crashed (an exception in the scan code; the user saw the error page)",
        _re(r"KEYSCAN V6 - ERROR\b|\bError in processKeyImageV6:"),
        source="app",
    ),
    Pattern(
        "scan-route-failed",
        "error",
        "a scan could not be processed (the scan route's 'Processing failed'; the user saw "
        "the error page)",
        _re(r"\bProcessing failed:"),
        source="app",
    ),
    Pattern(
        "openai-failed",
        "error",
        "OpenAI analysis failed (quota, outage, key, or an answer without JSON)",
        _re(r"Hybrid Balanced AI analysis failed"),
        hint="check OPENAI_API_KEY and the OpenAI account's quota (status.openai.com)",
    ),
    Pattern(
        "signature-failed",
        "error",
        "a key's signature was not extracted (the key is kept with sigStatus failed)",
        _re(r"Error extrayendo signature V6|\bError in extractSignatureV6:"),
        source="app",
    ),
    Pattern(
        "signature-not-saved",
        "error",
        "a key's signature row (key_signatures) was not saved",
        _re(r"Error creando KeySignature"),
        source="app",
    ),
    Pattern(
        "key-not-created",
        "error",
        "a key could not be created",
        _re(r"Error creando llave"),
        source="app",
    ),
    Pattern(
        "image-upload-failed",
        "error",
        "image upload failed (Cloudinary or Vercel Blob): keys are saved without images",
        _re(
            r"Error uploading to (?:Cloudinary|Vercel Blob)|Error subiendo imagen a Cloudinary"
            r"|Failed to upload new image to Cloudinary"
        ),
        source="app",
        hint="check CLOUDINARY_CLOUD_NAME / _API_KEY / _API_SECRET (http_code 401: wrong "
        "credentials) or BLOB_READ_WRITE_TOKEN",
    ),
    Pattern(
        "image-delete-failed",
        "error",
        "image deletion failed (Cloudinary or Vercel Blob): a deleted key's image is left",
        _re(
            r"Error deleting from (?:Cloudinary|Vercel Blob)"
            r"|Failed to delete image from Cloudinary"
        ),
        source="app",
    ),
    Pattern(
        "matching-refused",
        "info",
        "a NO_MATCH scan's matching refused by the app's own check (normal: its NO_MATCH "
        "path passes the best candidate's key; the scan is kept without a key_matchings row)",
        _re(r"Failed to save (?:demo )?matching result: NO_MATCH should not have matchedKeyId"),
        source="app",
    ),
    Pattern(
        "matching-not-saved",
        "error",
        "a scan's result was not saved (no key_matchings row)",
        _re(r"Failed to save (?:demo )?matching result"),
        source="app",
    ),
    Pattern(
        "scan-not-saved",
        "error",
        "a scan was not saved (no key_queries row, so no matching either)",
        _re(r"Failed to save (?:demo )?KeyQuery"),
        source="app",
    ),
    Pattern(
        "mail-disabled",
        "error",
        "mail disabled: no RESEND_API_KEY or SENDGRID_API_KEY (password-reset mail cannot be sent)",
        _re(
            r"No email API key configured|Cannot send email: No email API configured"
            r"|Email service not configured"
        ),
        source="app",
        hint="set RESEND_API_KEY (or SENDGRID_API_KEY): heroku config:set RESEND_API_KEY=… -a APP",
    ),
    Pattern(
        "mail-domain-unverified",
        "error",
        "mail refused by Resend (403): MAIL_FROM_ADDRESS's domain is not verified",
        _re(r"domain is not verified|verify a domain", re.IGNORECASE),
        source="app",
        hint="verify the domain of MAIL_FROM_ADDRESS at resend.com/domains, or send from a "
        "verified one",
    ),
    Pattern(
        "mail-failed",
        "error",
        "e-mail not sent (Resend / Sendgrid: key, limits, recipient)",
        _re(
            r"\bError sending email:|\bError in sendPasswordResetEmail:"
            r"|\bError sending password reset email:"
            r"|\b(?:resend|sendgrid)\b.{0,200}?\b(?:error|fail(?:ed|ure)?)\b"
            r"|\b(?:error|fail(?:ed|ure)?)\b.{0,200}?\b(?:resend|sendgrid)\b",
            re.IGNORECASE,
        ),
        source="app",
        hint="statusCode 401: RESEND_API_KEY is wrong; 403: MAIL_FROM_ADDRESS's domain; "
        "429: Resend's rate or daily limit",
    ),
    Pattern(
        "database-unreachable",
        "error",
        "database unreachable (Prisma could not connect: DATABASE_URL, the Postgres add-on)",
        _re(r"PrismaClientInitializationError|Can't reach database server|\bP1\d\d\d\b"),
        hint="check DATABASE_URL and the add-on: heroku pg:info -a APP",
    ),
    Pattern(
        "database-error",
        "error",
        "database error (Prisma: a missing table or column, a unique or foreign-key "
        "constraint, P2xxx)",
        _re(
            r"PrismaClient(?:KnownRequest|UnknownRequest|RustPanic|Validation)Error"
            r"|does not exist in the current database|\bP2\d\d\d\b"
            r"|Unique constraint failed|Foreign key constraint (?:failed|violated)"
            r"|\bDatabase schema error:|\bPrisma error:"
        ),
        hint="a missing table or column: the schema was not pushed or migrated (npx prisma "
        "migrate status)",
    ),
    Pattern(
        "password-reset-failed",
        "error",
        "a password reset failed (forgot-password: usually its e-mail; reset-password: "
        "its database work)",
        _re(r"\bPassword reset error:"),
        source="app",
    ),
    Pattern(
        "signup-failed",
        "error",
        "a sign-up failed with an unexpected error",
        _re(r"\b(?:Unexpected )?[Ss]ignup error:"),
        source="app",
    ),
    Pattern(
        "history-failed",
        "error",
        "a user's history, matchings or stats could not be read",
        _re(r"Failed to get (?:user history|user matchings|matching stats|matching by ID)"),
        source="app",
    ),
    # -- the app's normal lines: scans counted by outcome from the KEYSCAN banners ----------
    Pattern(
        "scan-started",
        "info",
        "a scan started (the scan route's PROCESSING START banner)",
        _re(r"KEYSCAN V6 - PROCESSING START\b"),
        source="app",
    ),
    Pattern(
        "scan-match-found",
        "info",
        "a scan found the key (MATCH FOUND)",
        _re(r"KEYSCAN V6 - MATCH FOUND\b"),
        source="app",
    ),
    Pattern(
        "scan-possible-match",
        "info",
        "a scan found possible keys (POSSIBLE MATCH)",
        _re(r"KEYSCAN V6 - POSSIBLE MATCH\b"),
        source="app",
    ),
    Pattern(
        "scan-no-match",
        "info",
        "a scan found no key (NO MATCH: a normal outcome despite its ❌)",
        _re(r"KEYSCAN V6 - NO MATCH\b"),
        source="app",
    ),
    Pattern(
        "scan-empty-inventory",
        "info",
        "a scan by a user with no key yet (sent to add one)",
        _re(r"KEYSCAN V6 - EMPTY INVENTORY\b"),
        source="app",
    ),
    Pattern(
        "ai-signature",
        "info",
        "OpenAI analysed a scanned image",
        _re(r"AI signature generated successfully"),
        source="app",
    ),
    Pattern(
        "scan-saved",
        "info",
        "a scan's key_queries row was written",
        _re(r"KeyQuery saved with ID:"),
        source="app",
    ),
    Pattern(
        "matching-saved",
        "info",
        "a scan's key_matchings row was written",
        _re(r"Matching result saved successfully"),
        source="app",
    ),
    Pattern(
        "inventory-no-match",
        "info",
        "no key of the inventory could be compared (a normal no-match)",
        _re(r"No match found in inventory"),
        source="app",
    ),
    Pattern(
        "key-created",
        "info",
        "a key was created",
        _re(r"Llave creada exitosamente:"),
        source="app",
    ),
    Pattern(
        "image-uploaded",
        "info",
        "a key's image was stored (Cloudinary)",
        _re(r"Imagen subida a Cloudinary:|Image updated in Cloudinary:"),
        source="app",
    ),
    Pattern(
        "image-deleted",
        "info",
        "a key deletion cleaned its image (a line the app stopped writing in February 2026)",
        _re(r"Image deleted from Cloudinary:\s*\S+"),
        source="app",
    ),
    # -- generic --------------------------------------------------------------------------
    Pattern(
        "http-5xx",
        "warning",
        "the router answered 5xx",
        _re(r"\bstatus=5\d\d\b"),
        source="heroku",
    ),
    Pattern(
        "app-error",
        "warning",
        "another app line that says error",
        # Not a setting's value (``NPM_CONFIG_LOGLEVEL=error``, ``level:error``), nor an
        # indented line (a field of an object, or a detail, printed under the line above).
        _re(r"^(?!\s).*?(?<![=:\w-])(?:\w*error|\w*exception|unhandled)\b", re.IGNORECASE),
        source="app",
    ),
)
OTHER = Pattern("other", "info", "any other line", _re(r""))
KINDS: dict[str, Pattern] = {p.kind: p for p in (*CATALOGUE, OTHER)}
ERROR_KINDS: tuple[str, ...] = tuple(p.kind for p in CATALOGUE if p.severity == "error")

# A scan's outcome, from the scan route's banners (not from the word processKeyImageV6,
# which also names the crash line and every stack frame of the scan code).
SCAN_OUTCOMES: dict[str, str] = {
    "scan-match-found": "MATCH_FOUND",
    "scan-possible-match": "POSSIBLE_MATCH",
    "scan-no-match": "NO_MATCH",
    "scan-empty-inventory": "EMPTY_INVENTORY",
    "scan-crashed": "crashed",
    "scan-route-failed": "failed",
}
# Names given to ``--only`` / ``--max`` that stand for kinds: groups, and kinds renamed
# when the catalogue took the app's real lines (old names keep working).
GROUPS: dict[str, tuple[str, ...]] = {
    "errors": ERROR_KINDS,
    "scans": ("scan-started", *SCAN_OUTCOMES),
    "scan": ("scan-started", *SCAN_OUTCOMES),
}
ALIASES: dict[str, str] = {
    "cloudinary-upload-failed": "image-upload-failed",
    "cloudinary-deleted": "image-deleted",
}

# ``source[dyno]:`` — Cedar: ``app[web.1]``, ``heroku[router]``; Fir: ``app[web-1234abcde-123ab]``,
# ``heroku-router[router]`` (Heroku's own sources are ``heroku-*`` there).
_LINE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\dT\S+)\s+(?P<source>[a-z][a-z0-9-]*)\[(?P<dyno>[^\]]+)\]:\s?"
)
# A Fir dyno name: process type, a 9-character deployment hash, a 5-character dyno id.
_FIR_DYNO = re.compile(r"^(?P<type>[a-z][\w-]*?)-[0-9a-z]{9,10}-[0-9a-z]{5}$")


def is_heroku_source(source: str | None) -> bool:
    """Heroku's own lines: ``heroku`` (Cedar) or ``heroku-router``, ``heroku-api``… (Fir)."""
    return source is not None and (source == "heroku" or source.startswith("heroku-"))


def source_family(source: str | None) -> str | None:
    """``heroku`` for any of Heroku's own sources, else the source as it is."""
    return "heroku" if is_heroku_source(source) else source


def process_type(dyno: str | None) -> str | None:
    """The process type of a dyno name: ``web`` of ``web.1`` (Cedar) and of
    ``web-1234abcde-123ab`` (Fir); other names (``router``, ``api``) as they are."""
    if not dyno:
        return None
    m = _FIR_DYNO.match(dyno)
    if m:
        return m.group("type")
    head, dot, number = dyno.partition(".")
    return head if dot and number.isdigit() else dyno


class LogEvent(BaseModel):
    """One classified, masked log line."""

    ts: datetime | None
    source: str | None
    dyno: str | None
    kind: str
    severity: Severity
    message: str

    def render(self) -> str:
        stamp = self.ts.isoformat(timespec="microseconds") if self.ts else "-"
        where = f"{self.source}[{self.dyno}]" if self.source else "-"
        return f"{stamp} {where}: {self.message}"


def parse(raw: str) -> tuple[datetime | None, str | None, str | None, str]:
    """``(ts, source, dyno, message)`` of a Logplex line; a line in another shape is all
    message."""
    line = raw.rstrip("\r\n")
    m = _LINE.match(line)
    if not m:
        return None, None, None, line
    try:
        ts: datetime | None = datetime.fromisoformat(m.group("ts"))
    except ValueError:
        return None, None, None, line
    return ts, m.group("source"), m.group("dyno"), line[m.end() :]


def classify(message: str, source: str | None = None) -> Pattern:
    """The first catalogue pattern matching ``message`` (``other`` when none does)."""
    family = source_family(source)
    for pattern in CATALOGUE:
        if pattern.source and family and pattern.source != family:
            continue
        if pattern.regex.search(message):
            return pattern
    return OTHER


def secrets_of(config_vars: Mapping[str, str | None]) -> list[str]:
    """The values of an app's secret config vars (by name: see :mod:`keycliq_ops.base.redact`)."""
    return [v for k, v in config_vars.items() if v and is_secret_name(k)]


class Classifier:
    """Masks then classifies raw lines. Seed it with the app's secret values."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._redact = Redactor(secrets)

    def event(self, raw: str) -> LogEvent:
        ts, source, dyno, message = parse(raw)
        message = self._redact(message)
        pattern = classify(message, source)
        return LogEvent(
            ts=ts,
            source=source,
            dyno=dyno,
            kind=pattern.kind,
            severity=pattern.severity,
            message=message,
        )


def _kind_named(name: str) -> str | None:
    """The kind ``name`` stands for (case-insensitive; old names are aliases), or None."""
    lowered = name.strip().lower()
    by_lower = {k.lower(): k for k in KINDS}
    return by_lower.get(ALIASES.get(lowered, lowered))


def parse_kinds(values: Iterable[str]) -> set[str]:
    """``--only`` values (comma or repeated; case-insensitive; the groups ``errors`` and
    ``scans``) → known kinds, or UsageError."""
    picked: set[str] = set()
    for value in values:
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name in GROUPS:
                picked.update(GROUPS[name])
                continue
            kind = _kind_named(name)
            if kind is None:
                raise UsageError(
                    f"--only {part.strip()!r}: unknown kind",
                    hint="kinds: errors, scans, " + ", ".join(KINDS),
                )
            picked.add(kind)
    return picked


# ------------------------------------------------------------------------------- summary
class KindCount(BaseModel):
    kind: str
    severity: Severity
    meaning: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None


class Summary(BaseModel):
    """Counts per kind, with the first and last time each was seen."""

    lines: int = 0
    kinds: dict[str, KindCount] = {}

    def add(self, event: LogEvent) -> None:
        self.lines += 1
        found = self.kinds.get(event.kind)
        if found is None:
            found = KindCount(
                kind=event.kind,
                severity=event.severity,
                meaning=KINDS[event.kind].meaning,
                count=0,
                first_seen=event.ts,
                last_seen=event.ts,
            )
            self.kinds[event.kind] = found
        found.count += 1
        if event.ts is not None:
            if found.first_seen is None or event.ts < found.first_seen:
                found.first_seen = event.ts
            if found.last_seen is None or event.ts > found.last_seen:
                found.last_seen = event.ts

    def ordered(self) -> list[KindCount]:
        """Errors first, then warnings, then info; within a severity the catalogue order."""
        order = {k: i for i, k in enumerate(KINDS)}
        return sorted(
            self.kinds.values(), key=lambda c: (-SEVERITY_RANK[c.severity], order[c.kind])
        )

    def count(self, kind: str) -> int:
        found = self.kinds.get(kind)
        return found.count if found else 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def scans(self) -> dict[str, int]:
        """Scans by outcome (from the scan route's banners): ``started``, ``MATCH_FOUND``,
        ``POSSIBLE_MATCH``, ``NO_MATCH``, ``EMPTY_INVENTORY``, ``crashed``, ``failed``."""
        out = {"started": self.count("scan-started")}
        out.update({label: self.count(kind) for kind, label in SCAN_OUTCOMES.items()})
        return out


# --------------------------------------------------------------------------------- watch
class WatchPolicy(BaseModel):
    """How many lines of a kind a watch tolerates. Every error kind (:data:`ERROR_KINDS`:
    Heroku's codes and the app's failure lines) defaults to ``max_errors`` (0: the default
    policy fails on one line of any error kind); ``limits`` overrides per kind (a warning
    or info kind is judged only when listed)."""

    max_errors: int = 0
    limits: dict[str, int] = {}

    def limit(self, kind: str) -> int | None:
        if kind in self.limits:
            return self.limits[kind]
        if KINDS[kind].severity == "error":
            return self.max_errors
        return None


DEFAULT_POLICY = WatchPolicy()


def parse_limits(pairs: Iterable[str]) -> dict[str, int]:
    """``--max KIND=N`` pairs → ``{kind: N}`` (kind case-insensitive), or UsageError."""
    out: dict[str, int] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        kind = _kind_named(name)
        if not sep or kind is None:
            raise UsageError(
                f"--max {pair!r}: expected KIND=N with a known kind (e.g. --max H12=2)",
                hint="kinds: " + ", ".join(KINDS),
            )
        try:
            limit = int(value.strip())
        except ValueError:
            limit = -1
        if limit < 0:
            raise UsageError(f"--max {pair!r}: N must be a whole number ≥ 0")
        out[kind] = limit
    return out


class Breach(BaseModel):
    kind: str
    count: int
    limit: int
    meaning: str
    hint: str | None = None


class WatchResult(BaseModel):
    """The verdict of a post-deploy watch."""

    app: str
    environment: str
    seconds: float
    since: datetime | None
    passed: bool
    breaches: list[Breach]
    summary: Summary
    rollback_command: str | None
    generation: str = "cedar"
    history: bool = Field(
        default=True,
        description="Whether earlier lines could be read (Fir keeps no log history: a "
        "watch there counts from its start).",
    )
    notes: list[str] = Field(default_factory=list)


def verdict(
    summary: Summary,
    policy: WatchPolicy,
    *,
    app: str,
    environment: str,
    seconds: float,
    since: datetime | None = None,
) -> WatchResult:
    breaches: list[Breach] = []
    for counted in summary.ordered():
        limit = policy.limit(counted.kind)
        if limit is not None and counted.count > limit:
            breaches.append(
                Breach(
                    kind=counted.kind,
                    count=counted.count,
                    limit=limit,
                    meaning=counted.meaning,
                    hint=KINDS[counted.kind].hint,
                )
            )
    passed = not breaches
    return WatchResult(
        app=app,
        environment=environment,
        seconds=seconds,
        since=since,
        passed=passed,
        breaches=breaches,
        summary=summary,
        rollback_command=None if passed else f"keycliq rollback {environment}",
    )


_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h)?\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> int:
    """``90s``, ``5m``, ``1h`` or plain seconds (``45``) → seconds; anything else (or 0, or
    more than a day) is a UsageError."""
    m = _DURATION.match(text)
    if not m:
        raise UsageError(
            f"--for {text!r}: expected a duration such as 90s, 5m or 1h",
            hint="units: s (seconds), m (minutes), h (hours)",
        )
    seconds = int(m.group(1)) * _UNIT[m.group(2) or "s"]
    if not 0 < seconds <= 86400:
        raise UsageError(f"--for {text!r}: must be more than 0 and at most 24h")
    return seconds


# ------------------------------------------------------------------------------ deadline
_END = object()


def until_deadline(
    lines: Iterator[str],
    seconds: float,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[str]:
    """The items of a blocking iterator until it ends or ``seconds`` have passed.

    The iterator is read on a daemon thread; this generator waits on a queue with a timeout
    (no polling). An error the reader raised is raised here. When the deadline passes the
    reader is abandoned; close the stream's client afterwards to release it.
    """
    box: queue.Queue[object] = queue.Queue()
    stop = threading.Event()

    def reader() -> None:
        try:
            for line in lines:
                if stop.is_set():
                    return
                box.put(line)
        except BaseException as exc:  # handed to the consumer
            box.put(exc)
        box.put(_END)

    thread = threading.Thread(target=reader, name="keycliq-log-reader", daemon=True)
    deadline = clock() + seconds
    thread.start()
    try:
        while True:
            remaining = deadline - clock()
            if remaining <= 0:
                return
            try:
                item = box.get(timeout=remaining)
            except queue.Empty:
                return
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, str)
            yield item
    finally:
        stop.set()


# ------------------------------------------------------------------------- with Heroku
BACKLOG_MAX = 1500  # the most lines a log session replays


def classifier_for(client: HerokuClient, app: str) -> Classifier:
    """A classifier seeded with the app's secret config-var values."""
    return Classifier(secrets_of(client.config_vars(app)))


# Sessions in a row that end at once (within QUICK_CLOSE seconds) without a line before
# keycliq stops reopening them: a Fir session lasts about 15 minutes, so a session that
# closes as soon as it opens, again and again, is a broken log stream, not a quiet app.
EMPTY_SESSIONS_MAX = 3
QUICK_CLOSE = 1.0


def no_history_note(app: str) -> str:
    return (
        f"{app} is a Fir app: Heroku keeps no log history there, a log session shows only "
        "lines written after it opens (--tail follows them)"
    )


def is_fir_app(client: HerokuClient, app: str) -> bool:
    """Whether ``app`` is of the Fir generation (no log history, sessions that close)."""
    return client.app(app).is_fir


def session_lines(
    client: HerokuClient,
    app: str,
    *,
    lines: int,
    tail: bool,
    source: str | None = None,
    dyno: str | None = None,
    fir: bool = False,
    stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[str]:
    """Raw lines of a log session. On Fir, while tailing, a session Heroku closed (after
    about 15 minutes) is reopened and read on, until ``stop()`` says so; lines written
    between two sessions are lost, as with Heroku's own CLI."""
    empty = 0
    while True:
        session = client.create_log_session(
            app, lines=0 if fir else lines, tail=tail, source=source, dyno_name=dyno
        )
        got, opened = 0, clock()
        for raw in client.stream_lines(session.logplex_url, reconnect=False):
            got += 1
            yield raw
            if stop():
                return
        if not (fir and tail) or stop():
            return
        empty = 0 if got or clock() - opened >= QUICK_CLOSE else empty + 1
        if empty >= EMPTY_SESSIONS_MAX:
            raise HerokuError(
                f"the log sessions of {app} closed as soon as they opened, {empty} times in a row",
                hint=f"try `heroku logs --tail -a {app}`; is the app's log stream up?",
            )


def read_logs(
    client: HerokuClient,
    app: str,
    *,
    lines: int = 100,
    tail: bool = False,
    source: str | None = None,
    dyno: str | None = None,
    classifier: Classifier | None = None,
    fir: bool | None = None,
) -> Iterator[LogEvent]:
    """Classified, masked lines of a log session (``tail``: until the caller stops).

    On Fir (``fir``; None: ask the app) there is no history: without ``tail`` nothing is
    read (say :func:`no_history_note`), with it the lines from now on, a closed session
    reopened."""
    if fir is None:
        fir = is_fir_app(client, app)
    if fir and not tail:
        return
    classifier = classifier or classifier_for(client, app)
    raws = session_lines(client, app, lines=lines, tail=tail, source=source, dyno=dyno, fir=fir)
    for raw in raws:
        if not raw.strip():
            continue
        event = classifier.event(raw)
        if fir and dyno and not (event.dyno == dyno or process_type(event.dyno) == dyno):
            continue  # the dyno filter by process type, on Fir's dyno names too
        yield event


def current_release_started(client: HerokuClient, app: str) -> datetime | None:
    """When the app's current release was created (``None`` when it has none)."""
    return _current_release(client, app)[0]


def _current_release(client: HerokuClient, app: str) -> tuple[datetime | None, bool]:
    """(when the current release was created, whether the app is on Fir): a Fir release
    runs an OCI image (``artifacts``), a Cedar one a slug; one request for both."""
    releases = client.releases(app, limit=10)
    current = next((r for r in releases if r.current), None)
    fir = any(r.image_id is not None for r in releases)
    return (current.created_at if current else None), fir


def watch(
    client: HerokuClient,
    app: str,
    environment: str,
    *,
    seconds: float,
    policy: WatchPolicy | None = None,
    from_now: bool = False,
    on_event: Callable[[LogEvent], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> WatchResult:
    """Tail the app's whole log for ``seconds`` and judge it (by ``policy``; by default
    :data:`DEFAULT_POLICY`, which fails on any line of an error kind).

    Counts every line since the current release was created (the log's backlog is read
    first), or only new lines with ``from_now``. Lines are read as they arrive; the
    deadline ends the watch. On Fir (no history) it counts from its start whatever
    ``from_now`` says, reopening a log session Heroku closes.
    """
    classifier = classifier_for(client, app)
    started, fir = _current_release(client, app)
    notes: list[str] = []
    if fir:
        from_now = True
        notes.append(no_history_note(app) + ": this watch counts lines from its start")
    since = None if from_now else started
    summary = Summary()
    halt = threading.Event()
    stream = session_lines(
        client, app, lines=0 if from_now else BACKLOG_MAX, tail=True, fir=fir, stop=halt.is_set
    )
    try:
        _count(stream, seconds, clock, classifier, since, summary, on_event)
    finally:
        halt.set()
    result = verdict(
        summary,
        policy or DEFAULT_POLICY,
        app=app,
        environment=environment,
        seconds=seconds,
        since=since,
    )
    result.generation = "fir" if fir else "cedar"
    result.history = not fir
    result.notes = notes
    return result


def _count(
    stream: Iterator[str],
    seconds: float,
    clock: Callable[[], float],
    classifier: Classifier,
    since: datetime | None,
    summary: Summary,
    on_event: Callable[[LogEvent], None] | None,
) -> None:
    for raw in until_deadline(stream, seconds, clock=clock):
        if not raw.strip():
            continue
        event = classifier.event(raw)
        if since is not None and event.ts is not None and event.ts < since:
            continue
        summary.add(event)
        if on_event is not None:
            on_event(event)
