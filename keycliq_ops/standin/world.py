"""The stand-in's state, one dataclass per Heroku resource, and its JSON as Heroku shows it.

Every ``to_api`` returns exactly the properties the Platform API schema lists for the
resource (``strictProperties``), with UUID ids and ISO 8601 UTC timestamps.
"""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keycliq_ops.standin.streams import AppLog, LiveText, LogLine

STACK = {"id": "ee582d3c-717d-4a57-ba5f-8b3a39f3a817", "name": "heroku-24"}
REGION = {"id": "59accabd-516d-4f0e-83e6-6e3757701145", "name": "us"}
GENERATION = {"id": "c5b6d5a2-5b1e-4d5e-9b5b-1f6f0f5d2a11", "name": "cedar"}
BUILDPACKS = [{"url": "heroku/nodejs", "name": "heroku/nodejs"}]
# Fir: Cloud Native Buildpacks on the `cnb` stack, releases of OCI images (no slug).
FIR_STACK = {"id": "a3d1f8e2-3c4b-4f5a-9e6d-7b8c9d0e1f2a", "name": "cnb"}
FIR_GENERATION = {"id": "0f1e2d3c-4b5a-4697-8877-665544332211", "name": "fir"}
FIR_BUILDPACKS = [{"url": "heroku/nodejs", "name": "heroku/nodejs"}]
GENERATIONS = ("cedar", "fir")


def generation_of(name: str) -> dict[str, str]:
    """The ``generation`` object of apps and pipelines of generation ``name``."""
    return dict(FIR_GENERATION if name == "fir" else GENERATION)


def stack_of(generation: str) -> dict[str, str]:
    return dict(FIR_STACK if generation == "fir" else STACK)


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)


def iso(at: datetime | None) -> str | None:
    """Heroku's timestamp form: ``2025-11-11T10:30:00Z``."""
    return None if at is None else at.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class AccountRow:
    email: str = "release-bot@keycliq.app"
    name: str = "KeyCliq Release Bot"
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)

    def ref(self) -> dict[str, str]:
        return {"id": self.id, "email": self.email}

    def to_api(self) -> dict[str, Any]:
        return {
            "allow_tracking": True,
            "beta": False,
            "created_at": iso(self.created_at),
            "email": self.email,
            "federated": False,
            "id": self.id,
            "identity_provider": None,
            "last_login": iso(self.created_at),
            "name": self.name,
            "sms_number": None,
            "suspended_at": None,
            "delinquent_at": None,
            "two_factor_authentication": False,
            "updated_at": iso(self.created_at),
            "verified": True,
            "country_of_residence": None,
            "default_organization": None,
            "default_team": None,
        }


@dataclass
class SlugRow:
    """A built commit: the source tarball and its Procfile process types. On a Fir app the
    same build is an OCI image: the API shows ``image_id`` (an ``oci-image`` artifact) and
    never the slug ``id``."""

    commit: str
    tarball: Path
    process_types: dict[str, str]
    size: int
    description: str = ""
    id: str = field(default_factory=new_id)
    image_id: str = field(default_factory=new_id)

    @property
    def release_command(self) -> str | None:
        return self.process_types.get("release")


@dataclass
class ReleaseRow:
    app_id: str
    app_name: str
    version: int
    description: str
    config: dict[str, str]
    slug: SlugRow | None
    user: dict[str, str]
    status: str = "succeeded"
    current: bool = False
    output: LiveText | None = None
    output_url: str | None = None
    exit_status: int | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    generation: str = "cedar"

    @property
    def fir(self) -> bool:
        return self.generation == "fir"

    def artifacts(self) -> list[dict[str, str]]:
        if self.slug is None:
            return []
        if self.fir:
            return [{"type": "oci-image", "id": self.slug.image_id}]
        return [{"type": "slug", "id": self.slug.id}]

    def to_api(self) -> dict[str, Any]:
        return {
            "addon_plan_names": ["heroku-postgresql:essential-0"],
            "artifacts": self.artifacts(),
            "app": {"name": self.app_name, "id": self.app_id},
            "created_at": iso(self.created_at),
            "description": self.description,
            "id": self.id,
            "updated_at": iso(self.updated_at),
            "slug": {"id": self.slug.id} if self.slug and not self.fir else None,
            "status": self.status,
            "user": dict(self.user),
            "version": self.version,
            "current": self.current,
            "output_stream_url": self.output_url,
            "eligible_for_rollback": self.status == "succeeded",  # the current one too, as Heroku
        }


