"""Start-up speed of the CLI (issue 2): `keycliq --version` and `keycliq --help`.

Prints the median wall time and peak RSS over N runs of each, beside `python -c pass` (the
floor) measured in the same run, and the ratios to that floor.

    uv run python bench/startup.py [--runs 15]

Targets on the 2-core machine: --version <= 0.15 s, --help <= 0.30 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time


def measure(cmd: list[str], runs: int) -> tuple[float, float]:
    """Median wall seconds and median peak RSS (MiB) of ``cmd`` over ``runs`` runs."""
    walls: list[float] = []
    rss: list[float] = []
    env = {**os.environ, "COLUMNS": "100"}
    for _ in range(runs):
        start = time.perf_counter()
        pid = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(pid.pid, 0)
        walls.append(time.perf_counter() - start)
        if status != 0:
            raise SystemExit(f"{cmd} exited {status}")
        rss.append(usage.ru_maxrss / 1024)
    return statistics.median(walls), statistics.median(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    keycliq = shutil.which("keycliq") or sys.exit("keycliq is not on PATH (use `uv run`)")
    cases = {
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
        "keycliq --version": [keycliq, "--version"],
        "keycliq --help": [keycliq, "--help"],
    }
    for cmd in cases.values():  # warm the file cache and .pyc files
        subprocess.run(cmd, capture_output=True, check=False)
    results = {name: measure(cmd, args.runs) for name, cmd in cases.items()}
    floor_wall, floor_rss = results["python -c pass (floor)"]
    print(f"{'command':<26}{'median wall':>12}{'× floor':>9}{'peak RSS':>11}{'× floor':>9}")
    for name, (wall, rss) in results.items():
        print(
            f"{name:<26}{wall * 1000:>10.0f}ms{wall / floor_wall:>9.1f}"
            f"{rss:>8.1f}MiB{rss / floor_rss:>9.1f}"
        )
    targets = {"keycliq --version": 0.15, "keycliq --help": 0.30}
    for name, target in targets.items():
        wall = results[name][0]
        verdict = "ok" if wall <= target else "OVER"
        print(f"target {name}: <= {target:.2f}s -> {wall:.3f}s {verdict}")


if __name__ == "__main__":
    main()
