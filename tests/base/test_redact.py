from __future__ import annotations

from keycliq_ops.base.redact import Redactor, is_secret_name, mask, mask_config, redact_url


def test_secret_names() -> None:
    for name in (
        "DATABASE_URL",
        "SESSION_SECRET",
        "OPENAI_API_KEY",
        "CLOUDINARY_API_SECRET",
        "RESEND_API_KEY",
        "HEROKU_API_KEY",
        "DIRECT_URL",
        "SENDGRID_API_KEY",
    ):
        assert is_secret_name(name), name
    for name in ("APP_URL", "NODE_ENV", "MAIL_FROM_NAME", "CLOUDINARY_CLOUD_NAME"):
        assert not is_secret_name(name), name


def test_mask_never_shows_the_value() -> None:
    secret = "0123456789abcdef0123456789abcdef"
    masked = mask(secret)
    assert secret not in masked and "32 chars" in masked
    assert mask("short") == "••••••••"
    assert mask(None) == "(unset)" and mask("") == "(empty)"


def test_mask_config_masks_secrets_and_url_credentials() -> None:
    out = mask_config(
        {
            "DATABASE_URL": "postgres://u:pw-very-secret@db.example.com:5432/d",
            "APP_URL": "https://keycliq.example.com",
            "NODE_ENV": "production",
            "ODD": "redis://user:hunter2hunter2@cache:6379",
        }
    )
    assert "pw-very-secret" not in str(out) and "hunter2hunter2" not in str(out)
    assert out["APP_URL"] == "https://keycliq.example.com"
    assert out["NODE_ENV"] == "production"
    assert out["ODD"] == "redis://•••@cache:6379"


def test_redact_url_in_free_text() -> None:
    text = "could not connect to postgresql://admin:s3cr3t@10.0.0.1/db: refused"
    assert redact_url(text) == "could not connect to postgresql://•••@10.0.0.1/db: refused"


def test_redactor_scrubs_known_values() -> None:
    r = Redactor(["tok_abcdefghijklmnop", None, "abc"])
    assert "tok_abcdefghijklmnop" not in r("token tok_abcdefghijklmnop leaked")
    assert r("abc stays") == "abc stays"  # too short to be a real secret


def test_redact_url_is_linear_on_long_text() -> None:
    # A long run of scheme-like characters used to backtrack quadratically (minutes at this
    # size; pytest-timeout would stop it). The bounded pattern answers at once.
    text = "a" * 200_000 + " postgres://u:pw-secret-value@h/db " + "b://" * 50_000
    out = redact_url(text)
    assert "pw-secret-value" not in out
    assert out.startswith("a" * 1000) and "postgres://•••@h/db" in out
