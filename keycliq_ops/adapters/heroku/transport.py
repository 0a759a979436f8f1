"""The HTTP layer under :class:`~keycliq_ops.adapters.heroku.client.HerokuClient`.

Owns: headers and auth, timeouts and deadlines, bounded retries with backoff and jitter,
rate-limit pacing, ``Range``/``Next-Range`` pagination, request counting, and the line reader
for Heroku's output and log streams.

Deadlines
    Every attempt of a request ends ``call_timeout`` seconds after it starts, whatever the
    server does (silent, or one byte a second): sockets wait in short slices
    (:mod:`.deadlines`) and check the deadline between them. All attempts of one call and
    the waits between them fit in ``retry_budget`` seconds: a wait that would end past it is
    not taken, and the call fails at once (exit 3) saying what the last answer was.
    :func:`.deadlines.abort_all` (Ctrl-C) ends every wait, in every thread, within a slice.

Retry policy
    * ``GET`` and other idempotent calls (``PATCH`` of config vars sets values, so repeating
      it is harmless) are retried on 429, 500, 502, 503, 504 and on transport errors.
    * ``POST`` is retried only when the request cannot have been acted on: a connection that
      never opened (connect error/timeout, pool timeout) or a 429, which Heroku answers
      *before* doing anything.
    * The wait is ``Retry-After`` when the answer carries one (capped at
      ``retry_after_max``, 30 s), else exponential
      backoff (``backoff_base * 2**attempt``, capped at ``backoff_max``) with jitter: a random
      point in the upper half of that interval.
    * Pacing: when ``RateLimit-Remaining`` drops under ``low_watermark`` the next request
      waits up to ``pace_max`` seconds (at 0 remaining, about Heroku's refill rate of
      ~75 tokens a minute), scaled by how low the budget is.
    * After ``max_retries`` retries the last error is raised as
      :class:`~keycliq_ops.base.errors.HerokuError` (exit 3).

Stream policy (``stream_lines``)
    Heroku's ``output_stream_url`` streams replay the whole output from the start on every
    GET. Opening the stream is retried like a GET (each attempt within ``call_timeout``);
    ``deadline`` (seconds, the caller's choice: None for ``logs --tail``) bounds the whole
    stream, reconnects included; silence longer than ``stream_timeout`` ends it too. When
    the connection drops *after* lines were delivered and ``reconnect`` is true, the reader
    reconnects (bounded by ``max_retries``) and skips as many lines as it already
    delivered, so the caller sees each line once. Pass ``reconnect=False`` for a
    ``logplex_url`` (log sessions do not replay): a drop then raises :class:`HerokuError`.
    A clean end of the stream ends the iteration. The token is sent only to the API's own
    origin, never to stream hosts.
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
from keycliq_ops.adapters.heroku import deadlines
from keycliq_ops.adapters.heroku.auth import Token
from keycliq_ops.adapters.heroku.error_map import error_from_response, transport_error
from keycliq_ops.base.errors import HerokuError, Interrupted
from keycliq_ops.base.redact import Redactor

log = logging.getLogger("keycliq_ops.adapters.heroku")

ACCEPT = "application/vnd.heroku+json; version=3"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Failures that prove the request was never sent, so even a POST may be repeated.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAX_PAGE = 1000
MAX_PAGES = 500
CALL_TIMEOUT = 60.0  # one attempt of one request, answer read to its end
RETRY_BUDGET = 120.0  # every attempt of one call and the waits between them
RETRY_AFTER_MAX = 30.0


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
        call_timeout: float = CALL_TIMEOUT,
        retry_budget: float = RETRY_BUDGET,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        retry_after_max: float = RETRY_AFTER_MAX,
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
        self.call_timeout = call_timeout
        self.retry_budget = retry_budget
        self._sleep = sleep
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._retry_after_max = retry_after_max
        self._low_watermark = low_watermark
        self._pace_max = pace_max
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not crypto)
        self.two_factor_code: str | None = None
        self._http = httpx.Client(
            transport=transport if transport is not None else deadlines.http_transport(),
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
        give_up_at = time.monotonic() + self.retry_budget
        while True:
            self._wait_for_pace()
            with self._lock:
                self.request_count += 1
                self.path_counts[what] += 1
            ends = min(time.monotonic() + self.call_timeout, give_up_at)
            try:
                with deadlines.bounded(ends):
                    response = self._http.send(request, auth=self._auth)
            except httpx.TransportError as exc:
                self._check_abort()
                late = time.monotonic() >= ends
                retryable = idempotent or isinstance(exc, _NOT_SENT)
                delay = self._backoff(attempt)
                spent = attempt >= self.max_retries or not self._fits(delay, give_up_at)
                if not retryable or spent:
                    if late:
                        raise self._deadline_error(what, attempt + 1) from None
                    raise transport_error(
                        exc, what=what, attempts=attempt + 1, scrub=self._scrub
                    ) from None
                log.debug("%s: %s; retry %d in %.2fs", what, type(exc).__name__, attempt + 1, delay)
            else:
                self._note_rate_limit(response)
                status = response.status_code
                if status < 400:
                    log.debug("%s -> %d", what, status)
                    return response
                retryable = status in RETRY_STATUSES and (idempotent or status == 429)
                if not retryable or attempt >= self.max_retries:
                    raise self._gave_up(response, what, attempt + 1, None)
                after = self._retry_after(response)
                delay = self._backoff(attempt) if after is None else after
                if not self._fits(delay, give_up_at):
                    raise self._gave_up(response, what, attempt + 1, delay)
                log.debug("%s -> %d; retry %d in %.2fs", what, status, attempt + 1, delay)
            attempt += 1
            self._pause(delay)

    def _fits(self, delay: float, give_up_at: float) -> bool:
        """Whether waiting ``delay`` still leaves time for another attempt in the budget."""
        return time.monotonic() + delay < give_up_at

    def _deadline_error(self, what: str, attempts: int) -> HerokuError:
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        return HerokuError(
            f"Heroku API {what}: no complete answer within {self.call_timeout:g}s{tries}; "
            "stopped waiting",
            hint="the API is not answering: check the network and HEROKU_API_URL; see "
            "https://status.heroku.com",
        )

    def _gave_up(
        self, response: httpx.Response, what: str, attempts: int, wanted: float | None
    ) -> HerokuError:
        error = error_from_response(response, what=what, scrub=self._scrub)
        if attempts <= 1 and wanted is None:
            return error
        suffix = f" (gave up after {attempts} attempts"
        if wanted is not None:
            suffix += f"; the next wait, {wanted:g}s, would pass the {self.retry_budget:g}s budget"
        error.message = error.message + suffix + ")"
        error.args = (error.message,)
        return error

    def _check_abort(self) -> None:
        if deadlines.aborted():
            raise Interrupted("interrupted while waiting on the Heroku API") from None

    def _pause(self, delay: float) -> None:
        try:
            self._sleep(delay)
        except deadlines.AbortedIO:
            raise Interrupted("interrupted while waiting on the Heroku API") from None
        self._check_abort()

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
            self._pause(pace)

    # -- streams ---------------------------------------------------------------------------

    def stream_lines(
        self, url: str, *, reconnect: bool = True, deadline: float | None = None
    ) -> Iterator[str]:
        """The lines of a streamed URL as they arrive (see the module's stream policy)."""
        shown = urlsplit(url)._replace(query="").geturl()
        what = f"GET {shown}"
        auth = self._auth if _origin(url) == self._origin else None
        ends = None if deadline is None else time.monotonic() + deadline
        delivered = 0
        drops = 0
        while True:
            skip = delivered
            response = self._send_stream(url, what, auth, ends)
            try:
                lines = response.iter_lines()
                while True:
                    with deadlines.bounded(ends):
                        try:
                            line = next(lines)
                        except StopIteration:
                            return
                    if skip:
                        skip -= 1
                        continue
                    delivered += 1
                    yield line.rstrip("\r")
            except httpx.TransportError as exc:
                self._check_abort()
                if ends is not None and time.monotonic() >= ends:
                    raise HerokuError(
                        self._scrub(
                            f"the stream {shown} was still open after {deadline:g}s "
                            f"({delivered} lines); stopped reading"
                        ),
                        hint="the output is also in the Heroku dashboard (Activity) "
                        "and in `heroku logs`",
                    ) from None
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
                self._pause(delay)
            finally:
                response.close()

    def _send_stream(
        self, url: str, what: str, auth: httpx.Auth | None, ends: float | None
    ) -> httpx.Response:
        attempt = 0
        give_up_at = time.monotonic() + self.retry_budget
        if ends is not None:
            give_up_at = min(give_up_at, ends)
        while True:
            with self._lock:
                self.stream_count += 1
            request = self._http.build_request(
                "GET", url, headers=self._headers(None), timeout=self._stream_timeout
            )
            opened_by = min(time.monotonic() + self.call_timeout, give_up_at)
            try:
                with deadlines.bounded(opened_by):
                    response = self._http.send(request, auth=auth, stream=True)
            except httpx.TransportError as exc:
                self._check_abort()
                delay = self._backoff(attempt)
                if attempt >= self.max_retries or not self._fits(delay, give_up_at):
                    if time.monotonic() >= opened_by:
                        raise self._deadline_error(what, attempt + 1) from None
                    raise transport_error(
                        exc, what=what, attempts=attempt + 1, scrub=self._scrub
                    ) from None
            else:
                if response.status_code < 400:
                    return response
                try:
                    with deadlines.bounded(opened_by):
                        response.read()
                except httpx.TransportError as exc:
                    self._check_abort()
                    if time.monotonic() >= opened_by:
                        raise self._deadline_error(what, attempt + 1) from None
                    raise transport_error(
                        exc, what=what, attempts=attempt + 1, scrub=self._scrub
                    ) from None
                finally:
                    response.close()
                if response.status_code not in RETRY_STATUSES or attempt >= self.max_retries:
                    raise self._gave_up(response, what, attempt + 1, None)
                delay = self._retry_after(response) or self._backoff(attempt)
                if not self._fits(delay, give_up_at):
                    raise self._gave_up(response, what, attempt + 1, delay)
            attempt += 1
            self._pause(delay)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
