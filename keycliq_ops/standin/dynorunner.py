"""Builds and dyno processes: what the stand-in runs on the local machine.

A "build" is light: the pushed tree's ``package.json`` and ``Procfile`` are checked and
buildpack-like lines printed; the slug is the tarball of the commit. A dyno (release phase
or one-off) runs its command with ``bash -c`` in a fresh checkout of its slug, with the
app's config vars as its environment and this interpreter's folder and PostgreSQL's client
folder on ``PATH`` (the "runtime" the sample app's release command needs: ``python`` and
``psql``), output merged and line by
line handed to a callback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass
class BuildResult:
    ok: bool
    lines: list[str] = field(default_factory=list)
    process_types: dict[str, str] = field(default_factory=dict)


def parse_procfile(text: str) -> dict[str, str]:
    """``{process type: command}``; raises ValueError naming the bad line."""
    types: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        name = name.strip()
        if not sep or not name or not command.strip() or not name.replace("-", "").isalnum():
            raise ValueError(f"Procfile line {number} is not `type: command`: {raw!r}")
        types[name] = command.strip()
    return types


def _member(tar: tarfile.TarFile, name: str) -> str | None:
    try:
        member = tar.getmember(name)
    except KeyError:
        return None
    fh = tar.extractfile(member)
    return fh.read().decode("utf-8", "replace") if fh else None


def build_slug(tarball: bytes, *, app_name: str) -> BuildResult:
    """Check the pushed tree as the Node.js buildpack would; buildpack-like output."""
    out = BuildResult(ok=False)
    say = out.lines.append
    say("Building on the Heroku-24 stack")
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball)) as tar:
            package_json = _member(tar, "package.json")
            procfile = _member(tar, "Procfile")
    except tarfile.TarError as exc:
        say(f" !     Could not read the pushed source: {exc}")
        return out
    if package_json is None:
        say(" !     No default language could be detected for this app.")
        say("       HINT: This occurs when Heroku cannot detect the buildpack to use.")
        say(" !     Push failed")
        return out
    say("-----> Using buildpack: heroku/nodejs")
    say("-----> Node.js app detected")
    try:
        package = json.loads(package_json)
        if not isinstance(package, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        say(f" !     Unable to parse package.json: {exc}")
        say(" !     Push rejected, failed to compile Node.js app.")
        return out
    engines = package.get("engines") if isinstance(package.get("engines"), dict) else {}
    node = str((engines or {}).get("node", "unspecified"))
    say("-----> Creating runtime environment")
    say("       NPM_CONFIG_LOGLEVEL=error")
    say("       NODE_ENV=production")
    say("-----> Installing binaries")
    say(f"       engines.node (package.json):  {node}")
    say("       Resolving node version 20.x...")
    say("-----> Installing dependencies")
    say("       (sandbox: dependencies are not installed; the build is offline)")
    say("-----> Build")
    if isinstance(package.get("scripts"), dict) and "build" in package["scripts"]:
        say(f"       Running build: {package['scripts']['build']} (sandbox: skipped)")
    say("-----> Build succeeded!")
    say("-----> Discovering process types")
    try:
        out.process_types = parse_procfile(procfile or "")
    except ValueError as exc:
        say(f" !     {exc}")
        say(" !     Push rejected, failed to compile Node.js app.")
        return out
    if "web" not in out.process_types and "start" in (package.get("scripts") or {}):
        out.process_types["web"] = "npm start"
    types = ", ".join(sorted(out.process_types)) or "(none)"
    say(f"       Procfile declares types     -> {types}")
    say("-----> Compressing...")
    say(f"       Done: {max(1, len(tarball) // 1024)}K")
    out.ok = True
    return out


def extract_slug(tarball: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(dest, filter="data")


def dyno_environment(config: dict[str, str], *, app_dir: Path, dyno: str) -> dict[str, str]:
    """The environment a dyno sees: config vars plus Heroku's own variables."""
    from keycliq_ops.standin.pgembed import client_bin_dir

    runtime = [str(Path(sys.executable).parent)]
    pg_bin = client_bin_dir()  # the sample's release command runs psql
    if pg_bin is not None:
        runtime.append(str(pg_bin))
    env = {
        "PATH": os.pathsep.join([str(app_dir / "bin"), *runtime, _BASE_PATH]),
        "HOME": str(app_dir),
        "DYNO": dyno,
        "PORT": "5000",
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("TMPDIR", "SYSTEMROOT"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(config)
    return env


class ProcessTable:
    """Running dyno processes, so that stopping the sandbox stops them too."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._stopping = False

    def run(
        self,
        command: str,
        *,
        slug_tarball: Path | None,
        config: dict[str, str],
        dyno: str,
        on_line: Callable[[str], None],
        extra_env: dict[str, str] | None = None,
    ) -> int:
        """Run ``command`` in a fresh checkout of the slug; the exit status (-1: not run)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        app_dir = Path(tempfile.mkdtemp(prefix=f"{dyno}-", dir=self.work_dir))
        try:
            if slug_tarball is not None:
                extract_slug(slug_tarball, app_dir)
            env = dyno_environment({**config, **(extra_env or {})}, app_dir=app_dir, dyno=dyno)
            shell = shutil.which("bash") or "/bin/sh"
            with self._lock:
                if self._stopping:
                    return -1
                proc = subprocess.Popen(
                    [shell, "-c", command],
                    cwd=app_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                self._procs.add(proc)
            assert proc.stdout is not None
            for raw in proc.stdout:
                on_line(raw.decode("utf-8", "replace").rstrip("\n"))
            code = proc.wait()
            with self._lock:
                self._procs.discard(proc)
            return code
        finally:
            shutil.rmtree(app_dir, ignore_errors=True)

    def stop_all(self) -> None:
        with self._lock:
            self._stopping = True
            procs = list(self._procs)
        for proc in procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, 15)
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
