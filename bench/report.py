"""What ``keycliq report`` adds over running its checks (issue 19).

Against the local stand-in (real HTTP, embedded PostgreSQL seeded with the sample data,
the sample repository provisioned and deployed), in a temp folder with HOME there too,
``--runs`` times each, interleaved so both see the same machine state:

- report: ``keycliq report staging --json --no-notify`` (a fresh process): the report set
  of Dataclips, then C-DAYS and COSTS, the history, the ledger's release markers,
  Cloudinary's usage over loopback, the thresholds, and the HTML page written;
- baseline: ``keycliq dataclips run <the report set's ids> -e staging --json`` (a fresh
  process): the same checks on the same database, table output only.

The report-only checks (C-ALL, KEYS-UNSIGNED: ``dataclips run`` does not know them) are
named in the output; their cost counts as the report's overhead. Both commands record
their numbers in the history, as they do by default. Prints the medians and the ratio
report/dataclips run.

    uv run python bench/report.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from keycliq_ops.config import load_config
from keycliq_ops.standin import Sandbox
from keycliq_ops.standin.pgembed import start_postgres
from keycliq_ops.standin.provision import provision


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, exit code, stdout) of one keycliq process; exit 0 or 1 expected."""
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "keycliq_ops", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t
    if done.returncode not in (0, 1):
        raise SystemExit(f"keycliq {' '.join(argv)} exited {done.returncode}: {done.stderr}")
    return wall, done.returncode, done.stdout


def hermetic_env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Bench Example\n\temail = bench@example.com\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEROKU_", "KEYCLIQ_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        GIT_CONFIG_NOSYSTEM="1",
        NO_COLOR="1",
        COLUMNS="160",
    )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    walls: dict[str, list[float]] = {"report": [], "dataclips": []}
    codes: dict[str, set[int]] = {"report": set(), "dataclips": set()}
    verdicts: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="kcbench-report-") as tmp:
        base = Path(tmp)
        env = hermetic_env(base / "home")
        os.environ.update(HOME=env["HOME"], GIT_CONFIG_NOSYSTEM="1")  # provisioning's git too
        pg = start_postgres(base / "pg")
        try:
            with Sandbox(base / "sb", postgres=pg) as sb:
                repo = base / "keycliq"
                provision(sb, repo, deploy="baseline", seed_scale=1, app_traffic=False)
                env.update(sb.environment())
                loaded = load_config(repo / "keycliq.yaml")
                report_set = loaded.config.report.checks_for("staging")
                known = {i.lower() for i in loaded.dataclip_catalog().checks}
                shared_ids = [i for i in report_set if i.lower() in known]
                report_only = [i for i in report_set if i.lower() not in known]
                page = base / "health.html"
                report_argv = ["report", "staging", "--json", "--no-notify", "--out", str(page)]
                clips_argv = ["dataclips", "run", *shared_ids, "-e", "staging", "--json"]
                run(report_argv, repo, env)  # warm-up: caches, the first connections
                run(clips_argv, repo, env)
                for _ in range(args.runs):
                    for name, argv in (("report", report_argv), ("dataclips", clips_argv)):
                        wall, code, stdout = run(argv, repo, env)
                        walls[name].append(wall)
                        codes[name].add(code)
                        doc = json.loads(stdout)
                        rows = doc["checks"] if name == "report" else doc["results"]
                        verdicts[name] = {c["id"]: str(c.get("verdict", "?")) for c in rows}
                        if name == "report":
                            checks = list(verdicts[name])
                            if [c.lower() for c in checks] != [c.lower() for c in report_set]:
                                raise SystemExit(f"the report ran {checks}, not {report_set}")
                size_kb = page.stat().st_size / 1000
        finally:
            pg.stop()
    r, d = statistics.median(walls["report"]), statistics.median(walls["dataclips"])
    print(f"{args.runs} runs of each, interleaved, whole processes; report set {report_set}")
    d_codes, r_codes = sorted(codes["dataclips"]), sorted(codes["report"])
    print(f"dataclips run (baseline): median {d:.3f}s over {shared_ids}, exit {d_codes}")
    print(f"report                  : median {r:.3f}s, exit {r_codes}, page {size_kb:.0f} kB")
    for name, got in verdicts.items():
        print(f"verdicts, {name:9}: " + ", ".join(f"{k} {v}" for k, v in got.items()))
    print(f"ratio report/dataclips run: {r / d:.2f} (+{(r - d) * 1000:.0f} ms)")
    print(
        f"report-only checks in the overhead: {report_only} "
        "(plus C-DAYS and COSTS, the history, markers, Cloudinary, the page)"
    )


if __name__ == "__main__":
    main()
