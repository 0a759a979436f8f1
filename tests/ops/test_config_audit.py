from __future__ import annotations

import secrets

from keycliq_ops.config.app_repo import AppRepo
from keycliq_ops.config.settings import Environment
from keycliq_ops.ops.config_audit import AuditReport, audit_config, secret_digest

STAGING = Environment(app="keycliq-staging", url="https://keycliq-staging.herokuapp.com")
PRODUCTION = Environment(
    app="keycliq-production", stage="production", url="https://keycliq.example.com"
)

# The datasource as the app's schema has it after the move to Neon (February 2026): line 8
# reads DIRECT_URL.
SCHEMA = """\
generator client {
  provider = "prisma-client-js"
}

datasource db {
  provider  = "postgresql"
  url       = env("DATABASE_URL")
  directUrl = env("DIRECT_URL")
}

model User {
  id    String @id @default(cuid())
  email String @unique
}
"""
APP = AppRepo(files={"prisma/schema.prisma": SCHEMA}, origin="commit 1a2b3c4d")


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


def errors(report: AuditReport) -> dict[str, str]:
    return {f.var: f.message for f in report.findings if f.level == "error"}


def warnings(report: AuditReport) -> dict[str, str]:
    return {f.var: f.message for f in report.findings if f.level == "warning"}


def test_clean_apps_pass_and_values_are_masked() -> None:
    vars_ = good_vars("https://keycliq.example.com", production=True)
    report = audit_config("production", PRODUCTION, vars_)
    assert report.ok, report.findings
    assert report.findings == []
    shown = report.model_dump_json()
    for name in ("SESSION_SECRET", "OPENAI_API_KEY", "CLOUDINARY_API_SECRET", "RESEND_API_KEY"):
        assert vars_[name] not in shown
    assert vars_["DATABASE_URL"] not in shown
    assert "https://keycliq.example.com" in shown  # APP_URL is not a secret


def test_every_rule_reports_its_var() -> None:
    vars_ = good_vars("http://keycliq-staging.herokuapp.com")
    vars_["CLOUDINARY_API_KEY"] = "changeme"
    vars_["NODE_ENV"] = "development"
    vars_["SESSION_SECRET"] = "too-short-secret"
    del vars_["DATABASE_URL"]
    report = audit_config("staging", STAGING, vars_)
    problems = {(f.var, f.message.split()[0]) for f in report.findings}
    assert ("DATABASE_URL", "is") in problems
    assert ("CLOUDINARY_API_KEY", "looks") in problems
    assert ("NODE_ENV", "is") in problems
    assert ("SESSION_SECRET", "is") in problems
    assert any(f.var == "APP_URL" and "https" in f.message for f in report.findings)
    assert not report.ok
    statuses = {r.name: r.status for r in report.rows}
    assert statuses["DATABASE_URL"] == "missing" and statuses["NODE_ENV"] == "problem"
    # each rule names the code it comes from
    assert "app/root.jsx" in errors(report)["NODE_ENV"]
    assert any(
        f.var == "APP_URL" and "app/utils/email.server.js" in f.message for f in report.findings
    )


def test_a_variable_the_schema_reads_is_required_with_its_line() -> None:
    vars_ = good_vars("https://keycliq-staging.herokuapp.com")
    report = audit_config("staging", STAGING, vars_, app_repo=APP)
    assert not report.ok
    assert errors(report) == {
        "DIRECT_URL": "is not set on keycliq-staging: "
        'prisma/schema.prisma:8 reads env("DIRECT_URL")'
    }
    assert [f.source for f in report.findings if f.var == "DIRECT_URL"] == [
        'prisma/schema.prisma:8 reads env("DIRECT_URL")'
    ]
    rows = {r.name: r for r in report.rows}
    assert rows["DIRECT_URL"].status == "missing"
    assert rows["DIRECT_URL"].required_by == "prisma/schema.prisma:8"
    assert rows["DATABASE_URL"].required_by == "prisma/schema.prisma:7"
    assert report.requirements_from == "commit 1a2b3c4d"
    direct = "postgresql://neon:" + secrets.token_hex(12) + "@ep-x.neon.tech/keycliq"
    fixed = audit_config("staging", STAGING, vars_ | {"DIRECT_URL": direct}, app_repo=APP)
    assert fixed.ok, fixed.findings
    assert direct not in fixed.model_dump_json()


