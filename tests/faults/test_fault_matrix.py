"""The fault matrix: issue 14's catalogue of faults and hostile inputs as ONE table.

Each :class:`Row` is one fault (planted through the stand-in's fault API, or a hostile file
or argument) met by one keycliq command, and states the behaviour keycliq must show:

- ``exit``: the command's exit code (0 ok, 1 gate failed, 2 usage/config, 3 outside system);
- ``step``: the status of one named step in the record the command wrote, when it matters;
- ``ledger``: the outcome of the last record the command wrote (``succeeded``, ``failed``,
  ``aborted``), or ``none`` when it must write nothing;
- ``final``: what the stand-in runs afterwards: each app's current release ``unchanged``,
  or the commit it must run (``head``, ``baseline`` or a commit the row made, e.g. ``Y``),
  and how many new releases the app may have (never a second promotion).

A row's ``arrange`` brings the world to the row's starting point (deploys, commits, the
fault) and returns the command to run; ``after`` (optional) adds the row's own checks.
Every difference is collected and reported in one message that names the row. The counts
of rows tried and survived are printed at the end of the session (tests/faults/summary.py).
See docs/faults.md for how to add a row.
"""

from __future__ import annotations

import json
import re
import resource
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
import pytest

from keycliq_ops.ledger.chain import canonical
from tests.world import World

STAGING = "keycliq-staging"
PRODUCTION = "keycliq-production"
SCAN_USER = "ckfaultmatrix0000000001"
DEPLOY_UNCHECKED = ("deploy", "staging", "--yes", "--skip", "checklist", "--reason", "fault row")
DEPLOY_CLEAN = ("deploy", "staging", "--yes", "--answers", "keycliq-answers.yaml")
PROMOTE_CLEAN = ("promote", "--yes", "--confirm", PRODUCTION, "--answers", "keycliq-answers.yaml")
PROMOTE_UNCHECKED = (
    *("promote", "--confirm", PRODUCTION, "--skip", "checklist", "--reason", "fault row"),
    *("--param", f"userId={SCAN_USER}", "--override", "fault row"),
)

Cli = Callable[..., Any]
Outcome = Literal["succeeded", "failed", "aborted", "none"]


class SetupFailed(Exception):
    """The row could not reach its starting point (not the row's verdict)."""


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Final:
    """The stand-in after the command. ``unchanged``: the app's current release is the one
    it had when the command started; ``any``: not asserted; else a commit name (``head``,
    ``baseline`` or one of the row's own commits) the app's current release must carry.
    ``*_new``: how many releases the command may add to the app (None: not asserted)."""

    staging: str = "unchanged"
    production: str = "unchanged"
    staging_new: int | None = None
    production_new: int | None = None


@dataclass
class Plan:
    """What ``arrange`` hands back: the command, the row's named commits, extra checks."""

    args: tuple[str, ...]
    commits: dict[str, str] = field(default_factory=dict)
    after: Callable[[], list[str]] | None = None


@dataclass(frozen=True)
class Row:
    id: str
    fault: str  # the fault or hostile input, as the issue names it
    arrange: Callable[[World, Cli], Plan]
    exit: int
    ledger: Outcome
    final: Final = Final()
    step: tuple[str, str] | None = None  # (step name, its status in the last record)
    says: tuple[str, ...] = ()  # the output must contain these (after {commit} names)
    never_says: tuple[str, ...] = ()
    record: dict[str, str] = field(default_factory=dict)  # last record's field -> commit


# ----------------------------------------------------------------------------- helpers


