"""No secret value ever reaches the ledger file or a report."""

from __future__ import annotations

from pathlib import Path

import pytest

from keycliq_ops.ledger import Ledger
from keycliq_ops.ledger.reports import render_html, render_markdown, report_data

SESSION_SECRET = "s3ss10n-S3cret-0f-64-chars-kq9v7x2m4n8b1c5z"
CLOUDINARY_SECRET = "cld-Secret-Zx81Qw9Lm2Np"
OPENAI_KEY = "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34"
HEROKU_TOKEN = "HRKU-aa11bb22cc33dd44ee55ff66gg77"
DB_PASSWORD = "pg-pAss-w0rd-77x"
DATABASE_URL = f"postgres://keycliq:{DB_PASSWORD}@db.example.internal:5432/keycliq"
RESEND_KEY = "re_Q2w3e4r5t6y7u8i9o0"
UNREGISTERED_HEROKU = "HRKU-zz99yy88xx77ww66vv55uu44"


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch, ledger_path: Path) -> Ledger:
    monkeypatch.setenv("HEROKU_API_KEY", HEROKU_TOKEN)
    monkeypatch.setenv("DATABASE_URL", DATABASE_URL)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    # the app's config vars, registered by the caller (as deploy does)
    config_vars = {
        "SESSION_SECRET": SESSION_SECRET,
        "CLOUDINARY_API_SECRET": CLOUDINARY_SECRET,
        "RESEND_API_KEY": RESEND_KEY,
        "NODE_ENV": "production",
    }
    ledger = Ledger(ledger_path, secrets=[config_vars["SESSION_SECRET"]])
    ledger.add_secrets(config_vars["CLOUDINARY_API_SECRET"], config_vars["RESEND_API_KEY"])
    everything = " ".join(
        [SESSION_SECRET, CLOUDINARY_SECRET, OPENAI_KEY, HEROKU_TOKEN, DATABASE_URL, RESEND_KEY]
    )
    start = ledger.begin(
        "secret-rotation",
        "production",
        app="keycliq-production",
        details={
            "SESSION_SECRET": SESSION_SECRET,  # a secret-named key
            "config": config_vars,
            "note": f"rotated from {SESSION_SECRET}",
            "database_url": DATABASE_URL,
        },
        override_reason=f"curl -H 'Authorization: Bearer {UNREGISTERED_HEROKU}'",
    )
    ledger.complete(
        start,
        "failed",
        3,
        error=f"psql {DATABASE_URL} failed; env was {everything}",
        steps=[
            {
                "name": "set-config",
                "status": "failed",
                "detail": f"PATCH config-vars {{'SESSION_SECRET': '{SESSION_SECRET}'}}",
                "output_tail": [f"OPENAI_API_KEY={OPENAI_KEY}", f"token {HEROKU_TOKEN}"],
                "data": {"api_key": RESEND_KEY, "url": DATABASE_URL},
            }
        ],
        checklist={
            "name": "production",
            "passed": False,
            "items": [{"id": "mail", "answer": "no", "note": f"key {RESEND_KEY} bounced"}],
        },
    )
    return ledger


SECRETS = [
    SESSION_SECRET,
    CLOUDINARY_SECRET,
    OPENAI_KEY,
    HEROKU_TOKEN,
    DB_PASSWORD,
    RESEND_KEY,
    UNREGISTERED_HEROKU,
]


def test_planted_secrets_never_reach_the_file(planted: Ledger) -> None:
    data = planted.path.read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in data
    assert "postgres://•••@db.example.internal" in data  # the rest of the URL stays useful
    assert planted.verify().ok


def test_planted_secrets_never_reach_a_report(planted: Ledger) -> None:
    run = planted.latest(1)[0]
    check = planted.verify()
    for text in (
        render_markdown(run, check),
        render_html(run, check),
        str(report_data(run, check)),
    ):
        for secret in SECRETS:
            assert secret not in text


def test_secret_keys_keep_plain_answers(ledger: Ledger) -> None:
    record = ledger.begin(
        "checklist",
        "production",
        checklist={"items": [{"id": "rotate", "SESSION_SECRET": "done"}], "api_key_set": "yes"},
        details={"WEB_URL": "https://keycliq.example.com/login"},
    )
    assert record.checklist == {
        "items": [{"id": "rotate", "SESSION_SECRET": "done"}],
        "api_key_set": "yes",
    }
    assert record.details["WEB_URL"] == "https://keycliq.example.com/login"
