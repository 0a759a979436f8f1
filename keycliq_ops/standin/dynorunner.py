"""Builds and dyno processes: what the stand-in runs on the local machine, offline.

A "build" is light: the pushed tree's ``package.json`` and ``Procfile`` are checked and
buildpack-like lines printed; the slug is the tarball of the commit. A dyno (release phase
or one-off) runs its command with ``bash -c`` in a fresh checkout of its slug, with the
app's config vars as its environment, output merged and line by line handed to a callback.

Its ``PATH`` starts with the stand-in's shims (a folder outside the slug): ``prisma`` (as
``node_modules/.bin`` would give it) runs the offline Prisma emulation
(:mod:`keycliq_ops.standin.prisma`); ``npx prisma …`` does too, and ``npx`` of anything else
fails at once with npm's offline error, never asking a registry; ``npm run <script>`` (and
``run-script``, ``test``, ``start``) runs the script of the slug's ``package.json`` with
``bash`` and the shims on ``PATH``, as npm 10 does (``npm error Missing script: "x"`` when
absent). Then this interpreter's folder and PostgreSQL's client folder (``python`` and
``psql`` for the sample's scripts), then the system's. ``npm_config_offline=true`` is set and
every proxy or registry variable is removed, so nothing a dyno runs is pointed anywhere
beyond the loopback database.
The ``npm`` and ``npx`` shims call :func:`main` of this module with the same interpreter.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

_BASE_PATH = "/usr/local/bin:/usr/bin:/bin"
NPM_VERSION = "10.8.2"
NODE_VERSION = "v20.18.0"
REGISTRY = "https://registry.npmjs.org"
# Variables that would point a dyno's programs at a proxy or a registry: never passed on.
_NETWORK_VARS = frozenset(
    name.lower()
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "FTP_PROXY",
        "NO_PROXY",
        "npm_config_proxy",
        "npm_config_https_proxy",
        "npm_config_http_proxy",
        "npm_config_noproxy",
        "npm_config_registry",
        "npm_config_offline",
        "NODE_OPTIONS",
        "PRISMA_ENGINES_MIRROR",
        "PRISMA_SCHEMA_ENGINE_BINARY",
        "PRISMA_QUERY_ENGINE_LIBRARY",
    )
)
_OFFLINE_ENV = {
    "npm_config_offline": "true",
    "npm_config_audit": "false",
    "npm_config_fund": "false",
    "npm_config_update_notifier": "false",
    "CHECKPOINT_DISABLE": "1",  # Prisma's version check
    "PRISMA_HIDE_UPDATE_MESSAGE": "1",
}
SHIM_NAMES = ("npm", "npx", "prisma")


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


def write_shims(folder: Path, *, launcher: bool = False) -> Path:
    """``npm``, ``npx`` and ``prisma`` executables in ``folder`` (see the module's notes);
    with ``launcher`` (a Fir / ``cnb`` dyno) also ``launcher``, which runs its arguments
    (as the CNB launcher does once it has set the image's environment up)."""
    folder.mkdir(parents=True, exist_ok=True)
    python = shlex.quote(sys.executable)
    # `-c`, not `-m`: this module is imported by the package itself (runpy would warn).
    entry = shlex.quote(
        "import sys; from keycliq_ops.standin.dynorunner import main; sys.exit(main())"
    )
    bodies = {
        "npm": f'exec {python} -c {entry} npm "$@"',
        "npx": f'exec {python} -c {entry} npx "$@"',
        "prisma": f'exec {python} -m keycliq_ops.standin.prisma "$@"',
    }
    if launcher:
        # One argument: a command line (run by a shell); more: the program and its arguments.
        bodies["launcher"] = 'if [ "$#" -eq 1 ]; then exec /bin/sh -c "$1"; fi\nexec "$@"'
    for name, body in bodies.items():
        text = f"#!/bin/sh\n# keycliq stand-in: {name} for an offline dyno\n{body}\n"
        target = folder / name
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o700)  # run by this user's dynos only
        os.replace(tmp, target)
    return folder


def _offline(env: dict[str, str]) -> dict[str, str]:
    kept = {k: v for k, v in env.items() if k.lower() not in _NETWORK_VARS}
    return {**kept, **_OFFLINE_ENV}


def dyno_environment(
    config: dict[str, str], *, app_dir: Path, dyno: str, shims: Path | None = None
) -> dict[str, str]:
    """The environment a dyno sees: config vars plus Heroku's own variables, offline."""
    from keycliq_ops.standin.pgembed import client_bin_dir

    runtime = [str(Path(sys.executable).parent)]
    pg_bin = client_bin_dir()  # the sample's scripts run psql
    if pg_bin is not None:
        runtime.append(str(pg_bin))
    first = [str(shims)] if shims is not None else []
    env = {
        "PATH": os.pathsep.join([*first, str(app_dir / "bin"), *runtime, _BASE_PATH]),
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
    return _offline(env)


class ProcessTable:
    """Running dyno processes, so that stopping the sandbox stops them too."""

    def __init__(self, work_dir: Path, *, launcher: bool = False) -> None:
        self.work_dir = work_dir
        self._launcher = launcher
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._shims: Path | None = None

    def shims(self) -> Path:
        """The shim folder (beside the dynos' checkouts, never inside a slug)."""
        with self._lock:
            if self._shims is None:
                self._shims = write_shims(self.work_dir / "_shims", launcher=self._launcher)
            return self._shims

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
            env = dyno_environment(
                {**config, **(extra_env or {})}, app_dir=app_dir, dyno=dyno, shims=self.shims()
            )
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


# ------------------------------------------------------------------ npm and npx shims
_RUN = ("run", "run-script", "rum", "urn")
_LIFECYCLE = {
    "test": "test",
    "t": "test",
    "tst": "test",
    "start": "start",
    "stop": "stop",
    "restart": "restart",
}
_NEEDS_REGISTRY = (
    "install",
    "i",
    "ci",
    "add",
    "update",
    "up",
    "upgrade",
    "outdated",
    "view",
    "info",
    "show",
    "publish",
    "audit",
    "search",
    "create",
    "init",
)


def _npm_error(err: TextIO, *lines: str) -> None:
    for line in lines:
        err.write(f"npm error {line}".rstrip() + "\n")
    err.flush()


def _read_package(cwd: Path, err: TextIO) -> dict[str, object] | None:
    path = cwd / "package.json"
    try:
        package = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _npm_error(
            err,
            "code ENOENT",
            "syscall open",
            f"path {path}",
            "errno -2",
            "enoent Could not read package.json: Error: ENOENT: no such file or directory, "
            f"open '{path}'",
            "enoent This is related to npm not being able to find a file.",
            "enoent",
        )
        return None
    except ValueError as exc:
        _npm_error(
            err, "code EJSONPARSE", f"path {path}", f"JSON.parse Invalid package.json: {exc}"
        )
        return None
    if not isinstance(package, dict):
        _npm_error(err, "code EJSONPARSE", f"path {path}", "JSON.parse Invalid package.json")
        return None
    return package


def _scripts(package: dict[str, object]) -> dict[str, str]:
    raw = package.get("scripts")
    if not isinstance(raw, dict):
        return {}
    return {str(k): str(v) for k, v in raw.items() if isinstance(v, str)}


def _package_id(package: dict[str, object]) -> str:
    name, version = package.get("name"), package.get("version")
    if isinstance(name, str) and isinstance(version, str):
        return f"{name}@{version}"
    return name if isinstance(name, str) else ""


def _list_scripts(package: dict[str, object], out: TextIO) -> int:
    scripts = _scripts(package)
    if not scripts:
        return 0
    lifecycle = [
        n
        for n in scripts
        if n in ("prestart", "start", "poststart", "test", "stop", "restart", "pretest", "posttest")
    ]
    others = [n for n in scripts if n not in lifecycle]
    if lifecycle:
        out.write(f"Lifecycle scripts included in {_package_id(package)}:\n")
        for name in lifecycle:
            out.write(f"  {name}\n    {scripts[name]}\n")
        out.write("\n")
    if others:
        out.write("available via `npm run-script`:\n")
        for name in others:
            out.write(f"  {name}\n    {scripts[name]}\n")
    out.flush()
    return 0


def _run_one(
    name: str,
    command: str,
    package: dict[str, object],
    *,
    cwd: Path,
    env: dict[str, str],
    npm_command: str,
    silent: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    if not silent:
        pkg = _package_id(package)
        out.write(f"\n> {pkg + ' ' if pkg else ''}{name}\n> {command}\n\n")
        out.flush()
    bin_dir = cwd / "node_modules" / ".bin"
    script_env = {
        **env,
        "PATH": os.pathsep.join([str(bin_dir), env.get("PATH", _BASE_PATH)]),
        "npm_lifecycle_event": name,
        "npm_lifecycle_script": command,
        "npm_command": npm_command,
        "npm_package_json": str(cwd / "package.json"),
        "npm_config_user_agent": f"npm/{NPM_VERSION} node/{NODE_VERSION} linux x64 "
        "workspaces/false",
        "INIT_CWD": env.get("INIT_CWD", str(cwd)),
    }
    for key in ("name", "version"):
        value = package.get(key)
        if isinstance(value, str):
            script_env[f"npm_package_{key}"] = value
    shell = shutil.which("bash", path=_BASE_PATH) or "/bin/sh"
    code = subprocess.run([shell, "-c", command], cwd=cwd, env=script_env, check=False).returncode
    if code != 0 and not silent:
        _npm_error(
            err,
            f"code {code if code > 0 else 1}",
            f"path {cwd}",
            "command failed",
            f"command sh -c {command}",
        )
    return code if code > 0 else (1 if code else 0)


def npm_main(argv: list[str], *, cwd: Path, env: dict[str, str], out: TextIO, err: TextIO) -> int:
    """``npm …`` on an offline dyno: scripts of ``package.json``; no registry, ever."""
    flags = {a for a in argv if a.startswith("-") and a != "--"}
    words = [a for a in argv if not a.startswith("-") or a == "--"]
    if not words:
        if flags & {"-v", "--version"}:
            out.write(NPM_VERSION + "\n")
            return 0
        out.write(
            f"npm <command>\n\nUsage:\n\nnpm run <script>\nnpm test\nnpm start\n\n"
            f"npm@{NPM_VERSION} (keycliq stand-in, offline)\n"
        )
        return 1
    command, rest = words[0], argv[argv.index(words[0]) + 1 :]
    if command in ("exec", "x"):
        return npx_main(
            [a for a in rest if a != "--"] if rest[:1] == ["--"] else rest,
            cwd=cwd,
            env=env,
            out=out,
            err=err,
        )
    if command in _NEEDS_REGISTRY:
        _npm_error(
            err,
            "code ENOTCACHED",
            f"request to {REGISTRY}/ failed: cache mode is 'only-if-cached' but no cached "
            "response is available.",
        )
        return 1
    if command not in _RUN and command not in _LIFECYCLE:
        err.write(
            f'Unknown command: "{command}"\n\nTo see a list of supported npm commands, '
            "run:\n  npm help\n"
        )
        return 1
    package = _read_package(cwd, err)
    if package is None:
        return 254
    silent = bool(flags & {"-s", "--silent"}) or env.get("npm_config_loglevel") == "silent"
    if_present = "--if-present" in flags
    if command in _RUN:
        positional = [a for a in rest if not a.startswith("-")]
        if not positional:
            return _list_scripts(package, out)
        name = positional[0]
        after = rest[rest.index(name) + 1 :]
        npm_command = "run-script"
    else:
        name = _LIFECYCLE[command]
        after = rest
        npm_command = name
    extra = [a for a in after if a != "--" and a not in ("--if-present", "-s", "--silent")]
    scripts = _scripts(package)
    script = scripts.get(name)
    if script is None and name == "start" and (cwd / "server.js").exists():
        script = "node server.js"
    if script is None:
        if if_present:
            return 0
        _npm_error(
            err,
            f'Missing script: "{name}"',
            "",
            "To see a list of scripts, run:",
            "  npm run",
        )
        return 1
    if extra:
        script = f"{script} {shlex.join(extra)}"
    for step in (f"pre{name}", name, f"post{name}"):
        command_text = script if step == name else scripts.get(step)
        if command_text is None:
            continue
        code = _run_one(
            step,
            command_text,
            package,
            cwd=cwd,
            env=env,
            npm_command=npm_command,
            silent=silent,
            out=out,
            err=err,
        )
        if code != 0:
            return code
    return 0


def _package_name(spec: str) -> str:
    """``prisma@6.15.0`` → ``prisma``; ``@scope/pkg@1`` → ``@scope/pkg``."""
    if spec.startswith("@"):
        scope, _, rest = spec[1:].partition("/")
        return f"@{scope}/{rest.split('@', 1)[0]}"
    return spec.split("@", 1)[0]


def npx_main(argv: list[str], *, cwd: Path, env: dict[str, str], out: TextIO, err: TextIO) -> int:
    """``npx <pkg> …`` on an offline dyno: ``prisma`` is the emulation; nothing is fetched."""
    packages: list[str] = []
    args = list(argv)
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag == "--":
            break
        if flag in ("-p", "--package") and args:
            packages.append(args.pop(0))
        elif flag.startswith("--package="):
            packages.append(flag.split("=", 1)[1])
        elif flag in ("-v", "--version"):
            out.write(NPM_VERSION + "\n")
            return 0
    if not args:
        _npm_error(
            err,
            "code EUSAGE",
            "",
            "Run a command from a local or remote npm package",
            "",
            "Usage:",
            "npm exec -- <pkg>[@<version>] [args...]",
        )
        return 1
    spec, rest = args[0], args[1:]
    name = _package_name(spec)
    command_env = {
        **env,
        "npm_command": "exec",
        "npm_config_user_agent": f"npm/{NPM_VERSION} node/{NODE_VERSION} linux x64 "
        "workspaces/false",
    }
    if name == "prisma" and not packages:
        os.execve(  # noqa: S606 - the emulation replaces this shim, argv as given
            sys.executable,
            [sys.executable, "-m", "keycliq_ops.standin.prisma", *rest],
            command_env,
        )
    local = cwd / "node_modules" / ".bin" / name
    if not packages and local.is_file() and os.access(local, os.X_OK):
        os.execve(str(local), [str(local), *rest], command_env)  # noqa: S606 - as npx does
    wanted = packages[0] if packages else spec
    _npm_error(
        err,
        "code ENOTCACHED",
        f"request to {REGISTRY}/{_package_name(wanted)} failed: cache mode is "
        "'only-if-cached' but no cached response is available.",
    )
    return 1


def main(argv: list[str] | None = None) -> int:
    """``npm|npx …`` as the shims call it (``python -c … npm ARGS``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    tool, rest = (args[0], args[1:]) if args else ("", [])
    cwd, env = Path.cwd(), dict(os.environ)
    if tool == "npm":
        return npm_main(rest, cwd=cwd, env=env, out=sys.stdout, err=sys.stderr)
    if tool == "npx":
        return npx_main(rest, cwd=cwd, env=env, out=sys.stdout, err=sys.stderr)
    sys.stderr.write("usage: npm|npx ARGS (the stand-in's dyno shims)\n")
    return 2
