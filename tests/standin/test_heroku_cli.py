"""Heroku's own CLI (npm package ``heroku``, pinned in tests/heroku_cli_install.py) runs the
runbook's commands against the stand-in, each checked on its output and on the API.

The CLI is installed by ``python -m tests.heroku_cli_install`` (``.ci/run`` calls it before
pytest; that install is the only network use). Here it runs with ``HEROKU_HOST`` at the
stand-in, the variables that keep it from other hosts (reference: "Details Heroku's own
clients rely on"), ``HOME`` in the test's temp folder and the stand-in's token in
``HEROKU_API_KEY``; node's sockets go through a guard that refuses any host but loopback
and records what was refused (the test asserts nothing was).

Without node (or without the installed CLI) the test skips locally with the reason; in CI
(``CI=true``) it fails instead.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import heroku_cli_install
from tests.world import World, rendezvous_ca

pytestmark = [pytest.mark.db, pytest.mark.e2e]

STAGING = "keycliq-staging"
PRODUCTION = "keycliq-production"
COMMAND_TIMEOUT = 180  # seconds a CLI command may take before the test gives up on it
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

# Preloaded into node (NODE_OPTIONS=--require): a connection to any host but loopback is
# refused and written to the file KEYCLIQ_NET_GUARD_LOG names.
_GUARD_JS = r"""
const net = require('node:net');
const fs = require('node:fs');
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '::ffff:127.0.0.1']);
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let options = args[0];
  if (Array.isArray(options)) options = options[0];
  let host;
  let port;
  if (options !== null && typeof options === 'object') {
    if (options.path) return connect.apply(this, args);
    host = options.host;
    port = options.port;
  } else {
    port = options;
    host = typeof args[1] === 'string' ? args[1] : undefined;
  }
  host = host || 'localhost';
  if (!LOOPBACK.has(host)) {
    fs.appendFileSync(process.env.KEYCLIQ_NET_GUARD_LOG, `${host}:${port}\n`);
    throw new Error(`keycliq test: no network beyond loopback (${host}:${port})`);
  }
  return connect.apply(this, args);
};
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"Heroku's CLI test cannot run in CI: {reason}")
    pytest.skip(reason)


