"""The default :class:`~keycliq_ops.checklists.checks.DataclipRunner`: the Dataclips engine.

Only verdicts and numbers cross over (no row data: rows may hold personal data).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from keycliq_ops.checklists.checks import DataclipOutcome
from keycliq_ops.checklists.results import CheckSummary


class EngineRunner:
    """Runs Dataclips from the catalogue in ``folder`` with ``settings`` (DataclipSettings)."""

    def __init__(self, folder: Path, settings: Any = None) -> None:
        self.folder = folder
        self.settings = settings
        self._catalog: Any = None

    def _engine(self) -> Any:
        return importlib.import_module("keycliq_ops.dataclips")

    @property
    def catalog(self) -> Any:
        if self._catalog is None:
            self._catalog = self._engine().load_catalog(self.folder)
        return self._catalog

    def known_ids(self) -> set[str]:
        return {clip.id for clip in self.catalog.all()}

    def __call__(
        self, ids: Sequence[str], database_url: str, params: Mapping[str, str]
    ) -> DataclipOutcome:
        run = self._engine().run_dataclips(
            self.catalog, list(ids), database_url, params=dict(params), settings=self.settings
        )
        checks = [
            CheckSummary(
                id=r.id,
                verdict=r.verdict,
                numbers=dict(getattr(r, "numbers", {}) or {}),
                error=getattr(r, "error", None),
            )
            for r in run.results
        ]
        return DataclipOutcome(verdict=str(run.verdict), ok=bool(run.ok), checks=checks)
