"""The playbook definitions and the findings logic (no Heroku: events and vars given)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from keycliq_ops.base.errors import UsageError
from keycliq_ops.config.loading import SHIPPED_DATACLIPS
from keycliq_ops.config.settings import Environment
from keycliq_ops.dataclips import load_catalog
from keycliq_ops.dataclips.clips import CheckResult, DataclipRun, ExpectationResult
from keycliq_ops.ops.logs import KINDS, Classifier
from keycliq_ops.ops.playbooks import (
    PLAYBOOKS,
    PlaybookReport,
    config_findings,
    dataclip_findings,
    get_playbook,
    log_findings,
    matching_findings,
    recent_matchings,
)

STAGING = Environment(app="keycliq-staging", stage="staging")
PRODUCTION = Environment(app="keycliq-production", stage="production")
OPENAI_KEY = "sk-proj-" + "A1b2C3d4" * 5
TS = "2026-11-28T10:00:0{}.000000+00:00 app[web.1]: "


def _events(*messages: str, secrets: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    classifier = Classifier(secrets)
    return [classifier.event(TS.format(i % 10) + m) for i, m in enumerate(messages)]


def test_the_four_playbooks_refer_to_real_kinds_and_dataclips() -> None:
    assert [p.name for p in PLAYBOOKS] == [
        "scan-failures",
        "data-integrity",
        "email",
        "missing-images",
    ]
    catalog = load_catalog(SHIPPED_DATACLIPS)
    for p in PLAYBOOKS:
        assert p.manual_steps and p.automated(), p.name
        for kind in (*p.error_kinds, *p.context_kinds):
            assert kind in KINDS, (p.name, kind)
        for clip in p.dataclips:
            assert catalog.get(clip).id == clip
    assert get_playbook("data-integrity").dataclips == ("E1", "E2", "G")


def test_get_playbook_is_case_insensitive_and_names_the_known_ones() -> None:
    assert get_playbook(" Email ").name == "email"
    with pytest.raises(UsageError) as caught:
        get_playbook("scans")
    assert "scan-failures" in str(caught.value) and caught.value.exit_code == 2


def test_log_findings_count_and_keep_the_last_failing_lines_masked() -> None:
    failures = [
        f"❌ Hybrid Balanced AI analysis failed: 429 quota #{i} key={OPENAI_KEY}" for i in range(7)
    ]
    events = _events(
        "🔬 ===== KEYSCAN V6 - PROCESSING START =====",
        *failures,
        "GET /keys 200",
        secrets=(OPENAI_KEY,),
    )
    read, counts, findings = log_findings(get_playbook("scan-failures"), events)
    assert read == 9
    assert counts == {
        "openai-failed": 7,
        "scan-crashed": 0,
        "scan-route-failed": 0,
        "matching-not-saved": 0,
        "scan-started": 1,
        "scan-match-found": 0,
        "scan-no-match": 0,
        "scan-possible-match": 0,
    }
    finding, *clean = findings
    assert [f.severity for f in clean] == ["ok", "ok", "ok"]
    assert finding.severity == "error" and finding.check == "log:openai-failed"
    assert "7 openai-failed lines in the last 9" in finding.message
    assert len(finding.lines) == 5
    assert "#6" in finding.lines[-1] and "#2" in finding.lines[0]
    assert all(OPENAI_KEY not in line for line in finding.lines)


def test_log_findings_clean_log_is_ok() -> None:
    read, counts, findings = log_findings(
        get_playbook("missing-images"), _events("Image deleted from Cloudinary: keys/abc")
    )
    assert (read, counts) == (
        1,
        {
            "image-upload-failed": 0,
            "image-delete-failed": 0,
            "image-uploaded": 0,
            "image-deleted": 1,
        },
    )
    assert [f.severity for f in findings] == ["ok", "ok"]


def test_a_no_match_scan_is_no_scan_failure() -> None:
    # The app's normal NO MATCH: the ❌ banner and the matching its own check refuses.
    events = _events(
        "❌ Failed to save matching result: NO_MATCH should not have matchedKeyId",
        "⚠️ Failed to save matching result: NO_MATCH should not have matchedKeyId",
        "❌ ===== KEYSCAN V6 - NO MATCH =====",
    )
    _, counts, findings = log_findings(get_playbook("scan-failures"), events)
    assert counts["scan-no-match"] == 1 and counts["matching-not-saved"] == 0
    assert {f.severity for f in findings} == {"ok"}


def test_email_log_findings_name_the_reason() -> None:
    events = _events(
        "⚠️ No email API key configured. Email functionality disabled.",
        "Cannot send email: No email API configured",
        "  message: 'The keycliq.app domain is not verified. Please, add and verify your "
        "domain on https://resend.com/domains',",
    )
    _, counts, findings = log_findings(get_playbook("email"), events)
    assert counts == {"mail-disabled": 2, "mail-domain-unverified": 1, "mail-failed": 0}
    by_check = {f.check: f for f in findings}
    assert by_check["log:mail-disabled"].severity == "error"
    assert "RESEND_API_KEY" in by_check["log:mail-disabled"].message
    assert "not verified" in by_check["log:mail-domain-unverified"].message


def test_config_findings_mask_secrets_and_flag_missing_or_placeholder() -> None:
    p = get_playbook("missing-images")
    vars_ = {"CLOUDINARY_CLOUD_NAME": "keycliq-staging", "CLOUDINARY_API_KEY": "changeme"}
    found = {f.check: f for f in config_findings(p, STAGING, vars_)}
    assert found["config:CLOUDINARY_CLOUD_NAME"].severity == "ok"
    assert "keycliq-staging" in found["config:CLOUDINARY_CLOUD_NAME"].message
    assert found["config:CLOUDINARY_API_KEY"].severity == "error"
    assert "changeme" not in found["config:CLOUDINARY_API_KEY"].message
    assert found["config:CLOUDINARY_API_SECRET"].message == "CLOUDINARY_API_SECRET is not set"

    [openai] = config_findings(
        get_playbook("scan-failures"), STAGING, {"OPENAI_API_KEY": OPENAI_KEY}
    )
    assert openai.severity == "ok" and OPENAI_KEY not in openai.message
    assert OPENAI_KEY[-4:] in openai.message


def test_email_config_depends_on_the_stage_and_checks_the_domain() -> None:
    p = get_playbook("email")
    staging = config_findings(p, STAGING, {})
    assert {f.severity for f in staging} == {"info"}

    production = {f.check: f for f in config_findings(p, PRODUCTION, {})}
    assert production["config:MAIL_FROM_ADDRESS"].severity == "error"
    assert production["config:mailer"].severity == "error"

    key = "re_" + "x9Y8z7W6" * 4
    good = {
        "MAIL_FROM_NAME": "KeyCliq",
        "MAIL_FROM_ADDRESS": "no-reply@keycliq.app",
        "RESEND_API_KEY": key,
    }
    found = {f.check: f for f in config_findings(p, PRODUCTION, good)}
    assert {f.severity for f in found.values()} == {"ok"}
    assert key not in found["config:mailer"].message
    assert "keycliq.app" in found["config:mail-domain"].message

    for address, words in [
        ("no-reply@example.com", "cannot be verified"),
        ("keycliq-production.herokuapp.com", "not an e-mail address"),
        ("mail@keycliq-production.herokuapp.com", "cannot be verified"),
    ]:
        bad = {
            f.check: f
            for f in config_findings(p, PRODUCTION, good | {"MAIL_FROM_ADDRESS": address})
        }
        assert bad["config:mail-domain"].severity == "error", address
        assert words in bad["config:mail-domain"].message


def _run(*results: CheckResult) -> DataclipRun:
    return DataclipRun(
        target="keycliq-staging",
        started_at=datetime.now(UTC),
        duration_ms=1.0,
        verdict="fail",
        ok=False,
        results=list(results),
    )


def test_dataclip_findings_map_verdicts_to_severities() -> None:
    failed = CheckResult(
        id="E1",
        title="key_signatures XOR",
        verdict="fail",
        duration_ms=1.0,
        columns=["total", "both_null"],
        rows=[[3, 1]],
        expectations=[
            ExpectationResult(
                text="both_null = 0", level="expect", status="fail", actual="both_null = 1"
            )
        ],
    )
    passed = CheckResult(id="G", title="known match types", verdict="pass", duration_ms=1.0)
    warned = CheckResult(id="E3", title="scores", verdict="warn", duration_ms=1.0)
    e1, g, e3 = dataclip_findings(_run(failed, passed, warned))
    assert (e1.severity, g.severity, e3.severity) == ("error", "ok", "warning")
    assert "both_null = 1" in e1.message and e1.lines == ["3, 1"]


def test_matching_findings_flag_unknown_match_types() -> None:
    [info] = matching_findings({"MATCH_FOUND": 4, "NO_MATCH": 1})
    assert info.severity == "info" and "5 key_matchings" in info.message
    findings = matching_findings({"MATCH_FOUND": 4, "POSSIBLE_MATCH": 2})
    assert findings[1].severity == "warning" and "POSSIBLE_MATCH ×2" in findings[1].message
    assert len(findings) == 2  # the legacy type is not an unknown one
    findings = matching_findings({"MATCH_FOUND": 4, "MATCHED": 1})
    assert findings[1].severity == "error" and "MATCHED ×1" in findings[1].message


def test_recent_matchings_counts_the_window_on_a_real_database(pg_url: str) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            'CREATE TABLE key_matchings (id text PRIMARY KEY, "matchType" text NOT NULL, '
            '"createdAt" timestamp(3) NOT NULL)'
        )
        rows = [
            ("m1", "MATCH_FOUND", now - timedelta(hours=1)),
            ("m2", "MATCH_FOUND", now - timedelta(hours=2)),
            ("m3", "NO_MATCH", now - timedelta(minutes=5)),
            ("m4", "NO_MATCH", now - timedelta(days=3)),  # outside the window
        ]
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO key_matchings VALUES (%s, %s, %s)", rows)
    assert recent_matchings(pg_url) == {"MATCH_FOUND": 2, "NO_MATCH": 1}


def test_report_ok_and_worst() -> None:
    report = PlaybookReport(
        playbook="email",
        title="E-mail",
        environment="staging",
        app="keycliq-staging",
        log_lines=0,
        log_counts={},
        matchings=None,
        findings=config_findings(get_playbook("email"), STAGING, {}),
        manual_steps=[],
    )
    assert report.ok and report.worst == "info"