def test_a_schema_without_database_url_does_not_require_it() -> None:
    schema = 'datasource db {\n  provider = "postgresql"\n  url = env("PG_URL")\n}\n'
    repo = AppRepo(files={"prisma/schema.prisma": schema}, origin="the work tree at /x")
    vars_ = good_vars("https://keycliq-staging.herokuapp.com")
    pg_url = vars_.pop("DATABASE_URL")
    report = audit_config("staging", STAGING, vars_, app_repo=repo)
    assert errors(report) == {
        "PG_URL": 'is not set on keycliq-staging: prisma/schema.prisma:3 reads env("PG_URL")'
    }
    assert audit_config("staging", STAGING, vars_ | {"PG_URL": pg_url}, app_repo=repo).ok


def test_blob_store_is_the_alternative_to_cloudinary() -> None:
    vars_ = good_vars("https://keycliq-staging.herokuapp.com")
    for name in ("CLOUDINARY_CLOUD_NAME", "CLOUDINARY_API_KEY", "CLOUDINARY_API_SECRET"):
        del vars_[name]
    without = audit_config("staging", STAGING, vars_)
    missing = errors(without)
    assert set(missing) == {"CLOUDINARY_CLOUD_NAME", "CLOUDINARY_API_KEY", "CLOUDINARY_API_SECRET"}
    assert "BLOB_READ_WRITE_TOKEN" in missing["CLOUDINARY_API_KEY"]
    assert "app/utils/cloudinary.server.js" in missing["CLOUDINARY_API_KEY"]

    token = "vercel_blob_rw_" + secrets.token_hex(16)
    with_blob = audit_config("staging", STAGING, vars_ | {"BLOB_READ_WRITE_TOKEN": token})
    assert with_blob.ok, with_blob.findings
    rows = {r.name: r for r in with_blob.rows}
    assert rows["BLOB_READ_WRITE_TOKEN"].required_by == "app/utils/blob.server.js"
    assert "CLOUDINARY_API_KEY" not in rows
    assert token not in with_blob.model_dump_json()

    # half a Cloudinary beside the Blob store: images go to the Blob store, said once a var
    partial = audit_config(
        "staging",
        STAGING,
        vars_ | {"BLOB_READ_WRITE_TOKEN": token, "CLOUDINARY_CLOUD_NAME": "keycliq"},
    )
    assert partial.ok
    assert "Blob store" in warnings(partial)["CLOUDINARY_CLOUD_NAME"]
    assert "app/lib/keys.server.js" in warnings(partial)["CLOUDINARY_CLOUD_NAME"]

    placeholder = audit_config("staging", STAGING, vars_ | {"BLOB_READ_WRITE_TOKEN": "changeme"})
    assert errors(placeholder)["BLOB_READ_WRITE_TOKEN"].startswith("looks like a placeholder")


