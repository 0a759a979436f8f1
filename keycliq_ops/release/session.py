"""What every release pipeline (deploy, promote, rollback) shares: the environment, the
Heroku client, the repository, the ledger, the prompter, and the facts steps learn."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keycliq_ops.base.errors import UsageError

if TYPE_CHECKING:
    from keycliq_ops.adapters.git import Repo
    from keycliq_ops.adapters.heroku.client import HerokuClient
    from keycliq_ops.adapters.heroku.resources import Build, Release
    from keycliq_ops.checklists import ChecklistResult, Prompter
    from keycliq_ops.config import Environment, LoadedConfig
    from keycliq_ops.ledger import Ledger


@dataclass
class ReleaseContext:
    loaded: LoadedConfig
    env_name: str
    client: HerokuClient
    repo: Repo
    ledger: Ledger
    commit: str
    branch: str | None
    prompter: Prompter | None = None
    params: dict[str, str] = field(default_factory=dict)
    database_url: str | None = None  # an explicit one (tests, --database-url); else config var
    resume: bool = False
    sleep: Callable[[float], None] = time.sleep
    # learnt along the way
    heroku_email: str | None = None
    app_id: str | None = None
    build: Build | None = None
    release: Release | None = None
    checklist_result: ChecklistResult | None = None
    previous_checklist: ChecklistResult | None = None
    dataclips: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _config_vars: dict[str, dict[str, str]] = field(default_factory=dict)
    _web_url: str | None = None

    @property
    def env(self) -> Environment:
        return self.loaded.env(self.env_name)

    @property
    def app(self) -> str:
        return self.env.app

    def config_vars(self, env_name: str | None = None) -> dict[str, str]:
        """The app's config vars (fetched once per run; secret values registered with the
        ledger so that none can be recorded)."""
        name = env_name or self.env_name
        if name not in self._config_vars:
            self._config_vars[name] = self._fetch_vars(name)
        return self._config_vars[name]

    def prefetch_config_vars(self) -> None:
        """Fetch every environment's config vars at once (the audit compares them)."""
        todo = [n for n in self.loaded.config.environments if n not in self._config_vars]
        if not todo:
            return
        with ThreadPoolExecutor(max_workers=min(4, len(todo))) as pool:
            for name, vars_ in zip(todo, pool.map(self._fetch_vars, todo), strict=True):
                self._config_vars[name] = vars_

    def _fetch_vars(self, name: str) -> dict[str, str]:
        from keycliq_ops.base.redact import is_secret_name

        vars_ = self.client.config_vars(self.loaded.env(name).app)
        self.ledger.add_secrets(*(v for k, v in vars_.items() if is_secret_name(k)))
        return vars_

    def app_url(self) -> str | None:
        """The environment's public URL: keycliq.yaml's ``url``, else the app's ``web_url``."""
        if self.env.url:
            return self.env.url
        if self._web_url is None:
            self._web_url = self.client.app(self.app).web_url or ""
        return self._web_url or None

    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        url = self.config_vars().get("DATABASE_URL")
        if not url:
            raise UsageError(
                f"{self.app} has no DATABASE_URL config var",
                hint="attach Heroku Postgres to the app, or pass --database-url",
            )
        return url

    @property
    def root(self) -> Path:
        return self.loaded.root
