"""HTTP plumbing of the stand-in: routing, auth, rate limit, ranges, faults, streams.

A stdlib ``ThreadingHTTPServer`` speaking HTTP/1.1 on 127.0.0.1. API answers are JSON
with Heroku's headers (``RateLimit-Remaining``, ``Request-Id``, ``Accept-Ranges``; 206 and
``Next-Range`` while a list has more); errors are ``{"id", "message"}``. Streams
(``output_stream_url``, ``logplex_url``) are sent chunked as the output is produced.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import hmac
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from keycliq_ops.standin.faults import FaultBook
from keycliq_ops.standin.platform import ApiError

RATE_LIMIT_CAPACITY = 4500
RATE_LIMIT_PER_SECOND = 75 / 60
_NOT_FOUND = (
    "The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` "
    "vs. `POST`), and did you specify your intended version with the `Accept` header?"
)
_VERSION_MSG = (
    "Please specify a version along with Heroku's API MIME type. "
    "For example, `Accept: application/vnd.heroku+json; version=3`."
)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiError(400, "bad_request", "Request body is not valid JSON.") from None

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise ApiError(422, "invalid_params", "Request body must be a JSON object.")
        return body


@dataclass
class JsonResponse:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StreamResponse:
    """Text sent chunked as ``chunks`` yields it; ``kind`` selects ``cut`` faults."""

    kind: str
    chunks: Iterator[str]
    content_type: str = "text/plain; charset=utf-8"


Handler = Callable[[Request], JsonResponse | StreamResponse]


@dataclass
class Route:
    """One served path. ``link`` names the schema link (resource, title) it implements."""

    method: str
    pattern: str
    handler: Handler
    link: tuple[str, str] | None = None
    ranges: tuple[str, ...] = ()  # range fields of a list; the first is the default
    auth: bool = True
    api: bool = True  # a Platform API route: Accept version, rate limit, faults
    regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rx = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.pattern))
        self.regex = re.compile(f"^{rx}$")


class RateLimiter:
    """Heroku's budget: 4,500 tokens, refilled at 75 a minute."""

    def __init__(self) -> None:
        self._tokens = float(RATE_LIMIT_CAPACITY)
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        t = time.monotonic()
        self._tokens = min(
            RATE_LIMIT_CAPACITY, self._tokens + (t - self._at) * RATE_LIMIT_PER_SECOND
        )
        self._at = t

    def spend(self) -> int | None:
        """Remaining after spending one; None when the budget is exhausted."""
        with self._lock:
            self._refill()
            if self._tokens < 1:
                return None
            self._tokens -= 1
            return int(self._tokens)

    def remaining(self) -> int:
        with self._lock:
            self._refill()
            return int(self._tokens)

    def reset(self) -> None:
        """A full budget again (a test suite sharing one sandbox, between tests)."""
        with self._lock:
            self._tokens = float(RATE_LIMIT_CAPACITY)
            self._at = time.monotonic()


# Range fields the schema allows that the answer's objects do not carry: sorted by another.
# (A build starts when it is created: the schema ranges builds by `started_at`.)
_SORT_ALIAS = {"started_at": "created_at"}
# Range fields whose values are integers: their start and end must be too.
_INTEGER_FIELDS = frozenset({"version"})
RANGE_DEFAULT_MAX = 200
RANGE_MAX = 1000
_RANGE_HEAD = re.compile(r"(?P<field>[a-z_]+)\s+(?P<excl>\]?)(?P<start>[^\s.;,\]]*)", re.ASCII)
_RANGE_END = re.compile(r"[^\s.;,\]]*", re.ASCII)


@dataclass(frozen=True)
class RangeSpec:
    """A parsed ``Range`` header: ``<field> [\\]]<start>..<end>[; max=N, order=asc|desc][;]``."""

    field: str
    start: str = ""
    end: str = ""
    exclusive: bool = False  # ``]start``: the page begins after ``start`` (a Next-Range)
    max: int = RANGE_DEFAULT_MAX
    desc: bool = False


def _bad_range(header: str, why: str) -> ApiError:
    return ApiError(400, "bad_request", f"Invalid Range header {header!r}: {why}")