def test_mail_required_in_production_and_disabled_elsewhere() -> None:
    vars_ = good_vars("https://keycliq.example.com", production=True)
    del vars_["RESEND_API_KEY"]
    report = audit_config("production", PRODUCTION, vars_)
    assert not report.ok
    assert "mail is required here (stage production)" in errors(report)["RESEND_API_KEY"]
    vars_["SENDGRID_API_KEY"] = "SG." + secrets.token_hex(16)
    report = audit_config("production", PRODUCTION, vars_)
    assert report.ok, report.findings
    assert {r.name: r.required for r in report.rows}["SENDGRID_API_KEY"]
    del vars_["MAIL_FROM_NAME"]
    no_sender = errors(audit_config("production", PRODUCTION, vars_))
    assert no_sender == {
        "MAIL_FROM_NAME": "is not set on keycliq-production: the app's code "
        "(app/utils/email.server.js) sends password-reset mail from it"
    }

    staging = audit_config("staging", STAGING, good_vars(STAGING.url or ""))
    assert staging.ok
    assert "mail disabled" in warnings(staging)["RESEND_API_KEY"]
    # a key without a sender in staging: a warning, not a failure
    keyed = good_vars(STAGING.url or "") | {"RESEND_API_KEY": "re_" + secrets.token_hex(16)}
    keyed_report = audit_config("staging", STAGING, keyed)
    assert keyed_report.ok
    assert set(warnings(keyed_report)) == {"MAIL_FROM_NAME", "MAIL_FROM_ADDRESS"}
    # mail_required in keycliq.yaml makes staging require it, and says so
    strict = Environment(app="keycliq-staging", url=STAGING.url, mail_required=True)
    strict_errors = errors(audit_config("staging", strict, good_vars(STAGING.url or "")))
    assert "keycliq.yaml: mail_required" in strict_errors["RESEND_API_KEY"]
    assert {"MAIL_FROM_NAME", "MAIL_FROM_ADDRESS"} <= set(strict_errors)


def test_no_openai_key_is_demo_mode() -> None:
    staging_vars = good_vars(STAGING.url or "")
    del staging_vars["OPENAI_API_KEY"]
    staging = audit_config("staging", STAGING, staging_vars)
    assert staging.ok
    message = warnings(staging)["OPENAI_API_KEY"]
    assert "demo mode" in message and "simulated" in message
    assert "app/utils/demoMode.server.js" in message

    prod_vars = good_vars("https://keycliq.example.com", production=True)
    del prod_vars["OPENAI_API_KEY"]
    production = audit_config("production", PRODUCTION, prod_vars)
    assert not production.ok
    assert "demo mode" in errors(production)["OPENAI_API_KEY"]
    assert "production must not" in errors(production)["OPENAI_API_KEY"]

    placeholder = audit_config("staging", STAGING, staging_vars | {"OPENAI_API_KEY": "changeme"})
    assert errors(placeholder)["OPENAI_API_KEY"].startswith("looks like a placeholder")


def test_required_config_in_keycliq_yaml_replaces_the_apps_table() -> None:
    env = Environment(app="keycliq-review", stage="review", required_config=["DATABASE_URL"])
    report = audit_config("review", env, {"NODE_ENV": "production"}, app_repo=APP)
    assert errors(report) == {
        "DATABASE_URL": "is not set on keycliq-review: "
        'prisma/schema.prisma:7 reads env("DATABASE_URL")',
        "DIRECT_URL": "is not set on keycliq-review: "
        'prisma/schema.prisma:8 reads env("DIRECT_URL")',
    }
    listed = Environment(app="keycliq-review", stage="review", required_config=["SESSION_SECRET"])
    only = audit_config("review", listed, {"NODE_ENV": "production"})
    assert errors(only) == {
        "SESSION_SECRET": "is not set on keycliq-review: keycliq.yaml: "
        "environments.review.required_config lists it"
    }
    assert "demo mode" in warnings(only)["OPENAI_API_KEY"]  # still said, not required


def test_shared_session_secret_is_caught_by_digest() -> None:
    shared = secrets.token_hex(32)
    staging = good_vars("https://keycliq-staging.herokuapp.com") | {"SESSION_SECRET": shared}
    report = audit_config(
        "staging", STAGING, staging, other_session_digests={"production": secret_digest(shared)}
    )
    assert list(errors(report)) == ["SESSION_SECRET"]
    assert "same as in production" in errors(report)["SESSION_SECRET"]
    assert shared not in report.model_dump_json()


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
