"""Cloudinary's Admin API usage endpoint, as the stand-in serves it on loopback.

``GET /v1_1/{cloud}/usage`` answers for the app whose ``CLOUDINARY_CLOUD_NAME`` is
``cloud``, with HTTP Basic ``CLOUDINARY_API_KEY:CLOUDINARY_API_SECRET`` (else 401, as
Cloudinary answers, ``{"error": {"message": …}}``). Cloudinary keeps its own accounts: a
cloud's key pair is the one its app's config vars held when the cloud was first asked for,
so changing the config var afterwards (a rotation Cloudinary never heard of) is refused.
The figures are plausible and follow the app's data: the objects are the images its
database references (keys' and scans' ``"imageUrl"``), at about 400 KB each; bandwidth
and transformations follow from them;
credits are Cloudinary's units (1 GB stored, 1 GB delivered or 1,000 transformations each)
against the Free plan's 25. Fields as the real answer has them: ``plan``, ``last_updated``,
``date_requested``, ``transformations``/``bandwidth``/``storage`` (``usage``,
``credits_usage``), ``credits`` (``usage``, ``limit``, ``used_percent``), ``objects``,
``requests``, ``resources``, ``derived_resources``, ``media_limits``.
"""

from __future__ import annotations

import base64
import hmac
from datetime import UTC, datetime, timedelta

from keycliq_ops.standin.platform import Engine
from keycliq_ops.standin.server import JsonResponse, Request, Route

BYTES_PER_IMAGE = 412_160
GB = 1024**3
PLAN_CREDITS = 25.0


def _images(database_url: str | None) -> int:
    """Images the app's database references (0 when it cannot be read)."""
    if not database_url:
        return 0
    from keycliq_ops.standin import pgclient

    try:
        with pgclient.connect(database_url, action="counting images") as conn:
            row = conn.execute(
                """SELECT (SELECT count(*) FROM keys WHERE "imageUrl" IS NOT NULL)
                        + (SELECT count(*) FROM key_signatures
                           WHERE "keyQueryId" IS NOT NULL AND "imageUrl" IS NOT NULL)"""
            ).fetchone()
    except Exception:  # no schema yet, database gone: an empty cloud
        return 0
    return int(row[0]) if row and row[0] is not None else 0


def usage_report(images: int, today: datetime) -> dict[str, object]:
    """The usage answer for a cloud holding ``images`` originals."""
    derived = images * 2
    storage = (images + derived // 4) * BYTES_PER_IMAGE
    bandwidth = int(storage * 2.3)
    transformations = images * 3
    storage_credits = round(storage / GB, 2)
    bandwidth_credits = round(bandwidth / GB, 2)
    transformation_credits = round(transformations / 1000, 2)
    used = round(storage_credits + bandwidth_credits + transformation_credits, 2)
    return {
        "plan": "Free",
        "last_updated": (today - timedelta(days=1)).strftime("%Y-%m-%d"),
        "date_requested": today.strftime("%Y-%m-%dT00:00:00Z"),
        "transformations": {"usage": transformations, "credits_usage": transformation_credits},
        "objects": {"usage": images + derived},
        "bandwidth": {"usage": bandwidth, "credits_usage": bandwidth_credits},
        "storage": {"usage": storage, "credits_usage": storage_credits},
        "credits": {
            "usage": used,
            "limit": PLAN_CREDITS,
            "used_percent": round(100 * used / PLAN_CREDITS, 2),
        },
        "requests": images * 7,
        "resources": images,
        "derived_resources": derived,
        "media_limits": {
            "image_max_size_bytes": 10_485_760,
            "video_max_size_bytes": 104_857_600,
            "raw_max_size_bytes": 10_485_760,
            "image_max_px": 25_000_000,
            "asset_max_total_px": 50_000_000,
        },
    }


def routes(engine: Engine) -> list[Route]:
    e = engine
    accounts: dict[str, str] = {}  # cloud name -> "key:secret", as Cloudinary knows it

    def usage(r: Request) -> JsonResponse:
        cloud = r.params["cloud"]
        with e.lock:
            app = next(
                (a for a in e.apps.values() if a.config.get("CLOUDINARY_CLOUD_NAME") == cloud),
                None,
            )
            config = dict(app.config) if app is not None else {}
        if app is None:
            return JsonResponse({"error": {"message": f"Invalid cloud_name {cloud}"}}, 401)
        header = r.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        try:
            given = base64.b64decode(value.strip()).decode() if scheme.lower() == "basic" else ""
        except (ValueError, UnicodeDecodeError):
            given = ""
        wanted = accounts.setdefault(
            cloud,
            f"{config.get('CLOUDINARY_API_KEY', '')}:{config.get('CLOUDINARY_API_SECRET', '')}",
        )
        if not given or not hmac.compare_digest(given.encode(), wanted.encode()):
            return JsonResponse({"error": {"message": "Invalid Signature or API key"}}, 401)
        today = datetime.now(UTC)
        if "date" in r.query:
            try:
                today = datetime.strptime(r.query["date"], "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError:
                return JsonResponse(
                    {"error": {"message": "date must be in the format yyyy-mm-dd"}}, 400
                )
        return JsonResponse(usage_report(_images(config.get("DATABASE_URL")), today))

    return [Route("GET", "/v1_1/{cloud}/usage", usage, auth=False, api=False)]
