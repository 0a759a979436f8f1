"""Finding and loading ``keycliq.yaml``; resolving the paths it names."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from keycliq_ops.base.errors import ConfigError, UsageError
from keycliq_ops.config.settings import Config, Environment

CONFIG_NAME = "keycliq.yaml"


def _shipped_catalog() -> Path:
    """The shipped checklists and Dataclips: the repository's top-level ``checklists/`` and
    ``dataclips/`` folders, mapped to ``keycliq_ops/_catalog/`` in the wheel (one copy)."""
    package = Path(__file__).resolve().parent.parent
    built = package / "_catalog"
    return built if built.is_dir() else package.parent


CATALOG = _shipped_catalog()
SHIPPED_DATACLIPS = CATALOG / "dataclips"
SHIPPED_CHECKLISTS = CATALOG / "checklists"


def find_config(start: Path | None = None) -> Path | None:
    """Walk up from ``start`` (default: the working directory) to the first keycliq.yaml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and the folder its relative paths are relative to."""

    config: Config
    path: Path

    @property
    def root(self) -> Path:
        return self.path.parent

    def _resolve(self, p: Path) -> Path:
        return p if p.is_absolute() else self.root / p

    def env(self, name: str) -> Environment:
        try:
            return self.config.environments[name]
        except KeyError:
            known = ", ".join(self.config.environments) or "none"
            raise UsageError(
                f"unknown environment {name!r} (known: {known})",
                hint=f"environments are defined in {self.path}",
            ) from None

    def owns(self, relative: str) -> bool:
        """Whether a path of the checkout (relative to its root) is one of keycliq's own
        files: ``.keycliq/``, the ledger, the reports, the Dataclip history. They never make
        the work tree dirty for a deploy."""
        full = (self.root / relative).resolve()
        mine = (self.root / ".keycliq", self.ledger_path, self.reports_dir, self.history_path)
        return any(full == p.resolve() or p.resolve() in full.parents for p in mine)

    @property
    def ledger_path(self) -> Path:
        override = os.environ.get("KEYCLIQ_LEDGER")
        return Path(override) if override else self._resolve(self.config.paths.ledger)

    @property
    def reports_dir(self) -> Path:
        return self._resolve(self.config.paths.reports)

    @property
    def history_path(self) -> Path:
        return self._resolve(self.config.paths.history)

    @property
    def checklists_dir(self) -> Path:
        p = self.config.paths.checklists
        return self._resolve(p) if p is not None else SHIPPED_CHECKLISTS

    @property
    def dataclips_dir(self) -> Path:
        p = self.config.paths.dataclips
        return self._resolve(p) if p is not None else SHIPPED_DATACLIPS


def load_config(path: Path | None = None) -> LoadedConfig:
    """Load the config at ``path``, else ``KEYCLIQ_CONFIG``, else the nearest keycliq.yaml."""
    from keycliq_ops.base.yamlfile import load_yaml, validate

    if path is None and os.environ.get("KEYCLIQ_CONFIG"):
        path = Path(os.environ["KEYCLIQ_CONFIG"])
    if path is None:
        path = find_config()
        if path is None:
            raise ConfigError(
                f"no {CONFIG_NAME} in {Path.cwd()} or any folder above it",
                hint="run `keycliq init` in your KeyCliq checkout, or pass --config FILE",
            )
    doc = load_yaml(path)
    if doc.data is not None and not isinstance(doc.data, dict):
        raise ConfigError("the file must be a mapping of keys", location=doc.where())
    return LoadedConfig(config=validate(Config, doc), path=path.resolve())
