"""Ledger speed (issue 6): append, `ledger list` (latest 20) and `verify` on 100,000 records.

Builds ledgers of 1,000 and 100,000 realistic records (a deploy's start record and its
completion with steps, checklist and Dataclip results, alternating) in a temp folder, then
prints for each size:

- append: median and p95 of ``Ledger.append`` (lock, tail read, seal, write, fsync);
- list: median of ``Ledger.latest(20)`` (read backwards from the end), and the whole
  ``keycliq ledger list`` command (a fresh process) on the big ledger;
- show: ``Ledger.run(prefix)`` of an action in the middle of the file (id bisection);
- verify: ``Ledger.verify()``, beside a straightforward verifier measured in the same run
  (parse every line, re-serialise it canonically, hash it) as the baseline.

The 100k/1k ratios show that append and list do not grow with the ledger's size.

    uv run python bench/ledger.py [--records 100000] [--appends 200]

Targets on the 2-core machine: append <= 5 ms, list <= 150 ms, verify <= 3 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from keycliq_ops.ledger import GENESIS, Ledger, Record
from keycliq_ops.ledger.chain import canonical, seal


def templates() -> tuple[dict[str, Any], dict[str, Any]]:
    """A start record and a completion record, dumped as the ledger writes them."""
    actor = {"git_name": "Ann Example", "git_email": "ann@example.com"}
    common = {
        "action": "deploy",
        "environment": "staging",
        "app": "keycliq-staging",
        "commit": "3f2a9c1d" * 5,
        "branch": "main",
        "actor": actor,
        "host": "build-host",
        "pid": 4242,
    }
    start = Record.model_validate({**common, "outcome": "running"})
    step_names = ["preflight", "tests", "push", "build", "release", "migrations", "checklist"]
    end = Record.model_validate(
        {
            **common,
            "outcome": "succeeded",
            "exit_code": 0,
            "actor": {**actor, "heroku_email": "ann@keycliq.example"},
            "release_id": "5b0c6e2a-1111-2222-3333-444455556666",
            "release_version": 42,
            "build_id": "9d8c7b6a-aaaa-bbbb-cccc-ddddeeeeffff",
            "duration_ms": 412_000,
            "steps": [
                {
                    "name": n,
                    "status": "succeeded",
                    "started": "2026-11-28T03:05:12Z",
                    "duration_ms": 1000 * (i + 1),
                    "detail": f"{n} ok",
                }
                for i, n in enumerate(step_names)
            ],
            "checklist": {
                "checklist": "staging",
                "verdict": "passed",
                "items": [
                    {"id": f"item{i}", "section": "Smoke", "verdict": "passed", "answer": "yes"}
                    for i in range(6)
                ],
            },
            "dataclips": [
                {"id": c, "verdict": "pass", "numbers": {"rows": 0, "scanned": 1200 + i}}
                for i, c in enumerate(["E1", "E2", "E3", "F", "G"])
            ],
        }
    )
    dump = {"mode": "json", "exclude_none": True}
    return start.model_dump(**dump), end.model_dump(**dump)  # type: ignore[arg-type]


def build(path: Path, count: int) -> None:
    """Write ``count`` sealed records with the ledger's own sealing (a bulk import)."""
    start_t, end_t = templates()
    when = datetime.now(UTC) - timedelta(seconds=count)
    prev = GENESIS
    start_id = ""
    with path.open("wb") as fh:
        for i in range(count):
            record_id = f"{when:%Y%m%dT%H%M%S}-{i % 0x8000:04x}"
            body = dict(start_t) if i % 2 == 0 else {**end_t, "ref": start_id}
            if i % 2 == 0:
                start_id = record_id
            body.update(
                schema=1,
                id=record_id,
                ts=when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                prev=prev,
            )
            line, prev = seal(body)
            fh.write(line)
            when += timedelta(seconds=1)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out: list[float] = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def naive_verify(path: Path) -> bool:
    """The baseline: parse, re-serialise canonically and hash every line."""
    prev = GENESIS
    with path.open("rb") as fh:
        for raw in fh:
            obj = json.loads(raw)
            claimed = obj.pop("hash")
            if obj["prev"] != prev or hashlib.sha256(canonical(obj)).hexdigest() != claimed:
                return False
            prev = claimed
    return True


