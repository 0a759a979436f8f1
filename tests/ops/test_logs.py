"""Unit tests of keycliq_ops.ops.logs: parsing, the catalogue on the app's real lines (a
table: every line of the reference → its kind and severity), masking, summaries and scans by
outcome, the watch verdict (the default policy fails on the failure lines only), option
parsing, the deadline reader, and ``watch`` over a respx-mocked Heroku API."""

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
    DEFAULT_POLICY,
    ERROR_KINDS,
    KINDS,
    Classifier,
    Summary,
    WatchPolicy,
    WatchResult,
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
from keycliq_ops.standin import applog

TS = "2025-11-11T10:30:00.123456+00:00"
WEB = f"{TS} app[web.1]: "
DB_HOST = "ec2-34-228-120-11.compute-1.amazonaws.com:5432"
QUOTA = (
    "429 You exceeded your current quota, please check your plan and billing details. For "
    "more information on this error, read the docs: "
    "https://platform.openai.com/docs/guides/error-codes/api-errors."
)

# The app's own lines (keycliq-app-code.md, "Log lines the code really writes", checked
# against the app's source of Nov 2025 and Feb 2026), exactly as Heroku shows them: the
# `app[web.1]:` prefix, the emoji prefixes the source has (``ÔØî`` is its mis-encoded ❌),
# and a multi-line object's first line alone. (line, kind, severity)
APP_FAILURES = [
    (f"{WEB}❌ Hybrid Balanced AI analysis failed: {QUOTA}", "openai-failed", "error"),
    (
        f"{WEB}❌ Hybrid Balanced AI analysis failed: No JSON found in AI response",
        "openai-failed",
        "error",
    ),
    (f"{WEB}❌ Error extrayendo signature V6: {QUOTA}", "signature-failed", "error"),
    (
        f"{WEB}Error in extractSignatureV6: TypeError: Cannot read properties of undefined "
        "(reading 'toString')",
        "signature-failed",
        "error",
    ),
    (
        f"{WEB}Error in processKeyImageV6: TypeError: Cannot read properties of undefined "
        "(reading 'bitting')",
        "scan-crashed",
        "error",
    ),
    (f"{WEB}❌ ===== KEYSCAN V6 - ERROR =====", "scan-crashed", "error"),
    (f"{WEB}ÔØî Processing failed: {QUOTA}", "scan-route-failed", "error"),
    (f"{WEB}❌ Processing failed: V6 Processing error: boom", "scan-route-failed", "error"),
    (f"{WEB}Error uploading to Cloudinary: {{", "image-upload-failed", "error"),
    (
        f"{WEB}Error uploading to Cloudinary: {{ message: 'Invalid api_key 123456789012345', "
        "http_code: 401 }",
        "image-upload-failed",
        "error",
    ),
    (f"{WEB}Error deleting from Cloudinary: {{", "image-delete-failed", "error"),
    (
        f"{WEB}Error deleting from Cloudinary: {{ message: 'Server returned unexpected status "
        "code - 500', http_code: 500 }",
        "image-delete-failed",
        "error",
    ),
    (f"{WEB}Error sending email: {{", "mail-failed", "error"),
    (
        f"{WEB}Error sending email: {{ statusCode: 401, message: 'API key is invalid', "
        "name: 'validation_error' }",
        "mail-failed",
        "error",
    ),
    (
        f"{WEB}Error sending email: {{ statusCode: 403, message: 'The keycliq.app domain is "
        "not verified. Please, add and verify your domain on https://resend.com/domains', "
        "name: 'validation_error' }",
        "mail-domain-unverified",
        "error",
    ),
    (  # the same 403 printed over several lines: its message line says why
        f"{WEB}  message: 'The keycliq.app domain is not verified. Please, add and verify "
        "your domain on https://resend.com/domains',",
        "mail-domain-unverified",
        "error",
    ),
    (
        f"{WEB}Error in sendPasswordResetEmail: Error: Failed to send password reset email",
        "mail-failed",
        "error",
    ),
    (
        f"{WEB}Error sending password reset email: Error: Failed to send password reset email",
        "mail-failed",
        "error",
    ),
    (
        f"{WEB}Password reset error: Error: Failed to send password reset email",
        "password-reset-failed",
        "error",
    ),
    (
        f"{WEB}⚠️ No email API key configured. Email functionality disabled.",
        "mail-disabled",
        "error",
    ),
    (f"{WEB}Cannot send email: No email API configured", "mail-disabled", "error"),
    (
        f"{WEB}Error sending password reset email: Error: Email service not configured",
        "mail-disabled",
        "error",
    ),
    (
        f"{WEB}⚠️ Failed to save matching result: Can't reach database server at `{DB_HOST}`",
        "matching-not-saved",
        "error",
    ),
    (
        f"{WEB}❌ Failed to save matching result: MATCH_FOUND requires matchedKeyId",
        "matching-not-saved",
        "error",
    ),
    (f"{WEB}⚠️ Failed to save demo matching result: ", "matching-not-saved", "error"),
    (f"{WEB}⚠️ Failed to save KeyQuery: ", "scan-not-saved", "error"),
    (f"{WEB}⚠️ Failed to save demo KeyQuery: ", "scan-not-saved", "error"),
    (f"{WEB}Signup error: PrismaClientKnownRequestError: ", "database-error", "error"),
    (
        f"{WEB}PrismaClientInitializationError: Can't reach database server at `{DB_HOST}`",
        "database-unreachable",
        "error",
    ),
    (f"{WEB}Can't reach database server at `{DB_HOST}`", "database-unreachable", "error"),
    (
        f"{TS} app[release.4821]: Error: P1001: Can't reach database server at `{DB_HOST}`",
        "database-unreachable",
        "error",
    ),
    (
        f"{WEB}The table `public.User` does not exist in the current database.",
        "database-error",
        "error",
    ),
    (f"{WEB}  code: 'P2002',", "database-error", "error"),
    (f"{WEB}  code: 'P2003',", "database-error", "error"),
    (
        f"{WEB}Unique constraint failed on the fields: (`keyQueryId`)",
        "database-error",
        "error",
    ),
    # Failure lines of the source that the reference page does not list.
    (
        f"{WEB}❌ Error creando KeySignature: PrismaClientKnownRequestError: ",
        "signature-not-saved",
        "error",
    ),
    (f"{WEB}ÔØî Error creando llave: Error: x", "key-not-created", "error"),
    (
        f"{WEB}ÔØî Error subiendo imagen a Cloudinary: Invalid Signature 6d1c0f. String to "
        "sign - 'folder=keys&timestamp=1731320000'.",
        "image-upload-failed",
        "error",
    ),
    (f"{WEB}Failed to upload new image to Cloudinary: undefined", "image-upload-failed", "error"),
    (f"{WEB}Failed to delete image from Cloudinary: undefined", "image-delete-failed", "error"),
    (f"{WEB}Error uploading to Vercel Blob: BlobError: x", "image-upload-failed", "error"),
    (f"{WEB}Error deleting from Vercel Blob: BlobError: x", "image-delete-failed", "error"),
    (f"{WEB}❌ Failed to get user history: x", "history-failed", "error"),
    (f"{WEB}Unexpected signup error: boom Error: boom", "signup-failed", "error"),
]
APP_NORMAL = [
    (f"{WEB}🔬 ===== KEYSCAN V6 - PROCESSING START =====", "scan-started", "info"),
    (f"{WEB}✅ ===== KEYSCAN V6 - MATCH FOUND =====", "scan-match-found", "info"),
    (f"{WEB}⚠️  ===== KEYSCAN V6 - POSSIBLE MATCH =====", "scan-possible-match", "info"),
    (f"{WEB}❌ ===== KEYSCAN V6 - NO MATCH =====", "scan-no-match", "info"),
    (f"{WEB}✅ ===== KEYSCAN V6 - EMPTY INVENTORY =====", "scan-empty-inventory", "info"),
    (f"{WEB}✅ AI signature generated successfully", "ai-signature", "info"),
    (f"{WEB}💾 KeyQuery saved with ID: cmhu2k1y70003l104q9xv3b2n", "scan-saved", "info"),
    (f"{WEB}✅ Matching result saved successfully", "matching-saved", "info"),
    (f"{WEB}❌ No match found in inventory", "inventory-no-match", "info"),
    (f"{WEB}✅ Llave creada exitosamente: cmhu2k1y70003l104q9xv3b2n", "key-created", "info"),
    (
        f"{WEB}Ô£à Imagen subida a Cloudinary: https://res.cloudinary.com/keycliq/k.jpg",
        "image-uploaded",
        "info",
    ),
    (
        f"{TS} app[web.2]: Image deleted from Cloudinary: keycliq/keys/ab12cd",
        "image-deleted",
        "info",
    ),
    (
        f"{WEB}❌ Failed to save matching result: NO_MATCH should not have matchedKeyId",
        "matching-refused",
        "info",
    ),
    (
        f"{WEB}⚠️ Failed to save matching result: NO_MATCH should not have matchedKeyId",
        "matching-refused",
        "info",
    ),
    # processKeyImageV6 alone is no scan: a stack frame of the scan code is any other line.
    (f"{WEB}    at processKeyImageV6 (file:///app/build/index.js:2291:28)", "other", "info"),
    (f"{WEB}   Match Type: NO_MATCH", "other", "info"),
    (f"{WEB}  http_code: 401", "other", "info"),
    (f"{WEB}", "other", "info"),
]
HEROKU = [
    (
        f'{TS} heroku[router]: at=error code=H10 desc="App crashed" method=GET path="/" '
        "host=keycliq-production.herokuapp.com fwd=1.2.3.4 dyno= connect= service= status=503",
        "H10",
        "error",
    ),
    (
        f'{TS} heroku[router]: at=error code=H12 desc="Request timeout" method=POST '
        'path="/scan/check" dyno=web.1 connect=0ms service=30001ms status=503 bytes=0',
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
    (f"{WEB}Error in createUserSession: TypeError: x", "app-error", "warning"),
    (f"{WEB}Error: ", "app-error", "warning"),
    (f"{TS} app[build]:        NPM_CONFIG_LOGLEVEL=error", "other", "info"),
    (f'{TS} heroku[router]: at=info method=GET path="/" status=200 service=8ms', "other", "info"),
    (f"{TS} app[api]: Release v42 created by user ops@keycliq.app", "other", "info"),
]
LINES = APP_FAILURES + APP_NORMAL + HEROKU


@pytest.mark.parametrize(("raw", "kind", "severity"), LINES)
def test_catalogue_classifies_real_lines(raw: str, kind: str, severity: str) -> None:
    event = Classifier().event(raw)
    assert (event.kind, event.severity) == (kind, severity)
    assert event.ts == datetime(2025, 11, 11, 10, 30, 0, 123456, tzinfo=UTC)
    assert KINDS[kind].severity == severity


def test_every_catalogue_kind_is_exercised() -> None:
    assert {kind for _, kind, _ in LINES} == set(KINDS)


def test_every_app_failure_is_an_error_kind_and_no_normal_line_is() -> None:
    assert {kind for _, kind, _ in APP_FAILURES} <= set(ERROR_KINDS)
    assert not {kind for _, kind, _ in APP_NORMAL} & set(ERROR_KINDS)


def test_a_multiline_object_classifies_on_its_first_line() -> None:
    # What Heroku shows for console.error('Error uploading to Cloudinary:', error).
    classifier = Classifier()
    block = [
        f"{WEB}Error uploading to Cloudinary: {{",
        f"{WEB}  message: 'Invalid Signature 6d1c0f. String to sign - folder=keys',",
        f"{WEB}  name: 'Error',",
        f"{WEB}  http_code: 401",
        f"{WEB}}}",
    ]
    kinds = [classifier.event(line).kind for line in block]
    assert kinds == ["image-upload-failed", "other", "other", "other", "other"]


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


def test_summary_counts_first_and_last_seen_and_scans_by_outcome() -> None:
    classifier = Classifier()
    summary = Summary()
    banner = "✅ ===== KEYSCAN V6 - MATCH FOUND ====="
    for second, text in ((5, banner), (1, banner), (9, "hi")):
        summary.add(classifier.event(f"2025-11-11T10:30:0{second}+00:00 app[web.1]: {text}"))
    summary.add(classifier.event(f"{TS} heroku[web.1]: Error R15 (Memory quota vastly exceeded)"))
    assert summary.lines == 4
    found = summary.kinds["scan-match-found"]
    assert found.count == 2
    assert found.first_seen is not None and found.first_seen.second == 1
    assert found.last_seen is not None and found.last_seen.second == 5
    assert [c.kind for c in summary.ordered()] == ["R15", "scan-match-found", "other"]
    assert summary.count("H10") == 0
    assert summary.scans["MATCH_FOUND"] == 2 and summary.scans["NO_MATCH"] == 0
    assert summary.model_dump()["scans"]["MATCH_FOUND"] == 2  # in the JSON too


def test_scans_are_counted_from_the_banners_not_the_function_name() -> None:
    classifier = Classifier()
    summary = Summary()
    for raw, _, _ in APP_NORMAL:
        summary.add(classifier.event(raw))
    summary.add(classifier.event(APP_FAILURES[4][0]))  # Error in processKeyImageV6: TypeError
    summary.add(classifier.event(f"{WEB}    at async processKeyImageV6 (file:///app/x.js:1:1)"))
    assert summary.scans == {
        "started": 1,
        "MATCH_FOUND": 1,
        "POSSIBLE_MATCH": 1,
        "NO_MATCH": 1,
        "EMPTY_INVENTORY": 1,
        "crashed": 1,
        "failed": 0,
    }


def _summary(*kinds: str) -> Summary:
    summary = Summary()
    lines = {kind: raw for raw, kind, _ in LINES}
    classifier = Classifier()
    for kind in kinds:
        summary.add(classifier.event(lines[kind]))
    return summary


def _judge(raws: list[str], policy: WatchPolicy | None = None) -> WatchResult:
    classifier = Classifier()
    summary = Summary()
    for raw in raws:
        summary.add(classifier.event(raw))
    return verdict(
        summary,
        policy or DEFAULT_POLICY,
        app="keycliq-production",
        environment="production",
        seconds=300,
    )


def test_the_default_watch_fails_on_a_log_of_only_real_failure_lines() -> None:
    for raw, kind, _ in APP_FAILURES:  # each failure line alone fails the watch
        result = _judge([raw])
        assert not result.passed, raw
        assert [b.kind for b in result.breaches] == [kind]
        assert result.rollback_command == "keycliq rollback production"
    everything = _judge([raw for raw, _, _ in APP_FAILURES])
    assert {b.kind for b in everything.breaches} == {kind for _, kind, _ in APP_FAILURES}
    domain = next(b for b in everything.breaches if b.kind == "mail-domain-unverified")
    assert "not verified" in domain.meaning and domain.hint and "resend.com/domains" in domain.hint


def test_the_default_watch_passes_on_the_apps_normal_lines() -> None:
    # A NO MATCH (banner with ❌, "No match found in inventory", the refused matching) is a
    # normal outcome; so are all the app's other normal lines and Heroku's info lines.
    normal = [raw for raw, _, _ in APP_NORMAL] + [HEROKU[-1][0], HEROKU[-2][0]]
    result = _judge(normal)
    assert result.passed and result.breaches == [] and result.rollback_command is None
    assert result.summary.scans["NO_MATCH"] == 1


def test_the_stand_ins_app_lines_are_classified_as_the_app_means_them() -> None:
    # The stand-in writes the app's real lines; keycliq reads them as the app means them.
    user = "cmhu2k1y70003l104q9xv3b2n"
    key = applog.cuid("k")
    expected: dict[applog.ScanOutcome, tuple[dict[str, int], set[str]]] = {
        "MATCH_FOUND": ({"MATCH_FOUND": 1}, set()),
        "POSSIBLE_MATCH": ({"POSSIBLE_MATCH": 1}, set()),
        "NO_MATCH": ({"NO_MATCH": 1}, set()),
        "EMPTY_INVENTORY": ({"EMPTY_INVENTORY": 1}, set()),
        "OPENAI_FAILED": ({"failed": 1}, {"openai-failed", "scan-route-failed"}),
        "CRASHED": ({"crashed": 1, "failed": 1}, {"scan-crashed", "scan-route-failed"}),
        "DATABASE_DOWN": ({"crashed": 1}, {"scan-crashed", "database-unreachable"}),
    }
    assert set(expected) == set(applog.SCAN_OUTCOMES)
    for outcome, (counted, errors) in expected.items():
        write = applog.scan(outcome, user_id=user, key_ids=(key, applog.cuid("k2")))
        result = _judge([f"{TS} app[{write.dyno}]: {line}" for line in write.text.split("\n")])
        assert result.summary.scans["started"] == 1, outcome
        assert {k: v for k, v in result.summary.scans.items() if v and k != "started"} == counted
        assert {b.kind for b in result.breaches} == errors, outcome
    extra = {
        "image_upload_unauthorized": {"image-upload-failed"},
        "mail_disabled": {"mail-disabled", "password-reset-failed"},
        "mail_domain_unverified": {
            "mail-failed",
            "mail-domain-unverified",
            "password-reset-failed",
        },
    }
    for name, errors in extra.items():
        write = getattr(applog, name)()
        result = _judge([f"{TS} app[web.1]: {line}" for line in write.text.split("\n")])
        assert {b.kind for b in result.breaches} == errors, name
    session = [
        f"{TS} {w.source}[{w.dyno}]: {line}"
        for w in applog.traffic(app="keycliq-staging", user_id=user)
        for line in w.text.split("\n")
    ]
    clean = _judge(session)
    assert clean.passed, clean.breaches
    assert clean.summary.count("key-created") == 1 and clean.summary.count("matching-refused") == 2


def test_verdict_fails_on_error_kinds_and_names_rollback() -> None:
    result = verdict(
        _summary("scan-match-found", "H12", "openai-failed", "R14"),
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
    clean = verdict(
        _summary("scan-no-match"), WatchPolicy(), app="a", environment="staging", seconds=1
    )
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
    assert parse_kinds(["h12,Scan-No-Match", "openai-failed"]) == {
        "H12",
        "scan-no-match",
        "openai-failed",
    }
    assert parse_kinds(["errors"]) == set(ERROR_KINDS)
    assert "scan-crashed" in parse_kinds(["scans"]) and "scan-match-found" in parse_kinds(["scan"])
    # The names of before the catalogue took the app's real lines still work.
    assert parse_kinds(["cloudinary-upload-failed,cloudinary-deleted"]) == {
        "image-upload-failed",
        "image-deleted",
    }
    assert parse_limits(["Cloudinary-Upload-Failed=2"]) == {"image-upload-failed": 2}
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
            "2025-11-11T10:29:00+00:00 app[web.1]: Error uploading to Cloudinary: { (before)",
            "2025-11-11T10:31:00+00:00 app[web.1]: ❌ ===== KEYSCAN V6 - NO MATCH =====",
            "2025-11-11T10:31:00+00:00 app[web.1]: session s3cr3t-value-xyz1",
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
            on_event=lambda e: seen.append(e.message),
        )  # no policy given: the default one
    assert session.calls.last.request.content == b'{"tail":true,"lines":1500}'
    assert result.since == datetime(2025, 11, 11, 10, 30, tzinfo=UTC)
    assert result.summary.lines == 3  # the line before the release is not counted
    assert result.summary.scans["NO_MATCH"] == 1
    assert [b.kind for b in result.breaches] == ["H10"]
    assert not any("s3cr3t-value-xyz1" in m for m in seen)
    assert result.rollback_command == "keycliq rollback production"
