"""Secret rotation (the runbook's key-rotation playbook) and the secrets listing.

``prepare_rotation`` checks the variable, reads the current value, obtains the new one
(generated for keycliq's own secrets, given by the caller for third-party keys) and checks
it; ``rotation_action`` is the action the release lifecycle runs (``lifecycle.check`` then
``lifecycle.run_action``, as for a deploy): it sets the value (a new Heroku release),
follows the release, and the lifecycle records the act in the ledger. Values never leave
this module unmasked: the models carry masks and the first 8 hex characters of SHA-256
digests only; the steps' output is redacted. The core never prints nor reads stdin.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.adapters.heroku.resources import Release
from keycliq_ops.base.errors import HerokuError, UsageError
from keycliq_ops.base.redact import Redactor, is_secret_name, mask, mask_config
from keycliq_ops.config import LoadedConfig
from keycliq_ops.ledger import Filters, Ledger
from keycliq_ops.ops.config_audit import MIN_SESSION_SECRET, looks_placeholder, secret_digest
from keycliq_ops.release.lifecycle import Action, ActionOutcome, Confirmation
from keycliq_ops.release.session import Session
from keycliq_ops.release.stepper import Facts, StepBase, StepIO, StepOutcome

Source = Literal["generated", "stdin"]
ACTION = "secret-rotation"
# Secrets keycliq makes itself (the app only needs them random and long).
GENERATED: dict[str, Callable[[], str]] = {"SESSION_SECRET": lambda: secrets.token_hex(32)}
# Secrets whose owner must rotate them itself.
MANAGED = {
    "DATABASE_URL": (
        "Heroku Postgres manages it",
        "run `heroku pg:credentials:rotate DATABASE --confirm APP` "
        "(Heroku then updates DATABASE_URL itself)",
    ),
}
SIGN_OUT_NOTE = "SESSION_SECRET signs the session cookies: everyone is signed out."


def digest8(value: str) -> str:
    """The first 8 hex characters of the value's SHA-256: enough to tell values apart in a
    record, far too few to recover anything."""
    return secret_digest(value)[:8]


class RotationPlan(BaseModel):
    """What a rotation will do (and, after ``apply_rotation``, what it did). Masked only."""

    environment: str
    app: str
    var: str
    source: Source
    old: str  # masked
    new: str  # masked
    old_digest: str  # 8 hex chars
    new_digest: str
    signs_out: bool
    note: str | None = None


@dataclass
class PreparedRotation:
    """A checked rotation. The raw values are kept out of ``repr`` and never serialised."""

    plan: RotationPlan
    old_value: str = field(repr=False)
    new_value: str = field(repr=False)


def check_var(var: str) -> Source:
    """How ``var``'s new value is obtained; UsageError for a var that is not rotated here."""
    if var in MANAGED:
        why, hint = MANAGED[var]
        raise UsageError(f"{var} is not rotated by keycliq: {why}", hint=hint)
    if not is_secret_name(var):
        raise UsageError(
            f"{var} is not a secret (its name says it is not): nothing to rotate",
            hint="rotate SESSION_SECRET or an API key (e.g. OPENAI_API_KEY); "
            "`keycliq secrets list --env ENV` shows the secrets",
        )
    return "generated" if var in GENERATED else "stdin"


def prepare_rotation(
    client: HerokuClient,
    loaded: LoadedConfig,
    env_name: str,
    var: str,
    given: str | None,
) -> PreparedRotation:
    """Check everything before anything changes. ``given``: the new value read by the caller
    (required for third-party keys; for generated secrets it replaces the generated one)."""
    env = loaded.env(env_name)
    source = check_var(var)
    if source == "stdin" and given is None:
        raise UsageError(
            f"{var} is a third-party key: issue a new one at its provider, then pass it on "
            "stdin with --value-from-stdin (never as an argument: it would land in shell "
            "history)",
            hint=f"pbpaste | keycliq secrets rotate {var} --env {env_name} --value-from-stdin",
        )
    current = client.config_vars(env.app)
    old = current.get(var)
    if old is None:
        raise UsageError(
            f"{var} is not set on {env.app}: there is nothing to rotate",
            hint=f"set it first with `heroku config:set {var}=… -a {env.app}`",
        )
    if given is not None:
        new, source = given.strip(), "stdin"
        if not new or looks_placeholder(new):
            raise UsageError(f"the new {var} read from stdin is empty or a placeholder")
    else:
        new = GENERATED[var]()
    if secret_digest(new) == secret_digest(old):
        raise UsageError(
            f"the new {var} is the same as the current one: nothing was changed",
            hint="issue a new key at the provider first",
        )
    if var == "SESSION_SECRET":
        _check_session_secret(client, loaded, env_name, new)
    plan = RotationPlan(
        environment=env_name,
        app=env.app,
        var=var,
        source=source,
        old=mask(old),
        new=mask(new),
        old_digest=digest8(old),
        new_digest=digest8(new),
        signs_out=var == "SESSION_SECRET",
        note=SIGN_OUT_NOTE if var == "SESSION_SECRET" else None,
    )
    return PreparedRotation(plan=plan, old_value=old, new_value=new)


def _check_session_secret(
    client: HerokuClient, loaded: LoadedConfig, env_name: str, new: str
) -> None:
    if len(new) < MIN_SESSION_SECRET:
        raise UsageError(
            f"the new SESSION_SECRET is {len(new)} chars; use at least {MIN_SESSION_SECRET}",
            hint="leave out --value-from-stdin and keycliq generates 32 random bytes (hex)",
        )
    digest = secret_digest(new)
    for other, other_env in loaded.config.environments.items():
        if other == env_name:
            continue
        value = client.config_vars(other_env.app).get("SESSION_SECRET")
        if value is not None and secret_digest(value) == digest:
            raise UsageError(
                f"the new SESSION_SECRET is the same as {other}'s: each environment needs its own",
                hint="leave out --value-from-stdin and keycliq generates a fresh one",
            )


