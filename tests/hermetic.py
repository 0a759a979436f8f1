"""The hermetic process environment every test runs in (see ``tests/conftest.py``): no
Heroku or keycliq variable from the outside, HOME and the XDG folders in a temp folder,
git told who commits and to ignore the system config. Shared with the session-scoped
``world`` so that what it provisions never sees the real home directory either."""

from __future__ import annotations

from pathlib import Path

import pytest

OUTSIDE_VARS = (
    "HEROKU_API_KEY",
    "HEROKU_API_URL",
    "HEROKU_HOST",
    "KEYCLIQ_CONFIG",
    "KEYCLIQ_LEDGER",
    "KEYCLIQ_DATABASE_URL",
    "KEYCLIQ_SANDBOX_REPO",
    "KEYCLIQ_RENDEZVOUS_CA",
    "HEROKU_DATA_HOST",
    "HEROKU_POSTGRESQL_HOST",
    "KEYCLIQ_CLOUDINARY_API",
    "KEYCLIQ_LAUNCHER",
    "NODE_EXTRA_CA_CERTS",
    "KEYCLIQ_DEBUG",
    "DATABASE_URL",
    "GIT_DIR",
    "GIT_WORK_TREE",
)


def make_hermetic(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Point HOME (created here) and the XDG folders at ``home``; clear the outside vars."""
    home.mkdir(parents=True, exist_ok=True)
    for name in OUTSIDE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Author")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "author@example.com")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
