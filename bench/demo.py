"""Wall time of ``keycliq demo`` (issue 13): this checkout against a baseline revision.

Issue 13 moved the demo onto the real app's layout (a Prisma release phase run by the
stand-in's offline emulation, migrations verified in the database afterwards, the team's
checklist with its one-off dyno items, the gate on rows written as the app writes them).
Its figure: the demo "still runs in well under a minute, offline". This script runs the
README's ``uv run keycliq demo`` in this checkout and in a temporary git worktree of
``--baseline`` (default: the commit before issue 13), interleaved (baseline, this, …)
``--runs`` times, and prints each run, the medians and the ratio this/baseline. Target:
median < 60 s; the ratio shows what the added verification costs.

    uv run python bench/demo.py [--runs 3] [--baseline d8a9a93] [--scenario NAME]

Every variable that could lead a process off the machine (proxies, npm's registry) points
at a closed loopback port for both runs, so a run that needed the network would fail.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import time
from pathlib import Path

from baseline import HERE, baseline_worktree

BEFORE_ISSUE_13 = "d8a9a93"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def offline_env(home: Path) -> dict[str, str]:
    dead = f"http://127.0.0.1:{closed_port()}"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env[name] = dead
    env.update(
        npm_config_registry=dead, npm_config_proxy=dead, npm_config_https_proxy=dead,
        NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
        HOME=str(home), XDG_STATE_HOME=str(home / "state"),
    )  # fmt: skip
    return env


def run_demo(checkout: Path, home: Path, scenario: str | None) -> tuple[float, int, str]:
    home.mkdir(parents=True, exist_ok=True)
    argv = ["uv", "run", "keycliq", "demo", *(["--scenario", scenario] if scenario else [])]
    start = time.perf_counter()
    done = subprocess.run(
        argv, cwd=checkout, env=offline_env(home), capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    lines = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    return wall, done.returncode, lines[-1] if lines else "(no output)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", default=BEFORE_ISSUE_13)
    parser.add_argument("--scenario", default=None)
    args = parser.parse_args()
    walls: dict[str, list[float]] = {"baseline": [], "this": []}
    with baseline_worktree(args.baseline, "keycliq-bench-demo-") as (base, scratch):
        for i in range(args.runs):
            for name, checkout in (("baseline", base), ("this", HERE)):
                wall, code, last = run_demo(checkout, scratch / f"home-{name}-{i}", args.scenario)
                walls[name].append(wall)
                print(f"{name:<8} run {i + 1}: {wall:5.1f} s, exit {code} | {last}", flush=True)
    b, t = statistics.median(walls["baseline"]), statistics.median(walls["this"])
    print(f"median: baseline {b:.1f} s, this {t:.1f} s, ratio {t / b:.2f} (target: this < 60 s)")
    print(f"cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
