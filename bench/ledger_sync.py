"""What sharing the ledger costs (issue 16): appends that publish vs local appends.

In a temp folder (HOME there too, with a minimal ``.gitconfig``, so the real home is never
read): a bare ``origin``, a clone with one commit and a ``keycliq.yaml`` pushed to it, and
the ledger shared the way keycliq shares it (``load_config`` + ``remote_for``: branch
``keycliq-ledger`` of ``origin``). Measured in the same run, interleaved (one shared
append, then one local append, ``--appends`` times):

- shared append: ``Ledger.append`` with the remote (lock, seal, write, fsync, then the
  sync: fetch the branch, compare, push a commit of the file, fast-forward only);
- local append: the same record through ``Ledger(path, remote=None)`` (the baseline);
- sync with nothing to do: ``Ledger.sync()`` after the appends (fetch, compare, no push),
  and the whole ``keycliq ledger sync`` command (a fresh process) beside ``keycliq ledger
  list`` of the same file with ``KEYCLIQ_LEDGER`` set (a process that reads the ledger and
  never touches the remote) as its baseline.

Prints the medians and the ratio shared/local of an append.

    uv run python bench/ledger_sync.py [--appends 20] [--syncs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

CONFIG = """\
pipeline: keycliq
environments:
  staging:
    app: keycliq-staging
    remote: heroku-staging
    url: https://keycliq-staging.herokuapp.com/
  production:
    app: keycliq-production
    stage: production
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def hermetic_home(home: Path) -> None:
    """HOME and the XDG folders in the temp folder; git reads only its .gitconfig."""
    home.mkdir(parents=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Bench Example\n\temail = bench@example.com\n"
        "[init]\n\tdefaultBranch = main\n"
    )
    for name in ("KEYCLIQ_LEDGER", "KEYCLIQ_CONFIG", "GIT_DIR", "GIT_WORK_TREE"):
        os.environ.pop(name, None)
    os.environ.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        GIT_CONFIG_NOSYSTEM="1",
        NO_COLOR="1",
    )


def team_checkout(base: Path) -> Path:
    """A bare origin and a clone with one commit (keycliq.yaml) pushed to it."""
    origin = base / "origin.git"
    git(base, "init", "--quiet", "--bare", str(origin))
    git(base, "clone", "--quiet", str(origin), str(base / "app"))
    repo = base / "app"
    (repo / "keycliq.yaml").write_text(CONFIG)
    (repo / ".gitignore").write_text(".keycliq/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "keycliq.yaml")
    git(repo, "push", "--quiet", "-u", "origin", "main")
    return repo


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--appends", type=int, default=20)
    parser.add_argument("--syncs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kcbench-ledger-sync-") as tmp:
        base = Path(tmp)
        hermetic_home(base / "home")
        repo = team_checkout(base)

        from keycliq_ops.config import load_config
        from keycliq_ops.ledger import Ledger, Record
        from keycliq_ops.ledger.sync import remote_for

        loaded = load_config(repo / "keycliq.yaml")
        remote = remote_for(loaded, repo)
        if remote is None:
            raise SystemExit("keycliq.yaml's ledger is not shared: the benchmark needs origin")
        shared = Ledger(loaded.ledger_path, remote=remote)
        local = Ledger(base / "local" / "ledger.jsonl", remote=None)

        def record(i: int) -> Record:
            return Record(
                action="checklist",
                environment="staging",
                outcome="succeeded",
                details={"bench": i},
            )

        shared_t: list[float] = []
        local_t: list[float] = []
        for i in range(args.appends):
            shared_t.append(timed(partial(shared.append, record(i))))
            sync = shared.last_sync
            if sync is None or not sync.shared or sync.published == []:
                raise SystemExit(f"append {i} was not published: {sync}")
            local_t.append(timed(partial(local.append, record(i))))
        on_origin = git(base / "origin.git", "show", f"{remote.branch}:ledger.jsonl")
        if len(on_origin.splitlines()) != args.appends:
            raise SystemExit(f"origin holds {len(on_origin.splitlines())} records")

        def idle_sync() -> None:
            result = shared.sync()
            if result is None or not result.shared or result.published or result.taken_in:
                raise SystemExit(f"the sync had something to do: {result}")

        syncs = [timed(idle_sync) for _ in range(args.syncs)]

        env = {**os.environ, "COLUMNS": "160"}
        keycliq = [sys.executable, "-m", "keycliq_ops"]

        def cli(*argv: str) -> None:
            subprocess.run(
                [*keycliq, *argv], cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL
            )

        def cli_local() -> None:
            local_env = {**env, "KEYCLIQ_LEDGER": str(shared.path)}
            subprocess.run(
                [*keycliq, "ledger", "list"],
                cwd=repo,
                env=local_env,
                check=True,
                stdout=subprocess.DEVNULL,
            )

        cli_sync: list[float] = []
        cli_list: list[float] = []
        for _ in range(max(3, args.syncs // 2)):
            cli_sync.append(timed(lambda: cli("ledger", "sync")))
            cli_list.append(timed(cli_local))

    s, lo = statistics.median(shared_t), statistics.median(local_t)
    idle = statistics.median(syncs)
    cs, cl = statistics.median(cli_sync), statistics.median(cli_list)
    print(f"{args.appends} appends of each kind, interleaved; {git(Path.cwd(), '--version')}")
    print(f"{'append, shared (publishes)':34}{ms(s)}  median")
    print(f"{'append, local (remote=None)':34}{ms(lo)}  median (baseline)")
    print(f"{'ratio shared/local':34}{s / lo:8.1f}x  (+{ms(s - lo).strip()} per append)")
    print(f"{'Ledger.sync(), nothing to do':34}{ms(idle)}  median of {len(syncs)}")
    print(f"{'keycliq ledger sync (CLI)':34}{ms(cs)}  median of {len(cli_sync)}, whole process")
    print(f"{'keycliq ledger list, local (CLI)':34}{ms(cl)}  median (baseline)")
    print(f"{'ratio sync/list (CLI)':34}{cs / cl:8.2f}x  (+{ms(cs - cl).strip()})")


if __name__ == "__main__":
    main()
