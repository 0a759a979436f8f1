"""One error tree for the whole tool.

Every failure that reaches the user is a :class:`KeycliqError` with an exit code and an
optional hint. Adapters (Heroku client, git, database) translate the errors of the systems
they talk to into these classes at their boundary; the CLI's single error boundary renders
``message`` (one line) and ``hint`` and exits with ``exit_code``.

Exit codes (documented in the README):

====  ==========================================================================
0     ok
1     a gate failed (check, checklist, tests, build, release, promotion)
2     usage or configuration error
3     an outside system failed (Heroku API, git, database) after retries
130   interrupted (Ctrl-C)
====  ==========================================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_GATE = 1
EXIT_USAGE = 2
EXIT_EXTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70  # a bug: what the error boundary answers for an unexpected exception


class KeycliqError(Exception):
    """Base of every error keycliq reports to a user."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(KeycliqError):
    """Bad flags or arguments."""

    exit_code = EXIT_USAGE


class ConfigError(KeycliqError):
    """A configuration, YAML, checklist or Dataclip file is not valid.

    ``location`` is ``file:line`` (or just ``file``) when known; ``field`` the dotted path.
    """

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        location: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        prefix = ""
        if location:
            prefix += f"{location}: "
        if field:
            prefix += f"{field}: "
        super().__init__(prefix + message, hint=hint)
        self.location = location
        self.field = field


class GateFailed(KeycliqError):
    """A gate said no: a check, checklist, test command, build, release or promotion."""

    exit_code = EXIT_GATE


class ExternalError(KeycliqError):
    """An outside system (Heroku API, git, database) failed after retries."""

    exit_code = EXIT_EXTERNAL


class HerokuError(ExternalError):
    """The Heroku Platform API (or the local stand-in) answered with an error."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.error_id = error_id


class TwoFactorRequired(HerokuError):
    """The API asked for a second factor (``two_factor``); repeat with the code."""


class GitError(ExternalError):
    """git refused or failed."""


class CheckoutError(GitError):
    """The folder cannot serve as a checkout: git is not installed, the folder is not a git
    repository (or does not exist), or the repository has no commits yet. The user's to
    fix, so a usage error (exit 2), not an outside failure; still a GitError for callers
    to whom git is optional."""

    exit_code = EXIT_USAGE


class DatabaseError(ExternalError):
    """The database could not be reached or a query failed for a reason outside the check."""


class QueryError(DatabaseError):
    """The statement itself failed (syntax, a write refused, a timeout, a missing table);
    the connection is still good. ``sqlstate`` is PostgreSQL's code, ``detail`` the server's
    primary message (scrubbed of secrets)."""

    def __init__(
        self, message: str, *, sqlstate: str | None, detail: str, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.sqlstate = sqlstate
        self.detail = detail


class WebError(ExternalError):
    """An HTTP probe got no answer (connection refused, timeout, TLS, too many redirects).

    ``kind`` is the kind of failure (e.g. ``ConnectError``), ``detail`` the reason, both
    free of credentials."""

    def __init__(self, message: str, *, kind: str, detail: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.detail = detail


class CommandError(ExternalError):
    """A local command could not be started. ``reason``: ``not-found``, ``not-executable``
    or ``os`` (another operating-system error)."""

    def __init__(self, message: str, *, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


class Interrupted(KeycliqError):
    """The user pressed Ctrl-C."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, message: str = "interrupted", *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
