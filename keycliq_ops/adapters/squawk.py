"""squawk, the PostgreSQL migration linter (``squawk-cli`` on PyPI), run as a local process.

:func:`lint` writes the SQL files it is given into a private temporary folder (under their
repository paths, so squawk reports those), runs ``squawk --reporter json`` there with a
time limit, and returns squawk's findings as :class:`SquawkFinding` (lines 1-based).
squawk reads no ``.squawk.toml`` of the user's: an empty one is written beside the files.
Every way the run can fail (no binary, a time-out, output that is not squawk's JSON)
raises :class:`~keycliq_ops.base.errors.CommandError` with what happened.

Example::

    found = lint({"prisma/migrations/1_a/migration.sql": 'ALTER TABLE "keys" DROP COLUMN "x";'})
    print(found[0].where(), found[0].rule)   # prisma/migrations/1_a/migration.sql:1 ban-drop-column
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sysconfig
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

from keycliq_ops.base.errors import CommandError

TIMEOUT = 60.0  # seconds: squawk lints thousands of lines in milliseconds
HINT = "squawk comes with keycliq (the `squawk-cli` package): reinstall keycliq (`uv sync`)"


@dataclass(frozen=True)
class SquawkFinding:
    """One finding as squawk reports it (``line``/``column`` 1-based)."""

    path: str
    line: int
    column: int
    rule: str
    level: str  # squawk's own: "error" or "warning"
    message: str
    help: str | None

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def binary() -> str:
    """The squawk executable: the one installed beside this Python, else on PATH."""
    scripts = Path(sysconfig.get_path("scripts"))
    for name in ("squawk", "squawk.exe"):
        if (scripts / name).is_file():
            return str(scripts / name)
    found = shutil.which("squawk")
    if found is None:
        raise CommandError(
            "squawk is not installed (no `squawk` executable)", reason="not-found", hint=HINT
        )
    return found


def _run(argv: Sequence[str], cwd: Path | None, timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv),
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CommandError(f"squawk ran longer than {timeout:g}s", reason="timeout") from None
    except FileNotFoundError:
        raise CommandError("squawk is not installed", reason="not-found", hint=HINT) from None
    except PermissionError:
        raise CommandError(f"cannot run squawk ({argv[0]})", reason="not-executable") from None
    except OSError as exc:
        raise CommandError(f"cannot run squawk: {exc.strerror or exc}", reason="os") from None


@cache
def version() -> str:
    """squawk's version (``2.70.0``), asked once per process."""
    done = _run([binary(), "--version"], None, TIMEOUT)
    words = done.stdout.split()
    if done.returncode != 0 or len(words) < 2:
        raise CommandError(
            f"`squawk --version` exited {done.returncode}: {_last(done.stderr or done.stdout)}",
            reason="failed",
            hint=HINT,
        )
    return words[-1]


def _last(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no output)"


def _safe(path: str) -> PurePosixPath:
    rel = PurePosixPath(path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise CommandError(f"not a repository path: {path!r}", reason="os")
    return rel


def lint(
    files: Mapping[str, str],
    *,
    exclude: Sequence[str] = (),
    pg_version: str | None = None,
    assume_in_transaction: bool = True,
    timeout: float = TIMEOUT,
) -> list[SquawkFinding]:
    """squawk's findings on ``files`` (repository path → SQL), in file and line order.

    ``exclude``: rules not to check; ``pg_version``: the target server's (``16.4``);
    ``assume_in_transaction``: each file runs in one transaction (as Prisma applies one).
    """
    if not files:
        return []
    exe = binary()
    with tempfile.TemporaryDirectory(prefix="keycliq-squawk-") as tmp:
        root = Path(tmp)
        (root / ".squawk.toml").write_text("", encoding="utf-8")  # not the user's config
        names: list[str] = []
        for path, sql in files.items():
            rel = _safe(path)
            target = root.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(sql, encoding="utf-8")
            names.append(rel.as_posix())
        argv = [exe, "--reporter", "json", "--config", str(root / ".squawk.toml")]
        if assume_in_transaction:
            argv.append("--assume-in-transaction")
        if pg_version:
            argv += ["--pg-version", pg_version]
        if exclude:
            argv += ["--exclude", ",".join(exclude)]
        done = _run([*argv, "--", *names], root, timeout)
    if done.returncode not in (0, 1):
        raise CommandError(
            f"squawk exited {done.returncode}: {_last(done.stderr or done.stdout)}",
            reason="failed",
        )
    try:
        raw = json.loads(done.stdout or "[]")
    except ValueError:
        raise CommandError(
            f"squawk's output is not JSON: {_last(done.stderr or done.stdout)}", reason="failed"
        ) from None
    if not isinstance(raw, list):
        raise CommandError("squawk's JSON output is not a list of findings", reason="failed")
    found = [_finding(item) for item in raw if isinstance(item, dict)]
    return sorted(found, key=lambda f: (f.path, f.line, f.column, f.rule))


def _finding(item: Mapping[str, object]) -> SquawkFinding:
    def number(key: str) -> int:
        value = item.get(key)
        return value + 1 if isinstance(value, int) else 1  # squawk counts from 0

    help_ = item.get("help")
    return SquawkFinding(
        path=str(item.get("file") or ""),
        line=number("line"),
        column=number("column"),
        rule=str(item.get("rule_name") or "unknown"),
        level=str(item.get("level") or "warning").lower(),
        message=str(item.get("message") or ""),
        help=str(help_) if help_ else None,
    )
