"""Unit tests of keycliq_ops.ops.logs: parsing, the catalogue on real-looking lines, masking,
summaries, the watch verdict, option parsing, the deadline reader, and ``watch`` over a
respx-mocked Heroku API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import respx

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.base.errors import HerokuError, UsageError
from keycliq_ops.ops.logs import (
    ERROR_KINDS,
    KINDS,
    Classifier,
    Summary,
    WatchPolicy,
    classify,
    parse,
    parse_duration,
    parse_kinds,
    parse_limits,
    secrets_of,
    until_deadline,
    verdict,
    watch,
)

TS = "2025-11-11T10:30:00.123456+00:00"

# (raw line, expected kind, expected severity) — shaped as Heroku's log shows them.
LINES = [
    (f"{TS} app[web.1]: processKeyImageV6: start userId=ck9x queryId=cq1", "scan", "info"),
    (
        f"{TS} app[web.1]: Hybrid Balanced AI analysis failed: Error: 429 Rate limit reached",
        "openai-failed",
        "error",
    ),
    (
        f"{TS} app[web.1]: Error uploading to Cloudinary: Invalid Signature 5f2e",
        "cloudinary-upload-failed",
        "error",
    ),
    (
        f"{TS} app[web.2]: Image deleted from Cloudinary: keycliq/keys/ab12cd",
        "cloudinary-deleted",
        "info",
    ),
    (
        f"{TS} app[web.1]: Resend error: 403 The keycliq.app domain is not verified",
        "mail-failed",
        "error",
    ),
    (f"{TS} app[web.1]: Failed to send reset email via SendGrid", "mail-failed", "error"),
    (
        f'{TS} heroku[router]: at=error code=H10 desc="App crashed" method=GET path="/" '
        "host=keycliq-production.herokuapp.com fwd=1.2.3.4 dyno= connect= service= status=503",
        "H10",
        "error",
    ),
    (
        f'{TS} heroku[router]: at=error code=H12 desc="Request timeout" method=POST '
        'path="/api/scan" dyno=web.1 connect=0ms service=30001ms status=503 bytes=0',
        "H12",
        "error",
    ),
    (
        f'{TS} heroku[router]: at=error code=H13 desc="Connection closed without response"',
        "H13",
        "error",
    ),
    (f'{TS} heroku[router]: at=error code=H14 desc="No web processes running"', "H14", "error"),
    (f"{TS} heroku[web.1]: Error R14 (Memory quota exceeded)", "R14", "warning"),
    (f"{TS} heroku[web.1]: Error R15 (Memory quota vastly exceeded)", "R15", "error"),
    (
        f'{TS} heroku[router]: at=error code=H27 desc="Client Request Interrupted"',
        "heroku-error",
        "error",
    ),
    (f"{TS} heroku[web.1]: State changed from up to crashed", "crashed", "error"),
    (
        f'{TS} heroku[router]: at=info method=GET path="/keys" status=502 service=12ms',
        "http-5xx",
        "warning",
    ),
    (f"{TS} app[web.1]: TypeError: Cannot read properties of undefined", "app-error", "warning"),
    (f"{TS} app[build]:        NPM_CONFIG_LOGLEVEL=error", "other", "info"),
    (f'{TS} heroku[router]: at=info method=GET path="/" status=200 service=8ms', "other", "info"),
    (f"{TS} app[api]: Release v42 created by user ops@keycliq.app", "other", "info"),
]


@pytest.mark.parametrize(("raw", "kind", "severity"), LINES)
def test_catalogue_classifies_real_lines(raw: str, kind: str, severity: str) -> None:
    event = Classifier().event(raw)
    assert (event.kind, event.severity) == (kind, severity)
    assert event.ts == datetime(2025, 11, 11, 10, 30, 0, 123456, tzinfo=UTC)


def test_every_catalogue_kind_is_exercised() -> None:
    assert {kind for _, kind, _ in LINES} == set(KINDS)


def test_parse_splits_the_logplex_prefix() -> None:
    ts, source, dyno, message = parse(f"{TS} app[web.1]: hello: world\n")
    assert (source, dyno, message) == ("app", "web.1", "hello: world")
    assert ts is not None and ts.year == 2025
    assert parse("not a log line") == (None, None, None, "not a log line")
    assert parse("2025-13-45T99:00:00 app[web.1]: x")[0] is None


def test_source_limits_a_pattern() -> None:
    # A router-only pattern does not fire on an app line that happens to look alike.
    assert classify("status=503 returned to client", "app").kind != "http-5xx"
    assert classify("status=503", "heroku").kind == "http-5xx"


def test_secrets_are_masked_before_classification() -> None:
    config = {
        "SESSION_SECRET": "f" * 24 + "9a7c",
        "OPENAI_API_KEY": "sk-proj-abcdefghijkl",
        "DATABASE_URL": "postgres://u:hunter2pass@db.example:5432/d",
        "APP_URL": "https://keycliq-staging.herokuapp.com",
        "NODE_ENV": "production",
    }
    secrets = secrets_of(config)
    assert "production" not in secrets and config["APP_URL"] not in secrets
    classifier = Classifier(secrets)
    event = classifier.event(
        f"{TS} app[web.1]: boot secret={config['SESSION_SECRET']} "
        f"key={config['OPENAI_API_KEY']} db=postgres://other:pw123456@host/db"
    )
    assert config["SESSION_SECRET"] not in event.message
    assert config["OPENAI_API_KEY"] not in event.message
    assert "pw123456" not in event.message
    assert "9a7c" in event.message  # the masked form keeps the last 4 characters
    assert config["SESSION_SECRET"] not in event.model_dump_json()


def test_summary_counts_first_and_last_seen() -> None:
    classifier = Classifier()
    summary = Summary()
    for second, text in ((5, "processKeyImageV6 a"), (1, "processKeyImageV6 b"), (9, "hi")):
        summary.add(classifier.event(f"2025-11-11T10:30:0{second}+00:00 app[web.1]: {text}"))
    summary.add(classifier.event(f"{TS} heroku[web.1]: Error R15 (Memory quota vastly exceeded)"))
    assert summary.lines == 4
    scan = summary.kinds["scan"]
    assert scan.count == 2
    assert scan.first_seen is not None and scan.first_seen.second == 1
    assert scan.last_seen is not None and scan.last_seen.second == 5
    assert [c.kind for c in summary.ordered()] == ["R15", "scan", "other"]
    assert summary.count("H10") == 0


def _summary(*kinds: str) -> Summary:
    summary = Summary()
    lines = {kind: raw for raw, kind, _ in LINES}
    classifier = Classifier()
    for kind in kinds:
        summary.add(classifier.event(lines[kind]))
    return summary


def test_verdict_fails_on_error_kinds_and_names_rollback() -> None:
    result = verdict(
        _summary("scan", "H12", "openai-failed", "R14"),
        WatchPolicy(),
        app="keycliq-production",
        environment="production",
        seconds=300,
    )
    assert not result.passed
    assert [b.kind for b in result.breaches] == ["H12", "openai-failed"]  # R14 is a warning
    assert result.rollback_command == "keycliq rollback production"


def test_verdict_limits_per_kind() -> None:
    summary = _summary("H12", "H12", "R14")
    loose = WatchPolicy(max_errors=2)
    assert verdict(summary, loose, app="a", environment="staging", seconds=1).passed
    strict = WatchPolicy(max_errors=2, limits={"R14": 0})
    result = verdict(summary, strict, app="a", environment="staging", seconds=1)
    assert [(b.kind, b.count, b.limit) for b in result.breaches] == [("R14", 1, 0)]
    clean = verdict(_summary("scan"), WatchPolicy(), app="a", environment="staging", seconds=1)
    assert clean.passed and clean.rollback_command is None and clean.breaches == []


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("5m", 300), ("1h", 3600), ("45", 45), (" 2m ", 120)]
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "1.5m", "-3s", "0s", "3d", "25h", "m"])
def test_parse_duration_is_strict(text: str) -> None:
    with pytest.raises(UsageError, match="--for"):
        parse_duration(text)


def test_parse_kinds_and_limits() -> None:
    assert parse_kinds(["h12,Scan", "openai-failed"]) == {"H12", "scan", "openai-failed"}
    assert parse_kinds(["errors"]) == set(ERROR_KINDS)
    assert parse_kinds([]) == set()
    with pytest.raises(UsageError, match="unknown kind"):
        parse_kinds(["H99"])
    assert parse_limits(["h12=3", "R14=0"]) == {"H12": 3, "R14": 0}
    for bad in ("H12", "H99=1", "H12=-1", "H12=many"):
        with pytest.raises(UsageError, match="--max"):
            parse_limits([bad])


def test_until_deadline_yields_lines_and_propagates_errors() -> None:
    assert list(until_deadline(iter(["a", "b"]), 30)) == ["a", "b"]

    def broken() -> Iterator[str]:
        yield "first"
        raise HerokuError("the stream broke after 1 lines")

    got: list[str] = []
    with pytest.raises(HerokuError, match="broke"):
        for line in until_deadline(broken(), 30):
            got.append(line)
    assert got == ["first"]


def test_until_deadline_stops_a_stream_that_never_ends() -> None:
    release = threading.Event()

    def endless() -> Iterator[str]:
        yield "one"
        release.wait()  # blocks like a quiet tail
        yield "late"

    ticks = iter([0.0, 0.0, 100.0])  # the clock passes the deadline after the first line
    assert list(until_deadline(endless(), 10, clock=lambda: next(ticks, 100.0))) == ["one"]
    release.set()


BASE = "https://api.heroku.test"


def test_watch_over_the_api_counts_since_the_release() -> None:
    router = respx.Router(base_url=BASE, assert_all_called=True)
    router.get("/apps/app1/config-vars").respond(json={"SESSION_SECRET": "s3cr3t-value-xyz1"})
    router.get("/apps/app1/releases").respond(
        json=[
            {
                "id": "r1",
                "version": 7,
                "status": "succeeded",
                "current": True,
                "created_at": "2025-11-11T10:30:00Z",
            }
        ]
    )
    session = router.post("/apps/app1/log-sessions").respond(
        201, json={"id": "ls1", "logplex_url": "https://logs.heroku.test/s/ls1"}
    )
    stream = "\n".join(
        [
            "2025-11-11T10:29:00+00:00 app[web.1]: Error uploading to Cloudinary (before)",
            "2025-11-11T10:31:00+00:00 app[web.1]: processKeyImageV6 s3cr3t-value-xyz1",
            '2025-11-11T10:31:01+00:00 heroku[router]: at=error code=H10 desc="App crashed"',
        ]
    )
    router.get("https://logs.heroku.test/s/ls1").respond(text=stream + "\n")
    seen: list[str] = []
    with HerokuClient("tok", BASE, transport=httpx.MockTransport(router.handler)) as client:
        result = watch(
            client,
            "app1",
            "production",
            seconds=60,
            policy=WatchPolicy(),
            on_event=lambda e: seen.append(e.message),
        )
    assert session.calls.last.request.content == b'{"tail":true,"lines":1500}'
    assert result.since == datetime(2025, 11, 11, 10, 30, tzinfo=UTC)
    assert result.summary.lines == 2  # the line before the release is not counted
    assert [b.kind for b in result.breaches] == ["H10"]
    assert not any("s3cr3t-value-xyz1" in m for m in seen)
    assert result.rollback_command == "keycliq rollback production"