def parse_range(header: str | None, fields: tuple[str, ...]) -> RangeSpec:
    """``Range`` as Heroku parses it; every malformed or out-of-bounds value is a 400
    ``bad_request``. One trailing ``;`` is accepted (heroku3 and Heroku's docs send it), the
    options come in any order, ``max`` is an integer from 1 to 1,000."""
    if header is None or not header.strip():
        return RangeSpec(field=fields[0])
    text = header.strip()
    if text.endswith(";"):
        text = text[:-1].rstrip()
    head, _, opts = text.partition(";")
    if ";" in opts:
        raise _bad_range(header, "more than one `;`")
    left, sep, end = head.strip().partition("..")
    if not sep:
        raise _bad_range(header, "expected `<field> <start>..<end>`")
    m = _RANGE_HEAD.fullmatch(left)
    if not m or not _RANGE_END.fullmatch(end):
        raise _bad_range(header, "expected `<field> <start>..<end>`")
    field_, excl, start = m.group("field", "excl", "start")
    if field_ not in fields:
        raise _bad_range(header, f"field {field_!r} is not one of {', '.join(fields)}")
    if excl and not start:
        raise _bad_range(header, "`]` needs a start value")
    if field_ in _INTEGER_FIELDS:
        for value in (start, end):
            if value and not (value.isascii() and value.isdigit()):
                raise _bad_range(header, f"{field_} {value!r} is not an integer")
    options: dict[str, str] = {}
    if opts.strip():
        for part in opts.split(","):
            key, eq, value = (x.strip() for x in part.partition("="))
            if not eq or key not in ("max", "order") or not value:
                raise _bad_range(header, f"unknown option {part.strip()!r}")
            if key in options:
                raise _bad_range(header, f"{key} given twice")
            options[key] = value
    limit = RANGE_DEFAULT_MAX
    if "max" in options:
        raw = options["max"]
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= RANGE_MAX:
            raise _bad_range(header, f"max must be an integer from 1 to {RANGE_MAX}")
        limit = int(raw)
    order = options.get("order", "asc")
    if order not in ("asc", "desc"):
        raise _bad_range(header, "order must be asc or desc")
    return RangeSpec(field_, start, end, bool(excl), limit, order == "desc")


def paginate(items: list[Any], header: str | None, fields: tuple[str, ...]) -> JsonResponse:
    """Apply a ``Range`` header to a list answer (206 + ``Next-Range`` while more remain).

    With ``order=desc`` the start is the high end: ``version ]5..; order=desc`` is every
    version below 5, newest first (the Next-Range of a page that ended at 5)."""
    spec = parse_range(header, fields)
    sort_field = _SORT_ALIAS.get(spec.field, spec.field)
    integer = spec.field in _INTEGER_FIELDS

    def key(item: Any) -> Any:
        value = item.get(sort_field)
        return "" if value is None else value

    def typed(raw: str) -> Any:
        return int(raw) if integer else raw

    ordered = sorted(items, key=key, reverse=spec.desc)

    def within(item: Any) -> bool:
        value = key(item)
        if spec.start:
            start = typed(spec.start)
            past = value < start if spec.desc else value > start
            if not (past or (not spec.exclusive and value == start)):
                return False
        if spec.end:
            end = typed(spec.end)
            before = value > end if spec.desc else value < end
            if not (before or value == end):
                return False
        return True

    picked = [i for i in ordered if within(i)]
    page = picked[: spec.max]
    headers = {"Accept-Ranges": ", ".join(fields)}
    if len(picked) > spec.max:
        order = ", order=desc" if spec.desc else ""
        headers["Next-Range"] = f"{spec.field} ]{key(page[-1])}..{spec.end}; max={spec.max}{order}"
        return JsonResponse(page, 206, headers)
    return JsonResponse(page, 200, headers)


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a tail it stopped reading) is not an error."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        # Never a traceback on the console: one line, to the access log when there is one.
        if self.access_log is not None:
            self.access_log(f"connection error from {client_address}: {type(exc).__name__}: {exc}")

    def __init__(self, address: tuple[str, int], token: str, faults: FaultBook, rate: RateLimiter):
        super().__init__(address, _ApiHandler)
        self.routes: list[Route] = []
        self.token = token
        self.faults = faults
        self.rate = rate
        self.stopping = threading.Event()
        self.access_log: Callable[[str], None] | None = None