@dataclass
class BuildRow:
    app_id: str
    commit: str
    checksum: str
    description: str
    user: dict[str, str]
    output: LiveText
    output_url: str
    status: str = "pending"
    slug: SlugRow | None = None
    release: ReleaseRow | None = None
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    generation: str = "cedar"

    def to_api(self) -> dict[str, Any]:
        fir = self.generation == "fir"
        return {
            "app": {"id": self.app_id},
            "buildpacks": [dict(b) for b in (FIR_BUILDPACKS if fir else BUILDPACKS)],
            "created_at": iso(self.created_at),
            "generation": self.generation,
            "id": self.id,
            "output_stream_url": self.output_url,
            "source_blob": {
                "checksum": self.checksum,
                "url": "",
                "version": self.commit,
                "version_description": self.description,
            },
            "release": {"id": self.release.id} if self.release else None,
            # A Fir build makes an OCI image, which a build does not name: no slug.
            "slug": {"id": self.slug.id} if self.slug and not fir else None,
            "stack": stack_of(self.generation)["name"],
            "status": self.status,
            "updated_at": iso(self.updated_at),
            "user": dict(self.user),
        }


@dataclass
class DynoRow:
    app_id: str
    app_name: str
    name: str
    command: str
    type: str
    size: str
    attach: bool
    release: ReleaseRow
    output: LiveText
    state: str = "starting"
    exit_status: int | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)
    attach_url: str | None = None
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    def to_api(self) -> dict[str, Any]:
        return {
            "attach_url": self.attach_url,
            "command": self.command,
            "created_at": iso(self.created_at),
            "id": self.id,
            "name": self.name,
            "release": {"id": self.release.id, "version": self.release.version},
            "app": {"name": self.app_name, "id": self.app_id},
            "size": self.size,
            "state": self.state,
            "type": self.type,
            "updated_at": iso(self.updated_at),
        }


@dataclass
class AppRow:
    name: str
    owner: AccountRow
    bare_repo: Path
    database_name: str
    config: dict[str, str] = field(default_factory=dict)
    releases: list[ReleaseRow] = field(default_factory=list)
    builds: list[BuildRow] = field(default_factory=list)
    dynos: list[DynoRow] = field(default_factory=list)
    log: AppLog = field(default_factory=AppLog)
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    released_at: datetime | None = None
    generation: str = "cedar"

    @property
    def fir(self) -> bool:
        return self.generation == "fir"

    @property
    def current(self) -> ReleaseRow | None:
        return next((r for r in reversed(self.releases) if r.current), None)

    def to_api(self) -> dict[str, Any]:
        slug = self.current.slug if self.current else None
        stack = stack_of(self.generation)
        return {
            "acm": False,
            "archived_at": None,
            "buildpack_provided_description": "Node.js" if slug else None,
            "build_stack": dict(stack),
            "created_at": iso(self.created_at),
            "generation": generation_of(self.generation),
            "git_url": f"https://git.heroku.com/{self.name}.git",
            "id": self.id,
            "internal_routing": None,
            "maintenance": False,
            "name": self.name,
            "owner": {"email": self.owner.email, "id": self.owner.id},
            "organization": None,
            "team": None,
            "region": dict(REGION),
            "released_at": iso(self.released_at),
            "repo_size": None,
            "slug_size": slug.size if slug and not self.fir else None,
            "space": None,
            "stack": dict(stack),
            "updated_at": iso(self.updated_at),
            "web_url": f"https://{self.name}.herokuapp.com/",
        }


@dataclass
class PipelineRow:
    name: str
    owner_id: str
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    generation: str = "cedar"  # a pipeline holds apps of one generation

    def to_api(self) -> dict[str, Any]:
        return {
            "created_at": iso(self.created_at),
            "id": self.id,
            "name": self.name,
            "owner": {"id": self.owner_id, "type": "user"},
            "updated_at": iso(self.created_at),
            "generation": generation_of(self.generation),
        }


@dataclass
class CouplingRow:
    app_id: str
    pipeline_id: str
    stage: str
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)

    def to_api(self) -> dict[str, Any]:
        return {
            "app": {"id": self.app_id},
            "created_at": iso(self.created_at),
            "id": self.id,
            "pipeline": {"id": self.pipeline_id},
            "stage": self.stage,
            "updated_at": iso(self.created_at),
        }


@dataclass
class PromotionTargetRow:
    app_id: str
    promotion_id: str
    status: str = "pending"
    error_message: str | None = None
    release: ReleaseRow | None = None
    id: str = field(default_factory=new_id)

    def to_api(self) -> dict[str, Any]:
        return {
            "app": {"id": self.app_id},
            "error_message": self.error_message,
            "id": self.id,
            "pipeline_promotion": {"id": self.promotion_id},
            "release": {"id": self.release.id} if self.release else None,
            "status": self.status,
        }


