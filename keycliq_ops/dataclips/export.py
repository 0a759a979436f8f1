"""CSV export of a Dataclip run: one ``<ID>.csv`` per check (its columns and shown rows)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from keycliq_ops.base.fsutil import atomic_write
from keycliq_ops.dataclips.clips import DataclipRun


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dict | list):
        return json.dumps(v, separators=(",", ":"), sort_keys=True)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def write_csv(run: DataclipRun, folder: Path) -> list[Path]:
    """Write each check's result to ``folder/<ID>.csv``; return the files written.

    Checks that errored get no file. Each file is written whole (temp file + rename).
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for r in run.results:
        if r.verdict == "error" or not r.columns:
            continue
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(r.columns)
        for row in r.rows:
            w.writerow([_cell(v) for v in row])
        path = folder / f"{r.id}.csv"
        atomic_write(path, buf.getvalue())
        written.append(path)
    return written
