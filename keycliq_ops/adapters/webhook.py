"""Webhook delivery: one JSON POST, best effort, within an overall deadline.

:func:`post_json` never raises for the far side's sake (no answer, a hang, a 500, a
malformed URL): it returns a :class:`Delivery` saying ``delivered`` or ``failed``, how many
attempts it made and why. ``timeout`` bounds the whole delivery, retries included; a 5xx, a
429 or no connection is retried (``retries`` extra attempts, short pauses) while time is
left. The URL (a Slack webhook URL is a credential) never appears in a Delivery: only
``target``, the name the caller gives it.

Example::

    d = post_json("https://hooks.slack.com/services/…", {"text": "deploy finished"},
                  target="slack", timeout=3, retries=2)
    d.state  # "delivered" or "failed"
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    import httpx

    Transport: TypeAlias = httpx.BaseTransport  # tests inject httpx.MockTransport
else:
    Transport = object

USER_AGENT = "keycliq-notify"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Delivery:
    """How one POST went. ``status``: the last HTTP status (None: no answer)."""

    target: str
    state: Literal["delivered", "failed"]
    attempts: int
    status: int | None = None
    error: str | None = None
    duration_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "state": self.state,
            "attempts": self.attempts,
            "status": self.status,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }


def target_name(url: str) -> str:
    """What a webhook is called when it has no name: its host (never its path or query,
    which carry the credential of a Slack or Teams webhook)."""
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    return host or "webhook"


def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    target: str,
    timeout: float = 3,
    retries: int = 2,
    transport: Transport | None = None,
) -> Delivery:
    """POST ``payload`` to ``url``; a 2xx is ``delivered``, anything else ``failed``."""
    import httpx

    from keycliq_ops.adapters.heroku import deadlines

    t0 = time.monotonic()
    ends = t0 + timeout
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    attempts = 0
    status: int | None = None
    error = "no time left"

    def done(state: Literal["delivered", "failed"], why: str | None) -> Delivery:
        return Delivery(
            target=target,
            state=state,
            attempts=attempts,
            status=status,
            error=why,
            duration_ms=int((time.monotonic() - t0) * 1000),
        )

    for attempt in range(max(0, retries) + 1):
        left = ends - time.monotonic()
        if left <= 0 or deadlines.aborted():
            break
        attempts += 1
        try:
            with (
                httpx.Client(
                    timeout=left,
                    follow_redirects=False,
                    transport=transport if transport is not None else deadlines.http_transport(),
                ) as client,
                deadlines.bounded(ends),
            ):
                response = client.post(
                    url,
                    content=body,
                    headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
                )
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            status = None
            error = type(exc).__name__
            if time.monotonic() >= ends:
                error = f"no answer within {timeout:g}s"
                break
            if isinstance(exc, httpx.InvalidURL | ValueError | httpx.UnsupportedProtocol):
                error = "not a usable URL"
                break
        else:
            status = response.status_code
            if 200 <= status < 300:
                return done("delivered", None)
            error = f"HTTP {status}"
            if status not in RETRY_STATUSES:
                break
        pause = min(0.2 * (2**attempt), ends - time.monotonic())
        if attempt < retries and pause > 0:
            try:
                deadlines.sleep(pause)
            except deadlines.AbortedIO:
                error = "interrupted"
                break
    return done("failed", error)
