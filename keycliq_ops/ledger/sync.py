"""One ledger for the team: the local file kept in step with a branch of a git remote.

The branch (``keycliq-ledger`` on the team's remote) holds one file, ``ledger.jsonl``;
each commit on it is the whole ledger, and each commit's file extends its parent's (the
branch only ever fast-forwards). A sync, holding the local ledger's lock:

1. fetches the branch into a private ref (``refs/keycliq-ledger/fetched/<remote>/<branch>``);
   ``refs/keycliq-ledger/seen/<remote>/<branch>`` remembers the last state of the remote
   this copy accepted (what it knows was published);
2. checks the remote: its chain verifies, and it extends what was seen before (else the
   remote's history was rewritten: :class:`LedgerDiverged`, nothing is changed);
3. compares it with the local chain line by line: records the local copy lacks are taken
   in; local records the remote lacks that were never published are re-chained on top of
   the remote's (ids and content kept, ``prev``/``hash`` recomputed); a published record
   that differs from the local one is a divergence (:class:`LedgerDiverged`, both heads
   named, nothing overwritten on either side);
4. writes the new local file (temporary file, ``fsync``, rename: a Ctrl-C leaves the old
   file or the new one, never half of one), then pushes a commit of it (fast-forward only,
   never forced); a rejected push (someone else appended) starts again from 1, a bounded
   number of times.

An unreachable remote is not an error here: the result says the records are not shared
yet, and the next sync (``keycliq ledger sync``, or any command that records) publishes
them. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from keycliq_ops.adapters import git
from keycliq_ops.base.errors import EXIT_GATE, ExternalError, GitError
from keycliq_ops.ledger import chain, checked, ids
from keycliq_ops.ledger.records import LedgerBroken, LedgerError

if TYPE_CHECKING:
    from keycliq_ops.config import LoadedConfig
    from keycliq_ops.ledger.store import Ledger

FILE = "ledger.jsonl"  # the one file on the ledger branch
ATTEMPTS = 8  # pushes tried when others keep appending


@dataclass(frozen=True)
class LedgerRemote:
    """Where the team's ledger is shared: ``branch`` of git remote ``name``, reached from
    the repository at ``repo`` with the user's own git setup."""

    repo: Path
    name: str
    branch: str = "keycliq-ledger"
    timeout: float = 30.0
    attempts: int = ATTEMPTS

    @property
    def label(self) -> str:
        return f"{self.name}/{self.branch}"

    @property
    def seen_ref(self) -> str:
        return f"refs/keycliq-ledger/seen/{self.name}/{self.branch}"

    @property
    def fetch_ref(self) -> str:
        return f"refs/keycliq-ledger/fetched/{self.name}/{self.branch}"


def team_remote(loaded: LoadedConfig) -> LedgerRemote | None:
    """:func:`remote_for` the checkout keycliq.yaml sits in (None outside a checkout)."""
    from keycliq_ops.adapters.git import repo_root
    from keycliq_ops.base.errors import GitError

    try:
        root = repo_root(loaded.root)
    except GitError:
        return None
    return remote_for(loaded, root)


def remote_for(loaded: LoadedConfig, repo: Path | None) -> LedgerRemote | None:
    """The remote keycliq.yaml shares the ledger through (``ledger.remote``, default
    ``shared_remote``), from the checkout ``repo``; None when the ledger stays local:
    ``ledger.remote: none``, no checkout, ``KEYCLIQ_LEDGER`` naming another file, or no
    ``ledger.remote`` set and the checkout has no remote of the default name. A remote set
    explicitly but missing is kept: every sync then says the ledger is not shared."""
    settings = loaded.config.ledger
    name = settings.effective_remote(loaded.config.shared_remote)
    if name is None or repo is None or os.environ.get("KEYCLIQ_LEDGER"):
        return None
    if settings.remote is None and not git.remote_exists(repo, name):
        return None  # the default remote is not there: a checkout no one shares yet
    return LedgerRemote(repo=repo, name=name, branch=settings.branch, timeout=settings.timeout)


class LedgerDiverged(LedgerError):
    """The remote's ledger and the local one disagree about a published record (or the
    remote's history was rewritten): nothing was overwritten on either side (exit 1)."""

    exit_code = EXIT_GATE


