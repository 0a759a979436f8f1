"""Heroku's second factor: a refused request asked again with a code (promote, rollback)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from keycliq_ops.base.errors import TwoFactorRequired, UsageError
from keycliq_ops.release.session import TwoFactorAsk

if TYPE_CHECKING:
    from keycliq_ops.adapters.heroku.client import HerokuClient
    from keycliq_ops.release.session import Session

T = TypeVar("T")
TWO_FACTOR_ATTEMPTS = 3

__all__ = ["TWO_FACTOR_ATTEMPTS", "TwoFactorAsk", "act", "with_two_factor"]


def with_two_factor(
    client: HerokuClient, ask: TwoFactorAsk | None, call: Callable[[], T], *, what: str
) -> T:
    """``call()``; when Heroku answers ``two_factor``, get a code from ``ask``, set it on the
    client (sent as ``Heroku-Two-Factor-Code`` from then on) and repeat the request. The
    request was refused, so repeating it cannot do the act twice."""
    refused = 0
    while True:
        try:
            return call()
        except TwoFactorRequired as exc:
            if refused and refused >= TWO_FACTOR_ATTEMPTS:
                raise TwoFactorRequired(
                    f"{what}: Heroku refused the two-factor code {refused} times",
                    status=exc.status,
                    error_id=exc.error_id,
                    hint="check the code in your authenticator app (codes expire after "
                    "30 s) and run the same command again",
                ) from None
            code = ask(exc.message) if ask is not None else None
            if not code or not code.strip():
                if refused:
                    raise TwoFactorRequired(
                        f"{what}: Heroku refused the two-factor code",
                        status=exc.status,
                        error_id=exc.error_id,
                        hint="pass a fresh --two-factor-code, or run in a terminal to be asked",
                    ) from None
                raise UsageError(
                    f"{what}: Heroku asks for a two-factor code and there is no terminal "
                    "to ask for it",
                    hint="pass --two-factor-code CODE (from your authenticator app)",
                ) from None
            client.two_factor_code = code.strip()
            refused += 1


def act(session: Session, call: Callable[[], T], *, what: str) -> T:
    """``call()`` (an act on Heroku) with the session's two-factor asker."""
    return with_two_factor(session.client, session.ask_two_factor, call, what=what)
