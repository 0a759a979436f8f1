from __future__ import annotations

import secrets

from keycliq_ops.config.settings import Environment
from keycliq_ops.ops.config_audit import audit_config, secret_digest

STAGING = Environment(app="keycliq-staging", url="https://keycliq-staging.herokuapp.com")
PRODUCTION = Environment(
    app="keycliq-production", stage="production", url="https://keycliq.example.com"
)


def good_vars(url: str, *, production: bool = False) -> dict[str, str]:
    v = {
        "DATABASE_URL": "postgres://u:" + secrets.token_hex(8) + "@db.example.com:5432/d",
        "SESSION_SECRET": secrets.token_hex(32),
        "OPENAI_API_KEY": "sk-" + secrets.token_hex(20),
        "APP_URL": url,
        "CLOUDINARY_CLOUD_NAME": "keycliq",
        "CLOUDINARY_API_KEY": secrets.token_hex(8),
        "CLOUDINARY_API_SECRET": secrets.token_hex(16),
        "NODE_ENV": "production",
    }
    if production:
        v |= {
            "MAIL_FROM_NAME": "KeyCliq",
            "MAIL_FROM_ADDRESS": "no-reply@keycliq.example.com",
            "RESEND_API_KEY": "re_" + secrets.token_hex(16),
        }
    return v


def test_clean_apps_pass_and_values_are_masked() -> None:
    vars_ = good_vars("https://keycliq.example.com", production=True)
    report = audit_config("production", PRODUCTION, vars_)
    assert report.ok, report.findings
    shown = report.model_dump_json()
    for name in ("SESSION_SECRET", "OPENAI_API_KEY", "CLOUDINARY_API_SECRET", "RESEND_API_KEY"):
        assert vars_[name] not in shown
    assert vars_["DATABASE_URL"] not in shown
    assert "https://keycliq.example.com" in shown  # APP_URL is not a secret


def test_every_rule_reports_its_var() -> None:
    vars_ = good_vars("http://keycliq-staging.herokuapp.com")
    del vars_["OPENAI_API_KEY"]
    vars_["CLOUDINARY_API_KEY"] = "changeme"
    vars_["NODE_ENV"] = "development"
    vars_["SESSION_SECRET"] = "too-short-secret"
    report = audit_config("staging", STAGING, vars_)
    problems = {(f.var, f.message.split()[0]) for f in report.findings}
    assert ("OPENAI_API_KEY", "required") in problems
    assert ("CLOUDINARY_API_KEY", "looks") in problems
    assert ("NODE_ENV", "is") in problems
    assert ("SESSION_SECRET", "is") in problems
    assert any(f.var == "APP_URL" and "https" in f.message for f in report.findings)
    assert not report.ok
    statuses = {r.name: r.status for r in report.rows}
    assert statuses["OPENAI_API_KEY"] == "missing" and statuses["NODE_ENV"] == "problem"


def test_shared_session_secret_is_caught_by_digest() -> None:
    shared = secrets.token_hex(32)
    staging = good_vars("https://keycliq-staging.herokuapp.com") | {"SESSION_SECRET": shared}
    report = audit_config(
        "staging", STAGING, staging, other_session_digests={"production": secret_digest(shared)}
    )
    assert [f.var for f in report.findings] == ["SESSION_SECRET"]
    assert "same as in production" in report.findings[0].message
    assert shared not in report.model_dump_json()


def test_mail_required_in_production_only() -> None:
    vars_ = good_vars("https://keycliq.example.com", production=True)
    del vars_["RESEND_API_KEY"]
    assert not audit_config("production", PRODUCTION, vars_).ok
    vars_["SENDGRID_API_KEY"] = "SG." + secrets.token_hex(16)
    assert audit_config("production", PRODUCTION, vars_).ok
    assert audit_config("staging", STAGING, good_vars(STAGING.url or "")).ok


def test_app_url_must_match_the_environment() -> None:
    vars_ = good_vars("https://keycliq-production.herokuapp.com", production=True)
    report = audit_config("production", PRODUCTION, vars_)
    assert any(f.var == "APP_URL" and "environment's URL" in f.message for f in report.findings)


def test_plain_http_only_on_loopback() -> None:
    local = Environment(app="keycliq-staging", url="http://127.0.0.1:5000/web/keycliq-staging")
    vars_ = good_vars("http://127.0.0.1:5000/web/keycliq-staging")
    assert audit_config("staging", local, vars_).ok
    remote = Environment(app="keycliq-staging", url="http://keycliq.example.com")
    vars_ = good_vars("http://keycliq.example.com")
    assert not audit_config("staging", remote, vars_).ok
