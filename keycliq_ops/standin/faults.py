"""Faults on demand: deterministic failures a test (or ``sandbox up --fault``) plants.

A fault fires a given number of times (``count``; ``None`` = every time) and then is gone.

Spec syntax (``keycliq sandbox up --fault SPEC``)::

    KIND[=VALUE][xCOUNT][@TARGET]

    429x3@/apps/keycliq-staging/releases   three 429 answers on that path (glob allowed)
    503@/account                           one 503 answer
    slow=2.5x2@/apps/*                     the next two answers on /apps/* wait 2.5 s
    cut=200@release                        the next release output stream stops after
                                           200 bytes (targets: build, release, dyno, log, *)
    build-fail@keycliq-staging             the next build of the app fails
    release-fail@keycliq-staging           the next release phase of the app exits 1
    promote-fail@keycliq-production        the app fails as the next promotion target
    backup-fail@keycliq-production         the next backup capture of the app's database fails
    two-factor=123456x*@/pipeline-promotions  requests there need that Heroku-Two-Factor-Code
"""

from __future__ import annotations

import fnmatch
import re
import threading
from dataclasses import dataclass, replace
from typing import Literal

from keycliq_ops.standin.failures import usage

FaultKind = Literal[
    "http",
    "slow",
    "cut",
    "build-fail",
    "release-fail",
    "promote-fail",
    "two-factor",
    "backup-fail",
]
STREAM_KINDS = ("build", "release", "dyno", "log", "*")

_SPEC = re.compile(
    r"^(?P<kind>\d{3}|[a-z]+(?:-[a-z]+)*)(?:=(?P<value>[^@x]+))?(?:x(?P<count>\d+|\*))?(?:@(?P<target>.+))?$"
)
_APP_KINDS = ("build-fail", "release-fail", "promote-fail", "backup-fail")


@dataclass
class Fault:
    """One planted failure. ``target``: a path glob, a stream kind or an app name."""

    kind: FaultKind
    target: str = "*"
    count: int | None = 1
    status: int = 0
    seconds: float = 0.0
    after_bytes: int = 0
    message: str | None = None

    def describe(self) -> str:
        times = "every time" if self.count is None else f"x{self.count}"
        what = {
            "http": f"HTTP {self.status}",
            "slow": f"slow {self.seconds:g}s",
            "cut": f"cut after {self.after_bytes} bytes",
        }.get(self.kind, self.kind)
        return f"{what} {times} @ {self.target}"


def parse_fault(spec: str) -> Fault:
    """A :class:`Fault` from its spec text; a usage :class:`StandinError` naming the problem."""
    m = _SPEC.match(spec.strip())
    hint = "see `keycliq sandbox up --help` for the fault syntax"
    if not m:
        raise usage(f"--fault {spec!r}: not KIND[=VALUE][xCOUNT][@TARGET]", hint=hint)
    kind, value, count_s, target = m.group("kind", "value", "count", "target")
    count = None if count_s == "*" else int(count_s or 1)
    if count == 0:
        raise usage(f"--fault {spec!r}: count must be at least 1 (or * for always)")
    if kind.isdigit():
        status = int(kind)
        if not 400 <= status <= 599:
            raise usage(f"--fault {spec!r}: HTTP status must be 4xx or 5xx", hint=hint)
        return Fault("http", target or "*", count, status=status)
    if kind == "slow":
        try:
            seconds = float(value or "")
        except ValueError:
            raise usage(f"--fault {spec!r}: slow needs seconds, e.g. slow=2", hint=hint) from None
        return Fault("slow", target or "*", count, seconds=seconds)
    if kind == "cut":
        if not (value or "").isdigit():
            raise usage(f"--fault {spec!r}: cut needs a byte count, e.g. cut=200", hint=hint)
        if (target or "*") not in STREAM_KINDS:
            raise usage(
                f"--fault {spec!r}: stream must be one of {', '.join(STREAM_KINDS)}", hint=hint
            )
        return Fault("cut", target or "*", count, after_bytes=int(value or 0))
    if kind == "two-factor":
        if not value or not target:
            raise usage(f"--fault {spec!r}: e.g. two-factor=123456x*@/pipeline-promotions")
        return Fault("two-factor", target, count, message=value)
    if kind in _APP_KINDS:
        if not target:
            raise usage(f"--fault {spec!r}: name the app, e.g. {kind}@keycliq-staging")
        return Fault(kind, target, count)  # type: ignore[arg-type]
    raise usage(
        f"--fault {spec!r}: unknown kind {kind!r} "
        "(a status like 429/503, slow, cut, build-fail, release-fail, promote-fail, "
        "backup-fail)",
        hint=hint,
    )


class FaultBook:
    """The planted faults of one sandbox; thread-safe; each fires ``count`` times."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(replace(fault))
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [replace(f) for f in self._faults]

    def take(self, kind: FaultKind, subject: str) -> Fault | None:
        """The first fault of ``kind`` whose target matches ``subject``, spending one use."""
        with self._lock:
            for fault in self._faults:
                if fault.kind != kind or not _matches(kind, fault.target, subject):
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return replace(fault)
        return None

    # Helpers for tests and the Python API.
    def http_error(self, path: str, status: int = 503, count: int | None = 1) -> Fault:
        return self.add(Fault("http", path, count, status=status))

    def slow(self, path: str, seconds: float, count: int | None = 1) -> Fault:
        return self.add(Fault("slow", path, count, seconds=seconds))

    def cut_stream(self, stream: str = "*", after_bytes: int = 0, count: int | None = 1) -> Fault:
        if stream not in STREAM_KINDS:
            raise ValueError(f"stream must be one of {STREAM_KINDS}")
        return self.add(Fault("cut", stream, count, after_bytes=after_bytes))

    def fail_build(self, app: str, count: int | None = 1) -> Fault:
        return self.add(Fault("build-fail", app, count))

    def fail_release(self, app: str, count: int | None = 1) -> Fault:
        return self.add(Fault("release-fail", app, count))

    def fail_promotion(self, app: str, message: str | None = None, count: int | None = 1) -> Fault:
        return self.add(Fault("promote-fail", app, count, message=message))

    def fail_backup(self, app: str, message: str | None = None, count: int | None = 1) -> Fault:
        """The next ``count`` backup captures of the app's database fail (pg_dump's error
        in the transfer's logs; ``message``: that error's text)."""
        return self.add(Fault("backup-fail", app, count, message=message))

    def require_two_factor(self, path: str, code: str, count: int | None = None) -> Fault:
        """Requests on ``path`` (glob) without ``Heroku-Two-Factor-Code: code`` answer 403
        ``two_factor``; each refusal spends one use (``None``: until cleared)."""
        return self.add(Fault("two-factor", path, count, message=code))


def _matches(kind: FaultKind, target: str, subject: str) -> bool:
    if kind in ("http", "slow", "two-factor"):
        return fnmatch.fnmatchcase(subject, target)
    if kind == "cut":
        return target in ("*", subject)
    return target == subject