class SyncResult(BaseModel):
    """What a sync did."""

    remote: str = Field(description="`<remote>/<branch>`.")
    shared: bool = Field(description="Whether every local record is on the remote now.")
    reason: str | None = Field(default=None, description="Why not, when not.")
    reached: bool = Field(default=False, description="Whether the remote was read.")
    taken_in: list[str] = Field(default_factory=list, description="Ids taken from the remote.")
    published: list[str] = Field(default_factory=list, description="Ids pushed by this sync.")
    rechained: list[str] = Field(
        default_factory=list, description="Ids re-chained onto the remote's records."
    )
    unpublished: list[str] = Field(
        default_factory=list, description="Ids only in the local copy (not shared yet)."
    )
    attempts: int = 0
    records: int = Field(default=0, description="Records in the local ledger afterwards.")
    head: str | None = Field(default=None, description="Local chain head afterwards.")
    remote_commit: str | None = Field(default=None, description="The branch's commit.")

    def decided_locally(self) -> str | None:
        """What a gate adds when it could not read the remote (None when it could)."""
        if self.reached:
            return None
        return f"decided from the local copy of the ledger ({self.reason})"

    def note(self) -> str:
        """One line for the user."""
        if self.shared:
            moved = []
            if self.taken_in:
                moved.append(f"{len(self.taken_in)} taken in")
            if self.published:
                moved.append(f"{len(self.published)} published")
            if self.rechained:
                moved.append(f"{len(self.rechained)} re-chained")
            done = f" ({', '.join(moved)})" if moved else ""
            return f"ledger shared with {self.remote}: {self.records} records{done}"
        count = len(self.unpublished)
        what = f"{count} record{'' if count == 1 else 's'}" if count else "the ledger"
        return (
            f"ledger not shared yet: {self.reason}; {what} only on this machine, "
            "`keycliq ledger sync` publishes later"
        )


class RemoteCheck(BaseModel):
    """``ledger verify``'s comparison of the local chain with the remote branch."""

    remote: str
    reachable: bool
    reason: str | None = None
    remote_records: int = 0
    remote_head: str | None = None
    missing_locally: list[str] = Field(
        default_factory=list,
        description="Ids of records this copy held as published that its file now lacks.",
    )
    not_taken_in: list[str] = Field(
        default_factory=list,
        description="Ids of the team's records this copy has not taken in yet (the next "
        "sync does; not a problem).",
    )
    differs: list[str] = Field(
        default_factory=list, description="Ids whose local and published records differ."
    )
    rewritten: list[str] = Field(
        default_factory=list,
        description="Ids once seen on the remote that its history no longer holds as seen.",
    )
    unpublished: list[str] = Field(
        default_factory=list, description="Local records not on the remote yet."
    )

    @property
    def ok(self) -> bool:
        return not (self.missing_locally or self.differs or self.rewritten)


# ------------------------------------------------------------------------- the lines


def split_lines(data: bytes) -> list[bytes]:
    """The complete lines of ``data`` (without newlines; a final fragment is dropped)."""
    end = data.rfind(b"\n") + 1
    return data[:end].split(b"\n")[:-1] if end else []


def _remote_lines(remote: LedgerRemote, commit: str | None) -> list[bytes]:
    if commit is None:
        return []
    data = git.read_blob(remote.repo, commit, FILE)
    if data is None:
        raise LedgerBroken(
            f"{remote.label} (commit {commit[:12]}) has no {FILE}: not a keycliq ledger branch",
            hint=f"set ledger.branch in keycliq.yaml to a branch keycliq owns, not {remote.branch}",
        )
    if data and not data.endswith(b"\n"):
        raise LedgerBroken(
            f"the ledger on {remote.label} (commit {commit[:12]}) ends in a partial line",
            hint="someone pushed a damaged file; ask them, then push a repaired one",
        )
    return split_lines(data)


def _check_remote(remote: LedgerRemote, commit: str | None, lines: list[bytes]) -> None:
    report = chain.walk(iter(lines), f"{remote.label}:{FILE}")
    if not report.ok and report.problem is not None:
        p = report.problem
        raise LedgerBroken(
            f"the ledger on {remote.label} (commit {(commit or '')[:12]}) does not verify: "
            f"{FILE}:{p.line}: {p.kind}: {p.message}; nothing was taken from it",
            hint="run `keycliq ledger verify`; the local ledger was left as it is",
        )


