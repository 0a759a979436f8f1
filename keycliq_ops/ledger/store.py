"""The ledger file: locked appends, tail reads, lookups and the verify walk.

Appends hold ``<ledger>.lock`` (filelock) while they read the tail, seal the record onto the
last good one and write it in one ``write`` + ``fsync``; their cost does not depend on the
file's size. Readers take no lock: the file only grows, and bytes after the last newline are
never read as a record.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from keycliq_ops.base.errors import UsageError
from keycliq_ops.ledger import fileio, ids
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
    LedgerBusy,
    LedgerError,
    Outcome,
    Record,
    StoredRecord,
)
from keycliq_ops.ledger.scrub import Scrubber

MAX_LINE = 1024 * 1024  # a record larger than this is refused
_TAIL_LIMIT = 16 * MAX_LINE


class Ledger:
    """An append-only, hash-chained JSON Lines file of release actions.

    ``secrets``: values that must never be written (e.g. the app's secret config vars);
    secret-named variables of the environment are registered too. ``lock_timeout``: seconds
    to wait for another appender before :class:`LedgerBusy`.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        secrets: Iterable[str | None] = (),
        lock_timeout: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.partial_path = self.path.with_name(self.path.name + ".partial")
        self.lock_timeout = lock_timeout
        self.scrubber = Scrubber(secrets)

    def add_secrets(self, *values: str | None) -> None:
        """Register more secret values to mask (config vars read after construction)."""
        self.scrubber.add(*values)

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
        """Seal ``record`` onto the chain and write it; returns it as stored."""
        from filelock import FileLock, Timeout

        content = self.scrubber(record.model_dump(mode="json", exclude_none=True))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.lock_path), timeout=self.lock_timeout, poll_interval=0.005)
        try:
            lock.acquire()
        except Timeout:
            raise LedgerBusy(
                f"another process has held {self.lock_path} for {self.lock_timeout:.0f} s",
                hint="another keycliq is writing the ledger; if none is, report this",
            ) from None
        try:
            return self._append_locked(content)
        finally:
            lock.release()

    def _append_locked(self, content: dict[str, Any]) -> StoredRecord:
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            size = os.fstat(fd).st_size
            tail = self._tail(fd, size)
            if tail.has_fragment:
                self._quarantine(fd, tail)
            prev, last_id = self._last_link(tail)
            now = datetime.now(UTC)
            content.update(
                schema=SCHEMA_VERSION,
                id=ids.next_id(now, last_id),
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
            _write_all(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.path.parent)
        return StoredRecord.model_validate({**content, "hash": digest})

    def _tail(self, fd: int, size: int) -> fileio.Tail:
        try:
            return fileio.read_tail(fd, size, limit=_TAIL_LIMIT)
        except ValueError:
            raise LedgerError(
                f"{self.path} does not end in a ledger record (no line break in its last "
                f"{_TAIL_LIMIT} bytes)",
                hint="check the path; `keycliq ledger verify` names the bad line",
            ) from None

    def _last_link(self, tail: fileio.Tail) -> tuple[str, str | None]:
        if tail.last_line is None:
            return GENESIS, None
        framed = split_line(tail.last_line)
        try:
            last = json.loads(tail.last_line) if framed else None
        except ValueError:
            last = None
        if framed is None or not isinstance(last, dict) or not isinstance(last.get("id"), str):
            raise LedgerError(
                f"{self.path}: the last record (at byte {tail.last_offset}) is damaged; "
                "nothing was written",
                hint="run `keycliq ledger verify`; set KEYCLIQ_LEDGER to a new file to keep "
                "recording meanwhile",
            )
        return framed[1].decode(), last["id"]

    def _quarantine(self, fd: int, tail: fileio.Tail) -> None:
        """Move an unterminated fragment (a crash mid-write) aside, then cut it off."""
        fragment = os.pread(fd, tail.size - tail.fragment_offset, tail.fragment_offset)
        framed = split_line(tail.last_line) if tail.last_line is not None else None
        after = framed[1].decode() if framed else (GENESIS if tail.last_line is None else "?")
        note = {
            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "offset": tail.fragment_offset,
            "length": len(fragment),
            "after_hash": after,
            "bytes_b64": base64.b64encode(fragment).decode(),
        }
        with self.partial_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(note, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.ftruncate(fd, tail.fragment_offset)

    # -- reading -------------------------------------------------------------------------

    def _end(self) -> int:
        """Size up to the last newline: the part made of complete lines."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return 0
        try:
            size = os.fstat(fd).st_size
            return self._tail(fd, size).fragment_offset
        finally:
            os.close(fd)

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
        """Every complete record, in file order (or newest first)."""
        end = self._end()
        if end == 0:
            return
        with self.path.open("rb") as fh:
            if reverse:
                for offset, raw in fileio.iter_reverse(fh, end):
                    yield self._parse(raw, f" (byte {offset})")
            else:
                for number, (_, raw) in enumerate(fileio.iter_forward(fh, 0, end), start=1):
                    yield self._parse(raw, f":{number}")

    def lines(self) -> Iterator[bytes]:
        """The complete lines as stored (bytes, without newline), first first."""
        end = self._end()
        if end == 0:
            return
        with self.path.open("rb") as fh:
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
        end = self._end()
        if end == 0:
            return []
        with self.path.open("rb") as fh:
            found = ids.lookup(fh, prefix, end, exact=exact)
        return [(offset, self._parse(raw, f" (byte {offset})")) for offset, raw in found]

    def completion_of(self, start: StoredRecord) -> StoredRecord | None:
        """The record that completes ``start`` (searched after it)."""
        needle = f'"ref":"{start.id}"'.encode()
        end = self._end()
        with self.path.open("rb") as fh:
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
        end = self._end()
        if end == 0 or n <= 0:
            return []
        stop_before = None
        if filters.since is not None:
            stop_before = filters.since.replace(microsecond=0) - timedelta(seconds=1)
        completions: dict[str, bytes] = {}
        runs: list[Run] = []
        with self.path.open("rb") as fh:
            for offset, raw in fileio.iter_reverse(fh, end):
                try:
                    data = json.loads(raw)
                except ValueError:
                    raise LedgerError(
                        f"{self.path} (byte {offset}): not a JSON record",
                        hint="run `keycliq ledger verify`",
                    ) from None
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
        if not self.path.exists():
            return VerifyReport(path=path, ok=True, records=0, head=None, exists=False)
        with self.path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            end = self._end_stable(fh.fileno(), size)
            lines = (raw for _, raw in fileio.iter_forward(fh, 0, end))
            report = walk(lines, path)
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
        """Like ``_end``, but a fragment is re-checked under the lock (a write in flight)."""
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
            lines = fileio.iter_forward(fh, 0, self._end())
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
