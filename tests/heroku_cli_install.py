"""Install Heroku's own CLI (npm package ``heroku``, pinned) into the repository's cache.

``python -m tests.heroku_cli_install`` (``.ci/run`` calls it before pytest): when the pinned
version is not yet in ``.cache/heroku-cli/<version>/``, ``npm install`` puts it there. That
install is the only network use of the suite; the tests (tests/standin/test_heroku_cli.py)
run the installed CLI against the stand-in on loopback only. Without ``npm`` it says so and
exits 0 (the test then skips locally, and fails in CI where node is required).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

VERSION = "11.10.0"
ROOT = Path(__file__).resolve().parents[1] / ".cache" / "heroku-cli"


def install_dir(version: str = VERSION) -> Path:
    return ROOT / version


def executable(version: str = VERSION) -> Path:
    """The CLI's entry script (run it with ``node``)."""
    return install_dir(version) / "node_modules" / "heroku" / "bin" / "run.js"


def installed(version: str = VERSION) -> bool:
    return executable(version).is_file()


def install(version: str = VERSION) -> Path:
    """Install ``heroku@version`` (atomically: a temp folder renamed into place)."""
    target = install_dir(version)
    if installed(version):
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm is not on PATH")
    ROOT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=ROOT))
    env = {
        **os.environ,
        "npm_config_audit": "false",
        "npm_config_fund": "false",
        "npm_config_update_notifier": "false",
    }
    try:
        subprocess.run(
            [npm, "install", "--prefix", str(work), "--omit=dev", "--no-save", f"heroku@{version}"],
            check=True,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target


def main() -> int:
    if installed():
        print(f"heroku CLI {VERSION} already installed in {install_dir()}")
        return 0
    if shutil.which("npm") is None:
        print("npm not found: Heroku's CLI is not installed (its test skips locally)")
        return 0
    try:
        path = install()
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"installing heroku@{VERSION} failed: {exc}", file=sys.stderr)
        return 3
    print(f"heroku CLI {VERSION} installed in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