def _common(a: list[bytes], b: list[bytes]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _id(raw: bytes) -> str:
    return ids.id_of(raw) or "?"


def _head(lines: list[bytes]) -> str | None:
    framed = chain.split_line(lines[-1]) if lines else None
    return framed[1].decode() if framed else None


def rechain(lines: list[bytes], prev: str) -> list[bytes]:
    """``lines`` sealed onto ``prev``: every field but ``prev`` and ``hash`` unchanged."""
    out: list[bytes] = []
    for raw in lines:
        framed = chain.split_line(raw)
        if framed is None:
            raise LedgerBroken(f"cannot re-chain a line that is not a record: {raw[:60]!r}")
        obj = chain.loads(framed[0])
        obj["prev"] = prev
        line, prev = chain.seal(obj)
        out.append(line[:-1])
    return out


def _rewritten(known: list[bytes], now: list[bytes]) -> list[str]:
    """Ids of records once seen on the remote that it no longer holds as they were."""
    if now[: len(known)] == known:
        return []
    present = set(now)
    gone = [_id(raw) for raw in known if raw not in present]
    return gone or [_id(known[_common(known, now)])]


def _diverged(remote: LedgerRemote, what: str, local: list[bytes], other: list[bytes]) -> Exception:
    return LedgerDiverged(
        f"the ledger diverged from {remote.label}: {what}; local head "
        f"{_id(local[-1]) if local else '-'} ({(_head(local) or '-')[:12]}), remote head "
        f"{_id(other[-1]) if other else '-'} ({(_head(other) or '-')[:12]}); nothing was "
        "overwritten on either side",
        hint="compare them (`keycliq ledger verify` names the records); keep the right copy "
        "and move the other aside (the local file, or the branch by its owner)",
    )


# -------------------------------------------------------------------------- the sync


def sync(
    ledger: Ledger,
    remote: LedgerRemote,
    *,
    publish: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncResult:
    """Bring the local ledger and the remote branch into step (see the module's doc).

    Raises :class:`LedgerDiverged` (exit 1) on a real divergence, ``LedgerBroken`` when
    either chain does not verify; an unreachable remote is a result (``shared`` False).
    """
    result = SyncResult(remote=remote.label, shared=False)
    if not git.remote_exists(remote.repo, remote.name):
        return _not_shared(ledger, result, f"no git remote {remote.name!r} in {remote.repo}")
    deadline = time.monotonic() + 3 * remote.timeout  # the lock is held: never for long
    with ledger.locked():
        for attempt in range(1, remote.attempts + 1):
            if attempt > 1 and time.monotonic() > deadline:
                break
            result.attempts = attempt
            try:
                if _round(ledger, remote, result, publish=publish):
                    return result
            except git.RemoteUnreachable as exc:
                return _not_shared(ledger, result, f"{remote.name} unreachable ({exc.message})")
            sleep(random.uniform(0.05, 0.25) * attempt)  # noqa: S311 (a back-off, not a secret)
    return _not_shared(
        ledger,
        result,
        f"{remote.label} kept moving: {result.attempts} pushes were rejected",
    )


def _not_shared(ledger: Ledger, result: SyncResult, reason: str) -> SyncResult:
    lines = split_lines(_read_verified(ledger)) if ledger.path.exists() else []
    result.shared, result.reason = False, reason
    result.records, result.head = len(lines), _head(lines)
    result.unpublished = [_id(x) for x in lines[len(lines) - _unpublished(ledger, lines) :]]
    return result


def _unpublished(ledger: Ledger, lines: list[bytes]) -> int:
    """How many local records (at the end) are not in what this copy last saw published."""
    remote = ledger.remote
    if remote is None:
        return len(lines)
    try:
        seen = git.resolve_ref(remote.repo, remote.seen_ref)
        known = _remote_lines(remote, seen)
    except (GitError, LedgerError):
        return len(lines)
    return len(lines) - _common(lines, known)


def _round(ledger: Ledger, remote: LedgerRemote, result: SyncResult, *, publish: bool) -> bool:
    """One fetch, merge and push; True when done, False when the push was rejected."""
    seen = git.resolve_ref(remote.repo, remote.seen_ref)
    fetched = git.fetch_branch(
        remote.repo, remote.name, remote.branch, remote.fetch_ref, timeout=remote.timeout
    )
    result.reached = True
    theirs = _remote_lines(remote, fetched)
    known = _remote_lines(remote, seen) if seen else []
    local = split_lines(_read_verified(ledger))
    gone = _rewritten(known, theirs)
    if gone:
        raise _diverged(
            remote,
            f"its history was rewritten (records {', '.join(gone[:5])} were published and "
            "are no longer there as they were)",
            local,
            theirs,
        )
    _check_remote(remote, fetched, theirs)
    k = _common(local, theirs)
    mine: list[bytes] = []
    if k < len(local) and k < len(theirs):
        if k < len(known):
            raise _diverged(
                remote,
                f"published record {_id(theirs[k])} differs from the local record {_id(local[k])} "
                f"at line {k + 1}",
                local,
                theirs,
            )
        mine = rechain(local[k:], _head(theirs) or chain.GENESIS)
        result.taken_in += [_id(x) for x in theirs[k:] if _id(x) not in result.taken_in]
        result.rechained += [_id(x) for x in local[k:] if _id(x) not in result.rechained]
    elif k == len(local):
        result.taken_in += [_id(x) for x in theirs[k:] if _id(x) not in result.taken_in]
    else:  # the remote is a prefix of the local chain
        mine = local[k:]
    merged = theirs + mine
    if merged != local:
        _write(ledger, merged)
    if fetched is not None:
        git.set_ref(remote.repo, remote.seen_ref, fetched)
    result.records, result.head = len(merged), _head(merged)
    result.remote_commit = fetched
    if not mine:
        result.shared, result.unpublished = True, []
        return True
    if not publish:
        result.unpublished = [_id(x) for x in mine]
        result.reason = "not published (a read-only sync)"
        return True
    message = _message(mine)
    commit = git.commit_file(remote.repo, FILE, _joined(merged), fetched, message)
    try:
        git.push_branch(remote.repo, remote.name, commit, remote.branch, timeout=remote.timeout)
    except git.PushRejected:
        return False
    git.set_ref(remote.repo, remote.seen_ref, commit)
    result.published += [_id(x) for x in mine if _id(x) not in result.published]
    result.shared, result.unpublished, result.remote_commit = True, [], commit
    return True


def _message(mine: list[bytes]) -> str:
    first, last = _id(mine[0]), _id(mine[-1])
    span = first if first == last else f"{first} .. {last}"
    return f"keycliq ledger: {len(mine)} record{'' if len(mine) == 1 else 's'} ({span})\n"


def _joined(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def _read_verified(ledger: Ledger) -> bytes:
    """The local file's complete lines, proved an intact chain (LedgerBroken if not)."""
    return ledger.verified_bytes()


def _write(ledger: Ledger, lines: list[bytes]) -> None:
    """Replace the local file by ``lines`` (temp file, fsync, rename) and record the proof."""
    data = _joined(lines)
    path = ledger.path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.sync")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    st = os.stat(path)
    checked.save(
        ledger.verified_path,
        checked.Verified(checked.Stamp.of(st), len(data), len(lines), _head(lines)),
    )


# ---------------------------------------------------------------------- the comparison


def compare(ledger: Ledger, remote: LedgerRemote) -> RemoteCheck:
    """The local chain against the remote branch (fetched; nothing local is changed)."""
    check = RemoteCheck(remote=remote.label, reachable=False)
    if not git.remote_exists(remote.repo, remote.name):
        check.reason = f"no git remote {remote.name!r} in {remote.repo}"
        return check
    seen = git.resolve_ref(remote.repo, remote.seen_ref)
    try:
        fetched = git.fetch_branch(
            remote.repo, remote.name, remote.branch, remote.fetch_ref, timeout=remote.timeout
        )
    except git.RemoteUnreachable as exc:
        check.reason = exc.message
        fetched = None
        theirs: list[bytes] = []
    else:
        check.reachable = True
        theirs = _remote_lines(remote, fetched)
    known = _remote_lines(remote, seen) if seen else []
    local = split_lines(ledger.raw_bytes())
    check.remote_records, check.remote_head = len(theirs), _head(theirs)
    if check.reachable:
        check.rewritten = _rewritten(known, theirs)
    local_by_id = {_id(x): x for x in local}
    seen_ids = {_id(x) for x in known}
    published: dict[str, bytes] = {}
    for raw in [*theirs, *known]:  # the remote as it is now, then what it was
        published.setdefault(_id(raw), raw)
    for rid, raw in published.items():
        mine = local_by_id.get(rid)
        if mine is None:
            (check.missing_locally if rid in seen_ids else check.not_taken_in).append(rid)
        elif mine != raw:
            check.differs.append(rid)
    if check.reachable:
        on_remote = {_id(x) for x in theirs}
        check.unpublished = [_id(x) for x in local if _id(x) not in on_remote]
    return check


def not_shared_error(result: SyncResult) -> ExternalError:
    """An error for a command whose whole job was to share (``ledger sync``)."""
    return ExternalError(result.note(), hint="check the network and the remote, then run again")
