"""Canonical form, sealing and verification of the hash chain.

A record's *canonical form* is its JSON object without ``hash``, serialised with sorted keys,
no spaces and UTF-8 (``json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``). ``hash`` is the SHA-256 (hex) of that form; ``prev`` is the previous
record's ``hash`` (64 zeros for the first record).

A line on disk is the canonical form with ``,"hash":"<hex>"`` added before the closing brace,
then a newline. So the canonical form of a line is recovered from its bytes alone (drop the
last 75 bytes, put back ``}``) and ``verify`` hashes every line without re-serialising it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

GENESIS = "0" * 64
_HASH_KEY = b',"hash":"'
_TAIL_LEN = len(_HASH_KEY) + 64 + 2  # ,"hash":"<64 hex>"}
_PREV_KEY = b'"prev":"'
_HEX = frozenset(b"0123456789abcdef")
RECORD_START = b'{"action":"'  # every canonical form starts so ("action" sorts first)


def loads(raw: bytes | str) -> Any:
    """``json.loads`` that answers ``ValueError`` for nesting too deep to parse, too."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply to be a ledger record") from None


def may_be_record_start(fragment: bytes) -> bool:
    """Whether an unterminated fragment can be (the start of) a record being written."""
    head = fragment[: len(RECORD_START)]
    return RECORD_START.startswith(head)


def canonical(obj: dict[str, Any]) -> bytes:
    """The canonical form of a record object (which must not contain ``hash``)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(obj: dict[str, Any]) -> tuple[bytes, str]:
    """The line (with newline) for ``obj`` (which carries ``prev``) and its hash."""
    if "hash" in obj or "prev" not in obj:
        raise ValueError("a record to seal has `prev` and no `hash`")
    body = canonical(obj)
    digest = hashlib.sha256(body).hexdigest()
    return body[:-1] + _HASH_KEY + digest.encode() + b'"}\n', digest


def split_line(raw: bytes) -> tuple[bytes, bytes] | None:
    """``(canonical form, claimed hash)`` of a line (without newline), or None if not framed."""
    if len(raw) < _TAIL_LEN + 2 or raw[:1] != b"{" or raw[-2:] != b'"}':
        return None
    if raw[-_TAIL_LEN : -_TAIL_LEN + len(_HASH_KEY)] != _HASH_KEY:
        return None
    claimed = raw[-66:-2]
    if not _HEX.issuperset(claimed):
        return None
    return raw[:-_TAIL_LEN] + b"}", claimed


def prev_of(body: bytes) -> bytes | None:
    """The ``prev`` value of a canonical form (fast path: the key occurs once)."""
    if body.count(_PREV_KEY) == 1:
        i = body.find(_PREV_KEY) + len(_PREV_KEY)
        value = body[i : i + 64]
        return value if body[i + 64 : i + 65] == b'"' else None
    try:
        obj = loads(body)
    except ValueError:
        return None
    prev = obj.get("prev") if isinstance(obj, dict) else None
    return prev.encode() if isinstance(prev, str) else None


class Problem(BaseModel):
    """The first line that breaks the ledger."""

    line: int = Field(description="1-based line number in the ledger file.")
    kind: str = Field(
        description="not-a-record, edited, chain-broken, partial-line or invalid-record."
    )
    message: str


class Quarantine(BaseModel):
    """Bytes of a half-written line that an append moved to ``<ledger>.partial``."""

    at: str
    offset: int
    length: int
    after_hash: str


class VerifyReport(BaseModel):
    """The result of walking the chain."""

    path: str
    ok: bool
    records: int = Field(description="Records whose hash and link checked out.")
    head: str | None = Field(description="Hash of the last good record (anchor it elsewhere).")
    problem: Problem | None = None
    quarantined: list[Quarantine] = Field(default_factory=list)
    anchor: str | None = Field(default=None, description="The hash asked to be in the chain.")
    anchor_found: bool | None = None
    exists: bool = True


def walk(lines: Iterable[bytes], path: str) -> VerifyReport:
    """Check every line's hash and link; stop at the first bad line.

    ``lines`` are the file's complete lines without their newline (an unterminated last
    fragment is the caller's to report: see ``Ledger.verify``).
    """
    expected = GENESIS.encode()
    count = 0
    hashes: dict[bytes, int] = {}
    last_raw = b""
    for number, raw in enumerate(lines, start=1):
        framed = split_line(raw)
        if framed is None:
            return _bad(
                path, count, expected, number, kind="not-a-record", message=_not_record(raw)
            )
        body, claimed = framed
        if hashlib.sha256(body).hexdigest().encode() != claimed:
            return _bad(
                path,
                count,
                expected,
                number,
                kind="edited",
                message="the record does not match its hash: it was edited after it was written",
            )
        prev = prev_of(body)
        if prev != expected:
            return _bad(
                path,
                count,
                expected,
                number,
                kind="chain-broken",
                message=_link(prev, hashes, number),
            )
        hashes[claimed] = number
        expected = claimed
        count += 1
        last_raw = raw
    if last_raw:
        problem = _check_last(last_raw)
        if problem:
            return _bad(path, count - 1, None, count, kind="invalid-record", message=problem)
    head = expected.decode() if count else None
    return VerifyReport(path=path, ok=True, records=count, head=head)


def _bad(
    path: str, count: int, head: bytes | None, line: int, *, kind: str, message: str
) -> VerifyReport:
    return VerifyReport(
        path=path,
        ok=False,
        records=count,
        head=head.decode() if head and count else None,
        problem=Problem(line=line, kind=kind, message=message),
    )


def _not_record(raw: bytes) -> str:
    try:
        loads(raw)
    except ValueError:
        return "not valid JSON: the line was edited or damaged"
    return "valid JSON but not a sealed ledger record (no trailing hash)"


def _link(prev: bytes | None, hashes: dict[bytes, int], number: int) -> str:
    if prev is None:
        return "the record has no readable `prev`"
    if prev == GENESIS.encode():
        return f"it claims to be the first record, but {number - 1} line(s) come before it"
    if prev in hashes:
        gap = number - 1 - hashes[prev]
        return (
            f"it follows line {hashes[prev]}, so the {gap} record(s) after that line were "
            "inserted, moved or rewritten"
        )
    return "the record before it is missing: a record was removed, or lines were reordered"


def _check_last(raw: bytes) -> str | None:
    """The tail has no successor to vouch for it: check it is a readable record."""
    from pydantic import ValidationError

    from keycliq_ops.ledger.records import StoredRecord

    try:
        StoredRecord.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        return f"the last record is not a valid record: {where}: {first['msg']}"
    return None
