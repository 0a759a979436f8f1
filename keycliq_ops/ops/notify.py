"""Notifications: which events go to which webhook (``notify:`` in keycliq.yaml), what
they say, and the record of their delivery.

Events: ``deploy|promote|rollback.started`` and ``.finished``, ``gate.failed`` (a run that
ended with exit 1: a checklist or Dataclip gate said no) and ``report.breach`` (``keycliq
report`` found a threshold breached). The body is Slack-compatible (``text``) with the same
facts under ``keycliq``: action, environment, app, commit, outcome, exit code, release,
ledger id, failed step and error. Never a config var, a token, a URL with credentials or a
database URL: only those fields, each string masked (``base.redact``) on the way out.

Delivery is best effort (:mod:`keycliq_ops.adapters.webhook`): each target is posted to in
its own thread with its own overall timeout; nothing here raises into a release, and a
release waits at most one target timeout for its ``finished`` event. ``started`` goes out
in the background while the steps run. Each delivery (target name, state, attempts, HTTP
status, error) is what the ledger's completion record keeps under
``details.notifications``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from keycliq_ops.base.redact import mask_text

if TYPE_CHECKING:
    from keycliq_ops.adapters.webhook import Delivery
    from keycliq_ops.config.health_settings import NotifyTarget

NOTIFIED_ACTIONS = ("deploy", "promote", "rollback")
ERROR_CHARS = 300
JOIN_SLACK = 1.0  # seconds beyond a target's own timeout before its thread is given up on

Poster = Callable[..., "Delivery"]


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)[:ERROR_CHARS]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _sentence(event: str, facts: dict[str, Any]) -> str:
    action = facts.get("action") or event.split(".", maxsplit=1)[0]
    where = f"{facts.get('environment')} ({facts.get('app')})"
    commit = f" {str(facts['commit'])[:8]}" if facts.get("commit") else ""
    if event.endswith(".started"):
        return f"keycliq: {action}{commit} to {where} started"
    if event == "gate.failed":
        step = facts.get("failed_step") or "a gate"
        return f"keycliq: {action} to {where}: gate failed at {step}: {facts.get('error')}"
    if event == "report.breach":
        lines = facts.get("breaches") or []
        first = lines[0] if lines else "a threshold was breached"
        more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
        return f"keycliq report on {where}: {first}{more}"
    outcome = facts.get("outcome")
    release = f", v{facts['release_version']}" if facts.get("release_version") else ""
    text = f"keycliq: {action}{commit} to {where} finished: {outcome}{release}"
    if outcome != "succeeded" and facts.get("error"):
        text += f" — {facts['error']}"
    return text


def payload(event: str, facts: dict[str, Any]) -> dict[str, Any]:
    """The JSON body for ``event``: Slack's ``text`` plus the facts under ``keycliq``."""
    safe = _clean({"event": event, **facts})
    return {"text": _clean(_sentence(event, facts)), "keycliq": safe}


def _url_of(target: NotifyTarget) -> tuple[str | None, str | None]:
    """(the URL, why there is none)."""
    if target.url is not None:
        return target.url, None
    assert target.url_env is not None
    value = os.environ.get(target.url_env, "").strip()
    if not value:
        return None, f"${target.url_env} is unset"
    return value, None


def name_of(target: NotifyTarget) -> str:
    from keycliq_ops.adapters.webhook import target_name

    if target.name:
        return target.name
    url, _ = _url_of(target)
    return target_name(url) if url else (target.url_env or "webhook")


@dataclass
class _Pending:
    event: str
    target: NotifyTarget
    thread: threading.Thread
    started: float
    result: list[Delivery] = field(default_factory=list)


