"""The Heroku Postgres add-on's backups, as its API serves them (a host of its own on
Heroku, ``api.data.heroku.com``; here the same loopback server as the Platform API).

What Heroku's CLI sends (``pg:backups:capture``, ``pg:backups``, ``pg:backups:info``,
``pg:backups:schedule(s)``, ``pg:backups:unschedule``) and this module answers:

- ``GET /apps/{app}/addons`` (Platform API, schema link ``add-on`` "List By App"): the
  app's ``heroku-postgresql`` add-on, whose ``id`` names the database below.
- ``GET /client/v11/databases/{id}``: the database's ``info`` (plan, continuous
  protection); 404 for an id that is no add-on.
- ``POST /client/v11/databases/{id}/backups``: start a capture, answer the transfer.
- ``GET /client/v11/apps/{app}/transfers`` and ``.../transfers/{uuid-or-num}``
  (``?verbose=true`` adds the logs): the transfers; a capture is ``from_type: pg_dump``,
  ``to_type: gof3r``; named ``b`` + its number (``a`` when a schedule made it).
- ``GET/POST /client/v11/databases/{id}/transfer-schedules``, ``DELETE
  .../transfer-schedules/{uuid}``: the daily schedule (``{hour, timezone, schedule_name}``).

A capture is a real ``pg_dump --format=custom`` of the app's database (its
``DATABASE_URL``), run in a worker thread with the embedded PostgreSQL's own ``pg_dump``;
the dump is kept under the sandbox's state folder (``pgbackups/<uuid>.dump``, see
:meth:`PgBackups.dump_path`), so a test can ``pg_restore`` it. A ``backup-fail@APP`` fault
makes the next capture of that app finish with ``succeeded: false`` and pg_dump's error in
its logs, as a failed capture does on Heroku.
"""

from __future__ import annotations

import re
import subprocess
import threading
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keycliq_ops.standin.failures import StandinError, redact_url
from keycliq_ops.standin.pgembed import pg_tool
from keycliq_ops.standin.platform import ApiError, Engine, not_found
from keycliq_ops.standin.server import JsonResponse, Request, Route
from keycliq_ops.standin.world import AppRow, iso

SERVICE = {"id": "6c67493d-8fc2-4cd4-9161-4f1ec11cbe69", "name": "heroku-postgresql"}
PLAN = {"id": "f4b3c0a6-4e8a-4a8d-9f6b-2f3f3d7e4c21", "name": "heroku-postgresql:essential-0"}
_NAMESPACE = uuid.UUID("9a0a4f0e-2b8c-4c52-8a55-0d6f3b1e7c90")
_ATTACHED = re.compile(r"Attach DATABASE \(@ref:(?P<name>[A-Za-z][A-Za-z0-9_-]+)\)")
DUMP_TIMEOUT = 600.0