@dataclass
class PromotionRow:
    pipeline_id: str
    source_app_id: str
    source_release_id: str
    targets: list[PromotionTargetRow] = field(default_factory=list)
    status: str = "pending"
    done: threading.Event = field(default_factory=threading.Event, repr=False)
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    def to_api(self) -> dict[str, Any]:
        return {
            "created_at": iso(self.created_at),
            "id": self.id,
            "pipeline": {"id": self.pipeline_id},
            "source": {
                "app": {"id": self.source_app_id},
                "release": {"id": self.source_release_id},
            },
            "status": self.status,
            "updated_at": iso(self.updated_at),
        }


@dataclass
class LogSessionRow:
    app_id: str
    lines: int
    tail: bool
    source: str | None
    dyno_name: str | None
    # How many log lines existed when the session was opened: lines written after that are
    # streamed (with tail) even when they arrive before the client starts reading.
    start: int = 0
    url: str = ""
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=now)

    def to_api(self) -> dict[str, Any]:
        return {
            "created_at": iso(self.created_at),
            "id": self.id,
            "logplex_url": self.url,
            "updated_at": iso(self.created_at),
        }


def formation_of(app: AppRow) -> list[dict[str, Any]]:
    """The app's formation: one entry per Procfile process type except ``release``."""
    current = app.current
    types = current.slug.process_types if current and current.slug else {}
    out = []
    for ptype, command in sorted(types.items()):
        if ptype == "release":
            continue
        out.append(
            {
                "app": {"name": app.name, "id": app.id},
                "command": command,
                "created_at": iso(app.created_at),
                "dyno_size": {"id": "e3a2b0c4-7ad3-4a6c-8d7e-5c2f0b1e9a01", "name": "basic"},
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{app.id}/{ptype}")),
                "quantity": 1 if ptype == "web" else 0,
                "size": "basic",
                "type": ptype,
                "updated_at": iso(current.updated_at if current else app.updated_at),
            }
        )
    return out


# ------------------------------------------------------------------------------ Fir logs
_CEDAR_DYNO = re.compile(r"^(?P<type>[a-z][\w-]*)\.(?P<n>\d+)$")
_FIR_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
# Heroku's own lines on Fir name their source after the part of Heroku that wrote them.
_FIR_SOURCES = {"router": "heroku-router", "api": "heroku-api", "build": "heroku-build"}


def fir_dyno_name(app_id: str, name: str) -> str:
    """A Fir dyno name (``web-1234abcde-123ab``) for a Cedar-style one (``web.1``),
    stable per app; a name not in the Cedar shape (``router``, a Fir name) is kept."""
    m = _CEDAR_DYNO.match(name)
    if not m:
        return name
    digest = hashlib.sha256(f"{app_id}/{name}".encode()).digest()
    middle = digest[:5].hex()[:9]
    tail = "".join(_FIR_ALPHABET[b % len(_FIR_ALPHABET)] for b in digest[5:10])
    return f"{m.group('type')}-{middle}-{tail}"


def fir_source(line: LogLine) -> str:
    """``app`` for the app's own lines, ``heroku-router`` / ``heroku-api`` /
    ``heroku-build`` / ``heroku-dyno`` for Heroku's."""
    if line.source == "app" and line.dyno not in ("api", "build"):
        return "app"
    return _FIR_SOURCES.get(line.dyno, "heroku-dyno")


def render_fir(app_id: str, line: LogLine) -> str:
    """A log line as a Fir log session shows it:
    ``2025-11-11T10:30:00.123456+00:00 app[web-1234abcde-123ab]: message``."""
    stamp = line.at.isoformat(timespec="microseconds")
    return f"{stamp} {fir_source(line)}[{fir_dyno_name(app_id, line.dyno)}]: {line.text}\n"


def fir_matches(app_id: str, line: LogLine, source: str | None, dyno_name: str | None) -> bool:
    """A Fir session's filter: ``source`` ``app`` or ``heroku`` (every ``heroku-*``
    source), ``dyno_name`` a dyno (either name form) or a process type."""
    src = fir_source(line)
    if source and not (src == source or (source == "heroku" and src.startswith("heroku-"))):
        return False
    if not dyno_name:
        return True
    fir = fir_dyno_name(app_id, line.dyno)
    return line.matches(None, dyno_name) or fir == dyno_name or fir.startswith(dyno_name + "-")
