"""The one place that yields a PostgreSQL for the sandbox, the demo and the tests.

Order: an explicit URL (``KEYCLIQ_DATABASE_URL``; tests pass ``KEYCLIQ_TEST_DATABASE_URL``),
else the ``pgserver`` wheel (PostgreSQL inside a pip package) with its data folder in the
given state folder, else ``initdb``/``pg_ctl`` found on PATH, else a clear error naming the
variable to set. Each caller then creates its own databases on that server.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from keycliq_ops.standin.failures import StandinError

_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` (works for socket and TCP URLs)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _as_user(url: str, user: str, password: str) -> str:
    """``url`` logging in as ``user`` with ``password`` (socket and TCP URLs alike)."""
    from urllib.parse import quote

    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass
class PostgresServer:
    """A running server: ``admin_url`` reaches its maintenance database."""

    admin_url: str
    kind: str  # "external" | "pgserver" | "pg_ctl"
    _handle: Any = field(default=None, repr=False)
    _datadir: Path | None = field(default=None, repr=False)

    def url_for(self, name: str) -> str:
        return _with_database(self.admin_url, name)

    def create_database(self, name: str, *, replace: bool = True) -> str:
        """Create (or re-create) database ``name``; return its URL."""
        from keycliq_ops.standin.pgclient import create_database

        create_database(self.admin_url, name, replace=replace)
        return self.url_for(name)

    def create_app_database(self, name: str) -> str:
        """Create (or re-create) database ``name`` owned by a role of its own that is not a
        superuser (as Heroku Postgres gives an app); return the URL that logs in as it."""
        import secrets

        from keycliq_ops.standin.pgclient import create_app_database

        password = secrets.token_hex(16)
        create_app_database(self.admin_url, name, password)
        return _as_user(self.url_for(name), name, password)

    def drop_database(self, name: str, *, role: bool = False) -> None:
        from keycliq_ops.standin.pgclient import drop_database, drop_role

        drop_database(self.admin_url, name)
        if role:
            drop_role(self.admin_url, name)

    def stop(self) -> None:
        """Stop a server this process started (an external one is left alone)."""
        if self.kind == "pgserver" and self._handle is not None:
            self._handle.cleanup()
            self._handle = None
        elif self.kind == "pg_ctl" and self._datadir is not None:
            subprocess.run(
                ["pg_ctl", "-D", str(self._datadir), "-m", "immediate", "stop"],
                capture_output=True,
                check=False,
            )
            self._datadir = None


# A Unix socket's path has at most 107 bytes on Linux (104 on macOS).
_SOCKET_PATH_MAX = 100


def _short_runtime_dir(datadir: Path) -> None:
    """pgserver puts its socket in the data folder, else in the user's runtime folder
    (``XDG_RUNTIME_DIR``; without one, platformdirs falls back to ``$TMPDIR``, which is
    often as long as the data folder, e.g. under pytest or the demo's temp folder). When the
    data folder is too long and there is no runtime folder, give it a short private one."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    if len(str(datadir / ".s.PGSQL.5432")) <= _SOCKET_PATH_MAX:
        return
    short = Path("/tmp") / f"keycliq-runtime-{os.getuid()}"  # noqa: S108 - checked below
    short.mkdir(mode=0o700, exist_ok=True)
    info = short.lstat()
    if not short.is_dir() or short.is_symlink() or info.st_uid != os.getuid():
        raise StandinError(
            f"{short} is not this user's own folder: cannot put PostgreSQL's socket there",
            hint="set XDG_RUNTIME_DIR to a short folder of your own",
            kind="usage",
        )
    short.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(short)


def _start_pgserver(datadir: Path) -> PostgresServer:
    _short_runtime_dir(datadir)  # before pgserver is imported: it reads it then
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        datadir.mkdir(parents=True, exist_ok=True)
        handle = pgserver.get_server(datadir, cleanup_mode="stop")
    return PostgresServer(admin_url=handle.get_uri(), kind="pgserver", _handle=handle)


def _start_pg_ctl(datadir: Path) -> PostgresServer:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        raise StandinError(
            "initdb refuses to run as root", hint="set KEYCLIQ_DATABASE_URL to a PostgreSQL you run"
        )
    sockdir = Path(tempfile.mkdtemp(prefix="kcpg-"))
    if not (datadir / "PG_VERSION").exists():
        subprocess.run(
            ["initdb", "-D", str(datadir), "-U", "postgres", "--auth=trust"],
            capture_output=True,
            check=True,
        )
    subprocess.run(
        [
            "pg_ctl",
            "-D",
            str(datadir),
            "-w",
            "-l",
            str(datadir / "log"),
            "-o",
            f"-k {sockdir} -c listen_addresses=''",
            "start",
        ],
        capture_output=True,
        check=True,
    )
    return PostgresServer(
        admin_url=f"postgresql://postgres@/postgres?host={sockdir}", kind="pg_ctl", _datadir=datadir
    )


def client_bin_dir() -> Path | None:
    """The folder of a ``psql`` to use: the pgserver wheel's, else the one on PATH."""
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin:
        bin_dir = Path(spec.origin).parent / "pginstall" / "bin"
        if (bin_dir / "psql").exists():
            return bin_dir
    found = shutil.which("psql")
    return Path(found).parent if found else None


def start_postgres(state_dir: Path, *, url_env: str = "KEYCLIQ_DATABASE_URL") -> PostgresServer:
    """A running PostgreSQL: ``$url_env`` if set, else an embedded one under ``state_dir``."""
    url = os.environ.get(url_env)
    if url:
        return PostgresServer(admin_url=url, kind="external")
    errors: list[str] = []
    try:
        return _start_pgserver(state_dir / "pgdata")
    except ImportError:
        errors.append("the pgserver wheel is not installed")
    except Exception as exc:
        errors.append(f"pgserver failed ({type(exc).__name__}: {exc})")
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        try:
            return _start_pg_ctl(state_dir / "pgdata-local")
        except (subprocess.CalledProcessError, OSError, StandinError) as exc:
            errors.append(f"initdb/pg_ctl failed ({type(exc).__name__})")
    else:
        errors.append("initdb/pg_ctl are not on PATH")
    raise StandinError(
        "no PostgreSQL available: " + "; ".join(errors),
        hint=f"set {url_env} to the URL of a PostgreSQL you can create databases on",
    )


def pg_tool(name: str) -> Path:
    """The path of a PostgreSQL client program (``pg_dump``, ``pg_restore``, ``psql``): the
    pgserver wheel's, else the one on PATH; a StandinError naming it when there is none."""
    bin_dir = client_bin_dir()
    if bin_dir is not None and (bin_dir / name).exists():
        return bin_dir / name
    found = shutil.which(name)
    if found:
        return Path(found)
    raise StandinError(
        f"{name} not found (neither in the pgserver wheel nor on PATH)",
        hint="install the stand-in extra (pip install 'keycliq-ops[standin]') or PostgreSQL's "
        "client programs",
    )
