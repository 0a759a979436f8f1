"""Dataclips: read-only SQL checks with expectations, run concurrently as a gate or a report.

Library use (deploy and promote gate on it)::

    from keycliq_ops.dataclips import load_catalog, run_dataclips

    catalog = load_catalog(loaded.dataclips_dir)
    run = run_dataclips(catalog, ["E1", "E2"], database_url, settings=config.dataclips)
    if not run.ok:
        ...

The file format is described in :mod:`keycliq_ops.dataclips.fileformat`, the expectation
grammar in :mod:`keycliq_ops.dataclips.expect`, history in :mod:`keycliq_ops.dataclips.history`.
"""

from keycliq_ops.dataclips.clips import (
    Catalog,
    CheckResult,
    Dataclip,
    DataclipRun,
    ExpectationResult,
)
from keycliq_ops.dataclips.executor import run_dataclips
from keycliq_ops.dataclips.fileformat import load_catalog, parse_dataclip

__all__ = [
    "Catalog",
    "CheckResult",
    "Dataclip",
    "DataclipRun",
    "ExpectationResult",
    "load_catalog",
    "parse_dataclip",
    "run_dataclips",
]
