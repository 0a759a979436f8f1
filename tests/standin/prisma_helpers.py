"""Running the Prisma emulation in a repository folder, in-process, as a dyno would."""

from __future__ import annotations

import io
import socket
from dataclasses import dataclass
from pathlib import Path

from keycliq_ops.standin.prisma.cli import main


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def prisma(repo: Path, url: str | None, *args: str, env: dict[str, str] | None = None) -> Ran:
    environment = dict(env or {})
    if url is not None:
        environment["DATABASE_URL"] = url
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), cwd=repo, env=environment, stdout=out, stderr=err)
    return Ran(code, out.getvalue(), err.getvalue())


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def write_project(root: Path, schema: str, migrations: dict[str, str] | None = None) -> Path:
    """A folder with ``prisma/schema.prisma`` and the given ``prisma/migrations``."""
    (root / "prisma").mkdir(parents=True, exist_ok=True)
    (root / "prisma" / "schema.prisma").write_text(schema, encoding="utf-8")
    for name, sql in (migrations or {}).items():
        folder = root / "prisma" / "migrations" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "migration.sql").write_text(sql, encoding="utf-8")
    return root
