"""The default :class:`~keycliq_ops.checklists.checks.DataclipRunner`: the Dataclips engine.

Only verdicts and numbers cross over (no row data: rows may hold personal data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from keycliq_ops.checklists.checks import DataclipOutcome
from keycliq_ops.checklists.results import CheckSummary

if TYPE_CHECKING:
    from keycliq_ops.config.loading import CatalogFolders
    from keycliq_ops.config.settings import DataclipSettings
    from keycliq_ops.dataclips import Catalog


class EngineRunner:
    """Runs Dataclips of the catalogue in ``folder`` (one folder, or the layered folders
    ``loaded.dataclips_dir``) with ``settings`` (keycliq.yaml)."""

    def __init__(
        self, folder: Path | CatalogFolders, settings: DataclipSettings | None = None
    ) -> None:
        self.folder = folder
        self.settings = settings
        self._catalog: Catalog | None = None

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            from keycliq_ops.dataclips import load_catalog

            self._catalog = load_catalog(self.folder)
        return self._catalog

    def known_ids(self) -> set[str]:
        return set(self.catalog.ids())

    def __call__(
        self, ids: Sequence[str], database_url: str, params: Mapping[str, str]
    ) -> DataclipOutcome:
        from keycliq_ops.dataclips import run_dataclips

        run = run_dataclips(
            self.catalog, list(ids), database_url, params=dict(params), settings=self.settings
        )
        checks = [
            CheckSummary(id=r.id, verdict=r.verdict, numbers=dict(r.numbers), error=r.error)
            for r in run.results
        ]
        return DataclipOutcome(verdict=run.verdict, ok=run.ok, checks=checks)
