"""Verifying the automated items: ``command``, ``http``, ``dataclip`` and ``dyno``.

Each returns a :class:`CheckOutcome`; a failure of the thing checked is a failed outcome
(with the reason), never an exception, so that the run records it and goes on. The outside
is reached through the adapters: :mod:`keycliq_ops.adapters.shell` runs the commands,
:mod:`keycliq_ops.adapters.web` sends the GETs; a ``dyno`` item's command reaches Heroku
through the injected :class:`DynoRunner` (the checklists layer does not run dynos itself).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from keycliq_ops.base.errors import (
    CommandError,
    DatabaseError,
    KeycliqError,
    QueryError,
    WebError,
)
from keycliq_ops.base.redact import Redactor, redact_url
from keycliq_ops.checklists.results import CheckSummary

if TYPE_CHECKING:
    from keycliq_ops.adapters.web import Transport
    from keycliq_ops.checklists.jsonexpect import JsonExpectation

OUTPUT_TAIL_LINES = 40
OUTPUT_TAIL_CHARS = 4000


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    summary: str
    reason: str | None = None
    output: str | None = None
    checks: list[CheckSummary] | None = None
    skipped: bool = False  # not checked at all (e.g. no dyno runner): recorded as skipped


@dataclass(frozen=True)
class DataclipOutcome:
    """What a :class:`DataclipRunner` returns (the shape of the Dataclips engine's run)."""

    verdict: str  # pass | warn | fail | error
    ok: bool
    checks: list[CheckSummary] = field(default_factory=list)


@dataclass(frozen=True)
class DynoOutput:
    """What a :class:`DynoRunner` returns: the exit status and every output line (stdout
    and stderr merged, as ``heroku run`` shows them). ``secrets``: values the runner knows
    to be secret (the app's config vars) so the output shown masks them."""

    status: int
    lines: list[str]
    dyno: str | None = None
    secrets: tuple[str, ...] = ()


class DynoRunner(Protocol):
    """Runs ``command`` in an attached one-off dyno of the environment's app and waits for
    it (``timeout`` seconds at most). Raises KeycliqError when the dyno cannot be started
    or its exit status is not known (output lost, timed out)."""

    @property
    def app(self) -> str: ...

    def __call__(self, command: str, *, timeout: float) -> DynoOutput: ...


class DataclipRunner(Protocol):
    """Runs Dataclips ``ids`` on ``database_url`` with ``params``."""

    def __call__(
        self, ids: Sequence[str], database_url: str, params: Mapping[str, str]
    ) -> DataclipOutcome: ...


def tail(text: str) -> str:
    lines = text.rstrip("\n").splitlines()[-OUTPUT_TAIL_LINES:]
    out = "\n".join(lines)
    return out[-OUTPUT_TAIL_CHARS:]


def run_command(argv: list[str], cwd: Path, timeout: float, redactor: Redactor) -> CheckOutcome:
    """Run ``argv`` (no shell) in ``cwd``; passes on exit 0; output tail kept, redacted."""
    from keycliq_ops.adapters import shell

    shown = redactor(" ".join(argv))
    try:
        proc = shell.run(argv, cwd=cwd, timeout=timeout, keep_lines=OUTPUT_TAIL_LINES)
    except CommandError as exc:
        if exc.reason == "not-found":
            return CheckOutcome(
                False, f"{shown}: not found", reason=f"command not found: {argv[0]}"
            )
        if exc.reason == "not-executable":
            return CheckOutcome(False, f"{shown}: not executable", reason=f"cannot run {argv[0]}")
        return CheckOutcome(False, f"{shown}: not run", reason=redactor(exc.message))
    if proc.timed_out:
        return CheckOutcome(
            False,
            f"{shown}: stopped after {timeout:g}s",
            reason=f"timed out after {timeout:g}s",
            output=redactor(tail(proc.output)) or None,
        )
    output = redactor(tail(proc.output)) or None
    if proc.returncode == 0:
        return CheckOutcome(True, f"{shown}: exit 0", output=output)
    return CheckOutcome(
        False,
        f"{shown}: exit {proc.returncode}",
        reason=f"exited with status {proc.returncode}",
        output=output,
    )


def run_http(
    url: str,
    *,
    expect_status: int,
    expect_text: str | None,
    timeout: float,
    follow_redirects: bool,
    transport: Transport | None = None,
) -> CheckOutcome:
    """GET ``url`` once; passes when the status (and text, when given) are as expected."""
    from keycliq_ops.adapters import web

    shown = redact_url(url)
    try:
        response = web.get(
            url, timeout=timeout, follow_redirects=follow_redirects, transport=transport
        )
    except WebError as exc:
        return CheckOutcome(False, f"GET {shown}: {exc.kind}", reason=f"{exc.kind}: {exc.detail}")
    got = response.status
    summary = f"GET {shown} → {got} (expected {expect_status})"
    if got != expect_status:
        return CheckOutcome(False, summary, reason=f"status {got}, expected {expect_status}")
    if expect_text is not None:
        if expect_text not in response.text:
            return CheckOutcome(
                False,
                f"{summary}; text {expect_text!r} missing",
                reason=f"the page does not contain {expect_text!r}",
            )
        summary += f"; text {expect_text!r} found"
    return CheckOutcome(True, summary)


def run_dataclip_item(
    ids: Sequence[str],
    params: Mapping[str, str],
    runner: DataclipRunner,
    database_url: Callable[[], str],
    *,
    fail_on_warn: bool,
    redactor: Redactor,
) -> CheckOutcome:
    """Run the Dataclips; the item passes on the engine's ``ok`` (and no warn if asked).

    An outside failure is not a verdict on the item: a database that cannot be reached (or
    is lost mid-run) raises :class:`~keycliq_ops.base.errors.DatabaseError` (exit 3) and
    ends the run. The
    database adapter tries an unreachable database once per run, so this is one bounded
    wait, not one per item."""
    names = ", ".join(ids)
    try:
        url = database_url()
    except KeycliqError as exc:
        return CheckOutcome(
            False, f"Dataclips {names}: not run", reason=f"no database URL: {redactor(exc.message)}"
        )
    redactor.add(url)
    try:
        outcome = runner(ids, url, params)
    except DatabaseError as exc:
        if isinstance(exc, QueryError):
            return CheckOutcome(False, f"Dataclips {names}: not run", reason=redactor(exc.message))
        raise DatabaseError(
            redactor(f"Dataclips {names}: {exc.message}"),
            hint=redactor(exc.hint) if exc.hint else None,
        ) from None
    except KeycliqError as exc:
        return CheckOutcome(False, f"Dataclips {names}: not run", reason=redactor(exc.message))
    checks = [
        c.model_copy(update={"error": redactor(c.error) if c.error else None})
        for c in outcome.checks
    ]
    summary = " · ".join(f"{c.id} {c.verdict}" for c in checks) or f"Dataclips {names}"
    passed = outcome.ok and not (fail_on_warn and outcome.verdict == "warn")
    reason = None
    if not passed:
        from keycliq_ops.dataclips.verdicts import failing_ids

        bad = failing_ids(checks)
        if not bad and fail_on_warn:
            bad = [c.id for c in checks if c.verdict == "warn"]
        reason = f"verdict {outcome.verdict}" + (f" ({', '.join(bad)})" if bad else "")
    return CheckOutcome(passed, summary, reason=reason, checks=checks)


def _expectations_text(expect_exit: int, texts: Sequence[str], n_json: int) -> str:
    parts = [f"exit {expect_exit}"]
    if texts:
        parts.append(f"{len(texts)} text(s)")
    if n_json:
        parts.append(f"{n_json} JSON path(s)")
    return ", ".join(parts)


def run_dyno_item(
    command: str,
    runner: DynoRunner | None,
    *,
    timeout: float,
    expect_exit: int,
    expect_text: Sequence[str],
    expect_json: Mapping[str, JsonExpectation],
    redactor: Redactor,
) -> CheckOutcome:
    """Run ``command`` in a one-off dyno; pass on the expected exit status, every expected
    text in the output and every JSON expectation met by the output's last JSON document.

    Without a runner (no app to run it on) the outcome is ``skipped`` (never passed); a
    failed outcome says why and keeps the output's tail, masked."""
    from keycliq_ops.checklists.jsonexpect import check_json, last_json_document

    shown = redactor(command)
    if len(shown) > 80:
        shown = shown[:77] + "…"
    if runner is None:
        return CheckOutcome(
            False,
            f"dyno `{shown}`: not run",
            reason="no app to run a one-off dyno on (run it for an environment: --env ENV)",
            skipped=True,
        )
    where = f"dyno on {runner.app}"
    try:
        got = runner(command, timeout=timeout)
    except KeycliqError as exc:
        return CheckOutcome(
            False, f"{where}: `{shown}` not run to the end", reason=redactor(exc.message)
        )
    redactor.add(*got.secrets)
    text = "\n".join(got.lines)
    output = redactor(tail(text)) or None
    problems: list[str] = []
    if got.status != expect_exit:
        problems.append(f"exited with status {got.status}, expected {expect_exit}")
    for wanted in expect_text:
        if wanted not in text:
            problems.append(f"the output does not contain {wanted!r}")
    checked = 0
    if expect_json:
        doc, found = last_json_document(text)
        if not found:
            problems.append(
                "the output holds no JSON document (an object or array on its own line)"
            )
        else:
            checked, json_problems = check_json(doc, expect_json)
            problems += json_problems
    expected = _expectations_text(expect_exit, expect_text, len(expect_json))
    dyno = f" ({got.dyno})" if got.dyno else ""
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return CheckOutcome(
            False,
            f"{where}{dyno}: `{shown}` → exit {got.status}; {len(problems)} problem(s)",
            reason=redactor("; ".join(problems[:3]) + more),
            output=output,
        )
    detail = f"exit {got.status}"
    if expect_text:
        detail += f", {len(expect_text)} text(s) found"
    if expect_json:
        detail += f", {len(expect_json)} JSON path(s) met ({checked} value(s))"
    # A passing output is not kept: it may hold personal data (key names, descriptions).
    return CheckOutcome(True, f"{where}{dyno}: `{shown}` → {detail} (expected {expected})")
