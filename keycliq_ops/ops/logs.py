"""The log lines that matter: the pattern catalogue, classification, summaries, the watch.

A Heroku log line (``2025-11-11T10:30:00.123456+00:00 app[web.1]: message``) is parsed
into a :class:`LogEvent` and classified by :data:`CATALOGUE` into a *kind* (``scan``,
``openai-failed``, ``H12``…) with a severity (info, warning, error). Secrets are masked
before anything else looks at a line. A :class:`Summary` counts kinds (first/last seen);
:func:`verdict` turns a summary and a :class:`WatchPolicy` into the post-deploy verdict.

Example::

    classifier = Classifier(secrets=[config["SESSION_SECRET"]])
    summary = Summary()
    for raw in client.stream_lines(session.logplex_url, reconnect=False):
        summary.add(classifier.event(raw))
    result = verdict(summary, WatchPolicy())

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

from pydantic import BaseModel

from keycliq_ops.base.errors import UsageError
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


def _re(text: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(text, flags)


# Order matters: the first pattern that matches decides the kind. Heroku's own error codes
# come first (router lines ``at=error code=H12 …``, dyno lines ``Error R14 (…)``).
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
    Pattern(
        "openai-failed",
        "error",
        "OpenAI analysis failed (quota, outage, key)",
        _re(r"Hybrid Balanced AI analysis failed"),
    ),
    Pattern(
        "cloudinary-upload-failed",
        "error",
        "images are not being stored",
        _re(r"Error uploading to Cloudinary"),
    ),
    Pattern(
        "cloudinary-deleted",
        "info",
        "a key deletion cleaned its image",
        _re(r"Image deleted from Cloudinary:\s*\S+"),
    ),
    Pattern(
        "mail-failed",
        "error",
        "e-mail not sent (Resend / Sendgrid)",
        _re(
            r"\b(?:resend|sendgrid)\b.{0,200}?\b(?:error|fail(?:ed|ure)?)\b"
            r"|\b(?:error|fail(?:ed|ure)?)\b.{0,200}?\b(?:resend|sendgrid)\b",
            re.IGNORECASE,
        ),
        source="app",
    ),
    Pattern("scan", "info", "a scan (processKeyImageV6)", _re(r"\bprocessKeyImageV6\b")),
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
        # Not a setting's value (``NPM_CONFIG_LOGLEVEL=error``, ``level:error``).
        _re(r"(?<![=:\w-])(?:\w*error|\w*exception|unhandled)\b", re.IGNORECASE),
        source="app",
    ),
)
OTHER = Pattern("other", "info", "any other line", _re(r""))
KINDS: dict[str, Pattern] = {p.kind: p for p in (*CATALOGUE, OTHER)}
ERROR_KINDS: tuple[str, ...] = tuple(p.kind for p in CATALOGUE if p.severity == "error")

_LINE = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\dT\S+)\s+(?P<source>[a-z]+)\[(?P<dyno>[^\]]+)\]:\s?")


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
    for pattern in CATALOGUE:
        if pattern.source and source and pattern.source != source:
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


def parse_kinds(values: Iterable[str]) -> set[str]:
    """``--only`` values (comma or repeated; case-insensitive) → known kinds, or UsageError."""
    by_lower = {k.lower(): k for k in KINDS}
    picked: set[str] = set()
    for value in values:
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name == "errors":
                picked.update(ERROR_KINDS)
                continue
            if name not in by_lower:
                raise UsageError(
                    f"--only {part.strip()!r}: unknown kind",
                    hint="kinds: errors, " + ", ".join(KINDS),
                )
            picked.add(by_lower[name])
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


# --------------------------------------------------------------------------------- watch
class WatchPolicy(BaseModel):
    """How many lines of a kind a watch tolerates. Error kinds default to ``max_errors``;
    ``limits`` overrides per kind (a warning or info kind is judged only when listed)."""

    max_errors: int = 0
    limits: dict[str, int] = {}

    def limit(self, kind: str) -> int | None:
        if kind in self.limits:
            return self.limits[kind]
        if KINDS[kind].severity == "error":
            return self.max_errors
        return None


def parse_limits(pairs: Iterable[str]) -> dict[str, int]:
    """``--max KIND=N`` pairs → ``{kind: N}`` (kind case-insensitive), or UsageError."""
    by_lower = {k.lower(): k for k in KINDS}
    out: dict[str, int] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        kind = by_lower.get(name.strip().lower())
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
                Breach(kind=counted.kind, count=counted.count, limit=limit, meaning=counted.meaning)
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


def read_logs(
    client: HerokuClient,
    app: str,
    *,
    lines: int = 100,
    tail: bool = False,
    source: str | None = None,
    dyno: str | None = None,
    classifier: Classifier | None = None,
) -> Iterator[LogEvent]:
    """Classified, masked lines of a log session (``tail``: until the caller stops)."""
    classifier = classifier or classifier_for(client, app)
    session = client.create_log_session(app, lines=lines, tail=tail, source=source, dyno_name=dyno)
    for raw in client.stream_lines(session.logplex_url, reconnect=False):
        if raw.strip():
            yield classifier.event(raw)


def current_release_started(client: HerokuClient, app: str) -> datetime | None:
    """When the app's current release was created (``None`` when it has none)."""
    releases = client.releases(app, limit=10)
    current = next((r for r in releases if r.current), None)
    return current.created_at if current else None


def watch(
    client: HerokuClient,
    app: str,
    environment: str,
    *,
    seconds: float,
    policy: WatchPolicy,
    from_now: bool = False,
    on_event: Callable[[LogEvent], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> WatchResult:
    """Tail the app's whole log for ``seconds`` and judge it.

    Counts every line since the current release was created (the log's backlog is read
    first), or only new lines with ``from_now``. Lines are read as they arrive; the
    deadline ends the watch.
    """
    classifier = classifier_for(client, app)
    since = None if from_now else current_release_started(client, app)
    session = client.create_log_session(app, lines=0 if from_now else BACKLOG_MAX, tail=True)
    summary = Summary()
    stream = client.stream_lines(session.logplex_url, reconnect=False)
    for raw in until_deadline(stream, seconds, clock=clock):
        if not raw.strip():
            continue
        event = classifier.event(raw)
        if since is not None and event.ts is not None and event.ts < since:
            continue
        summary.add(event)
        if on_event is not None:
            on_event(event)
    return verdict(summary, policy, app=app, environment=environment, seconds=seconds, since=since)
