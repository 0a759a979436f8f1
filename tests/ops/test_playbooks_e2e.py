"""``keycliq playbook`` against the Heroku stand-in over loopback HTTP and its Postgres.

Each playbook: the freshly provisioned world is clean (exit 0); a planted problem (a log
line the app would write, or a defect in the database) exits 1 and names it. No secret
value of the app reaches the output.
"""

from __future__ import annotations

import json

import psycopg

from keycliq_ops.base.redact import is_secret_name
from keycliq_ops.standin import applog
from tests.world import World

STAGING = "keycliq-staging"
PRODUCTION = "keycliq-production"


def _secrets(world: World, app: str) -> list[str]:
    config = world.sandbox.engine.app(app).config
    return [v for k, v in config.items() if v and is_secret_name(k)]


def _assert_no_secret(world: World, app: str, text: str) -> None:
    for value in _secrets(world, app):
        assert value not in text


def _run(cli, name: str, env: str):  # type: ignore[no-untyped-def]
    return cli("playbook", "run", name, "--env", env)


def _json(cli, name: str, env: str) -> tuple[int, dict[str, object]]:  # type: ignore[no-untyped-def]
    result = cli("playbook", "run", name, "--env", env, "--json")
    return result.code, json.loads(result.stdout)


def test_list_and_show(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    listed = cli("playbook", "list", "--json")
    assert listed.code == 0, listed
    assert [p["name"] for p in json.loads(listed.stdout)] == [
        "scan-failures",
        "data-integrity",
        "email",
        "missing-images",
    ]
    shown = cli("playbook", "show", "data-integrity")
    assert shown.code == 0, shown
    assert "E1, E2, G" in shown.stdout and "correction script" in shown.stdout
    unknown = cli("playbook", "run", "scans", "--env", "staging")
    assert unknown.code == 2 and "scan-failures" in unknown.stderr
    bad_env = cli("playbook", "run", "email", "--env", "qa")
    assert bad_env.code == 2, bad_env
    assert "unknown environment 'qa' (known: staging, production)" in bad_env.stderr
    none = cli("playbook", "run", "email")
    assert none.code == 2 and "hint: name it with -e ENV" in none.stderr
    by_app = cli("playbook", "run", "email", "-e", STAGING, "--json")
    assert by_app.code == 0, by_app
    assert json.loads(by_app.stdout)["environment"] == "staging"


def test_scan_failures(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    world.sandbox.write_log(
        STAGING,
        applog.scan("MATCH_FOUND", user_id=applog.cuid("u"), key_ids=(applog.cuid("k"),)).text,
    )
    clean = _run(cli, "scan-failures", "staging")
    assert clean.code == 0, clean
    assert "OPENAI_API_KEY is set" in clean.stdout and "status.openai.com" in clean.stdout

    key = world.sandbox.engine.app(STAGING).config["OPENAI_API_KEY"]
    world.sandbox.write_log(
        STAGING, f"❌ Hybrid Balanced AI analysis failed: 401 Incorrect API key provided: {key}"
    )
    failed = _run(cli, "scan-failures", "staging")
    assert failed.code == 1, failed
    assert "log:openai-failed" in failed.stderr
    assert "1 openai-failed line" in failed.stdout and "Incorrect API key" in failed.stdout
    assert "manual signature upload" in failed.stdout
    _assert_no_secret(world, STAGING, failed.output)

    code, doc = _json(cli, "scan-failures", "staging")
    assert code == 1 and doc["ok"] is False
    counts = doc["log_counts"]
    assert isinstance(counts, dict)
    assert counts["openai-failed"] == 1
    assert counts["scan-started"] == counts["scan-match-found"] == 1
    assert counts["scan-crashed"] == 0
    _assert_no_secret(world, STAGING, json.dumps(doc))


def test_data_integrity(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    code, doc = _json(cli, "data-integrity", "staging")
    assert code == 0, doc
    findings = doc["findings"]
    assert isinstance(findings, list)
    checks = {f["check"]: f["severity"] for f in findings}
    # on what the app writes: E1 warns (signatures linked to a key and its scan), never fails
    assert checks["dataclip:E1"] == "warning"
    assert checks["dataclip:E2"] == checks["dataclip:G"] == "ok"
    e1 = next(f for f in findings if f["check"] == "dataclip:E1")
    assert "both_set" in e1["message"] and "keys.$id.jsx" in e1["message"], e1
    assert checks["config:DATABASE_URL"] == "ok"
    assert isinstance(doc["matchings"], dict)
    _assert_no_secret(world, STAGING, json.dumps(doc))

    with psycopg.connect(world.database_url(), autocommit=True) as conn:  # an E1 defect
        conn.execute(
            """INSERT INTO key_signatures (id, signature, "updatedAt") """
            """VALUES ('defect1', '{}', now())"""
        )
    failed = _run(cli, "data-integrity", "staging")
    assert failed.code == 1, failed
    assert "dataclip:E1" in failed.stderr and "dataclip:E2" not in failed.stderr
    assert "both_null = 1" in failed.stdout
    _assert_no_secret(world, STAGING, failed.output)


def test_email(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    clean = _run(cli, "email", "production")
    assert clean.code == 0, clean
    assert "sender domain keycliq.app" in clean.stdout and "RESEND_API_KEY is set" in clean.stdout
    staging = _run(cli, "email", "staging")  # no mail there, and none required
    assert staging.code == 0, staging
    assert "mail is not required" in staging.stdout

    world.sandbox.write_log(
        PRODUCTION,
        "Error sending email: {\n  statusCode: 429,\n  message: 'Too many requests. You can "
        "only make 2 requests per second.',\n  name: 'rate_limit_exceeded'\n}",
    )
    failed = _run(cli, "email", "production")
    assert failed.code == 1, failed
    assert "log:mail-failed" in failed.stderr and "Error sending email" in failed.stdout

    world.sandbox.write_log(PRODUCTION, applog.mail_domain_unverified().text)
    unverified = _run(cli, "email", "production")
    assert unverified.code == 1, unverified
    assert "log:mail-domain-unverified" in unverified.stderr
    _assert_no_secret(world, PRODUCTION, failed.output)


def test_missing_images(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    world.sandbox.write_log(STAGING, applog.key_deleted(public_id="keycliq/keys/abc123").text)
    code, doc = _json(cli, "missing-images", "staging")
    assert code == 0, doc
    counts = doc["log_counts"]
    assert isinstance(counts, dict)
    assert counts["image-upload-failed"] == 0 and counts["image-deleted"] == 1

    world.sandbox.write_log(STAGING, applog.image_upload_unauthorized().text)
    failed = _run(cli, "missing-images", "staging")
    assert failed.code == 1, failed
    assert "log:image-upload-failed" in failed.stderr
    assert "/keys/<id>" in failed.stdout
    _assert_no_secret(world, STAGING, failed.output)
