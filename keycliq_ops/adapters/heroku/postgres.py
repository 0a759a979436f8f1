"""The Heroku Postgres API (backups and their schedule): a host of its own, not the Platform API.

What heroku/cli's ``pg:backups:capture``, ``pg:backups``, ``pg:backups:info`` and
``pg:backups:schedules`` send, and this client sends the same way:

- the database is the app's ``heroku-postgresql`` add-on, found with the Platform API's
  ``GET /apps/{app}/addons`` (the one attached as ``DATABASE_URL``); its ``id`` names it
  on the Postgres host;
- ``POST /client/v11/databases/{addon id}/backups`` starts a capture and answers the
  transfer; ``GET /client/v11/apps/{app}/transfers/{uuid}`` is read until ``finished_at``
  is set (``?verbose=true`` adds the logs, read once when it failed);
- ``GET /client/v11/apps/{app}/transfers``: every transfer; backups are those from
  ``pg_dump`` to ``gof3r``, named ``b``/``a`` (scheduled) + their number (``b007``);
- ``GET /client/v11/databases/{addon id}/transfer-schedules``: the daily schedules.

Host: ``HEROKU_DATA_HOST``, else ``HEROKU_POSTGRESQL_HOST`` (the variables Heroku's CLI
reads), else ``api.data.heroku.com``; a value starting with ``http`` is taken as a whole
base URL (how a client is pointed at the local stand-in). With neither set and a Platform
API URL on loopback (the stand-in), that URL: the stand-in serves both APIs.

Requests go through the Platform API client's :class:`~.transport.Transport` (the same
retries, deadlines, sliced socket waits and error tree: a failure is a
:class:`~keycliq_ops.base.errors.HerokuError`, exit 3). Waiting for a capture
(:meth:`PostgresClient.wait`) reads the transfer at growing intervals (0.5 s doubling to
3 s, Heroku's CLI reads every 3 s) with an abortable sleep, within an overall deadline.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from keycliq_ops.adapters.heroku import deadlines
from keycliq_ops.adapters.heroku.auth import Token, resolve_credentials
from keycliq_ops.adapters.heroku.transport import CALL_TIMEOUT, RETRY_BUDGET, Transport
from keycliq_ops.base.errors import ConfigError, HerokuError, Interrupted

M = TypeVar("M", bound=BaseModel)
DEFAULT_DATA_HOST = "api.data.heroku.com"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOST_VARIABLES = ("HEROKU_DATA_HOST", "HEROKU_POSTGRESQL_HOST")
SERVICE = "heroku-postgresql"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
FIRST_WAIT = 0.5
LONGEST_WAIT = 3.0


def _p(value: str | int) -> str:
    return quote(str(value), safe="")


def data_base_url(env: Mapping[str, str] | None = None, api_url: str | None = None) -> str:
    """The Heroku Postgres API's base URL (no trailing slash); see the module."""
    env = dict(os.environ) if env is None else env
    for name in HOST_VARIABLES:
        value = env.get(name, "").strip()
        if not value:
            continue
        url = value if value.startswith(("http://", "https://")) else f"https://{value}"
        parts = urlsplit(url)
        if not parts.netloc or parts.scheme not in ("http", "https"):
            raise ConfigError(
                f"{name}={value!r} is neither a host name nor an http(s) URL",
                field=name,
                hint=f"unset {name} to use {DEFAULT_DATA_HOST}",
            )
        return url.rstrip("/")
    if api_url and (urlsplit(api_url).hostname or "") in _LOOPBACK:
        return api_url.rstrip("/")
    return f"https://{DEFAULT_DATA_HOST}"


