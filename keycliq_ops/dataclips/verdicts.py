"""What a Dataclip verdict means for a gate: the one place that says which verdicts fail.

A check's verdict is ``pass``, ``warn``, ``fail``, ``error`` (the check could not be
evaluated: a syntax error, a timeout) or ``info`` (no expectation). ``fail`` and ``error``
fail a gate; ``warn`` does not (a caller may choose to be stricter). Used by the engine's run
verdict, the checklists' dataclip items, the playbooks, the deploy/promote gates and the CLI.

Example::

    from keycliq_ops.dataclips.verdicts import failing_ids

    bad = failing_ids(run.results)  # ["E1", "G"]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from keycliq_ops.dataclips.clips import RunVerdict

FAILING: frozenset[str] = frozenset({"fail", "error"})
_RANK: dict[str, int] = {"pass": 0, "info": 0, "warn": 1, "fail": 2, "error": 3}


class HasVerdict(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def verdict(self) -> str: ...


def is_failing(verdict: str) -> bool:
    """Whether ``verdict`` (one check's, or a run's) fails a gate."""
    return verdict in FAILING


def failed(verdicts: Iterable[str]) -> bool:
    """Whether any of ``verdicts`` fails a gate."""
    return any(v in FAILING for v in verdicts)


def failing_ids(results: Iterable[HasVerdict]) -> list[str]:
    """The ids of the results whose verdict fails a gate, in their order."""
    return [r.id for r in results if r.verdict in FAILING]


def worst(verdicts: Iterable[str]) -> RunVerdict:
    """A run's verdict: the worst of its checks' (``error`` > ``fail`` > ``warn`` > ``pass``;
    ``info`` counts as ``pass``; an unknown verdict as ``error``)."""
    rank = max((_RANK.get(v, 3) for v in verdicts), default=0)
    names: dict[int, RunVerdict] = {0: "pass", 1: "warn", 2: "fail", 3: "error"}
    return names[rank]
