"""The report's own Dataclips (``clips/``: C-ALL, C-DAYS, KEYS-UNSIGNED, COSTS) beneath the
environment's catalogue: a repository check of the same id replaces one of them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keycliq_ops.config import LoadedConfig
    from keycliq_ops.dataclips import Catalog

CLIPS = Path(__file__).resolve().parent / "clips"
REPORT_ONLY = ("C-ALL", "C-DAYS", "KEYS-UNSIGNED", "COSTS")


def report_catalog(loaded: LoadedConfig | None) -> Catalog:
    """The environment's catalogue plus the report's checks (the catalogue's win)."""
    from dataclasses import replace

    from keycliq_ops.config.loading import shipped_dataclips
    from keycliq_ops.dataclips import load_catalog

    base = loaded.dataclip_catalog() if loaded is not None else load_catalog(shipped_dataclips())
    own = load_catalog(CLIPS)
    known = {i.lower() for i in base.checks}
    checks = dict(base.checks)
    for check_id, clip in own.checks.items():
        if check_id.lower() not in known:
            checks[check_id] = clip
    return replace(
        base,
        checks=checks,
        folders=(*base.folders, CLIPS),
        description=f"{base.description or base.folder} + the report's checks",
    )
