"""Wall time of the test suite (issue 12): this checkout against a baseline revision.

Runs the README's test command (``uv run pytest``) in this checkout and in a temporary git
worktree of ``--baseline`` (default: the commit before the package reorganisation), one
after the other, ``--runs`` times each, interleaved (baseline, this, baseline, this …) so
that both see the same machine. Prints each run's wall, user and system seconds, the
medians, and the ratio this/baseline. Target on the 2-core machine: <= 150 s, ratio <= 0.5.

    uv run python bench/suite.py [--runs 3] [--baseline d1325e9]

Each run gets its own ``--basetemp`` (concurrent pytest sessions would otherwise delete each
other's temp folders). The worktree is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import time
from pathlib import Path

from baseline import HERE, baseline_worktree

BEFORE_REORGANISATION = "d1325e9"


def run_suite(checkout: Path, basetemp: Path) -> tuple[float, float, float, str]:
    """One ``uv run pytest`` in ``checkout``: wall, user and system seconds, closing line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        ["uv", "run", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={basetemp}"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    closing = lines[-1] if lines else f"(no output, exit {done.returncode})"
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    if failed:
        closing += "\n    " + "\n    ".join(failed)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, closing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", default=BEFORE_REORGANISATION)
    args = parser.parse_args()
    walls: dict[str, list[float]] = {"baseline": [], "this": []}
    with baseline_worktree(args.baseline, "keycliq-bench-suite-") as (base, scratch):
        for i in range(args.runs):
            for name, checkout in (("baseline", base), ("this", HERE)):
                wall, user, sys_, closing = run_suite(checkout, scratch / f"bt-{name}-{i}")
                walls[name].append(wall)
                print(
                    f"{name:<8} run {i + 1}: {wall:6.1f} s wall, {user:6.1f} s user, "
                    f"{sys_:5.1f} s sys  | {closing}",
                    flush=True,
                )
    b, t = statistics.median(walls["baseline"]), statistics.median(walls["this"])
    print(f"median: baseline {b:.1f} s, this {t:.1f} s, ratio {t / b:.2f} (target <= 0.50)")
    print(f"cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
