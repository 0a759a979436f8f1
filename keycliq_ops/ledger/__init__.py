"""The deploy ledger: an append-only, tamper-evident JSON Lines record of release actions.

Usage (deploy, promote, rollback, checklists and secrets do this)::

    from keycliq_ops.ledger import Ledger, detect_actor

    ledger = Ledger(loaded.ledger_path, secrets=app_secret_values)
    start = ledger.begin("deploy", "staging", app="keycliq-staging", commit=sha,
                         branch="main", actor=detect_actor(repo, heroku_email))
    ...
    ledger.complete(start, "succeeded", 0, release_id=rid, release_version=42,
                    steps=result.steps, checklist=checklist.model_dump(mode="json"),
                    dataclips=[{"id": "E1", "verdict": "pass", "numbers": {"rows": 0}}])

See ``docs/ledger.md`` for the format, the chain and what is (never) recorded.
"""

from keycliq_ops.ledger.actor import detect_actor
from keycliq_ops.ledger.chain import GENESIS, Problem, Quarantine, VerifyReport, canonical
from keycliq_ops.ledger.query import Filters, Run, RunSummary, parse_since
from keycliq_ops.ledger.records import (
    ACTIONS,
    OUTCOMES,
    SCHEMA_VERSION,
    STATUSES,
    Action,
    Actor,
    DataclipResult,
    LedgerBroken,
    LedgerBusy,
    LedgerError,
    LedgerIOError,
    LedgerStep,
    NotALedger,
    Outcome,
    Record,
    Status,
    StoredRecord,
)
from keycliq_ops.ledger.store import Ledger

__all__ = [
    "ACTIONS",
    "GENESIS",
    "OUTCOMES",
    "SCHEMA_VERSION",
    "STATUSES",
    "Action",
    "Actor",
    "DataclipResult",
    "Filters",
    "Ledger",
    "LedgerBroken",
    "LedgerBusy",
    "LedgerError",
    "LedgerIOError",
    "LedgerStep",
    "NotALedger",
    "Outcome",
    "Problem",
    "Quarantine",
    "Record",
    "Run",
    "RunSummary",
    "Status",
    "StoredRecord",
    "VerifyReport",
    "canonical",
    "detect_actor",
    "parse_since",
]
