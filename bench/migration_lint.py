"""What squawk's lint of the pending migrations adds to a staging deploy (issue 18).

Against the local stand-in (real git, HTTP, embedded PostgreSQL), N deploys of each kind,
interleaved so both see the same machine state:

- *pending*: a new commit adding one migration (``CREATE INDEX`` on the seeded ``keys``,
  a squawk warning): preflight reads ``_prisma_migrations``, lints it with squawk, reads
  the table's row estimate;
- *none*: a new empty commit: preflight reads ``_prisma_migrations`` and has nothing to lint.

Prints the median wall time of each deploy and of its preflight step, the ratio
pending/none of the deploy (which also includes applying the one migration in the release
phase, so it is an upper bound), and the lint's own cost (the preflight difference), with
squawk's version.

    uv run python bench/migration_lint.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from keycliq_ops.adapters import squawk
from keycliq_ops.adapters.git import Repo
from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.config import load_config
from keycliq_ops.ledger import Ledger
from keycliq_ops.release.deploy import DeployOptions, deploy_action
from keycliq_ops.release.lifecycle import check, run_action
from keycliq_ops.release.session import Session
from keycliq_ops.standin import Sandbox
from keycliq_ops.standin.pgembed import start_postgres
from keycliq_ops.standin.provision import provision


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def empty_commit(repo: Path, label: str) -> None:
    git(repo, "commit", "-q", "--allow-empty", "-m", f"bench: {label}")
    git(repo, "push", "-q", "origin", "main")


def migration_commit(repo: Path, i: int) -> None:
    folder = repo / "prisma" / "migrations" / f"2099010100{i:04d}_bench_{i}"
    folder.mkdir(parents=True)
    (folder / "migration.sql").write_text(
        f'-- CreateIndex\nCREATE INDEX "bench_{i}_idx" ON "keys"("unit");\n'
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"bench: migration {i}")
    git(repo, "push", "-q", "origin", "main")


def deploy(sb: Sandbox, repo: Path) -> tuple[float, float, str]:
    """(deploy seconds, preflight seconds, preflight's lint summary)."""
    loaded = load_config(repo / "keycliq.yaml")
    client = HerokuClient(sb.token, sb.url)
    r = Repo.discover(repo)
    session = Session(
        loaded=loaded,
        env_name="staging",
        client=client,
        repo=r,
        ledger=Ledger(loaded.ledger_path),
        commit=r.head_commit(),
        branch=r.current_branch(),
    )
    t0 = time.perf_counter()
    action = deploy_action(session, DeployOptions(skip={"checklist": "benchmark"}))
    outcome = run_action(check(action), lambda e: None)
    took = time.perf_counter() - t0
    client.close()
    if outcome.result.outcome != "succeeded":
        raise SystemExit(f"keycliq deploy failed: {outcome.result.error}")
    pre = outcome.result.step("preflight")
    assert pre is not None
    return took, pre.duration_ms / 1000, str(pre.data["migration_lint"]["reason"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"none": [], "pending": []}
    pre: dict[str, list[float]] = {"none": [], "pending": []}
    seen: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="kcbench-lint-") as tmp:
        base = Path(tmp)
        pg = start_postgres(base / "pg")
        try:
            with Sandbox(base / "sb", postgres=pg) as sb:
                repo = base / "keycliq"
                provision(sb, repo, deploy="baseline")
                deploy(sb, repo)  # warm-up: applies the sample's pending index migration
                for i in range(args.runs):
                    empty_commit(repo, f"none {i}")
                    wall, p, why = deploy(sb, repo)
                    times["none"].append(wall)
                    pre["none"].append(p)
                    seen["none"] = why
                    migration_commit(repo, i)
                    wall, p, why = deploy(sb, repo)
                    times["pending"].append(wall)
                    pre["pending"].append(p)
                    seen["pending"] = why
        finally:
            pg.stop()
    med = {k: statistics.median(v) for k, v in times.items()}
    pmed = {k: statistics.median(v) for k, v in pre.items()}
    print(f"squawk {squawk.version()}; {args.runs} deploys of each kind, interleaved")
    print(
        f"no pending migration   : deploy median {med['none']:.3f}s, preflight "
        f"{pmed['none'] * 1000:.0f} ms ({seen['none']})"
    )
    print(
        f"one pending migration  : deploy median {med['pending']:.3f}s, preflight "
        f"{pmed['pending'] * 1000:.0f} ms ({seen['pending']})"
    )
    print(
        f"ratio pending/none (deploy, includes applying the migration): "
        f"{med['pending'] / med['none']:.3f}"
    )
    lint = pmed["pending"] - pmed["none"]
    print(f"lint's own cost (preflight difference): {lint * 1000:+.0f} ms = "
          f"{lint / med['none'] * 100:+.1f}% of a deploy")  # fmt: skip


if __name__ == "__main__":
    main()