class _RedactedIO(StepIO):
    """A step's output with the old and the new value masked."""

    def __init__(self, inner: StepIO, redact: Redactor) -> None:
        self._inner = inner
        self._redact = redact
        self.tail = inner.tail

    def line(self, text: str) -> None:
        self._inner.line(self._redact(text))

    def note(self, text: str) -> None:
        self._inner.note(self._redact(text))


@dataclass
class SetVarStep(StepBase):
    """``PATCH /apps/{app}/config-vars`` with the new value: Heroku makes a release."""

    prepared: PreparedRotation = field(repr=False)
    name: str = "config"
    title: str = "Config var"

    def plan(self, session: Session) -> str:
        p = self.prepared.plan
        return f"PATCH /apps/{p.app}/config-vars {{{p.var}: {p.old} -> {p.new}}} (a new release)"

    def run(self, session: Session, facts: Facts, io: StepIO) -> StepOutcome:
        p, client = self.prepared.plan, session.client
        before = _newest_version(client, p.app)
        client.update_config_vars(p.app, {p.var: self.prepared.new_value})
        release = _release_after(client, p.app, before, p.var)
        if release is None:
            return StepOutcome(detail=f"{p.var} set (sha256 {p.new_digest}…); no release found")
        return StepOutcome(
            detail=f"{p.var} set (sha256 {p.new_digest}…): release v{release.version}",
            release=release,
        )


@dataclass
class RotationReleaseStep(StepBase):
    """The release the config change made, followed to its final status."""

    prepared: PreparedRotation = field(repr=False)
    name: str = "release"
    title: str = "Release"

    def plan(self, session: Session) -> str:
        return "follow the config change's release to succeeded"

    def run(self, session: Session, facts: Facts, io: StepIO) -> StepOutcome:
        from keycliq_ops.release.follow import follow_release

        p = self.prepared.plan
        if facts.release is None:
            return StepOutcome(detail="no release to follow", skipped=True)
        out = _RedactedIO(io, Redactor([self.prepared.old_value, self.prepared.new_value]))
        out.note(f"release v{facts.release.version} {facts.release.status}")
        release = follow_release(
            session.client,
            p.app,
            facts.release,
            out,
            timeout=session.loaded.config.timeouts.release,
            sleep=session.sleep,
        )
        got = StepOutcome(detail=f"v{release.version} {release.status}", release=release)
        if release.status != "succeeded":
            got.error = HerokuError(
                f"release v{release.version} {release.status}: the new {p.var} is set "
                "but not running",
                hint=f"look at `heroku releases:output {release.version} -a {p.app}`",
            )
        return got


def rotation_action(session: Session, prepared: PreparedRotation) -> Action[PreparedRotation]:
    """Set the prepared value and follow its release (read-only until run)."""
    plan = prepared.plan
    session.ledger.add_secrets(prepared.old_value, prepared.new_value)

    def extras(outcome: ActionOutcome[PreparedRotation]) -> dict[str, object]:
        release = outcome.facts.release
        return {"release_status": release.status if release else None}

    return Action(
        name=ACTION,
        session=session,
        prepared=prepared,
        header=f"rotate {plan.var} on {plan.app} ({plan.environment}), new value {plan.source}",
        steps=[SetVarStep(prepared), RotationReleaseStep(prepared)],
        confirmation=Confirmation(f"Rotate {plan.var} on {plan.app}", app=plan.app),
        caveat=plan.note,
        ledger_details={
            "var": plan.var,
            "source": plan.source,
            "old_digest": plan.old_digest,
            "new_digest": plan.new_digest,
        },
        about=plan.model_dump(mode="json"),
        extras=extras,
    )


def _newest_version(client: HerokuClient, app: str) -> int:
    newest = client.releases(app, newest_first=True, limit=1)
    return newest[0].version if newest else 0


def _release_after(client: HerokuClient, app: str, before: int, var: str) -> Release | None:
    """The release the config change made: the newest after ``before`` naming ``var``."""
    for release in client.releases(app, newest_first=True, limit=5):
        if release.version > before and var in (release.description or ""):
            return release
    return None


# ------------------------------------------------------------------------------ listing


class SecretRow(BaseModel):
    name: str
    value: str  # masked when secret
    secret: bool
    last_rotated: datetime | None = None
    ledger_id: str | None = None
    release_version: int | None = None


class SecretsListing(BaseModel):
    environment: str
    app: str
    vars: list[SecretRow]


def list_secrets(
    client: HerokuClient, loaded: LoadedConfig, env_name: str, ledger: Ledger
) -> SecretsListing:
    """The app's config vars, masked, with each var's last successful rotation."""
    env = loaded.env(env_name)
    current = client.config_vars(env.app)
    shown = mask_config(current)
    rotated: dict[str, tuple[datetime, str, int | None]] = {}
    filters = Filters(environment=env_name, action=ACTION, status="succeeded")
    for run in ledger.latest(n=10_000, filters=filters):
        var = run.start.details.get("var")
        if isinstance(var, str) and var not in rotated:
            rotated[var] = (run.start.ts, run.start.id, run.value("release_version"))
    rows = []
    for name in sorted(current):
        when, rid, version = rotated.get(name, (None, None, None))
        rows.append(
            SecretRow(
                name=name,
                value=shown[name],
                secret=is_secret_name(name),
                last_rotated=when,
                ledger_id=rid,
                release_version=version,
            )
        )
    return SecretsListing(environment=env_name, app=env.app, vars=rows)
