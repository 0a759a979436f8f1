"""Following a release made by a push, a promotion or a rollback, with its release phase."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keycliq_ops.release.follow import FINAL_RELEASE, MigrationWatch, follow_release, stream_into
from keycliq_ops.release.stepper import StepBase, StepOutcome, resumed_value

if TYPE_CHECKING:
    from keycliq_ops.adapters.heroku.resources import Release
    from keycliq_ops.release.session import Session
    from keycliq_ops.release.stepper import Facts, StepIO, StepRecord


def follow_with_migrations(
    session: Session,
    app: str,
    release: Release,
    io: StepIO,
    *,
    prefix: str = "",
    seen_before: bool = False,
) -> tuple[Release, MigrationWatch]:
    """Follow ``release`` to a final status, streaming its release phase; the watch returned
    says how many lines were read and which migrations the output says were applied (the
    ledger keeps them for rollbacks).

    ``seen_before``: its output may already have been shown (a ``git push`` prints the
    release phase): a release already over is then not read again, unless it failed
    without a line of output here, when its output is read for the failure's tail.
    """
    watch = MigrationWatch(io, prefix)
    stream = session.loaded.config.migrations.strategy == "release-phase"
    if stream and not seen_before and release.status in FINAL_RELEASE:
        # Already over (a fast release phase): its output is still there to read, and it
        # is what says which migrations ran, or why it failed.
        stream_into(session.client, release.output_stream_url, watch)
        return release, watch
    final = follow_release(
        session.client,
        app,
        release,
        watch,
        timeout=session.loaded.config.timeouts.release,
        stream=stream,
        sleep=session.sleep,
    )
    if seen_before and final.status != "succeeded" and not watch.lines:
        stream_into(session.client, final.output_stream_url, watch)
    return final, watch


def streaming_clause(session: Session, sep: str = " ") -> str:
    """How a plan says the release phase is streamed ('' when it is not)."""
    if session.loaded.config.migrations.strategy != "release-phase":
        return ""
    return f"{sep}streaming the release phase (migrations)"


def release_done_before(
    session: Session, facts: Facts, previous: StepRecord | None
) -> StepOutcome | None:
    """On resume: the release the run being resumed followed, when it had succeeded."""
    release_id = resumed_value(facts, previous, "release_id")
    if release_id is None:
        return None
    release = session.client.release(session.app, release_id)
    if release.status != "succeeded":
        return None
    return StepOutcome(
        detail=f"v{release.version} had already succeeded",
        data=previous.data if previous else {},
        release=release,
    )


class FollowsRelease(StepBase):
    """A step that follows a release to its end: on resume, a release that had succeeded
    is not followed again."""

    def already_done(
        self, ctx: Session, facts: Facts, previous: StepRecord | None
    ) -> StepOutcome | None:
        return release_done_before(ctx, facts, previous)
