"""Fixtures for the Dataclips tests: the shipped catalogue and a folder for custom checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from keycliq_ops.config.loading import SHIPPED_DATACLIPS
from keycliq_ops.dataclips import Catalog, load_catalog


@pytest.fixture(scope="session")
def shipped() -> Catalog:
    return load_catalog(SHIPPED_DATACLIPS)


@pytest.fixture
def clip_dir(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write custom checks: ``write("X", body)`` creates ``X.sql``; returns the folder."""
    folder = tmp_path / "clips"
    folder.mkdir()

    def write(name: str, text: str) -> Path:
        path = folder / f"{name}.sql"
        path.write_text(text)
        return path

    write.folder = folder  # type: ignore[attr-defined]
    return write