def pg_time(at: datetime | None) -> str | None:
    """The Heroku Postgres API's timestamp form: ``2025-03-02 12:00:00 +0000``."""
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S +0000")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Transfer:
    uuid: str
    num: int
    app_name: str
    addon_name: str
    source_url: str  # never answered as it is: its password is masked
    scheduled: bool = False
    created_at: datetime = field(default_factory=_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    succeeded: bool = False
    source_bytes: int = 0
    processed_bytes: int = 0
    logs: list[dict[str, str]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def log(self, message: str, level: str = "info") -> None:
        self.logs.append({"created_at": pg_time(_now()) or "", "level": level, "message": message})

    def to_api(self, *, verbose: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "uuid": self.uuid,
            "num": self.num,
            "from_name": "DATABASE",
            "from_type": "pg_dump",
            "from_url": redact_url(self.source_url),
            "to_name": "BACKUP",
            "to_type": "gof3r",
            "to_url": f"https://sandbox-pgbackups.invalid/{self.app_name}/{self.uuid}.dump",
            "options": {},
            "source_bytes": self.source_bytes,
            "processed_bytes": self.processed_bytes,
            "succeeded": self.succeeded,
            "warnings": 0,
            "created_at": pg_time(self.created_at),
            "started_at": pg_time(self.started_at),
            "finished_at": pg_time(self.finished_at),
            "updated_at": pg_time(self.finished_at or self.started_at or self.created_at),
            "canceled_at": None,
            "deleted_at": None,
            "purged_at": None,
            "num_keep": 25,
            "schedule": {"uuid": str(uuid.uuid5(_NAMESPACE, self.addon_name))}
            if self.scheduled
            else None,
        }
        if verbose:
            out["logs"] = list(self.logs)
        return out


@dataclass
class Schedule:
    uuid: str
    name: str
    hour: int
    timezone: str

    def to_api(self) -> dict[str, Any]:
        return {"uuid": self.uuid, "name": self.name, "hour": self.hour, "timezone": self.timezone}


class PgBackups:
    """The backups and schedules of one sandbox's databases (thread-safe)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.folder = engine.root / "pgbackups"
        self._lock = threading.Lock()
        self._transfers: dict[str, list[Transfer]] = {}
        self._schedules: dict[str, list[Schedule]] = {}
        self._numbers: dict[str, int] = {}

    # -------------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget every transfer and schedule (a restored sandbox starts without them);
        waits for captures still running."""
        with self._lock:
            running = [t for ts in self._transfers.values() for t in ts if not t.done.is_set()]
        for transfer in running:
            transfer.done.wait(DUMP_TIMEOUT)
        with self._lock:
            self._transfers.clear()
            self._schedules.clear()
            self._numbers.clear()

    def dump_path(self, transfer_uuid: str) -> Path:
        return self.folder / f"{transfer_uuid}.dump"

    def transfers(self, app: str) -> list[Transfer]:
        with self._lock:
            return list(self._transfers.get(app, []))

    def schedules(self, addon_id: str) -> list[Schedule]:
        with self._lock:
            return list(self._schedules.get(addon_id, []))

    # ------------------------------------------------------------------ add-ons
    def addon_of(self, app: AppRow) -> dict[str, Any]:
        """The app's Heroku Postgres add-on, as ``GET /apps/{app}/addons`` lists it."""
        name = self._addon_name(app)
        ident = str(uuid.uuid5(_NAMESPACE, f"{app.id}/{name}"))
        return {
            "actions": [],
            "addon_service": dict(SERVICE),
            "billing_entity": {"id": app.id, "name": app.name, "type": "app"},
            "app": {"id": app.id, "name": app.name},
            "billed_price": {"cents": 0, "contract": False, "unit": "month"},
            "config_vars": ["DATABASE_URL"],
            "created_at": iso(app.created_at),
            "id": ident,
            "name": name,
            "plan": dict(PLAN),
            "provider_id": "resource" + str(uuid.UUID(ident).int % 10**9),
            "provision_message": "",
            "state": "provisioned",
            "updated_at": iso(app.created_at),
            "web_url": f"https://data.heroku.com/datastores/{ident}",
        }

    def _addon_name(self, app: AppRow) -> str:
        with self.engine.lock:
            for rel in app.releases:
                m = _ATTACHED.search(rel.description or "")
                if m:
                    return m.group("name")
        return f"postgresql-{app.name}"

    def _database(self, ident: str) -> tuple[AppRow, dict[str, Any]]:
        """The app and add-on a ``/client/v11/databases/{id}`` names (id or name)."""
        with self.engine.lock:
            apps = list(self.engine.apps.values())
        for app in apps:
            if "DATABASE_URL" not in app.config:
                continue
            addon = self.addon_of(app)
            if ident in (addon["id"], addon["name"]):
                return app, addon
        raise ApiError(404, "not_found", "Couldn't find that database.")

    # ------------------------------------------------------------------ capture
    def capture(self, ident: str) -> Transfer:
        app, addon = self._database(ident)
        with self._lock:
            num = self._numbers.get(app.name, 0) + 1
            self._numbers[app.name] = num
            transfer = Transfer(
                uuid=str(uuid.uuid4()),
                num=num,
                app_name=app.name,
                addon_name=addon["name"],
                source_url=app.config["DATABASE_URL"],
            )
            self._transfers.setdefault(app.name, []).append(transfer)
        fault = self.engine.faults.take("backup-fail", app.name)
        self.engine.spawn(self._run, transfer, fault.message if fault else None, fault is not None)
        return transfer

    def _run(self, transfer: Transfer, fault_message: str | None, fail: bool) -> None:
        try:
            transfer.started_at = _now()
            transfer.log("Starting backup of DATABASE to BACKUP")
            if fail:
                text = fault_message or (
                    "pg_dump: error: query failed: ERROR:  could not obtain lock on relation "
                    '"keys" (sandbox fault)'
                )
                transfer.log(text, level="error")
                transfer.log("Backup failed")
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.dump_path(transfer.uuid)
            transfer.source_bytes = _database_size(transfer.source_url)
            error = _pg_dump(transfer.source_url, target)
            if error is not None:
                transfer.log(error, level="error")
                transfer.log("Backup failed")
                target.unlink(missing_ok=True)
                return
            transfer.processed_bytes = target.stat().st_size
            transfer.log(f"pg_dump finished: {transfer.processed_bytes} bytes")
            transfer.succeeded = True
        except (OSError, subprocess.SubprocessError, StandinError) as exc:
            transfer.log(redact_url(f"backup failed: {exc}"), level="error")
        finally:
            transfer.finished_at = _now()
            transfer.done.set()

    def transfer(self, app: str, ident: str) -> Transfer:
        for transfer in self.transfers(app):
            if ident in (transfer.uuid, str(transfer.num)):
                return transfer
        raise not_found("transfer")

    # ---------------------------------------------------------------- schedules
    def schedule(self, ident: str, body: dict[str, Any]) -> Schedule:
        _, addon = self._database(ident)
        raw_hour = body.get("hour")
        try:
            hour = int(str(raw_hour))
        except ValueError:
            raise ApiError(422, "invalid_params", "hour must be 0..23.") from None
        if not 0 <= hour <= 23:
            raise ApiError(422, "invalid_params", "hour must be 0..23.")
        timezone = body.get("timezone") or "UTC"
        name = body.get("schedule_name") or "DATABASE_URL"
        if not isinstance(timezone, str) or not isinstance(name, str):
            raise ApiError(422, "invalid_params", "timezone and schedule_name are strings.")
        made = Schedule(str(uuid.uuid4()), name, hour, timezone)
        with self._lock:
            kept = [s for s in self._schedules.get(addon["id"], []) if s.name != name]
            self._schedules[addon["id"]] = [*kept, made]
        return made

    def unschedule(self, ident: str, schedule_uuid: str) -> Schedule:
        _, addon = self._database(ident)
        with self._lock:
            have = self._schedules.get(addon["id"], [])
            found = next((s for s in have if s.uuid == schedule_uuid), None)
            if found is None:
                raise not_found("schedule")
            have.remove(found)
        return found


def _run_tool(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=DUMP_TIMEOUT, check=False)


def _database_size(url: str) -> int:
    got = _run_tool(
        [
            str(pg_tool("psql")),
            "-X",
            "-A",
            "-t",
            "-c",
            "SELECT pg_database_size(current_database())",
            "--dbname",
            url,
        ]
    )
    text = got.stdout.strip()
    return int(text) if got.returncode == 0 and text.isdigit() else 0


def _pg_dump(url: str, target: Path) -> str | None:
    """Dump the database at ``url`` to ``target`` (custom format); pg_dump's error, or None."""
    got = _run_tool(
        [
            str(pg_tool("pg_dump")),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(target),
            "--dbname",
            url,
        ]
    )
    if got.returncode == 0:
        return None
    first = next((ln for ln in got.stderr.splitlines() if ln.strip()), f"exit {got.returncode}")
    return redact_url(first.strip())


# ------------------------------------------------------------------------ routes

_STORES: weakref.WeakKeyDictionary[Engine, PgBackups] = weakref.WeakKeyDictionary()
_STORES_LOCK = threading.Lock()


def store_of(engine: Engine) -> PgBackups:
    """The backups of ``engine``'s sandbox (made on first use)."""
    with _STORES_LOCK:
        found = _STORES.get(engine)
        if found is None:
            found = _STORES[engine] = PgBackups(engine)
        return found


def routes(engine: Engine) -> list[Route]:
    store = store_of(engine)
    e = engine

    def addons(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        if "DATABASE_URL" not in app.config:
            return JsonResponse([])
        return JsonResponse([store.addon_of(app)])

    def database_info(r: Request) -> JsonResponse:
        app, addon = store._database(r.params["db"])
        return JsonResponse(
            {
                "addon_id": addon["id"],
                "name": addon["name"],
                "plan": "essential-0",
                "resource_url": redact_url(app.config["DATABASE_URL"]),
                "info": [
                    {"name": "Plan", "values": ["Essential 0"]},
                    {"name": "Status", "values": ["Available"]},
                    {"name": "Continuous Protection", "values": ["Off"]},
                ],
            }
        )

    def capture(r: Request) -> JsonResponse:
        return JsonResponse(store.capture(r.params["db"]).to_api(verbose=False))

    def transfers(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        verbose = r.query.get("verbose") == "true"
        return JsonResponse([t.to_api(verbose=verbose) for t in store.transfers(app.name)])

    def transfer(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        verbose = r.query.get("verbose") == "true"
        return JsonResponse(store.transfer(app.name, r.params["id"]).to_api(verbose=verbose))

    def schedules(r: Request) -> JsonResponse:
        _, addon = store._database(r.params["db"])
        return JsonResponse([s.to_api() for s in store.schedules(addon["id"])])

    def schedule(r: Request) -> JsonResponse:
        return JsonResponse(store.schedule(r.params["db"], r.json_object()).to_api(), 201)

    def unschedule(r: Request) -> JsonResponse:
        return JsonResponse(store.unschedule(r.params["db"], r.params["schedule"]).to_api())

    db = "/client/v11/databases/{db}"
    return [
        Route(
            "GET", "/apps/{app}/addons", addons, ("add-on", "List By App"), ranges=("id", "name")
        ),
        Route("GET", db, database_info),
        Route("POST", f"{db}/backups", capture),
        Route("GET", "/client/v11/apps/{app}/transfers", transfers),
        Route("GET", "/client/v11/apps/{app}/transfers/{id}", transfer),
        Route("GET", f"{db}/transfer-schedules", schedules),
        Route("POST", f"{db}/transfer-schedules", schedule),
        Route("DELETE", f"{db}/transfer-schedules/{{schedule}}", unschedule),
    ]