def parse_time(value: object) -> datetime | None:
    """The Postgres API's ``2025-03-02 12:00:00 +0000`` (or ISO 8601) as a datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    for form in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S.%f %z"):
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Named(_Model):
    id: str | None = None
    name: str | None = None


class AddOn(_Model):
    """A Heroku Postgres add-on as ``GET /apps/{app}/addons`` lists it."""

    id: str
    name: str
    app: _Named
    plan: _Named
    addon_service: _Named
    config_vars: list[str] = Field(default_factory=list)
    state: str | None = None

    @property
    def is_postgres(self) -> bool:
        service = self.addon_service.name or (self.plan.name or "").split(":", 1)[0]
        return service == SERVICE


class TransferLog(_Model):
    created_at: str | None = None
    level: str | None = None
    message: str = ""


class Transfer(_Model):
    """One transfer (a backup is from ``pg_dump`` to ``gof3r``)."""

    uuid: str
    num: int | None = None
    from_name: str | None = None
    from_type: str | None = None
    to_name: str | None = None
    to_type: str | None = None
    succeeded: bool | None = None
    warnings: int = 0
    processed_bytes: int = 0
    source_bytes: int = 0
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    canceled_at: datetime | None = None
    schedule: dict[str, Any] | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    logs: list[TransferLog] = Field(default_factory=list)

    @field_validator("created_at", "started_at", "finished_at", "canceled_at", mode="before")
    @classmethod
    def _time(cls, value: object) -> datetime | None:
        return parse_time(value)

    @property
    def is_backup(self) -> bool:
        return self.from_type == "pg_dump" and self.to_type == "gof3r"

    @property
    def name(self) -> str:
        """How Heroku's CLI names it: ``b007`` (``a`` when scheduled, ``c`` a copy,
        ``r`` a restore; ``o…`` an old PG Backups name)."""
        old = self.options.get("pgbackups_name")
        if old:
            return f"o{old}"
        if self.from_type == "pg_dump":
            prefix = "c" if self.to_type == "pg_restore" else ("a" if self.schedule else "b")
        else:
            prefix = "r" if self.to_type == "pg_restore" else "b"
        return f"{prefix}{str(self.num or '').zfill(3)}"

    @property
    def status(self) -> str:
        if self.finished_at and self.succeeded:
            return "completed"
        if self.canceled_at:
            return "canceled"
        if self.finished_at:
            return "failed"
        return "running" if self.started_at else "pending"


class TransferSchedule(_Model):
    uuid: str | None = None
    name: str
    hour: int
    timezone: str


def filesize(size: int) -> str:
    """``1.23 MB`` (as Heroku's CLI shows sizes: 1024-based, two decimals)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} B" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


class PostgresClient:
    """A Heroku Postgres API session (with the Platform API for the add-on lookup)."""

    def __init__(
        self,
        token: str | Token,
        api_url: str,
        data_url: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        call_timeout: float = CALL_TIMEOUT,
        retry_budget: float = RETRY_BUDGET,
        sleep: Callable[[float], None] = deadlines.sleep,
    ) -> None:
        if not isinstance(token, Token):
            token = Token(token, "argument")
        self._token = token
        self._sleep = sleep
        options: dict[str, Any] = {
            "transport": transport,
            "timeout": timeout,
            "stream_timeout": timeout,
            "max_retries": max_retries,
            "call_timeout": call_timeout,
            "retry_budget": retry_budget,
            "sleep": sleep,
        }
        self._platform = Transport(token, api_url, **options)
        self._data = Transport(token, data_url or data_base_url(api_url=api_url), **options)

    @classmethod
    def from_environment(cls, **options: Any) -> PostgresClient:
        creds = resolve_credentials()
        return cls(creds.token, creds.base_url, **options)

    @classmethod
    def for_client(cls, client: Any, **options: Any) -> PostgresClient:
        """The Postgres API beside a :class:`~.client.HerokuClient` (its token and URL)."""
        token = getattr(client, "_token", None)
        if not isinstance(token, Token):
            return cls.from_environment(**options)
        return cls(token, str(client.base_url), **options)

    def __enter__(self) -> PostgresClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._platform.close()
        self._data.close()

    @property
    def data_url(self) -> str:
        return self._data.base_url

    def __repr__(self) -> str:
        return f"PostgresClient(data_url={self.data_url!r}, token=<from {self._token.source}>)"

    # -- helpers -------------------------------------------------------------------------

    def _get(self, t: Transport, method: str, path: str) -> Any:
        what = f"{method} {path}"
        return t.json(t.request(method, path, idempotent=method == "GET"), what)

    def _parse(self, model: type[M], data: Any, what: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "body"
            raise HerokuError(
                f"Heroku Postgres API {what}: unexpected {model.__name__} "
                f"({where}: {first['msg']})",
                hint=f"is {self.data_url} the Heroku Postgres API? (HEROKU_DATA_HOST)",
            ) from None

    def _list(self, t: Transport, model: type[M], path: str) -> list[M]:
        data = self._get(t, "GET", path)
        if not isinstance(data, list):
            raise HerokuError(f"Heroku API GET {path}: expected a JSON list")
        return [self._parse(model, item, f"GET {path}") for item in data]

    # -- the database --------------------------------------------------------------------

    def addons(self, app: str) -> list[AddOn]:
        """The app's add-ons (Platform API)."""
        return self._list(self._platform, AddOn, f"/apps/{_p(app)}/addons")

    def database(self, app: str) -> AddOn:
        """The app's Heroku Postgres add-on: the one attached as ``DATABASE_URL`` (else the
        only one the app owns). HerokuError (``not_found``) when it has none."""
        found = [a for a in self.addons(app) if a.is_postgres]
        attached = [a for a in found if "DATABASE_URL" in a.config_vars]
        owned = [a for a in found if a.app.name == app]
        pick = attached or owned or found
        if not pick:
            raise HerokuError(
                f"{app} has no Heroku Postgres database (no {SERVICE} add-on)",
                error_id="not_found",
                hint=f"`heroku addons -a {app}`; attach one with `heroku addons:create "
                f"{SERVICE} -a {app}`",
            )
        return pick[0]

    # -- backups -------------------------------------------------------------------------

    def capture(self, addon: AddOn) -> Transfer:
        """Start a backup (``POST /client/v11/databases/{id}/backups``)."""
        path = f"/client/v11/databases/{_p(addon.id)}/backups"
        return self._parse(Transfer, self._get(self._data, "POST", path), f"POST {path}")

    def transfers(self, app: str) -> list[Transfer]:
        """Every transfer of the app, newest first."""
        got = self._list(self._data, Transfer, f"/client/v11/apps/{_p(app)}/transfers")
        # Times have whole seconds: the number orders two transfers of the same second.
        return sorted(got, key=lambda t: (t.created_at or _EPOCH, t.num or 0), reverse=True)

    def backups(self, app: str) -> list[Transfer]:
        """The app's backups (``pg_dump`` → ``gof3r``), newest first."""
        return [t for t in self.transfers(app) if t.is_backup]

    def transfer(self, app: str, ident: str | int, *, verbose: bool = False) -> Transfer:
        path = f"/client/v11/apps/{_p(app)}/transfers/{_p(ident)}"
        if verbose:
            path += "?verbose=true"
        return self._parse(Transfer, self._get(self._data, "GET", path), f"GET {path}")

    def schedules(self, addon: AddOn) -> list[TransferSchedule]:
        path = f"/client/v11/databases/{_p(addon.id)}/transfer-schedules"
        return self._list(self._data, TransferSchedule, path)

    def wait(
        self,
        app: str,
        started: Transfer,
        *,
        timeout: float,
        on_progress: Callable[[Transfer], None] | None = None,
    ) -> Transfer:
        """The transfer once finished and succeeded. HerokuError (exit 3) when it failed
        (its last log lines said) or is still running after ``timeout`` seconds."""
        ends = time.monotonic() + timeout
        pause = FIRST_WAIT
        current = started
        while not current.finished_at:
            left = ends - time.monotonic()
            if left <= 0:
                raise HerokuError(
                    f"backup {current.name} of {app} was still {current.status} after "
                    f"{timeout:g}s; stopped waiting (it goes on on Heroku)",
                    hint=f"`heroku pg:backups:info {current.name} -a {app}`; raise "
                    "timeouts.backup in keycliq.yaml",
                )
            try:
                self._sleep(min(pause, left))
            except deadlines.AbortedIO:
                raise Interrupted("interrupted while waiting for a backup") from None
            pause = min(pause * 2, LONGEST_WAIT)
            current = self.transfer(app, started.uuid)
            if on_progress is not None:
                on_progress(current)
        if current.succeeded:
            return current
        detailed = self.transfer(app, started.uuid, verbose=True)
        last = [log.message for log in detailed.logs if log.message][-3:]
        raise HerokuError(
            f"backup {detailed.name} of {app} failed"
            + (f": {' / '.join(last)}" if last else " (no log lines)"),
            hint=f"`heroku pg:backups:info {detailed.name} -a {app}` has the details",
        )
