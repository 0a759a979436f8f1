"""A full staging deploy against the local stand-in: keycliq beside the bare commands.

keycliq: the deploy action run by the release lifecycle (preflight, tests, git push, build,
release + release phase, migrations, Dataclip gate E1 E2 E3 E4 F G H, ledger records and report;
the checklist is skipped because a person's answers are not machine work).
The bare work, in the same run: the same test command, ``git push heroku-staging
<commit>:main``, then what a script would do: find the build of the commit, poll the release
once a second until it is final, and run the same gate SQL one statement after another.

Prints the median wall time of each over N deploys (a new empty commit each time), the
overhead ratio, how many API requests keycliq made per deploy, and the shortest interval
between two requests to the same endpoint (the "polled more than once a second" check).

    uv run python bench/deploy.py [--runs 5]

Targets: overhead <= 10 % over the bare work; no endpoint polled more than once a second.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

from keycliq_ops.adapters.git import Repo
from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.config import load_config
from keycliq_ops.dataclips import load_catalog
from keycliq_ops.dataclips.executor import bind_values
from keycliq_ops.ledger import Ledger
from keycliq_ops.release.deploy import DeployOptions, deploy_action
from keycliq_ops.release.lifecycle import check, run_action
from keycliq_ops.release.session import Session
from keycliq_ops.standin import Sandbox
from keycliq_ops.standin.pgembed import start_postgres
from keycliq_ops.standin.provision import provision


class Recorder(httpx.BaseTransport):
    """Wraps the real transport; remembers when each endpoint was asked."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.calls: list[tuple[float, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((time.monotonic(), f"{request.method} {request.url.path}"))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def new_commit(repo: Path, label: str) -> str:
    git(repo, "commit", "-q", "--allow-empty", "-m", f"bench: {label}")
    git(repo, "push", "-q", "origin", "main")
    return git(repo, "rev-parse", "HEAD")


def keycliq_deploy(sb: Sandbox, repo: Path, recorder: Recorder) -> float:
    loaded = load_config(repo / "keycliq.yaml")
    client = HerokuClient(sb.token, sb.url, transport=recorder)
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
    return took


def bare_deploy(sb: Sandbox, repo: Path) -> float:
    loaded = load_config(repo / "keycliq.yaml")
    commit = git(repo, "rev-parse", "HEAD")
    catalog = load_catalog(loaded.dataclips_dir)
    clips = [catalog.get(i) for i in loaded.config.environments["staging"].effective_dataclips()]
    t0 = time.perf_counter()
    subprocess.run(
        shlex.split(loaded.config.tests.command or "true"),
        cwd=repo,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["git", "push", "-q", "heroku-staging", f"{commit}:refs/heads/main"],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    with httpx.Client(base_url=sb.url, headers=sb.headers(), timeout=30) as api:
        builds = api.get(
            "/apps/keycliq-staging/builds", headers={"Range": "started_at ..; order=desc, max=20"}
        ).json()
        build = next(b for b in builds if b["source_blob"]["version"] == commit)
        while build["release"] is None or build["status"] == "pending":
            time.sleep(1)
            build = api.get(f"/apps/keycliq-staging/builds/{build['id']}").json()
        while True:
            release = api.get(f"/apps/keycliq-staging/releases/{build['release']['id']}").json()
            if release["status"] != "pending":
                break
            time.sleep(1)
        url = api.get("/apps/keycliq-staging/config-vars").json()["DATABASE_URL"]
    import psycopg

    with psycopg.connect(url) as conn:
        for clip in clips:
            conn.execute(clip.query, bind_values(clip, {})).fetchall()  # type: ignore[arg-type]
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kcbench-") as tmp:
        base = Path(tmp)
        pg = start_postgres(base / "pg")
        try:
            with Sandbox(base / "sb", postgres=pg) as sb:
                repo = base / "keycliq"
                provision(sb, repo, deploy="baseline")
                keycliq_times: list[float] = []
                bare_times: list[float] = []
                recorder = Recorder()
                per_deploy: list[int] = []
                windows: list[list[tuple[float, str]]] = []
                # Alternate so that both see the same machine state.
                for i in range(args.runs):
                    new_commit(repo, f"bare {i}")
                    bare_times.append(bare_deploy(sb, repo))
                    new_commit(repo, f"keycliq {i}")
                    before = len(recorder.calls)
                    keycliq_times.append(keycliq_deploy(sb, repo, recorder))
                    per_deploy.append(len(recorder.calls) - before)
                    windows.append(recorder.calls[before:])
        finally:
            pg.stop()
    by_path: dict[str, list[float]] = defaultdict(list)
    for at, what in recorder.calls:
        by_path[what].append(at)
    gaps: list[tuple[float, str]] = []
    for window in windows:
        seen: dict[str, float] = {}
        for at, what in window:
            if what in seen:
                gaps.append((at - seen[what], what))
            seen[what] = at
    shortest = min(gaps, default=(float("inf"), "no endpoint was asked twice in a deploy"))
    k, b = statistics.median(keycliq_times), statistics.median(bare_times)
    print(f"runs: {args.runs} deploys each (new empty commit each time)")
    print(f"bare commands (tests, git push, API polling, gate SQL): median {b:.3f}s")
    print(f"keycliq deploy (same work + preflight, ledger, report):  median {k:.3f}s")
    print(f"overhead: {(k / b - 1) * 100:+.1f}%   (target <= +10%)")
    print(f"API requests per keycliq deploy: median {statistics.median(per_deploy):.0f}")
    print("requests by endpoint (all runs):")
    for path, ts in sorted(by_path.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(ts):4d}  {path}")
    print(
        f"shortest interval between two requests to one endpoint within a deploy: "
        f"{shortest[0]:.2f}s ({shortest[1]})"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
