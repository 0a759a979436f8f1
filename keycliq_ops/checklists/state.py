"""Resume state: the last run of each checklist per commit, in a small JSON file.

The file is ``.keycliq/checklist-state.json`` beside keycliq.yaml (``state_path(root)``).
It holds, for each (checklist, commit), the latest result (saved after every item, so
``--resume`` works after Ctrl-C or a crash too); the oldest entries beyond ``KEEP`` go.
Results hold no secrets, so neither does this file. Written atomically, under a file lock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from filelock import FileLock
from pydantic import ValidationError

from keycliq_ops.base.errors import ConfigError
from keycliq_ops.base.fsutil import atomic_write
from keycliq_ops.checklists.results import ChecklistResult

STATE_NAME = "checklist-state.json"
KEEP = 50


def state_path(root: Path) -> Path:
    """Where the resume state lives for the project whose keycliq.yaml is in ``root``."""
    return root / ".keycliq" / STATE_NAME


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = FileLock(str(path) + ".lock", timeout=30)

    def _read(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot read the checklist resume state: {exc}",
                location=str(self.path),
                hint="delete the file to start afresh (it only serves --resume)",
            ) from None
        runs = data.get("runs") if isinstance(data, dict) else None
        return [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []

    def last(self, checklist: str, commit: str | None) -> ChecklistResult | None:
        """The latest saved run of ``checklist`` for ``commit`` (None when there is none)."""
        if commit is None:
            return None
        for raw in reversed(self._read()):
            if raw.get("checklist") == checklist and raw.get("commit") == commit:
                try:
                    return ChecklistResult.model_validate(raw)
                except ValidationError:
                    return None  # written by another version; not worth failing over
        return None

    def save(self, result: ChecklistResult) -> None:
        """Keep ``result`` as the latest run of its checklist for its commit."""
        if result.commit is None:
            return
        from keycliq_ops.base.fsutil import STATE_DIR, ensure_state_dir

        if self.path.parent.name == STATE_DIR:
            ensure_state_dir(self.path.parent.parent)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            runs = [
                r
                for r in self._read()
                if not (r.get("checklist") == result.checklist and r.get("commit") == result.commit)
            ]
            runs.append(result.model_dump(mode="json"))
            payload = {"schema": 1, "runs": runs[-KEEP:]}
            atomic_write(self.path, json.dumps(payload, indent=1, sort_keys=True) + "\n")
