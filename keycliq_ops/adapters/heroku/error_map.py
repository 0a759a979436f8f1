"""Heroku's ``{"id": ..., "message": ...}`` error bodies as :mod:`keycliq_ops.base.errors`."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from keycliq_ops.base.errors import HerokuError, TwoFactorRequired

_HINTS: dict[str, str] = {
    "unauthorized": "the token is missing, wrong or expired: run `heroku login`, or export "
    "HEROKU_API_KEY=$(heroku auth:token)",
    "forbidden": "this account has no access to that app or pipeline: ask an owner to add you "
    "(heroku access:add) or use the account that owns it",
    "two_factor": "this action needs a second factor: repeat it with a two-factor code",
    "not_found": "check the app or pipeline name in keycliq.yaml, and that this account "
    "can see it (heroku apps)",
    "invalid_params": "Heroku refused the request's parameters; the message says which",
    "rate_limit": "the API rate limit (4,500 requests, refilled at ~75 a minute) is used up: "
    "wait a few minutes and run again",
    "service_unavailable": "Heroku is having trouble: see https://status.heroku.com and "
    "run again later",
}
_BY_STATUS = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    422: "invalid_params",
    429: "rate_limit",
}


def parse_error_body(response: httpx.Response) -> tuple[str | None, str | None]:
    """``(id, message)`` from an error body, or ``(None, None)`` when it is not JSON."""
    try:
        data = json.loads(response.content or b"null")
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    error_id = data.get("id")
    message = data.get("message")
    return (
        error_id if isinstance(error_id, str) else None,
        message if isinstance(message, str) else None,
    )


def error_from_response(
    response: httpx.Response,
    *,
    what: str,
    scrub: Callable[[str], str] = str,
) -> HerokuError:
    """The :class:`HerokuError` for a non-2xx answer to ``what`` (``"GET /apps/x"``)."""
    status = response.status_code
    error_id, message = parse_error_body(response)
    kind = error_id or _BY_STATUS.get(status) or ("service_unavailable" if status >= 500 else None)
    if not message:
        message = response.reason_phrase or "no message"
    text = scrub(
        f"Heroku API {what} answered {status}{f' {error_id}' if error_id else ''}: {message}"
    )
    hint = _HINTS.get(kind or "")
    if hint is None and status >= 500:
        hint = _HINTS["service_unavailable"]
    if error_id == "two_factor":
        return TwoFactorRequired(text, status=status, error_id=error_id, hint=hint)
    return HerokuError(text, status=status, error_id=error_id, hint=hint)


def transport_error(
    exc: httpx.HTTPError,
    *,
    what: str,
    attempts: int,
    scrub: Callable[[str], str] = str,
) -> HerokuError:
    """A :class:`HerokuError` for a request that never got an answer (after retries)."""
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return HerokuError(
        scrub(f"Heroku API {what} failed{tries}: {detail}"),
        hint="check the network connection and HEROKU_API_URL; see https://status.heroku.com",
    )
