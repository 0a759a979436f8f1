"""A local Heroku stand-in: Platform API over loopback HTTP, git remotes, embedded Postgres.

Reached only over HTTP and git, as Heroku is; no core module imports it. See
:class:`keycliq_ops.standin.sandbox.Sandbox` (in-process) and
:mod:`keycliq_ops.standin.daemon` (``keycliq sandbox up/down/status``).
"""

from keycliq_ops.standin.faults import Fault, FaultBook, parse_fault
from keycliq_ops.standin.sandbox import KeycliqApps, Sandbox

__all__ = ["Fault", "FaultBook", "KeycliqApps", "Sandbox", "parse_fault"]
