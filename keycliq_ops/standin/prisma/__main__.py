"""``python -m keycliq_ops.standin.prisma <args>``: the emulated Prisma CLI (see :mod:`.cli`)."""

from __future__ import annotations

import sys

from keycliq_ops.standin.prisma.cli import main

if __name__ == "__main__":
    sys.exit(main())
