"""The HTTP layer under :class:`~keycliq_ops.adapters.heroku.client.HerokuClient`.

Owns: headers and auth, timeouts, bounded retries with backoff and jitter, rate-limit
pacing, ``Range``/``Next-Range`` pagination, request counting, and the line reader for
Heroku's output and log streams.

Retry policy
    * ``GET`` and other idempotent calls (``PATCH`` of config vars sets values, so repeating
      it is harmless) are retried on 429, 500, 502, 503, 504 and on transport errors.
    * ``POST`` is retried only when the request cannot have been acted on: a connection that
      never opened (connect error/timeout, pool timeout) or a 429, which Heroku answers
      *before* doing anything.
    * The wait is ``Retry-After`` when the answer carries one (capped), else exponential
      backoff (``backoff_base * 2**attempt``, capped at ``backoff_max``) with jitter: a random
      point in the upper half of that interval.
    * Pacing: when ``RateLimit-Remaining`` drops under ``low_watermark`` the next request
      waits up to ``pace_max`` seconds (at 0 remaining, about Heroku's refill rate of
      ~75 tokens a minute), scaled by how low the budget is.
    * After ``max_retries`` retries the last error is raised as
      :class:`~keycliq_ops.base.errors.HerokuError` (exit 3).

Stream policy (``stream_lines``)
    Heroku's ``output_stream_url`` streams replay the whole output from the start on every
    GET. Opening the stream is retried like a GET. When the connection drops *after* lines
    were delivered and ``reconnect`` is true, the reader reconnects (bounded by
    ``max_retries``) and skips as many lines as it already delivered, so the caller sees
    each line once. Pass ``reconnect=False`` for a ``logplex_url`` (log sessions do not
    replay): a drop then raises :class:`HerokuError`. A clean end of the stream ends the
    iteration. The token is sent only to the API's own origin, never to stream hosts.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from keycliq_ops import __version__
from keycliq_ops.adapters.heroku.auth import Token
from keycliq_ops.adapters.heroku.error_map import error_from_response, transport_error
from keycliq_ops.base.errors import HerokuError
from keycliq_ops.base.redact import Redactor

log = logging.getLogger("keycliq_ops.adapters.heroku")

ACCEPT = "application/vnd.heroku+json; version=3"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Failures that prove the request was never sent, so even a POST may be repeated.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAX_PAGE = 1000
MAX_PAGES = 500


class BearerAuth(httpx.Auth):
    """Adds the bearer token to a request; its ``repr`` never shows the token."""

    def __init__(self, token: Token) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token='••••••••')"


class Transport:
    """Sends API requests with retries and pacing; counts them; reads streams."""

    def __init__(
        self,
        token: Token,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None,
        timeout: float,
        stream_timeout: float,
        max_retries: int,
        sleep: Callable[[float], None],
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        retry_after_max: float = 60.0,
        low_watermark: int = 100,
        pace_max: float = 0.8,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self._auth = BearerAuth(token)
        self._scrub = Redactor([token.reveal()])
        self._timeout = httpx.Timeout(timeout)
        self._stream_timeout = httpx.Timeout(timeout, read=stream_timeout)
        self.max_retries = max_retries
        self._sleep = sleep
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._retry_after_max = retry_after_max
        self._low_watermark = low_watermark
        self._pace_max = pace_max
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not crypto)
        self.two_factor_code: str | None = None
        self._http = httpx.Client(
            transport=transport,
            timeout=self._timeout,
            headers={"Accept": ACCEPT, "User-Agent": f"keycliq/{__version__}"},
            follow_redirects=False,
        )
        self._lock = threading.Lock()
        self._pace = 0.0
        self.request_count = 0
        self.stream_count = 0
        self.path_counts: Counter[str] = Counter()
        self.rate_limit_remaining: int | None = None

    def close(self) -> None:
        self._http.close()

    # -- requests ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """One API call (``path`` relative to the base URL); a 2xx answer or HerokuError."""
        method = method.upper()
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE")
        what = f"{method} {path}"
        request = self._http.build_request(
            method, self.base_url + path, json=json, headers=self._headers(headers)
        )
        attempt = 0
        while True:
            self._wait_for_pace()
            with self._lock:
                self.request_count += 1
                self.path_counts[what] += 1
            try:
                response = self._http.send(request, auth=self._auth)
            except httpx.TransportError as exc:
                retryable = idempotent or isinstance(exc, _NOT_SENT)
                if not retryable or attempt >= self.max_retries:
                    raise transport_error(
                        exc, what=what, attempts=attempt + 1, scrub=self._scrub
                    ) from None
                delay = self._backoff(attempt)
                log.debug("%s: %s; retry %d in %.2fs", what, type(exc).__name__, attempt + 1, delay)
            else:
                self._note_rate_limit(response)
                status = response.status_code
                if status < 400:
                    log.debug("%s -> %d", what, status)
                    return response
                retryable = status in RETRY_STATUSES and (idempotent or status == 429)
                if not retryable or attempt >= self.max_retries:
                    raise error_from_response(response, what=what, scrub=self._scrub)
                after = self._retry_after(response)
                delay = self._backoff(attempt) if after is None else after
                log.debug("%s -> %d; retry %d in %.2fs", what, status, attempt + 1, delay)
            attempt += 1
            self._sleep(delay)

    def paginate(self, path: str, *, range_header: str | None, limit: int | None) -> list[Any]:
        """Every item of a list endpoint, following ``Next-Range`` on 206 answers."""
        items: list[Any] = []
        current = range_header
        for _ in range(MAX_PAGES):
            response = self.request("GET", path, headers={"Range": current} if current else None)
            page = self.json(response, f"GET {path}")
            if not isinstance(page, list):
                raise self._unexpected(f"GET {path}", "a JSON list")
            items.extend(page)
            if limit is not None and len(items) >= limit:
                return items[:limit]
            next_range = response.headers.get("Next-Range")
            if response.status_code != 206 or not next_range or next_range == current:
                return items
            current = next_range
        raise HerokuError(
            f"Heroku API GET {path}: more than {MAX_PAGES} pages; stopped",
            hint="pass a limit",
        )

    def json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise self._unexpected(what, "JSON") from None

    def _unexpected(self, what: str, expected: str) -> HerokuError:
        return HerokuError(
            f"Heroku API {what} answered with something other than {expected}",
            hint=f"is the API URL ({self.base_url}) really the Heroku Platform API?",
        )

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.two_factor_code:
            headers["Heroku-Two-Factor-Code"] = self.two_factor_code
        return headers

    # -- waiting ---------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._backoff_max, self._backoff_base * (2.0**attempt))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _retry_after(self, response: httpx.Response) -> float | None:
        raw = response.headers.get("Retry-After")
        if not raw:
            return None
        raw = raw.strip()
        seconds: float | None
        if raw.isdigit():
            seconds = float(raw)
        else:
            try:
                when = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                return None
            seconds = when.timestamp() - time.time()
        return max(0.0, min(seconds, self._retry_after_max))

    def _note_rate_limit(self, response: httpx.Response) -> None:
        raw = response.headers.get("RateLimit-Remaining")
        if raw is None or not raw.strip().isdigit():
            return
        remaining = int(raw)
        with self._lock:
            self.rate_limit_remaining = remaining
            if remaining < self._low_watermark:
                shortfall = (self._low_watermark - remaining) / self._low_watermark
                self._pace = self._pace_max * shortfall
            else:
                self._pace = 0.0

    def _wait_for_pace(self) -> None:
        with self._lock:
            pace = self._pace
        if pace > 0:
            log.debug("rate limit low (%s left); pacing %.2fs", self.rate_limit_remaining, pace)
            self._sleep(pace)

    # -- streams ---------------------------------------------------------------------------

    def stream_lines(self, url: str, *, reconnect: bool = True) -> Iterator[str]:
        """The lines of a streamed URL as they arrive (see the module's stream policy)."""
        shown = urlsplit(url)._replace(query="").geturl()
        what = f"GET {shown}"
        auth = self._auth if _origin(url) == self._origin else None
        delivered = 0
        drops = 0
        while True:
            skip = delivered
            response = self._send_stream(url, what, auth)
            try:
                for line in response.iter_lines():
                    if skip:
                        skip -= 1
                        continue
                    delivered += 1
                    yield line.rstrip("\r")
                return
            except httpx.TransportError as exc:
                if not reconnect or drops >= self.max_retries:
                    raise HerokuError(
                        self._scrub(
                            f"the stream {shown} broke after {delivered} lines: "
                            f"{type(exc).__name__}"
                        ),
                        hint="the output is also in the Heroku dashboard (Activity) "
                        "and in `heroku logs`",
                    ) from None
                drops += 1
                delay = self._backoff(drops - 1)
                log.debug("stream %s dropped after %d lines; reconnecting", shown, delivered)
                self._sleep(delay)
            finally:
                response.close()

    def _send_stream(self, url: str, what: str, auth: httpx.Auth | None) -> httpx.Response:
        attempt = 0
        while True:
            with self._lock:
                self.stream_count += 1
            request = self._http.build_request(
                "GET", url, headers=self._headers(None), timeout=self._stream_timeout
            )
            try:
                response = self._http.send(request, auth=auth, stream=True)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise transport_error(
                        exc, what=what, attempts=attempt + 1, scrub=self._scrub
                    ) from None
                delay = self._backoff(attempt)
            else:
                if response.status_code < 400:
                    return response
                response.read()
                response.close()
                if response.status_code not in RETRY_STATUSES or attempt >= self.max_retries:
                    raise error_from_response(response, what=what, scrub=self._scrub)
                delay = self._retry_after(response) or self._backoff(attempt)
            attempt += 1
            self._sleep(delay)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
