"""Pipeline promotions: the source app's current slug copied to each target, each target
released with its own config (running its release phase), concurrently; each target ends
``succeeded`` or ``failed`` with an ``error_message``, then the promotion is ``completed``.
"""

from __future__ import annotations

import threading

from keycliq_ops.standin.platform import ApiError, Engine
from keycliq_ops.standin.world import (
    AppRow,
    PipelineRow,
    PromotionRow,
    PromotionTargetRow,
    ReleaseRow,
    now,
)


def start_promotion(
    engine: Engine, pipeline: PipelineRow, source: AppRow, targets: list[AppRow]
) -> PromotionRow:
    current = source.current
    if current is None or current.slug is None:
        raise ApiError(422, "invalid_params", f"{source.name} has no release to promote.")
    if not targets:
        raise ApiError(422, "invalid_params", "At least one target app is required.")
    promotion = PromotionRow(
        pipeline_id=pipeline.id, source_app_id=source.id, source_release_id=current.id
    )
    for app in targets:
        promotion.targets.append(PromotionTargetRow(app_id=app.id, promotion_id=promotion.id))
    with engine.lock:
        engine.promotions[promotion.id] = promotion
    engine.spawn(_run_promotion, engine, promotion, source, current, targets)
    return promotion


def _run_promotion(
    engine: Engine, promotion: PromotionRow, source: AppRow, rel: ReleaseRow, targets: list[AppRow]
) -> None:
    workers = [
        threading.Thread(target=_promote_one, args=(engine, t, app, source, rel), daemon=True)
        for t, app in zip(promotion.targets, targets, strict=True)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    with engine.lock:
        promotion.status = "completed"
        promotion.updated_at = now()
    promotion.done.set()


def _promote_one(
    engine: Engine, target: PromotionTargetRow, app: AppRow, source: AppRow, rel: ReleaseRow
) -> None:
    assert rel.slug is not None
    fault = engine.faults.take("promote-fail", app.name)
    if fault:
        with engine.lock:
            target.status = "failed"
            target.error_message = fault.message or (
                f"Couldn't promote to {app.name}: the slug could not be copied "
                "(sandbox fault promote-fail)"
            )
        return
    description = f"Promote {source.name} v{rel.version} {rel.slug.commit[:8]}"
    new = engine.new_release(app, rel.slug, dict(app.config), description)
    with engine.lock:
        target.release = new
    new.done.wait()
    with engine.lock:
        if new.status == "succeeded":
            target.status = "succeeded"
        else:
            target.status = "failed"
            target.error_message = (
                f"Release command failed: `{rel.slug.release_command}` "
                f"exited with status {new.exit_status}"
            )
