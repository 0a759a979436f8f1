"""Cloudinary's Admin API, its usage endpoint only: ``GET {base}/v1_1/{cloud}/usage``.

It answers with the plan and, for the rolling 30 days, ``storage``, ``bandwidth`` (bytes)
and ``transformations`` (each ``usage`` and ``credits_usage``), ``credits`` (``usage``,
``limit``, ``used_percent``), ``objects``, ``requests``, ``resources`` and
``derived_resources``; Cloudinary may add fields, so unknown ones are ignored. It
authenticates with HTTP Basic ``api_key:api_secret`` (the app's ``CLOUDINARY_API_KEY`` and
``CLOUDINARY_API_SECRET``), which never appear in a message.

The base URL is ``https://api.cloudinary.com`` unless ``$KEYCLIQ_CLOUDINARY_API`` (or
``costs.cloudinary.api_url``) says otherwise (the stand-in serves the endpoint on loopback).
Sockets wait in slices (:mod:`keycliq_ops.adapters.heroku.deadlines`): ``timeout`` bounds
the whole call, retries included. Failing to get an answer raises
:class:`~keycliq_ops.base.errors.WebError` (exit 3).

Example::

    creds = CloudinaryCredentials.from_config(client.config_vars("keycliq-staging"))
    usage = fetch_usage(creds, timeout=10)
    print(usage.credits.used_percent)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from keycliq_ops.base.errors import Interrupted, UsageError, WebError
from keycliq_ops.base.redact import redact_url, register_secrets

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

    Transport: TypeAlias = httpx.BaseTransport  # tests inject httpx.MockTransport
else:
    Transport = object

DEFAULT_API = "https://api.cloudinary.com"
API_ENV = "KEYCLIQ_CLOUDINARY_API"
USER_AGENT = "keycliq-costs"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class CloudinaryCredentials:
    """The app's Cloudinary account: its cloud name and Admin API key pair (never shown)."""

    cloud_name: str
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)

    @classmethod
    def from_config(cls, config_vars: Mapping[str, str]) -> CloudinaryCredentials | None:
        """From an app's config vars; None when one of the three is unset or empty."""
        cloud = config_vars.get("CLOUDINARY_CLOUD_NAME") or ""
        key = config_vars.get("CLOUDINARY_API_KEY") or ""
        secret = config_vars.get("CLOUDINARY_API_SECRET") or ""
        if not (cloud and key and secret):
            return None
        register_secrets(key, secret)  # masked wherever they might surface
        return cls(cloud.strip(), key.strip(), secret.strip())


class _Open(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Metered(_Open):
    """One metered quantity: ``usage`` (bytes for storage and bandwidth, a count for
    transformations) and the credits it used."""

    usage: float = 0
    credits_usage: float | None = None
    limit: float | None = None
    used_percent: float | None = None


class Credits(_Open):
    usage: float = 0
    limit: float | None = None
    used_percent: float | None = None


class CloudinaryUsage(_Open):
    """The usage report (the fields keycliq reads)."""

    plan: str | None = None
    last_updated: str | None = None
    date_requested: str | None = None
    storage: Metered = Field(default_factory=Metered)
    bandwidth: Metered = Field(default_factory=Metered)
    transformations: Metered = Field(default_factory=Metered)
    credits: Credits | None = None
    objects: Metered | None = None
    requests: int | None = None
    resources: int | None = None
    derived_resources: int | None = None


def api_base(configured: str | None = None) -> str:
    """The Admin API's base URL: ``configured``, else ``$KEYCLIQ_CLOUDINARY_API``, else
    Cloudinary's own."""
    base = configured or os.environ.get(API_ENV) or DEFAULT_API
    if not base.startswith(("https://", "http://")):
        raise UsageError(f"{API_ENV}={base!r} is not an http(s) URL")
    return base.rstrip("/")


def fetch_usage(
    creds: CloudinaryCredentials,
    *,
    timeout: float = 10,
    base_url: str | None = None,
    retries: int = 2,
    transport: Transport | None = None,
    date: str | None = None,
) -> CloudinaryUsage:
    """The account's usage report (``date``: ``YYYY-MM-DD``, default today).

    A 5xx, a 429 or no connection is retried (``retries`` times, within ``timeout``);
    401/403 is the app's credentials being refused."""
    import time
    from urllib.parse import quote

    import httpx

    from keycliq_ops.adapters.heroku import deadlines

    base = api_base(base_url)
    url = f"{base}/v1_1/{quote(creds.cloud_name, safe='')}/usage"
    shown = redact_url(url)
    ends = time.monotonic() + timeout
    last = "no answer"
    attempts = max(0, retries) + 1
    for attempt in range(attempts):
        left = ends - time.monotonic()
        if left <= 0:
            break
        try:
            with (
                httpx.Client(
                    timeout=left,
                    transport=transport if transport is not None else deadlines.http_transport(),
                ) as client,
                deadlines.bounded(ends),
            ):
                response = client.get(
                    url,
                    params={"date": date} if date else None,
                    auth=(creds.api_key, creds.api_secret),
                    headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            if deadlines.aborted():
                raise Interrupted(f"interrupted during GET {shown}") from None
            last = f"{type(exc).__name__}: {redact_url(str(exc))[:200]}"
            if time.monotonic() >= ends:
                last = f"no complete answer within {timeout:g}s"
                break
        else:
            if response.status_code in (401, 403):
                raise WebError(
                    f"GET {shown}: Cloudinary refused the app's credentials "
                    f"(HTTP {response.status_code})",
                    kind="Unauthorized",
                    detail=f"HTTP {response.status_code}",
                    hint="check CLOUDINARY_API_KEY / CLOUDINARY_API_SECRET on the app "
                    "(`keycliq secrets list -e ENV`)",
                )
            if response.status_code == 404:
                raise WebError(
                    f"GET {shown}: HTTP 404 (no such cloud {creds.cloud_name!r}?)",
                    kind="NotFound",
                    detail="HTTP 404",
                    hint="check CLOUDINARY_CLOUD_NAME on the app",
                )
            if response.status_code < 300:
                return _parse(response, shown)
            last = f"HTTP {response.status_code}"
            if response.status_code not in RETRY_STATUSES:
                break
        if attempt + 1 < attempts:
            try:
                deadlines.sleep(min(0.5 * (attempt + 1), max(0.0, ends - time.monotonic())))
            except deadlines.AbortedIO:
                raise Interrupted(f"interrupted during GET {shown}") from None
    raise WebError(
        f"GET {shown}: {last}",
        kind="Unavailable",
        detail=last,
        hint="Cloudinary's usage is left out; try again later",
    )


def _parse(response: Any, shown: str) -> CloudinaryUsage:
    try:
        data = response.json()
        return CloudinaryUsage.model_validate(data)
    except ValueError:
        raise WebError(
            f"GET {shown}: the answer is not a Cloudinary usage report",
            kind="BadAnswer",
            detail="not a usage report",
        ) from None
