"""What every action that changes an environment (deploy, promote, rollback, secret
rotation) starts from: the configuration, the environment, the Heroku client, the checkout,
the ledger and the injected interactions (prompter, two-factor asker).

A :class:`Session`'s inputs do not change once it is made; what it looks up from Heroku
(config vars, the app's URL, the account) is fetched once and cached, one cache each. What
a run learns belongs to the run (:class:`keycliq_ops.release.stepper.Facts`), not here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING

from keycliq_ops.base.errors import CheckoutError

if TYPE_CHECKING:
    from keycliq_ops.adapters.git import Repo
    from keycliq_ops.adapters.heroku.client import HerokuClient
    from keycliq_ops.adapters.heroku.resources import Account, App
    from keycliq_ops.checklists import Prompter
    from keycliq_ops.config import Environment, LoadedConfig
    from keycliq_ops.config.app_repo import AppRepo
    from keycliq_ops.ledger import Ledger

# Asked for a two-factor code (the API's message as the question); None: none to give.
TwoFactorAsk = Callable[[str], "str | None"]


@dataclass
class _Lookups:
    """The session's caches (shared by the sessions made from one with ``for_commit``)."""

    config_vars: dict[str, dict[str, str]] = field(default_factory=dict)
    web_url: str | None = None
    account: Account | None = None
    app: App | None = None  # GET /apps/{app}: the first call a deploy makes (reach_heroku)
    app_repos: dict[str, AppRepo] = field(default_factory=dict)
    lock: Lock = field(default_factory=Lock)


@dataclass(frozen=True)
class Session:
    loaded: LoadedConfig
    env_name: str
    client: HerokuClient
    repo: Repo | None  # None: not in a git checkout (a secret rotation needs none)
    ledger: Ledger
    commit: str  # what the action ships ("" when there is no checkout)
    branch: str | None
    params: dict[str, str] = field(default_factory=dict)
    prompter: Prompter | None = None
    ask_two_factor: TwoFactorAsk | None = None
    explicit_database_url: str | None = None  # tests, --database-url; else the config var
    sleep: Callable[[float], None] = time.sleep
    _lookups: _Lookups = field(default_factory=_Lookups, repr=False, compare=False)

    def __post_init__(self) -> None:
        # One ledger for the team: shared through the checkout's git remote (keycliq.yaml's
        # `ledger`), so every decision below reads the team's records (docs/ledger.md).
        from keycliq_ops.ledger.sync import remote_for

        if self.ledger.remote is None:
            self.ledger.share(remote_for(self.loaded, self.repo.root if self.repo else None))

    # ------------------------------------------------------------------ derived inputs

    @property
    def env(self) -> Environment:
        return self.loaded.env(self.env_name)

    @property
    def app(self) -> str:
        return self.env.app

    @property
    def root(self) -> Path:
        return self.loaded.root

    def checkout(self) -> Repo:
        """The git checkout (CheckoutError, exit 2, when the session has none)."""
        if self.repo is None:
            raise CheckoutError(
                f"{self.root} is not a git checkout",
                hint="run keycliq inside your KeyCliq checkout (or pass --config)",
            )
        return self.repo

    def for_commit(self, commit: str) -> Session:
        """The same session naming another commit (what a promotion or a rollback ships);
        the lookups made so far are shared."""
        return dataclasses.replace(self, commit=commit)

    def fresh(self) -> Session:
        """The same inputs with nothing looked up yet (a second action after a first)."""
        return dataclasses.replace(self, _lookups=_Lookups())

    # ------------------------------------------------------------------------ lookups

    def config_vars(self, env_name: str | None = None) -> dict[str, str]:
        """The app's config vars (fetched once; secret values registered with the ledger's
        scrubber so that none can be recorded)."""
        name = env_name or self.env_name
        cache = self._lookups.config_vars
        if name not in cache:
            cache[name] = self._fetch_vars(name)
        return cache[name]

    def prefetch_config_vars(self) -> dict[str, dict[str, str]]:
        """Every environment's config vars, fetched at once (the audit compares them)."""
        cache = self._lookups.config_vars
        todo = [n for n in self.loaded.config.environments if n not in cache]
        if todo:
            with ThreadPoolExecutor(max_workers=min(4, len(todo))) as pool:
                for name, vars_ in zip(todo, pool.map(self._fetch_vars, todo), strict=True):
                    cache[name] = vars_
        return dict(cache)

    def forget_config_vars(self, env_name: str | None = None) -> None:
        """The config vars changed (a rollback restores older ones): read them again."""
        self._lookups.config_vars.pop(env_name or self.env_name, None)

    def _fetch_vars(self, name: str) -> dict[str, str]:
        from keycliq_ops.base.redact import is_secret_name

        vars_ = self.client.config_vars(self.loaded.env(name).app)
        self.ledger.add_secrets(*(v for k, v in vars_.items() if is_secret_name(k)))
        return vars_

    def database_url(self) -> str:
        """The explicit database URL, else the app's ``DATABASE_URL`` config var."""
        from keycliq_ops.adapters.db import database_url_of

        return database_url_of(self.config_vars, self.app, self.explicit_database_url)

    def app_url(self) -> str | None:
        """The environment's public URL: keycliq.yaml's ``url``, else the app's ``web_url``."""
        if self.env.url:
            return self.env.url
        if self._lookups.web_url is None:
            self._lookups.web_url = self.client.app(self.app).web_url or ""
        return self._lookups.web_url or None

    def app_repo(self) -> AppRepo:
        """The app's Procfile, package.json and Prisma files at the commit shipped (read
        once per commit)."""
        from keycliq_ops.config.app_repo import read_at_commit

        cache = self._lookups.app_repos
        if self.commit not in cache:
            cache[self.commit] = read_at_commit(self.checkout(), self.commit)
        return cache[self.commit]

    def app_info(self) -> App:
        """The environment's app (``GET /apps/{app}``, asked once)."""
        with self._lookups.lock:
            if self._lookups.app is None:
                self._lookups.app = self.client.app(self.app)
                self._lookups.web_url = self._lookups.web_url or self._lookups.app.web_url or ""
            return self._lookups.app

    def reach_heroku(self) -> None:
        """One cheap call before anything else (the app's info): an unreachable Heroku is
        an ExternalError (exit 3) saying so and why, before the plan is checked or a step
        runs; a wrong app name is Heroku's own 404 reason."""
        from keycliq_ops.base.errors import ExternalError, HerokuError

        try:
            self.app_info()
        except HerokuError as exc:
            if exc.status is not None and exc.status < 500:
                raise  # Heroku answered (a 404 for a wrong app name, a 401 token…)
            raise ExternalError(
                f"cannot reach Heroku, nothing was done: {exc.message}", hint=exc.hint
            ) from None

    def account(self) -> Account:
        """The Heroku account of the token (asked once)."""
        with self._lookups.lock:
            if self._lookups.account is None:
                self._lookups.account = self.client.account()
            return self._lookups.account

    @property
    def heroku_email(self) -> str | None:
        """The account's email once :meth:`account` has been asked (never asks itself)."""
        account = self._lookups.account
        return account.email if account is not None else None
