"""The process-wide registry of secret values and the output boundary that masks them."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator

import pytest

from keycliq_ops.base.redact import (
    Redactor,
    forget_secrets,
    known_secrets,
    mask,
    mask_text,
    mask_tree,
    register_config_secrets,
    register_environment,
    register_secrets,
)

SECRET = "s3cr3t-session-value-0123456789"


@pytest.fixture(autouse=True)
def _empty_registry() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


def test_registered_values_are_masked_everywhere_in_text() -> None:
    assert mask_text(f"a {SECRET} b") == f"a {SECRET} b"  # unknown yet
    register_secrets(SECRET, "short", None, "")
    assert mask_text(f"a {SECRET} b {SECRET}") == f"a {mask(SECRET)} b {mask(SECRET)}"
    assert known_secrets() == (SECRET,)  # too short and empty values are not secrets
    assert mask_text("a short word") == "a short word"


def test_config_secrets_only_by_name_and_url_passwords() -> None:
    register_config_secrets(
        {
            "SESSION_SECRET": SECRET,
            "NODE_ENV": "production",
            "DATABASE_URL": "postgres://u:pg-password-xyz@db.example:5432/d",
        }
    )
    assert mask_text("mode production") == "mode production"
    # the password alone (a tool printing it without the URL) is masked too
    assert "pg-password-xyz" not in mask_text("PGPASSWORD=pg-password-xyz")
    assert mask_text("postgres://u:other-pass@h/d") == "postgres://•••@h/d"


def test_environment_secrets_need_a_secret_name_and_length() -> None:
    register_environment(
        {"STRIPE_SECRET_KEY": "sk_test_abcdefgh1234", "PATH": "/usr/bin:/bin", "API_TOKEN": "1"}
    )
    assert known_secrets() == ("sk_test_abcdefgh1234",)
    assert "sk_test_abcdefgh1234" not in mask_text("key=sk_test_abcdefgh1234")


def test_token_shapes_are_masked_unregistered() -> None:
    token = "HRKU-" + "a1" * 20
    text = mask_text(f"Authorization: Bearer abcdefghijklmnop and {token} and sk-{'x' * 20}")
    assert token not in text and "abcdefghijklmnop" not in text and "x" * 20 not in text


def test_mask_tree_masks_every_string_before_encoding() -> None:
    register_secrets(SECRET)
    tree = {"message": f"said {SECRET}", "nested": [{SECRET: 1}], "n": 3}
    masked = mask_tree(tree)
    assert SECRET not in json.dumps(masked) and masked["n"] == 3


def test_redactor_knows_the_registry() -> None:
    redactor = Redactor(["own-value-123456"])
    register_secrets(SECRET)
    assert SECRET not in redactor(f"{SECRET} own-value-123456")
    assert "own-value-123456" not in redactor("own-value-123456")


def test_masked_stream_and_consoles_mask_what_they_write(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.table import Table

    from keycliq_ops.cli import common

    sink = io.StringIO()
    monkeypatch.setattr(sys, "stdout", sink)
    monkeypatch.setattr(common, "_out", None)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-local-value-42")
    common.install_masking()
    common.install_masking()  # a second command in the process does not wrap twice
    assert isinstance(sys.stdout, common.MaskedStream)
    assert sys.stdout.inner is sink
    register_secrets(SECRET)
    sys.stdout.write(f"plain {SECRET} and sk-proj-local-value-42\n")
    common.emit_json({"reason": f"pasted {SECRET}"})
    # a narrow console folds long text and cells: masked before layout, never in pieces
    console = common._masking_console(file=sys.stdout, width=20, soft_wrap=False)
    console.print(f"a long line holding {SECRET} to fold")
    table = Table("reason")
    table.add_row(f"typed {SECRET}")
    console.print(table)
    written = sink.getvalue()
    # joined up again (folds, cell borders, padding removed), no piece of a secret shows
    joined = "".join(ch for ch in written if ch not in "\n│┃┏┓┗┛━─┡┩└┘┌┐ ")
    for piece in (SECRET, SECRET[:10], SECRET[-10:], "sk-proj-local-value-42"):
        assert piece not in joined, piece
    assert joined.count(mask(SECRET)[:12]) >= 3  # plain, folded line, table cell
