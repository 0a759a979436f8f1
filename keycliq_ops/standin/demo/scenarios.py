"""What each demo scenario runs and what it expects of each step.

A scenario is a list of steps. A :class:`Command` is a real command a user would type in
the sample repository (``keycliq …`` runs as ``python -m keycliq_ops …`` with the same
interpreter; ``git …`` is git), with the exit code it must end with and text its output
must contain. An :class:`Action` is something the demo does to the world that a person or
the app would do (commit a migration, the app writing a bad row); it says what it did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keycliq_ops.standin.demo.standin import StandIn

STAGING = "keycliq-staging"
PRODUCTION = "keycliq-production"
ANSWERS = "keycliq-answers.yaml"

DEPLOY = ("keycliq", "deploy", "staging", "--yes", "--answers", ANSWERS)
PROMOTE = ("keycliq", "promote", "--yes", "--confirm", PRODUCTION, "--answers", ANSWERS)
STATUS = ("keycliq", "status")
LEDGER_LIST = ("keycliq", "ledger", "list")
LEDGER_VERIFY = ("keycliq", "ledger", "verify")


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    why: str
    expect: int = 0
    shows: tuple[str, ...] = ()  # each must appear in its output
    timeout: float = 120.0


@dataclass(frozen=True)
class WorldChange:
    """The demo changes the world; ``run`` returns the lines that say what it did."""

    why: str
    run: Callable[[StandIn], list[str]]


Step = Command | WorldChange


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str  # one line for --help and the banner
    steps: tuple[Step, ...]
    exit_code: int  # the demo's exit code when every step did what it shows
    outcome: str  # the closing line when it did
    faults: tuple[str, ...] = ()  # planted at start (``keycliq sandbox up --fault`` specs)


class NotAsExpected(Exception):
    """An action found the world not as the scenario expects."""


def _sample_user() -> str:
    from keycliq_ops.standin.sample.seed import sample_user_id

    return sample_user_id()


# ------------------------------------------------------------------ bad-migration
BAD_MIGRATION = "20250310090000_require_key_label"
BAD_MIGRATION_SQL = (
    "-- AlterTable: a required column without a default, on a table that has rows\n"
    'ALTER TABLE "keys" ADD COLUMN "label" TEXT NOT NULL;\n'
)


def write_bad_migration(standin: StandIn) -> list[str]:
    folder = standin.repo / "prisma" / "migrations" / BAD_MIGRATION
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "migration.sql").write_text(BAD_MIGRATION_SQL, encoding="utf-8")
    shown = Path("prisma", "migrations", BAD_MIGRATION, "migration.sql")
    return [f"wrote {shown}:", *("    " + line for line in BAD_MIGRATION_SQL.splitlines())]


# --------------------------------------------------------------- integrity-defect
DEFECT_ID = "demo-unknown-match-type"
# Not a type the app writes (MATCH_FOUND, POSSIBLE_KEYS, NO_MATCH; POSSIBLE_MATCH in demo
# mode, which check G reports as a warning): a mistyped constant in a new code path.
DEFECT_TYPE = "MATCHED"


def plant_unknown_match_type(standin: StandIn) -> list[str]:
    """A code path writes a matchType the app does not know, ``MATCHED`` (check G)."""
    from keycliq_ops.standin import pgclient

    url = standin.database_url(STAGING)
    with pgclient.connect(url, action="planting the demo's defect") as conn:
        row = conn.execute(
            """INSERT INTO key_matchings (id, "userId", "keyQueryId", "matchType",
                                          similarity, confidence, "querySignature", "updatedAt")
                   SELECT %s, q."userId", q.id, %s, 0.71, 0.64, '{"version": 6}', now()
                   FROM key_queries q WHERE q."userId" <> %s
                   ORDER BY q."createdAt" DESC, q.id LIMIT 1
                   RETURNING "keyQueryId\"""",
            (DEFECT_ID, DEFECT_TYPE, _sample_user()),
        ).fetchone()
    if row is None:
        raise NotAsExpected(f"{STAGING}'s database has no scans to attach the bad matching to")
    return [
        f"inserted into {STAGING}'s database: a key_matchings row for scan {row[0]} with "
        f'"matchType" = {DEFECT_TYPE!r} (the app writes MATCH_FOUND, POSSIBLE_KEYS, '
        "NO_MATCH and, in demo mode, POSSIBLE_MATCH; check G guards that)"
    ]


# ---------------------------------------------------------------------- flaky-api
FLAKY_FAULTS = (
    "503x2@/account",
    "429x2@/apps/keycliq-staging",
    "503x2@/apps/keycliq-staging/builds",
    "503x2@/pipeline-promotions/*",
    "cut=120@release",
)


def show_faults(standin: StandIn) -> list[str]:
    return ["the stand-in will answer:", *(f"    {f}" for f in standin.pending_faults())]


def check_faults_fired(standin: StandIn) -> list[str]:
    pending = standin.pending_faults()
    if pending:
        raise NotAsExpected(
            "planted faults never fired, so the run did not show what it claims: "
            + "; ".join(pending)
        )
    return ["every planted fault fired; keycliq retried, resumed the cut stream, and went on"]