def git(world: World, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=world.repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit_file(world: World, path: str, text: str | bytes, message: str) -> str:
    target = world.repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        target.write_bytes(text)
    else:
        target.write_text(text)
    git(world, "add", path)
    git(world, "commit", "-q", "-m", message)
    return git(world, "rev-parse", "HEAD")


def must(result: Any, code: int, what: str) -> None:
    if result.code != code:
        tail = result.output[-1500:]
        raise SetupFailed(f"{what} exited {result.code}, not {code}: …{tail}")


def add_scan_user(world: World) -> None:
    """The account check C looks up in production."""
    with psycopg.connect(world.database_url(PRODUCTION)) as conn:
        conn.execute(
            'INSERT INTO "User" (id, email, password, "updatedAt") VALUES (%s, %s, %s, now())',
            (SCAN_USER, f"{SCAN_USER}@keycliq.test", "x"),
        )


def staging_deployed(world: World, cli: Cli) -> None:
    """Head on staging (checklist skipped) and the scan user in production."""
    add_scan_user(world)
    must(cli(*DEPLOY_UNCHECKED), 0, "setup: deploy staging")


def push_by_hand(world: World, commit: str) -> None:
    """``git push heroku-staging`` outside keycliq: the ledger never hears of it."""
    subprocess.run(
        ["git", "push", "-q", "--force", "heroku-staging", f"{commit}:main"],
        cwd=world.repo,
        check=True,
        capture_output=True,
    )
    release = world.sandbox.engine.app(STAGING).releases[-1]
    release.done.wait(120)


def set_tests(world: World, command: str, timeout: int) -> None:
    config = world.repo / "keycliq.yaml"
    text, n = re.subn(
        r"(?m)^tests:\n  command: .*\n  timeout: \d+$",
        f"tests:\n  command: {json.dumps(command)}\n  timeout: {timeout}",
        config.read_text(),
    )
    if n != 1:
        raise SetupFailed("setup: keycliq.yaml has no `tests:` block to change")
    commit_file(world, "keycliq.yaml", text, f"tests: {command}")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------- arrange functions


def deploy_with(plant: Callable[[World], object]) -> Callable[[World, Cli], Plan]:
    def arrange(world: World, cli: Cli) -> Plan:
        plant(world)
        return Plan(DEPLOY_UNCHECKED)

    return arrange


def after_failed_release(*args: str) -> Callable[[World, Cli], Plan]:
    """The release phase of a deploy failed (nothing is wrong with the code any more):
    the row's command is the recovery, ``--resume`` or the same deploy again."""

    def arrange(world: World, cli: Cli) -> Plan:
        world.sandbox.faults.fail_release(STAGING)
        must(cli(*DEPLOY_UNCHECKED), 1, "setup: deploy whose release phase fails")
        return Plan(args)

    return arrange


def after_rollback_by_hand(world: World, cli: Cli) -> Plan:
    """Head deployed, then staging rolled back outside keycliq: its git still has head."""
    must(cli(*DEPLOY_UNCHECKED), 0, "setup: deploy head")
    engine = world.sandbox.engine
    app = engine.app(STAGING)
    earlier = [r for r in app.releases if r.status == "succeeded"][-2]
    engine.rollback(app, earlier.id).done.wait(120)
    return Plan(DEPLOY_UNCHECKED)


def promote_with(plant: Callable[[World], object]) -> Callable[[World, Cli], Plan]:
    def arrange(world: World, cli: Cli) -> Plan:
        staging_deployed(world, cli)
        plant(world)
        return Plan(PROMOTE_UNCHECKED)

    return arrange


def http(path: str, status: int, count: int | None) -> Callable[[World], object]:
    return lambda w: w.sandbox.faults.http_error(path, status, count=count)


def flaky(path: str) -> Callable[[World], object]:
    """One 503 and one 429 on ``path``: two failed answers, within the retries."""

    def plant(world: World) -> None:
        world.sandbox.faults.http_error(path, 503, count=1)
        world.sandbox.faults.http_error(path, 429, count=1)

    return plant


def hung_tests(command: str) -> Callable[[World, Cli], Plan]:
    def arrange(world: World, cli: Cli) -> Plan:
        set_tests(world, command, 3)
        return Plan(DEPLOY_UNCHECKED)

    return arrange


def failing_test(world: World, cli: Cli) -> Plan:
    commit_file(
        world,
        "test/test_broken.py",
        "import unittest\n\nclass T(unittest.TestCase):\n"
        "    def test_x(self):\n        self.assertEqual(1, 2)\n",
        "A failing test",
    )
    return Plan(DEPLOY_UNCHECKED)


def promotion_race(world: World, cli: Cli) -> Plan:
    """X passes staging; the promotion's POST is slow; staging moves to Y meanwhile."""
    must(cli(*DEPLOY_CLEAN), 0, "setup: deploy X (passes)")
    y = commit_file(world, "docs/race.md", "Y: never deployed through keycliq\n", "Y")
    book = world.sandbox.faults
    book.slow("/pipeline-promotions", 6.0, count=1)
    failures: list[str] = []

    def move_staging() -> None:  # once the POST is held, ship Y behind keycliq's back
        try:
            for _ in range(1200):
                if not any(f.kind == "slow" for f in book.pending()):
                    break
                time.sleep(0.05)
            else:
                failures.append("the promotion's POST never reached the stand-in")
                return
            push_by_hand(world, y)
        except Exception as exc:  # reported as the row's difference
            failures.append(f"pushing Y by hand failed: {exc}")

    mover = threading.Thread(target=move_staging, daemon=True)
    mover.start()

    def joined() -> list[str]:
        mover.join(120)
        return failures

    return Plan(PROMOTE_CLEAN, commits={"Y": y}, after=joined)


def tampered_ledger(how: Literal["edited", "no-hash"]) -> Callable[[World, Cli], Plan]:
    """A failed deploy of Y, its completion record forged into a passing one."""

    def arrange(world: World, cli: Cli) -> Plan:
        must(cli(*DEPLOY_CLEAN), 0, "setup: deploy X (passes)")
        passing = world.last_record()
        y = commit_file(world, "docs/tamper.md", "Y\n", "Y")
        with psycopg.connect(world.database_url(STAGING), autocommit=True) as conn:
            conn.execute(  # an E1 defect: Y's deploy fails its Dataclip gate
                """INSERT INTO key_signatures (id, signature, "updatedAt")
                   VALUES ('faultrow1', '{}', now())"""
            )
        must(cli(*DEPLOY_CLEAN), 1, "setup: deploy Y (fails E1)")
        lines = world.ledger_path.read_bytes().splitlines(keepends=True)
        failed = json.loads(lines[-1])
        if failed.get("outcome") != "failed" or failed.get("commit") != y:
            raise SetupFailed(f"setup: the last record is not Y's failed deploy: {failed}")
        claimed = failed.pop("hash")
        for key in ("outcome", "exit_code", "steps", "dataclips", "checklist"):
            failed[key] = passing.get(key)
        body = canonical(failed)
        if how == "edited":  # in place, the old hash kept
            body = body[:-1] + b',"hash":"' + claimed.encode() + b'"}'
        lines[-1] = body + b"\n"
        world.ledger_path.write_bytes(b"".join(lines))
        return Plan(PROMOTE_CLEAN, commits={"Y": y})

    return arrange


def hostile_config(text: bytes) -> Callable[[World, Cli], Plan]:
    def arrange(world: World, cli: Cli) -> Plan:
        commit_file(world, "keycliq.yaml", text, "a hostile keycliq.yaml")
        return Plan(DEPLOY_UNCHECKED)

    return arrange


def _alias_bomb() -> bytes:
    rows = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return ("version: 1\n" + "\n".join(rows) + "\n").encode()


def with_memory_ceiling(arrange: Callable[[World, Cli], Plan]) -> Callable[[World, Cli], Plan]:
    """Run the command with at most ~1.5 GB more address space than now, so a loader
    without bounds fails the row (MemoryError) instead of taking the machine down."""

    def wrapped(world: World, cli: Cli) -> Plan:
        plan = arrange(world, cli)
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * resource.getpagesize()
        ceiling = size + 1536 * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            ceiling = min(ceiling, hard)
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
        return Plan(plan.args, plan.commits, after=_restore_limit(soft, hard, plan.after))

    return wrapped


def _restore_limit(
    soft: int, hard: int, then: Callable[[], list[str]] | None
) -> Callable[[], list[str]]:
    def restore() -> list[str]:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        return then() if then else []

    return restore


def args_only(*args: str) -> Callable[[World, Cli], Plan]:
    return lambda world, cli: Plan(args)


def dataclip_to_program(world: World, cli: Cli) -> Plan:
    marker = world.repo.parent / "dataclip-ran-a-program"
    commit_file(
        world,
        "dataclips/Z_copy_to_program.sql",
        "-- id: Z\n-- title: Counts\n-- description: looks like a count\n-- severity: low\n"
        "-- tags: counts\n-- returns: one-row\n"
        f"COPY (SELECT 1) TO PROGRAM 'touch {marker}';\n",
        "a hostile Dataclip",
    )

    def nothing_ran() -> list[str]:
        return [f"the Dataclip ran a program: {marker} exists"] if marker.exists() else []

    return Plan(("dataclips", "run", "Z", "-e", "staging"), after=nothing_ran)


def unreachable_database(world: World, cli: Cli) -> Plan:
    url = f"postgresql://keycliq:keycliq@127.0.0.1:{closed_port()}/keycliq"
    return Plan(
        ("checklist", "run", "staging", "--answers", "keycliq-answers.yaml", "--database-url", url)
    )


# --------------------------------------------------------------------------------- rows

ROWS: list[Row] = [
    # -- API answers 503/429: survived within the retries, exit 3 after them ---------------
    *[
        Row(
            f"{cmd}-503-429-{slug}",
            f"503x1 then 429x1 @{path}",
            (deploy_with if cmd == "deploy" else promote_with)(flaky(path)),
            exit=0,
            ledger="succeeded",
            final=Final(staging="head", staging_new=1)
            if cmd == "deploy"
            else Final(production="head", production_new=1),
        )
        for cmd, path, slug in (
            ("deploy", "/account", "account"),
            ("promote", "/account", "account"),
            ("deploy", "/apps/keycliq-staging", "staging-app"),
            ("deploy", "/apps/keycliq-staging/builds", "builds"),
            ("promote", "/apps/keycliq-staging/builds", "builds"),
        )
    ],
    Row(
        "promote-429x2-promotions",
        "429x2@/pipeline-promotions (Heroku answers 429 before acting)",
        promote_with(http("/pipeline-promotions", 429, 2)),
        exit=0,
        ledger="succeeded",
        final=Final(production="head", production_new=1),
    ),
    Row(
        "promote-503x1-promotions",
        "503x1@/pipeline-promotions (the POST refused: Heroku did not act on it)",
        promote_with(http("/pipeline-promotions", 503, 1)),
        # A POST is not repeated blindly (it is not idempotent): an outside failure, exit 3,
        # production untouched; `keycliq promote` again (or --resume) promotes once.
        exit=3,
        ledger="failed",
        final=Final(production_new=0),
    ),
    Row(
        "deploy-503-always-account",
        "503x*@/account",
        deploy_with(http("/account", 503, None)),
        exit=3,
        ledger="failed",
    ),
    Row(
        "deploy-429-always-staging-app",
        "429x*@/apps/keycliq-staging",
        deploy_with(http("/apps/keycliq-staging", 429, None)),
        exit=3,
        ledger="none",  # found by the first call, before anything ran: nothing to record
        says=("gave up after 5 attempts",),
    ),
    Row(
        "deploy-503-always-builds",
        "503x*@/apps/keycliq-staging/builds",
        deploy_with(http("/apps/keycliq-staging/builds", 503, None)),
        exit=3,
        ledger="failed",
        final=Final(staging="any"),  # the push may already have released: not asserted
    ),
    Row(
        "promote-429-always-promotions",
        "429x*@/pipeline-promotions",
        promote_with(http("/pipeline-promotions", 429, None)),
        exit=3,
        ledger="failed",
        final=Final(production_new=0),
    ),
    # -- streams, builds, releases, promotions ----------------------------------------------
    Row(
        "deploy-cut-build-stream",
        "cut=40@build",
        deploy_with(lambda w: w.sandbox.faults.cut_stream("build", after_bytes=40)),
        exit=0,
        ledger="succeeded",
        final=Final(staging="head", staging_new=1),
        never_says=("the build failed",),
    ),
    Row(
        "deploy-cut-release-stream",
        "cut=40@release",
        deploy_with(lambda w: w.sandbox.faults.cut_stream("release", after_bytes=40)),
        exit=0,
        ledger="succeeded",
        final=Final(staging="head", staging_new=1),
    ),
    Row(
        "deploy-build-fails",
        "build-fail@keycliq-staging",
        deploy_with(lambda w: w.sandbox.faults.fail_build(STAGING)),
        exit=1,
        ledger="failed",
        step=("push", "failed"),
        final=Final(staging_new=0),
    ),
    Row(
        "deploy-release-phase-fails",
        "release-fail@keycliq-staging",
        deploy_with(lambda w: w.sandbox.faults.fail_release(STAGING)),
        exit=1,
        ledger="failed",
        step=("release", "failed"),
    ),
    Row(
        "deploy-release-failed-resume",
        "release-fail@keycliq-staging, then --resume",
        after_failed_release(*DEPLOY_UNCHECKED, "--resume"),
        exit=0,
        ledger="succeeded",
        step=("release", "succeeded"),
        final=Final(staging="head", staging_new=1),  # one new release: the retry
    ),
    Row(
        "deploy-release-failed-rerun",
        "release-fail@keycliq-staging, then the same deploy again",
        after_failed_release(*DEPLOY_UNCHECKED),
        exit=0,
        ledger="succeeded",
        step=("release", "succeeded"),
        final=Final(staging="head", staging_new=1),
    ),
    Row(
        "deploy-again-after-rollback",
        "staging rolled back by hand, then head deployed again",
        after_rollback_by_hand,
        exit=0,
        ledger="succeeded",
        step=("release", "succeeded"),
        final=Final(staging="head", staging_new=1),
    ),
    Row(
        "promote-target-fails",
        "promote-fail@keycliq-production",
        promote_with(lambda w: w.sandbox.faults.fail_promotion(PRODUCTION, "slug copy failed")),
        exit=1,
        ledger="failed",
        step=("promote", "failed"),
        final=Final(production_new=0),
    ),
    Row(
        "promote-status-lost",
        "503x*@/pipeline-promotions/* (after the POST)",
        promote_with(http("/pipeline-promotions/*", 503, None)),
        exit=0,
        ledger="succeeded",
        step=("dataclips", "succeeded"),  # production's checks ran
        final=Final(production="head", production_new=1),
        never_says=("run again",),
    ),
    Row(
        "promote-race-staging-moved",
        "slow=6@/pipeline-promotions; the gate passed X, staging moved to Y",
        promotion_race,
        exit=1,
        ledger="failed",
        final=Final(staging="Y", production="Y", production_new=1),
        says=("{Y:8}", "keycliq rollback production --to v"),
        record={"commit": "Y"},  # the truth: production runs Y
    ),
    # -- the test command ---------------------------------------------------------------------
    Row(
        "deploy-tests-hang",
        "tests.command `sleep 45`, timeout 3",
        hung_tests("sleep 45"),
        exit=1,
        ledger="failed",
        step=("tests", "failed"),
        final=Final(staging_new=0),
    ),
    Row(
        "deploy-tests-background-child",
        "tests.command `sleep 45 & echo started`, timeout 3",
        hung_tests("sleep 45 & echo started"),
        exit=1,
        ledger="failed",
        step=("tests", "failed"),
        final=Final(staging_new=0),
    ),
    Row(
        "deploy-tests-fail",
        "a failing unit test",
        failing_test,
        exit=1,
        ledger="failed",
        step=("tests", "failed"),
        final=Final(staging_new=0),
    ),
    # -- a ledger that does not verify ------------------------------------------------------
    Row(
        "promote-ledger-edited",
        "Y's failed deploy edited in place to succeeded",
        tampered_ledger("edited"),
        exit=1,
        ledger="none",  # nothing is appended onto a broken chain
        final=Final(staging="Y", production_new=0),
        says=("ledger.jsonl:",),  # verify's message: the file and line
    ),
    Row(
        "promote-ledger-no-hash",
        "Y's failed deploy rewritten as succeeded, without its hash",
        tampered_ledger("no-hash"),
        exit=1,
        ledger="none",
        final=Final(staging="Y", production_new=0),
        says=("ledger.jsonl:",),
    ),
    # -- hostile input ------------------------------------------------------------------------
    Row(
        "config-nested-50000",
        "keycliq.yaml nested 50,000 deep",
        hostile_config(b"version: 1\nx: " + b"[" * 50_000 + b"1" + b"]" * 50_000 + b"\n"),
        exit=2,
        ledger="none",
        final=Final(staging_new=0),
        says=("keycliq.yaml",),
    ),
    Row(
        "config-nul-byte",
        "keycliq.yaml holding a NUL byte",
        hostile_config(b"version: 1\npipeline: key\0cliq\n"),
        exit=2,
        ledger="none",
        final=Final(staging_new=0),
        says=("keycliq.yaml",),
    ),
    Row(
        "config-alias-bomb",
        "keycliq.yaml with a YAML alias bomb (9 levels of 9)",
        with_memory_ceiling(hostile_config(_alias_bomb())),
        exit=2,
        ledger="none",
        final=Final(staging_new=0),
        says=("keycliq.yaml",),
    ),
    Row(
        "deploy-skip-unknown-step",
        "--skip nosuchstep",
        args_only("deploy", "staging", "--yes", "--skip", "nosuchstep", "--reason", "x"),
        exit=2,
        ledger="none",
        final=Final(staging_new=0),
        says=("nosuchstep",),
    ),
    Row(
        "ledger-list-since-huge",
        "ledger list --since 99999999d",
        args_only("ledger", "list", "--since", "99999999d"),
        exit=2,
        ledger="none",
        says=("--since",),
    ),
    Row(
        "dataclip-copy-to-program",
        "a Dataclip file with COPY (SELECT 1) TO PROGRAM 'touch …'",
        dataclip_to_program,
        exit=2,
        ledger="none",
        says=("Z_copy_to_program.sql",),
    ),
    Row(
        "checklist-database-unreachable",
        "the database refuses connections during the checklist",
        unreachable_database,
        exit=3,
        ledger="failed",  # a checklist run is an action: recorded like every other one
    ),
]


# ------------------------------------------------------------------------------ the run


def _current(world: World, app: str) -> tuple[int, str | None, int]:
    """(current version, its commit, number of releases) of ``app`` on the stand-in."""
    row = world.sandbox.engine.app(app)
    rel = row.current
    assert rel is not None, f"{app} has no current release"
    return rel.version, rel.slug.commit if rel.slug else None, len(row.releases)


def _check_app(
    app: str,
    want: str,
    new: int | None,
    before: tuple[int, str | None, int],
    after: tuple[int, str | None, int],
    commits: dict[str, str],
) -> list[str]:
    problems = []
    (v0, _, n0), (v1, c1, n1) = before, after
    if want == "unchanged" and v1 != v0:
        problems.append(f"{app}: current release v{v1} ({(c1 or '?')[:8]}), expected v{v0}")
    elif want not in ("unchanged", "any") and c1 != commits[want]:
        problems.append(f"{app}: runs {(c1 or '?')[:8]}, expected {want} ({commits[want][:8]})")
    if new is not None and n1 - n0 != new:
        problems.append(f"{app}: {n1 - n0} new release(s), expected {new}")
    return problems


@pytest.mark.e2e
@pytest.mark.db
@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault_matrix(row: Row, world: World, cli: Cli) -> None:
    try:
        plan = row.arrange(world, cli)
    except SetupFailed as exc:
        pytest.fail(f"row {row.id} ({row.fault}): {exc}", pytrace=False)
    commits = {"head": world.prov.sample.head, "baseline": world.prov.sample.baseline}
    commits.update(plan.commits)
    before = {app: _current(world, app) for app in (STAGING, PRODUCTION)}
    records_before = len(world.ledger_records())

    try:
        result = cli(*plan.args)
    finally:
        extra = plan.after() if plan.after else []

    problems = list(extra)
    if result.code != row.exit:
        problems.append(f"exit {result.code}, expected {row.exit}")
    written = world.ledger_records()[records_before:]
    outcome = str(written[-1]["outcome"]) if written else "none"
    if outcome != row.ledger:
        problems.append(f"ledger: last record {outcome}, expected {row.ledger}")
    if row.step is not None:
        name, status = row.step
        steps: Any = written[-1].get("steps", []) if written else []
        found = next((s["status"] for s in steps if s.get("name") == name), None)
        if found != status:
            problems.append(f"step {name}: {found or 'not recorded'}, expected {status}")
    for key, commit in row.record.items():
        got = written[-1].get(key) if written else None
        if got != commits[commit]:
            problems.append(f"record {key}: {got}, expected {commit} ({commits[commit]})")
    final = row.final
    for app, want, new in (
        (STAGING, final.staging, final.staging_new),
        (PRODUCTION, final.production, final.production_new),
    ):
        problems += _check_app(app, want, new, before[app], _current(world, app), commits)
    output = result.output
    for text in row.says:
        wanted = re.sub(r"\{(\w+):(\d+)\}", lambda m: commits[m[1]][: int(m[2])], text)
        if wanted not in output:
            problems.append(f"output does not say {wanted!r}")
    for text in row.never_says:
        if text in output:
            problems.append(f"output says {text!r}")
    if problems:
        tail = output[-1200:].replace("\n", "\n    ")
        pytest.fail(
            f"row {row.id} ({row.fault}; keycliq {' '.join(plan.args[:2])}): "
            + "; ".join(problems)
            + f"\n  output (tail):\n    {tail}",
            pytrace=False,
        )
