"""HTTP probes of an app's public URL (the checklists' ``http`` items).

:func:`get` sends one GET and returns what came back, whatever the status; getting no
answer at all (refused, timed out, TLS, too many redirects, a malformed URL) raises
:class:`~keycliq_ops.base.errors.WebError` whose message holds no credentials from the URL.
httpx is imported here (and in the Heroku client) and nowhere else in the core. Its sockets
wait in slices (:mod:`keycliq_ops.adapters.heroku.deadlines`), so ``timeout`` is an overall
deadline, not only a per-read one.

Example::

    page = get("https://keycliq-staging.herokuapp.com/login", timeout=10)
    if page.status == 200 and "Sign in" in page.text:
        ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from keycliq_ops.base.errors import Interrupted, WebError
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
    """GET ``url`` once (no retry: a probe reports what a user would see).

    ``timeout`` bounds the whole probe (redirects and the body included), however slowly
    the server answers; :func:`~keycliq_ops.adapters.heroku.deadlines.abort_all` ends it
    within a fraction of a second (Interrupted)."""
    import time

    import httpx

    from keycliq_ops.adapters.heroku import deadlines

    ends = time.monotonic() + timeout
    try:
        with (
            httpx.Client(
                timeout=timeout,
                follow_redirects=follow_redirects,
                transport=transport if transport is not None else deadlines.http_transport(),
            ) as client,
            deadlines.bounded(ends),
        ):
            response = client.get(url, headers={"User-Agent": user_agent})
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        if deadlines.aborted():
            raise Interrupted(f"interrupted during GET {redact_url(url)}") from None
        kind = type(exc).__name__
        detail = redact_url(str(exc))[:DETAIL_CHARS]
        if time.monotonic() >= ends:
            kind, detail = "Timeout", f"no complete answer within {timeout:g}s"
        raise WebError(
            f"GET {redact_url(url)}: {kind}: {detail}", kind=kind, detail=detail
        ) from None
    return Page(status=response.status_code, url=redact_url(str(response.url)), text=response.text)