class _ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client waits
    # for the delayed ACK (~40 ms) on every answer, which real Heroku does not cost.
    disable_nagle_algorithm = True
    server: SandboxHTTPServer
    server_version = "keycliq-sandbox"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and
        # the client's delayed ACK can add ~40 ms to an answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.access_log:
            self.server.access_log(format % args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self) -> None:
        request_id = str(uuid.uuid4())
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        req = Request(self.command, path, dict(parse_qsl(parts.query)), self.headers, body)
        remaining: int | None = None
        try:
            route = self._route(req)
            if route.api:
                self._slow(path)
                fault = self.server.faults.take("http", path)
                if fault:
                    raise _fault_error(fault.status)
                self._two_factor(path)
            if route.auth and not self._authorized():
                raise ApiError(401, "unauthorized", "Invalid credentials provided.")
            if route.api and route.link is not None:
                if "version=3" not in (self.headers.get("Accept") or ""):
                    raise ApiError(400, "bad_request", _VERSION_MSG)
                if route.link != ("rate-limit", "Info"):
                    remaining = self.server.rate.spend()
                    if remaining is None:
                        raise ApiError(429, "rate_limit", "Your account reached the API rate limit")
            result = route.handler(req)
            if isinstance(result, StreamResponse):
                self._stream(result)
                return
            if route.ranges and isinstance(result.body, list):
                page = paginate(result.body, self.headers.get("Range"), route.ranges)
                result = JsonResponse(page.body, page.status, {**result.headers, **page.headers})
            self._json(result, request_id, remaining)
        except ApiError as exc:
            if exc.status == 429:
                remaining = 0
            self._json(
                JsonResponse({"id": exc.error_id, "message": exc.message}, exc.status),
                request_id,
                remaining,
            )
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a bug of the stand-in: one line in the log, a 500 answer
            where = exc.__traceback__
            while where is not None and where.tb_next is not None:
                where = where.tb_next
            at = f"{where.tb_frame.f_code.co_filename}:{where.tb_lineno}" if where else "?"
            self.log_message(
                "internal error on %s %s: %s: %s (%s)",
                self.command,
                path,
                type(exc).__name__,
                exc,
                at,
            )
            self._json(
                JsonResponse(
                    {"id": "internal_server_error", "message": "Internal server error."}, 500
                ),
                request_id,
                remaining,
            )

    def _route(self, req: Request) -> Route:
        for route in self.server.routes:
            if route.method != req.method:
                continue
            m = route.regex.match(req.path)
            if m:
                req.params = m.groupdict()
                return route
        raise ApiError(404, "not_found", _NOT_FOUND)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        given = ""
        if scheme.lower() == "bearer":
            given = value.strip()
        elif scheme.lower() == "basic":
            try:
                given = base64.b64decode(value.strip()).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                return False
        return bool(given) and hmac.compare_digest(given.encode(), self.server.token.encode())

    def _two_factor(self, path: str) -> None:
        """403 ``two_factor`` unless the request carries the code a planted fault wants."""
        given = self.headers.get("Heroku-Two-Factor-Code")
        for fault in self.server.faults.pending():
            wanted = fault.kind == "two-factor" and fnmatch.fnmatchcase(path, fault.target)
            if wanted and fault.message != given:
                self.server.faults.take("two-factor", path)
                raise ApiError(403, "two_factor", "A second authentication factor is required.")

    def _slow(self, path: str) -> None:
        fault = self.server.faults.take("slow", path)
        if fault:
            self.server.stopping.wait(fault.seconds)

    # ------------------------------------------------------------------ writing
    def _json(self, result: JsonResponse, request_id: str, remaining: int | None) -> None:
        payload = json.dumps(result.body).encode()
        self.send_response(result.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Request-Id", request_id)
        rate = remaining if remaining is not None else self.server.rate.remaining()
        self.send_header("RateLimit-Remaining", str(rate))
        for name, value in result.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, result: StreamResponse) -> None:
        cut = self.server.faults.take("cut", result.kind)
        budget = cut.after_bytes if cut else None
        self.send_response(200)
        self.send_header("Content-Type", result.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            for text in result.chunks:
                data = text.encode()
                if budget is not None and len(data) >= budget:
                    self._chunk(data[:budget])
                    self._cut()
                    return
                if budget is not None:
                    budget -= len(data)
                self._chunk(data)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # the stream's producer failed: end it as a dropped stream
            self.log_message("stream %s failed: %s: %s", result.kind, type(exc).__name__, exc)
            self._cut()

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    def _cut(self) -> None:
        """End the connection mid-stream: no terminating chunk, as a dropped stream."""
        self.close_connection = True
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _fault_error(status: int) -> ApiError:
    if status == 429:
        return ApiError(429, "rate_limit", "Your account reached the API rate limit")
    if status == 503:
        return ApiError(
            503, "service_unavailable", "The service is temporarily unavailable (sandbox fault)."
        )
    ids = {401: "unauthorized", 403: "forbidden", 404: "not_found", 422: "invalid_params"}
    return ApiError(
        status, ids.get(status, "internal_server_error"), f"HTTP {status} (sandbox fault)"
    )
