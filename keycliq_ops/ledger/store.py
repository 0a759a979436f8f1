"""The ledger file: locked appends, tail reads, lookups and the verify walk.

Appends hold ``<ledger>.lock`` (filelock) while they read the tail, seal the record onto the
last good one and write it in one ``write`` + ``fsync``; their cost does not depend on the
file's size. Readers take no lock: the file only grows, and bytes after the last newline are
never read as a record.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from keycliq_ops.base.errors import UsageError
from keycliq_ops.ledger import chain, checked, fileio, ids
from keycliq_ops.ledger.chain import (
    GENESIS,
    Problem,
    Quarantine,
    VerifyReport,
    seal,
    split_line,
    walk,
)
from keycliq_ops.ledger.query import Filters, Run, derive_status
from keycliq_ops.ledger.records import (
    SCHEMA_VERSION,
    LedgerBroken,
    LedgerBusy,
    LedgerError,
    LedgerIOError,
    NotALedger,
    Outcome,
    Record,
    StoredRecord,
)
from keycliq_ops.ledger.scrub import Scrubber

if TYPE_CHECKING:
    from keycliq_ops.ledger.sync import LedgerRemote, SyncResult

MAX_LINE = 1024 * 1024  # a record larger than this is refused
_TAIL_LIMIT = 16 * MAX_LINE
_EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)  # `--since` before this: everything


class Ledger:
    """An append-only, hash-chained JSON Lines file of release actions.

    ``secrets``: values that must never be written (e.g. the app's secret config vars);
    secret-named variables of the environment are registered too. ``lock_timeout``: seconds
    to wait for another appender before :class:`LedgerBusy`. ``remote``: the git remote
    branch the team shares the ledger through (see :mod:`keycliq_ops.ledger.sync`): the
    first read syncs with it, every append publishes to it; :attr:`last_sync` says how the
    last sync went (an unreachable remote never fails a read or an append).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        secrets: Iterable[str | None] = (),
        lock_timeout: float = 30.0,
        remote: LedgerRemote | None = None,
    ) -> None:
        self.remote = remote
        self.last_sync: SyncResult | None = None
        self._pulled = False
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.partial_path = self.path.with_name(self.path.name + ".partial")
        self.verified_path = self.path.with_name(self.path.name + ".verified")
        self.lock_timeout = lock_timeout
        self.scrubber = Scrubber(secrets)

    def add_secrets(self, *values: str | None) -> None:
        """Register more secret values to mask (config vars read after construction)."""
        self.scrubber.add(*values)

    # -- sharing ---------------------------------------------------------------------------

    def share(self, remote: LedgerRemote | None) -> None:
        """Share this ledger through ``remote`` from now on (None: local only)."""
        if remote != self.remote:
            self.remote, self._pulled = remote, False

    def sync(self, *, publish: bool = True) -> SyncResult | None:
        """Sync with the remote now (None when the ledger is local only); raises on a
        divergence or a remote chain that does not verify."""
        from keycliq_ops.ledger.sync import sync

        if self.remote is None:
            return None
        self._pulled = True
        self.last_sync = sync(self, self.remote, publish=publish)
        return self.last_sync

    def _pull_once(self) -> None:
        """Before the first decision from this ledger: take in what the team recorded."""
        if self.remote is not None and not self._pulled:
            self.sync()

    def _publish(self) -> None:
        """After an append: push it. Never fails the append (the record is written)."""
        from keycliq_ops.base.errors import KeycliqError
        from keycliq_ops.ledger.sync import SyncResult, sync

        if self.remote is None:
            return
        self._pulled = True
        try:
            self.last_sync = sync(self, self.remote)
        except KeycliqError as exc:
            self.last_sync = SyncResult(remote=self.remote.label, shared=False, reason=exc.message)
        except OSError as exc:
            reason = f"cannot rewrite {self.path}: {_reason(exc)}"
            self.last_sync = SyncResult(remote=self.remote.label, shared=False, reason=reason)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the append lock (what a sync rewrites under)."""
        from filelock import FileLock, Timeout

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._io_error(exc, "create the ledger's folder", self.path.parent) from None
        lock = FileLock(str(self.lock_path), timeout=self.lock_timeout, poll_interval=0.005)
        try:
            lock.acquire()
        except Timeout:
            raise LedgerBusy(
                f"another process has held {self.lock_path} for {self.lock_timeout:.0f} s",
                hint="another keycliq is writing the ledger; if none is, report this",
            ) from None
        except OSError as exc:
            raise self._io_error(exc, "create the ledger's lock file", self.lock_path) from None
        try:
            yield
        finally:
            lock.release()

    def verified_bytes(self) -> bytes:
        """The file's complete lines, proved an intact chain (b"" when there is no file).

        Call it holding :meth:`locked`: a half-written last line is moved aside first."""
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return b""
        except OSError as exc:
            raise self._io_error(exc, "read") from None
        try:
            verified, tail = self._verified(fd)
            if tail.has_fragment:
                self._quarantine(fd, tail)
            return os.pread(fd, verified.end, 0)
        finally:
            os.close(fd)

    def raw_bytes(self) -> bytes:
        """The file's complete lines as stored, verified or not (b"" when there is none)."""
        return b"".join(line + b"\n" for line in self.lines())

    # -- writing -------------------------------------------------------------------------

    def begin(self, action: str, environment: str | None, **fields: Any) -> StoredRecord:
        """Record that ``action`` started (outcome ``running``); complete it later."""
        record = Record.model_validate(
            {"action": action, "environment": environment, "outcome": "running", **fields}
        )
        return self.append(record)

    def complete(
        self,
        started: StoredRecord | str,
        outcome: Outcome,
        exit_code: int,
        **fields: Any,
    ) -> StoredRecord:
        """Record how the action of ``started`` (a record or its id) ended."""
        if outcome == "running":
            raise ValueError("a completion's outcome is succeeded, failed or aborted")
        start = started if isinstance(started, StoredRecord) else self.find(started)
        if start is None:
            raise LedgerError(f"no record {started!r} in {self.path} to complete")
        inherited = start.model_dump(
            include={"action", "environment", "app", "actor", "commit", "branch"},
        )
        data: dict[str, Any] = {**inherited, **fields}
        data.update(ref=start.id, outcome=outcome, exit_code=exit_code)
        if "duration_ms" not in fields:
            elapsed = datetime.now(UTC) - start.ts
            data["duration_ms"] = max(0, int(elapsed.total_seconds() * 1000))
        return self.append(Record.model_validate(data))

    def append(self, record: Record) -> StoredRecord:
        """Seal ``record`` onto the chain and write it; returns it as stored.

        Refuses, writing nothing, when the chain does not verify (:class:`LedgerBroken`),
        the file is not a ledger (:class:`NotALedger`), or the system refuses the write
        (:class:`LedgerIOError`); the message then says what the record was about.
        """
        try:
            stored = self._append(record)
        except LedgerError as exc:
            exc.message = f"{exc.message}; {_consequence(record)}"
            exc.args = (exc.message,)
            raise
        self._publish()
        return stored

    def _append(self, record: Record) -> StoredRecord:
        content = self.scrubber(record.model_dump(mode="json", exclude_none=True))
        with self.locked():
            return self._append_locked(content)

    def _append_locked(self, content: dict[str, Any]) -> StoredRecord:
        if self.path.is_symlink() and not self.path.exists():
            raise NotALedger(
                f"{self.path} is a symlink to {os.readlink(self.path)}, which does not exist; "
                "no ledger was created there",
                hint="point paths.ledger or KEYCLIQ_LEDGER at the ledger file itself",
            )
        created = not self.path.exists()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise self._io_error(exc, "write to") from None
        try:
            verified, tail = self._verified(fd)
            if tail.has_fragment:
                self._quarantine(fd, tail)
            prev = verified.head or GENESIS
            last_id = ids.id_of(tail.last_line) if tail.last_line is not None else None
            now = datetime.now(UTC)
            content.update(
                schema=SCHEMA_VERSION,
                id=ids.next_id(now, last_id or None),
                ts=now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                prev=prev,
            )
            line, digest = seal(content)
            if len(line) > MAX_LINE:
                raise LedgerError(
                    f"a {content['action']} record of {len(line)} bytes is larger than "
                    f"{MAX_LINE} bytes; not written",
                    hint="keep step output and checklist notes short",
                )
            try:
                _write_all(fd, line)
                os.fsync(fd)
            except OSError as exc:
                # A short write (disk full) must not leave half a line behind.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, tail.fragment_offset)
                raise self._io_error(exc, "write to") from None
            after = os.fstat(fd)
            checked.save(
                self.verified_path,
                checked.Verified(
                    checked.Stamp.of(after), after.st_size, verified.records + 1, digest
                ),
            )
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.path.parent)
        return StoredRecord.model_validate({**content, "hash": digest})

    def _io_error(self, exc: OSError, doing: str, where: Path | None = None) -> LedgerError:
        where = where or self.path
        if isinstance(exc, IsADirectoryError) and where == self.path:
            return NotALedger(
                f"{self.path} is a folder, not a ledger file",
                hint="point paths.ledger or KEYCLIQ_LEDGER at a file",
            )
        return LedgerIOError(
            f"cannot {doing} {where}: {_reason(exc)}",
            hint=_IO_HINTS.get(exc.errno or 0, "check the location's permissions and space"),
        )

    def _tail(self, fd: int, size: int) -> fileio.Tail:
        try:
            return fileio.read_tail(fd, size, limit=_TAIL_LIMIT)
        except ValueError:
            raise NotALedger(
                f"{self.path} is not a keycliq ledger (no line break in its last "
                f"{_TAIL_LIMIT} bytes); it was left untouched",
                hint="check paths.ledger / KEYCLIQ_LEDGER (and where a symlink points)",
            ) from None

    def _verified(self, fd: int) -> tuple[checked.Verified, fileio.Tail]:
        """Prove the complete lines are an intact chain (from the cache when the file has
        not changed since it was last proved, else by a full walk); raise if they are not."""
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotALedger(
                f"{self._named()} is not a regular file, so not a ledger; it was left untouched",
                hint="point paths.ledger or KEYCLIQ_LEDGER at the ledger file",
            )
        tail = self._tail(fd, st.st_size)
        if tail.last_line is None and tail.has_fragment:
            fragment = os.pread(fd, len(chain.RECORD_START), 0)
            if not (chain.may_be_record_start(fragment) or not fragment.strip(b"\0")):
                raise self._not_a_ledger("it holds no ledger record")
        stamp = checked.Stamp.of(st)
        cached = checked.load(self.verified_path)
        if (
            cached is not None
            and cached.stamp == stamp
            and cached.end == tail.fragment_offset
            and _head_of(tail, rehash=True) == cached.head
        ):
            return cached, tail
        with open(fd, "rb", closefd=False) as fh:
            lines = (raw for _, raw in fileio.iter_forward(fh, 0, tail.fragment_offset))
            report = walk(lines, str(self.path))
        if not report.ok:
            raise self._broken(report)
        proved = checked.Verified(stamp, tail.fragment_offset, report.records, report.head)
        checked.save(self.verified_path, proved)
        return proved, tail

    def _named(self) -> str:
        if self.path.is_symlink():
            return f"{self.path} (a symlink to {self.path.resolve()})"
        return str(self.path)

    def _not_a_ledger(self, why: str) -> NotALedger:
        return NotALedger(
            f"{self._named()} is not a keycliq ledger: {why}; it was left untouched",
            hint="check paths.ledger / KEYCLIQ_LEDGER (and where a symlink points)",
        )

    def _broken(self, report: VerifyReport) -> LedgerError:
        problem = report.problem
        assert problem is not None
        if problem.line == 1 and problem.kind == "not-a-record":
            return self._not_a_ledger("its first line is not a ledger record")
        return LedgerBroken(
            f"the ledger does not verify: {self.path}:{problem.line}: {problem.kind}: "
            f"{problem.message}",
            hint="run `keycliq ledger verify`; nothing is decided from or added to a broken "
            "chain (point KEYCLIQ_LEDGER at a new file to keep recording meanwhile)",
        )

    def _quarantine(self, fd: int, tail: fileio.Tail) -> None:
        """Move an unterminated fragment (a crash mid-write) aside, then cut it off."""
        fragment = os.pread(fd, tail.size - tail.fragment_offset, tail.fragment_offset)
        after = _head_of(tail) or GENESIS
        note = {
            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "offset": tail.fragment_offset,
            "length": len(fragment),
            "after_hash": after,
            "bytes_b64": base64.b64encode(fragment).decode(),
        }
        try:
            with self.partial_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(note, sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise self._io_error(exc, "write to", self.partial_path) from None
        try:
            os.ftruncate(fd, tail.fragment_offset)
        except OSError as exc:
            raise self._io_error(exc, "cut the half-written last line off") from None

    # -- reading -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[tuple[BinaryIO, int] | None]:
        """The open file and the end of its verified complete lines (None: no file yet).

        Every read the library offers goes through here, so nothing is read from a chain
        that does not verify (:class:`LedgerBroken`) or from a file that is not a ledger;
        the first one syncs with the shared remote, when there is one.
        """
        self._pull_once()
        try:
            fh = self.path.open("rb")
        except FileNotFoundError:
            yield None
            return
        except OSError as exc:
            raise self._io_error(exc, "read") from None
        with fh:
            verified, _ = self._verified(fh.fileno())
            yield fh, verified.end

    def _parse(self, raw: bytes, where: str) -> StoredRecord:
        from pydantic import ValidationError

        try:
            return StoredRecord.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "record"
            raise LedgerError(
                f"{self.path}{where}: not a valid record: {field}: {first['msg']}",
                hint="run `keycliq ledger verify`",
            ) from None

    def iter(self, reverse: bool = False) -> Iterator[StoredRecord]:
        """Every complete record, in file order (or newest first), from a verified chain."""
        with self._reading() as opened:
            if opened is None:
                return
            fh, end = opened
            if reverse:
                for offset, raw in fileio.iter_reverse(fh, end):
                    yield self._parse(raw, f" (byte {offset})")
            else:
                for number, (_, raw) in enumerate(fileio.iter_forward(fh, 0, end), start=1):
                    yield self._parse(raw, f":{number}")

    def lines(self) -> Iterator[bytes]:
        """The complete lines as stored (bytes, without newline), first first.

        Not verified: this is what ``export --all`` copies, broken or not, beside
        ``verify``'s result."""
        try:
            fh = self.path.open("rb")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._io_error(exc, "read") from None
        with fh:
            end = self._tail(fh.fileno(), os.fstat(fh.fileno()).st_size).fragment_offset
            for _, raw in fileio.iter_forward(fh, 0, end):
                yield raw

    def find(self, record_id: str) -> StoredRecord | None:
        """The record with exactly this id."""
        found = self._matching(record_id, exact=True)
        return found[0][1] if found else None

    def resolve(self, prefix: str) -> StoredRecord:
        """The one record whose id starts with ``prefix`` (UsageError if none or several)."""
        prefix = prefix.strip()
        if not prefix:
            raise UsageError("an empty record id")
        found = self._matching(prefix, exact=False)
        if not found:
            raise UsageError(
                f"no record {prefix!r} in {self.path}", hint="`keycliq ledger list` shows ids"
            )
        if len(found) > 1:
            names = ", ".join(r.id for _, r in found[:5])
            more = "…" if len(found) >= ids.MAX_MATCHES else ""
            raise UsageError(
                f"{prefix!r} matches {len(found)}{'+' if more else ''} records ({names}{more})",
                hint="give more characters of the id",
            )
        return found[0][1]

    def _matching(self, prefix: str, *, exact: bool) -> list[tuple[int, StoredRecord]]:
        with self._reading() as opened:
            if opened is None:
                return []
            fh, end = opened
            found = ids.lookup(fh, prefix, end, exact=exact)
        return [(offset, self._parse(raw, f" (byte {offset})")) for offset, raw in found]

    def completion_of(self, start: StoredRecord) -> StoredRecord | None:
        """The record that completes ``start`` (searched after it)."""
        needle = f'"ref":"{start.id}"'.encode()
        with self._reading() as opened:
            if opened is None:
                return None
            fh, end = opened
            located = ids.lookup(fh, start.id, end, exact=True)
            begin = located[0][0] if located else 0
            for offset, raw in fileio.iter_forward(fh, begin, end):
                if needle in raw:
                    record = self._parse(raw, f" (byte {offset})")
                    if record.ref == start.id:
                        return record
        return None

    def run(self, prefix: str) -> Run:
        """The action a record id (start or completion, or a unique prefix) belongs to."""
        record = self.resolve(prefix)
        if record.ref is not None:
            start = self.find(record.ref)
            if start is None:
                raise LedgerError(
                    f"record {record.id} completes {record.ref}, which is not in the ledger",
                    hint="run `keycliq ledger verify`",
                )
            return Run(start=start, end=record, status=record.outcome)
        end = self.completion_of(record) if record.outcome == "running" else None
        return Run(start=record, end=end, status=derive_status(record, end))

    def latest(self, n: int = 20, filters: Filters | None = None) -> list[Run]:
        """The newest ``n`` actions (newest first) that pass ``filters``."""
        filters = (filters or Filters()).check()
        if n <= 0:
            return []
        stop_before = None
        if filters.since is not None and filters.since > _EARLIEST:
            stop_before = filters.since.replace(microsecond=0) - timedelta(seconds=1)
        completions: dict[str, bytes] = {}
        runs: list[Run] = []
        with self._reading() as opened:
            if opened is None:
                return []
            fh, end = opened
            for offset, raw in fileio.iter_reverse(fh, end):
                try:
                    data = chain.loads(raw)
                except ValueError as exc:
                    raise LedgerError(
                        f"{self.path} (byte {offset}): not a JSON record ({exc})",
                        hint="run `keycliq ledger verify`",
                    ) from None
                if not isinstance(data, dict):
                    raise LedgerError(
                        f"{self.path} (byte {offset}): not a JSON record",
                        hint="run `keycliq ledger verify`",
                    )
                ref = data.get("ref")
                if ref is not None:
                    completions[ref] = raw
                    continue
                when = ids.id_time(str(data.get("id", "")))
                if stop_before is not None and when is not None and when < stop_before:
                    break
                if not filters.start_matches(data):
                    continue
                start = self._parse(raw, f" (byte {offset})")
                done = completions.pop(start.id, None)
                end_rec = self._parse(done, "") if done is not None else None
                if filters.since is not None and start.ts < filters.since:
                    continue
                status = derive_status(start, end_rec)
                if filters.status is not None and status != filters.status:
                    continue
                runs.append(Run(start=start, end=end_rec, status=status))
                if len(runs) >= n:
                    break
        return runs

    # -- verifying -----------------------------------------------------------------------

    def verify(self, anchor: str | None = None) -> VerifyReport:
        """Walk the whole chain; name the first bad line; report quarantined fragments."""
        path = str(self.path)
        try:
            fh = self.path.open("rb")
        except FileNotFoundError:
            return VerifyReport(path=path, ok=True, records=0, head=None, exists=False)
        except OSError as exc:
            raise self._io_error(exc, "read") from None
        with fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise NotALedger(
                    f"{self._named()} is not a regular file, so not a ledger",
                    hint="point paths.ledger or KEYCLIQ_LEDGER at the ledger file",
                )
            size = st.st_size
            end = self._end_stable(fh.fileno(), size)
            lines = (raw for _, raw in fileio.iter_forward(fh, 0, end))
            report = walk(lines, path)
            if report.ok and end == self._tail(fh.fileno(), size).fragment_offset:
                checked.save(
                    self.verified_path,
                    checked.Verified(checked.Stamp.of(st), end, report.records, report.head),
                )
        if report.ok and end < size:
            report = report.model_copy(
                update={
                    "ok": False,
                    "problem": _partial_problem(report.records + 1, size - end),
                }
            )
        quarantined = self._quarantined()
        update: dict[str, Any] = {"quarantined": quarantined}
        if anchor is not None:
            update.update(anchor=anchor, anchor_found=self._has_hash(anchor, report))
            if not update["anchor_found"]:
                update["ok"] = False
        return report.model_copy(update=update)

    def _end_stable(self, fd: int, size: int) -> int:
        """The end of the complete lines; a fragment is re-checked under the lock (in flight)."""
        end = self._tail(fd, size).fragment_offset
        if end == size:
            return end
        from filelock import FileLock, Timeout

        try:
            with FileLock(str(self.lock_path), timeout=self.lock_timeout, poll_interval=0.005):
                size = os.fstat(fd).st_size
                return self._tail(fd, size).fragment_offset
        except (Timeout, OSError):
            return end

    def _quarantined(self) -> list[Quarantine]:
        if not self.partial_path.exists():
            return []
        notes: list[Quarantine] = []
        for line in self.partial_path.read_text(encoding="utf-8").splitlines():
            try:
                notes.append(Quarantine.model_validate_json(line))
            except ValueError:
                continue
        return notes

    def _has_hash(self, anchor: str, report: VerifyReport) -> bool:
        needle = f',"hash":"{anchor.strip().lower()}"}}'.encode()
        if len(anchor.strip()) != 64:
            return False
        with self.path.open("rb") as fh:
            end = self._tail(fh.fileno(), os.fstat(fh.fileno()).st_size).fragment_offset
            lines = fileio.iter_forward(fh, 0, end)
            for good, (_, raw) in enumerate(lines, start=1):
                if good > report.records:
                    return False
                if raw.endswith(needle):
                    return True
        return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _partial_problem(line: int, length: int) -> Problem:
    return Problem(
        line=line,
        kind="partial-line",
        message=f"the last line is incomplete ({length} bytes, no line end): a crash while "
        "writing, or the file was cut; the next append moves it to the .partial file",
    )


def _head_of(tail: fileio.Tail, *, rehash: bool = False) -> str | None:
    """The hash the last complete line claims (None when there is none or it is unframed;
    with ``rehash``, also when its bytes no longer match that hash)."""
    framed = split_line(tail.last_line) if tail.last_line is not None else None
    if framed is None:
        return None
    body, claimed = framed
    if rehash and hashlib.sha256(body).hexdigest().encode() != claimed:
        return None
    return claimed.decode()


_IO_REASONS = {
    errno.ENOSPC: "no space left on the device (disk full)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EFBIG: "the file is too large for this system's limits",
    errno.EIO: "an input/output error (a failing disk?)",
}
_IO_HINTS = {
    errno.ENOSPC: "free some space there, or point KEYCLIQ_LEDGER at a file on another disk",
    errno.EDQUOT: "free some space there, or point KEYCLIQ_LEDGER at a file on another disk",
    errno.EROFS: "run from a writable checkout, or point KEYCLIQ_LEDGER at a writable file",
    errno.EACCES: "make the location writable, or point KEYCLIQ_LEDGER at a writable file",
    errno.EPERM: "make the location writable, or point KEYCLIQ_LEDGER at a writable file",
}


def _reason(exc: OSError) -> str:
    return _IO_REASONS.get(exc.errno or 0) or exc.strerror or type(exc).__name__


def _consequence(record: Record) -> str:
    """What the refusal leaves behind, said from the record that was not written."""
    what = f"{record.action} of {record.environment}" if record.environment else record.action
    if record.ref is None and record.outcome == "running":
        return f"nothing was recorded, and the {what} did not start"
    if record.ref is None:
        return f"the {what} ({record.outcome}) is not recorded"
    where = record.app or record.environment or ""
    release = f" ({where} v{record.release_version})" if record.release_version else ""
    done = "had already succeeded" if record.outcome == "succeeded" else f"had {record.outcome}"
    return (
        f"the {what} {done}{release} but its completion is not recorded "
        f"(start record {record.ref} stays open)"
    )