def _middle_id(path: Path) -> str:
    """The id of a start record in the middle of the file."""
    from keycliq_ops.ledger import fileio

    size = path.stat().st_size
    with path.open("rb") as fh:
        got = fileio.line_from(fh, size // 2, size)
        assert got is not None
        record = json.loads(got[1])
        if record.get("ref"):
            return str(record["ref"])
        return str(record["id"])


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=200)
    args = parser.parse_args()
    _, end_t = templates()
    with tempfile.TemporaryDirectory(prefix="keycliq-bench-ledger-") as tmp:
        folder = Path(tmp)
        sizes = {"1k": 1_000, f"{args.records // 1000}k": args.records}
        paths = {}
        for label, count in sizes.items():
            paths[label] = folder / f"ledger-{label}.jsonl"
            t = time.perf_counter()
            build(paths[label], count)
            size_mb = paths[label].stat().st_size / 1e6
            print(
                f"built {label:>5}: {count:>7} records, {size_mb:6.1f} MB "
                f"in {time.perf_counter() - t:.1f} s"
            )
        record = Record.model_validate({**end_t, "ref": None})
        results: dict[str, dict[str, Any]] = {}
        for label, path in paths.items():
            ledger = Ledger(path)
            appends = timed(lambda ledger=ledger: ledger.append(record), args.appends)
            lists = timed(lambda ledger=ledger: ledger.latest(20), 30)
            assert len(ledger.latest(20)) == 20
            middle = ledger.find(_middle_id(path))
            assert middle is not None
            shows = timed(lambda ledger=ledger, m=middle: ledger.run(m.id[:17]), 20)
            verifies = timed(ledger.verify, 3)
            report = ledger.verify()
            assert report.ok, report.problem
            results[label] = {
                "append": statistics.median(appends),
                "append_p95": p95(appends),
                "list": statistics.median(lists),
                "show": statistics.median(shows),
                "verify": statistics.median(verifies),
                "records": report.records,
            }
        small, big = (results[label] for label in sizes)
        big_label = list(sizes)[1]
        big_path = paths[big_label]
        naive = statistics.median(timed(lambda: naive_verify(big_path), 2))
        env = {**os.environ, "KEYCLIQ_LEDGER": str(big_path), "COLUMNS": "160"}
        cli = statistics.median(
            timed(
                lambda: subprocess.run(
                    [sys.executable, "-m", "keycliq_ops", "ledger", "list"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    check=True,
                ),
                5,
            )
        )
        print()
        print(f"{'':28}{'1k':>11}{big_label:>11}   ratio   target")
        rows = [
            ("append (median)", "append", 5e-3),
            ("append (p95)", "append_p95", None),
            ("list latest 20 (median)", "list", 150e-3),
            ("show by id prefix (median)", "show", None),
            ("verify", "verify", 3.0),
        ]
        for title, key, target in rows:
            ratio = big[key] / small[key]
            goal = f"<= {ms(target).strip()}" if target and target < 1 else ""
            goal = f"<= {target:.0f} s" if target and target >= 1 else goal
            ok = "" if target is None else ("  ok" if big[key] <= target else "  MISSED")
            print(f"{title:28}{ms(small[key])}{ms(big[key])}  {ratio:5.2f}x  {goal}{ok}")
        print(
            f"{'verify, naive baseline':28}{'':11}{ms(naive)}  "
            f"ours is {naive / big['verify']:.1f}x faster"
        )
        print(
            f"{'keycliq ledger list (CLI)':28}{'':11}{ms(cli)}  "
            "whole process, Python start-up included"
        )
        print(f"\nverified {big['records']} records in the {big_label} ledger")


if __name__ == "__main__":
    main()
