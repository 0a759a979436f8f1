"""HTTP probes of an app's public URL (the checklists' ``http`` items).

:func:`get` sends one GET and returns what came back, whatever the status; getting no
answer at all (refused, timed out, TLS, too many redirects, a malformed URL) raises
:class:`~keycliq_ops.base.errors.WebError` whose message holds no credentials from the URL.
httpx is imported here (and in the Heroku client) and nowhere else in the core.

Example::

    page = get("https://keycliq-staging.herokuapp.com/login", timeout=10)
    if page.status == 200 and "Sign in" in page.text:
        ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from keycliq_ops.base.errors import WebError
from keycliq_ops.base.redact import redact_url

if TYPE_CHECKING:
    import httpx

    Transport: TypeAlias = httpx.BaseTransport  # tests inject httpx.MockTransport
else:
    Transport = object

USER_AGENT = "keycliq-checklist"
DETAIL_CHARS = 200


@dataclass(frozen=True)
class Page:
    """One answer: the status, the final URL (after redirects, credentials redacted) and
    the body as text."""

    status: int
    url: str
    text: str


def get(
    url: str,
    *,
    timeout: float,
    follow_redirects: bool = True,
    transport: Transport | None = None,
    user_agent: str = USER_AGENT,
) -> Page:
    """GET ``url`` once (no retry: a probe reports what a user would see)."""
    import httpx

    try:
        with httpx.Client(
            timeout=timeout, follow_redirects=follow_redirects, transport=transport
        ) as client:
            response = client.get(url, headers={"User-Agent": user_agent})
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        kind = type(exc).__name__
        detail = redact_url(str(exc))[:DETAIL_CHARS]
        raise WebError(
            f"GET {redact_url(url)}: {kind}: {detail}", kind=kind, detail=detail
        ) from None
    return Page(status=response.status_code, url=redact_url(str(response.url)), text=response.text)
