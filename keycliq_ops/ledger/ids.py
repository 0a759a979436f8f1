"""Record ids: ``YYYYMMDDTHHMMSS-xxxx`` (the UTC second, 4 hex digits), increasing down the
file; found by bisection on the sorted ids (a scan when the file is out of order)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from keycliq_ops.ledger import fileio
from keycliq_ops.ledger.chain import loads

_ID_TIME = "%Y%m%dT%H%M%S"
MAX_MATCHES = 6  # enough to say "ambiguous" and name a few


def next_id(now: datetime, last_id: str | None) -> str:
    """A new id later than ``last_id`` (random suffix; the last id plus a random step when
    that is not later)."""
    candidate = f"{now.strftime(_ID_TIME)}-{secrets.randbelow(0x8000):04x}"
    if last_id is None or candidate > last_id:
        return candidate
    base, _, suffix = last_id.partition("-")
    try:
        # A random step, not +1: two copies of a shared ledger that append in the same
        # second after the same last record must not make the same id.
        number = int(suffix, 16) + 1 + secrets.randbelow(0x800)
        moment = datetime.strptime(base, _ID_TIME)
    except ValueError:
        return candidate
    if number > 0xFFFF:
        moment, number = moment + timedelta(seconds=1), number - 0x10000
    return f"{moment.strftime(_ID_TIME)}-{number:04x}"


def id_time(record_id: str) -> datetime | None:
    """The second an id was made in (ids sort by it)."""
    try:
        return datetime.strptime(record_id[:15], _ID_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def id_of(raw: bytes) -> str:
    try:
        value = loads(raw).get("id")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def _matches(record_id: str, prefix: str, exact: bool) -> bool:
    return record_id == prefix if exact else record_id.startswith(prefix)


def lookup(fh: BinaryIO, prefix: str, end: int, *, exact: bool) -> list[tuple[int, bytes]]:
    """``(offset, line)`` of the records whose id is (or starts with) ``prefix``."""
    found = _bisect(fh, prefix, end, exact)
    return found or _scan(fh, prefix, end, exact)


def _bisect(fh: BinaryIO, prefix: str, end: int, exact: bool) -> list[tuple[int, bytes]]:
    lo, hi = 0, end
    while lo < hi:  # the first line whose id is >= prefix
        mid = (lo + hi) // 2
        got = fileio.line_from(fh, mid, end)
        if got is None or id_of(got[1]) >= prefix:
            hi = mid
        else:
            lo = mid + 1
    found: list[tuple[int, bytes]] = []
    got = fileio.line_from(fh, lo, end)
    while got is not None and len(found) < MAX_MATCHES:
        offset, raw = got
        if not _matches(id_of(raw), prefix, exact):
            break
        found.append(got)
        got = fileio.line_from(fh, offset + len(raw) + 1, end)
    return found


def _scan(fh: BinaryIO, prefix: str, end: int, exact: bool) -> list[tuple[int, bytes]]:
    needle = f'"id":"{prefix}'.encode()
    found: list[tuple[int, bytes]] = []
    for offset, raw in fileio.iter_forward(fh, 0, end):
        if needle in raw and _matches(id_of(raw), prefix, exact):
            found.append((offset, raw))
            if len(found) >= MAX_MATCHES:
                break
    return found