@dataclass
class Cli:
    node: str
    entry: Path
    env: dict[str, str]
    cwd: Path
    guard_log: Path

    def args(self, *args: str) -> list[str]:
        return [self.node, str(self.entry), *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.args(*args),
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        done.stdout, done.stderr = _ANSI.sub("", done.stdout), _ANSI.sub("", done.stderr)
        return done

    def refused(self) -> list[str]:
        return self.guard_log.read_text().splitlines() if self.guard_log.exists() else []


@pytest.fixture
def heroku(world: World, tmp_path: Path) -> Iterator[Cli]:
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not on PATH: Heroku's CLI cannot run")
    assert node is not None
    if not heroku_cli_install.installed():
        _unavailable(
            f"Heroku's CLI {heroku_cli_install.VERSION} is not installed: "
            "run `uv run python -m tests.heroku_cli_install`"
        )
    home = Path(os.environ["HOME"])  # the hermetic temp home (tests/hermetic.py)
    guard = tmp_path / "net-guard.cjs"
    guard.write_text(_GUARD_JS)
    sb = world.sandbox
    keep = ("PATH", "LANG", "TMPDIR", "GIT_CONFIG_NOSYSTEM")
    env = {k: v for k, v in os.environ.items() if k in keep or k.startswith("GIT_")}
    env |= {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "HEROKU_HOST": sb.url,
        "HEROKU_API_KEY": sb.token,
        "HEROKU_PARTICLEBOARD_URL": sb.url,
        "DISABLE_TELEMETRY": "true",
        "HEROKU_SKIP_NEW_VERSION_CHECK": "true",
        "HEROKU_DISABLE_AUTOUPDATE": "true",
        "HEROKU_NOTIFICATIONS": "0",
        "NODE_EXTRA_CA_CERTS": str(rendezvous_ca(sb)),
        "NODE_OPTIONS": f"--require={guard}",
        "KEYCLIQ_NET_GUARD_LOG": str(tmp_path / "net-guard.log"),
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
        "TERM": "dumb",
        "COLUMNS": "200",
    }
    cli = Cli(node, heroku_cli_install.executable(), env, world.repo, tmp_path / "net-guard.log")
    yield cli
    assert cli.refused() == [], "Heroku's CLI tried to reach beyond loopback"


@pytest.fixture
def api(world: World) -> Iterator[httpx.Client]:
    sb = world.sandbox
    with httpx.Client(base_url=sb.url, headers=sb.headers(), timeout=30) as client:
        yield client


def _current(api: httpx.Client, app: str) -> dict[str, Any]:
    releases = api.get(f"/apps/{app}/releases", headers={"Range": "version ..; order=desc"})
    return next(r for r in releases.json() if r["current"])


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_heroku_run_passes_output_and_exit_status(heroku: Cli) -> None:
    out = _ok(heroku.run("run", "-a", STAGING, "--", "npx", "prisma", "migrate", "deploy"))
    assert "No pending migrations to apply." in out

    failed = heroku.run("run", "-x", "-a", STAGING, "--", "sh", "-c", "echo about to fail; exit 3")
    assert failed.returncode == 3, failed
    assert "about to fail" in failed.stdout
    assert "heroku-command-exit-status" not in failed.stdout  # the CLI strips its marker


def test_heroku_pipelines_promote_releases_staging_on_production(
    heroku: Cli, api: httpx.Client
) -> None:
    staging = _current(api, STAGING)
    before = _current(api, PRODUCTION)

    out = _ok(heroku.run("pipelines:promote", "-a", STAGING))

    assert "Starting promotion to production" in out
    assert "Promotion successful" in out
    assert re.search(rf"{PRODUCTION}:\s+succeeded", out), out
    after = _current(api, PRODUCTION)
    assert after["version"] > before["version"]
    assert after["slug"] == staging["slug"] and after["status"] == "succeeded"


def test_heroku_pipelines_and_apps_list_what_the_stand_in_has(heroku: Cli) -> None:
    assert "keycliq" in _ok(heroku.run("pipelines")).split()
    info = _ok(heroku.run("pipelines:info", "keycliq"))
    assert STAGING in info and PRODUCTION in info
    assert re.search(r"staging\s+keycliq-staging", info) or "staging" in info
    apps = _ok(heroku.run("apps"))
    assert STAGING in apps and PRODUCTION in apps


def test_heroku_logs_shows_the_last_lines(heroku: Cli, world: World) -> None:
    world.sandbox.write_log(STAGING, "\n".join(f"cli-log-{n:03}" for n in range(1, 61)))

    out = _ok(heroku.run("logs", "-n", "50", "-a", STAGING))

    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 50
    assert lines[0].endswith("app[web.1]: cli-log-011")
    assert lines[-1].endswith("app[web.1]: cli-log-060")
    assert "cli-log-010" not in out


def test_heroku_logs_tail_follows_new_lines(heroku: Cli, world: World) -> None:
    world.sandbox.write_log(STAGING, "before the tail")
    proc = subprocess.Popen(
        heroku.args("logs", "--tail", "-n", "1", "-a", STAGING),
        env=heroku.env,
        cwd=heroku.cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(_ANSI.sub("", line.rstrip("\n")))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()

    def until(text: str) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"the tail ended before {text!r}: {seen}"
            seen.append(line)
            if line.endswith(text):
                return seen

    try:
        assert until("app[web.1]: before the tail")
        world.sandbox.write_log(STAGING, "written while tailing")
        seen = until("app[web.1]: written while tailing")
        assert proc.poll() is None  # still following: --tail does not end by itself
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert all("before the tail" not in line for line in seen)


def test_heroku_releases_and_rollback(heroku: Cli, api: httpx.Client) -> None:
    current = _current(api, STAGING)
    out = _ok(heroku.run("releases", "-a", STAGING))
    assert f"=== {STAGING} Releases - Current: v{current['version']}" in out
    rows = [ln.strip() for ln in out.splitlines() if re.match(r"^\s*v\d+\s", ln)]
    assert rows[0].startswith(f"v{current['version']} ")
    assert current["description"] in rows[0]
    assert [int(r.split()[0][1:]) for r in rows] == list(range(current["version"], 0, -1))

    target = current["version"] - 1
    done = heroku.run("releases:rollback", f"v{target}", "-a", STAGING)
    _ok(done)
    after = _current(api, STAGING)
    assert after["version"] == current["version"] + 1
    assert after["description"] == f"Rollback to v{target}"
    assert f"Rolling back {STAGING} to v{target}... done, v{after['version']}" in done.stderr


def test_heroku_config_and_ps(heroku: Cli, api: httpx.Client) -> None:
    config = api.get(f"/apps/{STAGING}/config-vars").json()
    out = _ok(heroku.run("config", "-a", STAGING))
    assert f"=== {STAGING} Config Vars" in out
    assert re.search(r"^NODE_ENV:\s+production$", out, re.M)
    assert re.search(rf"^APP_URL:\s+{re.escape(config['APP_URL'])}$", out, re.M)
    assert len(re.findall(r"^[A-Z_]+:\s", out, re.M)) == len(config)

    ps = _ok(heroku.run("ps", "-a", STAGING))
    command = api.get(f"/apps/{STAGING}/formation").json()
    web = next(f for f in command if f["type"] == "web")
    assert re.search(
        rf"^=== web \({web['size']}\): {re.escape(web['command'])} \(1\)$", ps, re.M
    ), ps
    assert re.search(r"^web\.1: up ", ps, re.M), ps