class Notifier:
    """The notifications of one run of one action (or of one report)."""

    def __init__(
        self,
        targets: Sequence[NotifyTarget],
        facts: dict[str, Any],
        *,
        poster: Poster | None = None,
    ) -> None:
        self.targets = list(targets)
        self.facts = dict(facts)
        self._poster = poster
        self._pending: list[_Pending] = []
        self._lock = threading.Lock()

    @classmethod
    def for_action(
        cls,
        targets: Sequence[NotifyTarget],
        action: str,
        *,
        environment: str,
        app: str,
        commit: str | None,
        poster: Poster | None = None,
    ) -> Notifier:
        """A notifier for a release action (none of its events for other actions)."""
        wanted = list(targets) if action in NOTIFIED_ACTIONS else []
        facts = {"action": action, "environment": environment, "app": app, "commit": commit}
        return cls(wanted, facts, poster=poster)

    @property
    def active(self) -> bool:
        return bool(self.targets)

    # ------------------------------------------------------------------ sending
    def send(self, event: str, **facts: Any) -> None:
        """Post ``event`` to every target that wants it, each in its own thread."""
        try:
            self.facts.update({k: v for k, v in facts.items() if v is not None})
            body = payload(event, {**self.facts, "at": datetime.now(UTC).isoformat()})
            for target in self.targets:
                if not target.wants(event):
                    continue
                pending = _Pending(event, target, threading.Thread(daemon=True), time.monotonic())
                pending.thread = threading.Thread(
                    target=self._deliver,
                    args=(pending, body),
                    name=f"notify-{event}",
                    daemon=True,
                )
                with self._lock:
                    self._pending.append(pending)
                pending.thread.start()
        except Exception:  # never let a notification break the release
            return

    def _deliver(self, pending: _Pending, body: dict[str, Any]) -> None:
        from keycliq_ops.adapters.webhook import Delivery, post_json

        target = pending.target
        name = name_of(target)
        try:
            url, why = _url_of(target)
            if url is None:
                got = Delivery(target=name, state="failed", attempts=0, error=why)
            else:
                post = self._poster or post_json
                got = post(url, body, target=name, timeout=target.timeout, retries=target.retries)
        except Exception as exc:  # a bug here must not reach the release
            got = Delivery(target=name, state="failed", attempts=0, error=type(exc).__name__)
        pending.result.append(got)

    def started(self, ledger_id: str | None = None) -> None:
        """``<action>.started`` (in the background)."""
        self.send(f"{self.facts['action']}.started", ledger_id=ledger_id)

    def finished(
        self,
        *,
        outcome: str,
        exit_code: int,
        release_version: int | None = None,
        failed_step: str | None = None,
        error: str | None = None,
    ) -> None:
        """``<action>.finished``, and ``gate.failed`` when it ended with exit 1; waits for
        every delivery (each bounded by its target's timeout)."""
        facts: dict[str, Any] = {
            "outcome": outcome,
            "exit_code": exit_code,
            "release_version": release_version,
            "failed_step": failed_step,
            "error": error,
        }
        self.send(f"{self.facts['action']}.finished", **facts)
        if exit_code == 1:
            self.send("gate.failed", **facts)
        self.wait()

    def wait(self) -> None:
        """Join the delivery threads, each at most until its target's timeout (+1 s)."""
        with self._lock:
            pending = list(self._pending)
        for p in pending:
            left = p.started + p.target.timeout + JOIN_SLACK - time.monotonic()
            p.thread.join(max(0.0, left))

    def deliveries(self) -> list[dict[str, Any]]:
        """Every delivery so far, as the ledger records it (one not finished yet is
        ``failed``: "still waiting")."""
        out: list[dict[str, Any]] = []
        with self._lock:
            pending = list(self._pending)
        for p in pending:
            if p.result:
                item = p.result[0].to_json()
            else:
                item = {
                    "target": name_of(p.target),
                    "state": "failed",
                    "attempts": 1,
                    "status": None,
                    "error": "still waiting when the run was recorded",
                    "duration_ms": int((time.monotonic() - p.started) * 1000),
                }
            out.append({"event": p.event, **item})
        return out

    def ledger_details(self) -> dict[str, Any]:
        """``{"notifications": [...]}`` for the completion record (empty: none configured)."""
        try:
            got = self.deliveries()
        except Exception:
            return {}
        return {"notifications": got} if got else {}


def notify_breach(
    targets: Sequence[NotifyTarget],
    *,
    environment: str,
    app: str,
    breaches: list[str],
    page: str | None,
    poster: Poster | None = None,
) -> list[dict[str, Any]]:
    """``report.breach`` to the targets that want it; the deliveries (waited for)."""
    notifier = Notifier(
        targets,
        {"action": "report", "environment": environment, "app": app},
        poster=poster,
    )
    notifier.send("report.breach", breaches=breaches, page=page)
    notifier.wait()
    return notifier.deliveries()