def scenarios() -> dict[str, Scenario]:
    user = _sample_user()
    dataclips_ac = ("keycliq", "dataclips", "run", "A", "C", "-e", "staging")
    release = Scenario(
        name="release",
        summary="the whole release: status, deploy to staging, Dataclips, promote, ledger",
        steps=(
            Command(
                STATUS,
                "where each environment stands: both apps run the sample's first commit; "
                "main is one commit (a migration) ahead",
                shows=(STAGING, PRODUCTION, "ahead of staging"),
            ),
            Command(
                DEPLOY,
                "the staging runbook: preflight, tests, git push, build, release phase "
                "(migrations), checklist (answers from the file, each shown), Dataclip gate",
                shows=("Applying migration", "[passed] deployed = yes", "Dataclip gate"),
            ),
            Command(
                (*dataclips_ac, "--param", f"userId={user}"),
                "two Dataclips by hand: global counts (A) and one user's scans by type (C)",
                shows=("Global counts",),
            ),
            Command(
                PROMOTE,
                "promotion: the ledger gate (a clean staging deploy of this commit), the "
                "pipeline promotion, production's release phase, checklist, Dataclips A and C",
                shows=("Promotion gate", "Production release"),
            ),
            Command(LEDGER_LIST, "what the ledger recorded", shows=("deploy", "promote")),
            Command(LEDGER_VERIFY, "the ledger's hash chain is intact", shows=("chain intact",)),
        ),
        exit_code=0,
        outcome="deployed to staging, checked, promoted to production, and recorded",
    )
    bad_migration = Scenario(
        name="bad-migration",
        summary="a migration that cannot apply: the lint stops it before the push; "
        "accepted anyway, the release phase fails and the deploy stops",
        steps=(
            WorldChange(
                "a developer adds a required column to keys, a table that has rows",
                write_bad_migration,
            ),
            Command(("git", "add", "prisma/migrations"), "stage the new migration"),
            Command(("git", "commit", "-q", "-m", "Require a label on keys"), "commit it"),
            Command(("git", "push", "-q", "origin", "main"), "push it to the shared remote"),
            Command(
                DEPLOY,
                "deploy: preflight lints the migration staging has not applied (squawk) and "
                "stops before the push: a required column on a table with rows",
                expect=1,
                shows=("adding-required-field",),
            ),
            Command(
                (*DEPLOY, "--accept-migration-risk", "demo: let the release phase try it"),
                "deploy anyway, the risk accepted and recorded: Heroku's release phase runs "
                "the migration, it fails, keycliq stops",
                expect=1,
                shows=("P3018", "failed to apply (Prisma P3018)"),
            ),
            Command(
                STATUS,
                "staging still runs its previous release (a failed release never goes live)",
                shows=(STAGING,),
            ),
            Command(LEDGER_LIST, "the failed deploy is on record", shows=("failed",)),
            Command(LEDGER_VERIFY, "and the ledger verifies", shows=("chain intact",)),
        ),
        exit_code=1,
        outcome="the lint stopped the deploy before the push; with the risk accepted, the "
        "deploy stopped at the release phase: the migration failed (exit 1, as this "
        "scenario shows)",
    )
    integrity_defect = Scenario(
        name="integrity-defect",
        summary="bad data in staging: the Dataclip gate fails and promotion is refused",
        steps=(
            WorldChange(
                "a new code path writes a matching with a matchType the app does not know",
                plant_unknown_match_type,
            ),
            Command(
                DEPLOY,
                "deploy: the checklist passes, then the Dataclip gate (E1 E2 E3 E4 F G H) "
                "fails on G",
                expect=1,
                shows=("Dataclips failed: G",),
            ),
            Command(
                ("keycliq", "dataclips", "run", "G", "-e", "staging"),
                "check G alone: which value, how many rows, since when",
                expect=1,
                shows=(DEFECT_TYPE,),
            ),
            Command(
                PROMOTE,
                "promotion is refused: the ledger has no clean staging deploy of this commit",
                expect=1,
                shows=("refusing to promote",),
            ),
            Command(
                LEDGER_LIST,
                "the failed deploy and the refused promotion are on record",
                shows=("failed",),
            ),
            Command(LEDGER_VERIFY, "and the ledger verifies", shows=("chain intact",)),
        ),
        exit_code=1,
        outcome="the Dataclip gate failed on check G and production was not touched "
        "(exit 1, as this scenario shows)",
    )
    flaky_api = Scenario(
        name="flaky-api",
        summary="Heroku answers 503 and 429 and cuts a stream: retried, the release goes on",
        steps=(
            WorldChange("faults planted in the stand-in", show_faults),
            Command(STATUS, "where each environment stands", shows=(STAGING,)),
            Command(
                DEPLOY,
                "deploy to staging, while the API answers 503 and 429 before it answers",
                shows=("Dataclip gate",),
            ),
            Command(
                PROMOTE,
                "promote, while the promotion's status answers 503 and the release stream is cut",
                shows=("Production release",),
            ),
            Command(LEDGER_VERIFY, "the ledger verifies", shows=("chain intact",)),
            WorldChange("what the stand-in saw", check_faults_fired),
        ),
        exit_code=0,
        outcome="every fault was survived: deployed, promoted and recorded",
        faults=FLAKY_FAULTS,
    )
    return {s.name: s for s in (release, bad_migration, integrity_defect, flaky_api)}


SCENARIO_NAMES = ("release", "bad-migration", "integrity-defect", "flaky-api")
