"""The lines the KeyCliq app writes to its log, as its code of November 2025 writes them.

The stand-in runs no Node: what the app would print for a request is produced here, with
the app's exact texts (``console.log``/``console.error`` of ``app/routes/scan_.check.jsx``,
``app/lib/keyscan.server.js``, ``app/lib/matching.server.js``, ``app/lib/keys.server.js``,
``app/utils/cloudinary.server.js``, ``app/utils/email.server.js``). Some of the app's emoji
prefixes are stored mis-encoded in its source (UTF-8 read as CP850: ``ÔØî`` for ❌,
the gear of its timings, the calendar of its timestamps), so they are written that way,
as Heroku shows them. A ``console`` call whose text starts or ends with ``\\n`` writes an
empty line there; an object printed after a label spans several lines (``Error uploading
to Cloudinary: {`` … ``}``), each its own log line, as Logplex splits them.

Each function returns one :class:`Write`: the text one request makes the web dyno print
(several lines), or one router line. :func:`traffic` is a short, realistic session.

Example::

    for w in traffic(user_id="cmhu2k…"):
        sandbox.write_log("keycliq-staging", w.text, source=w.source, dyno=w.dyno)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

ScanOutcome = Literal[
    "MATCH_FOUND",
    "POSSIBLE_MATCH",
    "NO_MATCH",
    "EMPTY_INVENTORY",
    "OPENAI_FAILED",
    "CRASHED",
    "DATABASE_DOWN",
]
SCAN_OUTCOMES: tuple[ScanOutcome, ...] = (
    "MATCH_FOUND",
    "POSSIBLE_MATCH",
    "NO_MATCH",
    "EMPTY_INVENTORY",
    "OPENAI_FAILED",
    "CRASHED",
    "DATABASE_DOWN",
)

# The app's prefixes as its source stores them (the mis-encoded ones as Heroku shows them).
CALENDAR = "\xad\u0192\xf4\xe0"  # 📅
PERSON = "\xad\u0192\xe6\xf1"  # 👤
PACKAGE = "\xad\u0192\xf4\xaa"  # 📦
MAILBOX = "\xad\u0192\xf4\xa1"  # 📭
GEAR = "\xd4\xdc\xd6\xb4\xa9\xc5"  # ⚙️
CROSS = "\xd4\xd8\xee"  # ❌ (mis-encoded)
CHART = "\xad\u0192\xf4\xe8"  # 📊 (mis-encoded, scan route)
TREND = "\xad\u0192\xf4\xea"  # 📈
TIMER = "\xd4\xc5\u2592\xb4\xa9\xc5"  # ⏱️
OUTBOX = "\xad\u0192\xf4\xf1"  # 📤
CHECK = "\xd4\xa3\xe0"  # ✅ (mis-encoded, keys.server.js)

OPENAI_QUOTA = (
    "429 You exceeded your current quota, please check your plan and billing details. For "
    "more information on this error, read the docs: "
    "https://platform.openai.com/docs/guides/error-codes/api-errors."
)


@dataclass(frozen=True)
class Write:
    """What one request makes a dyno print."""

    text: str
    source: str = "app"
    dyno: str = "web.1"


def cuid(seed: str) -> str:
    """A Prisma-style ``cuid()`` id, stable for ``seed``."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return "cm" + "".join(c if c.isalpha() else chr(ord("a") + int(c)) for c in digest)[:23]


def router(method: str, path: str, status: int, app: str, *, service_ms: int = 40) -> Write:
    """Heroku's router line for one request."""
    rid = hashlib.sha256(f"{method}{path}{status}{service_ms}".encode()).hexdigest()
    request_id = f"{rid[:8]}-{rid[8:12]}-{rid[12:16]}-{rid[16:20]}-{rid[20:32]}"
    return Write(
        f'at=info method={method} path="{path}" host={app}.herokuapp.com '
        f'request_id={request_id} fwd="190.64.48.11" dyno=web.1 connect=0ms '
        f"service={service_ms}ms status={status} bytes=512 protocol=https",
        source="heroku",
        dyno="router",
    )


def boot(port: int = 5000) -> Write:
    """What ``npm start`` (``remix-serve build/index.js``) prints on a web dyno."""
    return Write(
        f"\n> keycliq@1.0.0 start\n> remix-serve build/index.js\n\n"
        f"[remix-serve] http://localhost:{port} (http://172.16.8.14:{port})"
    )


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def scan(
    outcome: ScanOutcome,
    *,
    user_id: str,
    key_ids: tuple[str, ...] = (),
    query_id: str | None = None,
    at: datetime | None = None,
) -> Write:
    """What a POST to ``/scan/check`` prints for ``outcome`` (normal mode: OpenAI set).

    ``key_ids``: the user's keys with a ready signature (the inventory); the first one is
    the key a MATCH_FOUND / POSSIBLE_MATCH finds. A NO_MATCH against an inventory is saved
    with the best candidate's key, which the app's own check refuses (the scan is kept
    without a matching), as the app does.
    """
    stamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.") + "412Z"
    if outcome == "DATABASE_DOWN":
        return _route_error(user_id, stamp)
    query = query_id or cuid(f"query {user_id} {outcome} {stamp}")
    inventory = 0 if outcome == "EMPTY_INVENTORY" else max(len(key_ids), 1)
    keys = key_ids or tuple(cuid(f"key {user_id} {i}") for i in range(inventory))
    lines = [
        "",
        "\U0001f52c ===== KEYSCAN V6 - PROCESSING START =====",
        f"{CALENDAR} Timestamp: {stamp}",
        f"{PERSON} User ID: {user_id}",
        f"{PACKAGE} Inventory loaded: {inventory} keys with signatures ready",
        f"{GEAR}  Inventory load time: 38ms",
    ]
    if outcome == "EMPTY_INVENTORY":
        lines += [
            f"{MAILBOX} Empty inventory - redirecting to /scan/new",
            f"{GEAR}  Total time: 51ms",
            "\u2705 ===== KEYSCAN V6 - EMPTY INVENTORY =====",
            "",
        ]
        return Write("\n".join(lines))
    lines += [
        "\U0001f50d KeyScan V6 - Starting AI analysis...",
        "\U0001f916 Starting Hybrid Balanced AI analysis...",
    ]
    if outcome == "OPENAI_FAILED":
        lines += [
            f"\u274c Hybrid Balanced AI analysis failed: {OPENAI_QUOTA}",
            f"{GEAR}  Extract + Match time: 812ms",
            f"{GEAR}  Processing time (reported): 809ms",
            f"{CROSS} Processing failed: {OPENAI_QUOTA}",
            f"   Message: {OPENAI_QUOTA}",
        ]
        return Write("\n".join(lines))
    if outcome == "CRASHED":
        frame = "file:///app/build/index.js"
        lines += [
            "Error in processKeyImageV6: TypeError: Cannot read properties of undefined "
            "(reading 'bitting')",
            f"    at compareHybridBalancedKeySignatures ({frame}:2114:38)",
            f"    at processKeyImageV6 ({frame}:2291:28)",
            "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
            f"    at async action$4 ({frame}:2467:20)",
            f"{GEAR}  Extract + Match time: 2391ms",
            f"{GEAR}  Processing time (reported): 0ms",
            f"{CROSS} Processing failed: Cannot read properties of undefined (reading 'bitting')",
            "   Message: V6 Processing error: Cannot read properties of undefined "
            "(reading 'bitting')",
        ]
        return Write("\n".join(lines))
    best = 0.0 if outcome == "NO_MATCH" else 1.0
    similarities = [best, *([0.72] * (len(keys) - 1))] if outcome != "NO_MATCH" else None
    if similarities is None:
        similarities = [0.83, *([0.61] * (len(keys) - 1))]
        best = 0.83
    ranked = sorted(similarities, reverse=True)
    margin = ranked[0] - (ranked[1] if len(ranked) > 1 else 0.0)
    lines += [
        "\u2705 Signature validated successfully",
        "\u2705 AI signature generated successfully",
        f"\U0001f4be KeyQuery saved with ID: {query}",
        f"\U0001f50d Comparing against {len(keys)} keys in inventory...",
    ]
    for similarity in similarities:
        lines += [
            "\U0001f50d Comparing Hybrid Balanced signatures...",
            f"\U0001f4ca Final similarity: {_pct(similarity)}",
            f"\U0001f3af Match type: {'MATCH_FOUND' if similarity == 1.0 else 'NO_MATCH'}",
        ]
    match_type = {"MATCH_FOUND": "MATCH_FOUND", "POSSIBLE_MATCH": "POSSIBLE_MATCH"}.get(
        outcome, "NO_MATCH"
    )
    lines += [
        f"\U0001f4ca Best match: {_pct(best)} similarity, margin: {_pct(margin)}",
        "\U0001f4be Saving matching result to database...",
        f"   User ID: {user_id}",
        f"   Key Query ID: {query}",
        f"   Matched Key ID: {keys[0]}",
        f"   Match Type: {match_type}",
        f"   Similarity: {_pct(best)}",
        f"   Confidence: {_pct(best)}",
    ]
    if outcome == "NO_MATCH":
        refused = "NO_MATCH should not have matchedKeyId"
        lines += [
            f"\u274c Failed to save matching result: {refused}",
            f"\u26a0\ufe0f Failed to save matching result: {refused}",
        ]
    else:
        lines += [
            "\u2705 Matching result saved successfully",
            f"   Matching ID: {cuid('matching ' + query)}",
        ]
    decision = {"MATCH_FOUND": "MATCH", "POSSIBLE_MATCH": "POSSIBLE"}.get(outcome, "NO_MATCH")
    lines += [
        f"{GEAR}  Extract + Match time: 2284ms",
        f"{GEAR}  Processing time (reported): 2279ms",
        "",
        f"{CHART} RESULT:",
        f"   Decision: {decision}",
        f"   Confidence: {best * 100:.2f}%",
        f"   Match: {'true' if decision == 'MATCH' else 'false'}",
        "",
        f"{TREND} DETAILS:",
        "   Bitting Similarity: NaN%",
        "   Edge Similarity: NaN%",
        f"   Margin: {margin * 100:.2f}%",
        f"   Matched Key ID: {keys[0]}",
        "",
        f"{TIMER}  TIMINGS:",
        "   Inventory: 38ms",
        "   Extract+Match: 2284ms",
        "   Total: 2339ms",
        "   Target P95: < 350ms",
        "",
    ]
    banner = {
        "MATCH_FOUND": "\u2705 ===== KEYSCAN V6 - MATCH FOUND =====",
        "POSSIBLE_MATCH": "\u26a0\ufe0f  ===== KEYSCAN V6 - POSSIBLE MATCH =====",
        "NO_MATCH": "\u274c ===== KEYSCAN V6 - NO MATCH =====",
    }[outcome]
    lines += [banner, ""]
    return Write("\n".join(lines))


def _route_error(user_id: str, stamp: str) -> Write:
    """The scan route's own crash: its inventory query cannot reach the database."""
    where = "ec2-34-228-120-11.compute-1.amazonaws.com:5432"
    message = [
        "",
        "Invalid `prisma.key.findMany()` invocation:",
        "",
        "",
        f"Can't reach database server at `{where}`",
        "",
        f"Please make sure your database server is running at `{where}`.",
    ]
    lines = [
        "",
        "\U0001f52c ===== KEYSCAN V6 - PROCESSING START =====",
        f"{CALENDAR} Timestamp: {stamp}",
        f"{PERSON} User ID: {user_id}",
        "",
        "\u274c ===== KEYSCAN V6 - ERROR =====",
        "Error: " + message[0],
        *message[1:],
        "Stack: PrismaClientInitializationError: " + message[0],
        *message[1:],
        "    at $n.handleRequestError "
        "(/app/node_modules/@prisma/client/runtime/library.js:121:7615)",
        "    at async getUserKeys (file:///app/build/index.js:318:10)",
        "    at async action$4 (file:///app/build/index.js:2431:22)",
        "Total time: 10013ms",
        "",
    ]
    return Write("\n".join(lines))


def key_created(*, key_id: str, query_id: str | None = None, image: bool = True) -> Write:
    """What creating a key prints (image stored in Cloudinary, signature extracted)."""
    lines: list[str] = []
    sig_status = "pending"
    if image:
        url = f"https://res.cloudinary.com/keycliq/image/upload/v1731320000/keys/{key_id[-8:]}.jpg"
        sig_status = "ready"
        lines += [
            f"{OUTBOX} Subiendo imagen a Cloudinary...",
            f"{CHECK} Imagen subida a Cloudinary: {url}",
            "\U0001f52c Extrayendo signature V6...",
            "\U0001f916 Starting Hybrid Balanced AI analysis...",
            "\u2705 Signature validated successfully",
            "\u2705 Signature V6 extra\u00edda exitosamente en 2417ms",
            f"\u2705 KeySignature creada para la llave: {key_id}",
        ]
        if query_id:
            lines.append(f"   Vinculada con KeyQuery: {query_id}")
    lines += [f"\u2705 Llave creada exitosamente: {key_id}", f"   sigStatus: {sig_status}"]
    return Write("\n".join(lines))


def key_deleted(*, public_id: str) -> Write:
    """What deleting a key with an image prints (the line was removed in February 2026)."""
    return Write(f"Image deleted from Cloudinary: {public_id}")


def image_upload_unauthorized() -> Write:
    """Cloudinary refusing an upload (wrong API secret), then the key saved without image."""
    return Write(
        "Error uploading to Cloudinary: {\n"
        '  message: "Invalid Signature 6d1c0f4b2e0b8a0e4f3c8d2a1b9e7f6c5d4a3b2c. '
        "String to sign - 'folder=keys&timestamp=1731320000'.\",\n"
        "  name: 'Error',\n"
        "  http_code: 401\n"
        "}\n"
        f"{CROSS} Error subiendo imagen a Cloudinary: Invalid Signature "
        "6d1c0f4b2e0b8a0e4f3c8d2a1b9e7f6c5d4a3b2c. String to sign - "
        "'folder=keys&timestamp=1731320000'."
    )


def mail_disabled() -> Write:
    """A password reset asked for while no mail key is set."""
    return Write(
        "\u26a0\ufe0f No email API key configured. Email functionality disabled.\n"
        "Cannot send email: No email API configured\n"
        "Error sending password reset email: Error: Email service not configured\n"
        "    at sendPasswordResetEmail (file:///app/build/index.js:412:11)\n"
        "    at createPasswordResetToken (file:///app/build/index.js:377:11)\n"
        "Password reset error: Error: Failed to send password reset email\n"
        "    at createPasswordResetToken (file:///app/build/index.js:383:11)"
    )


def mail_domain_unverified(domain: str = "keycliq.app") -> Write:
    """Resend refusing a sender whose domain is not verified (403)."""
    return Write(
        "Error sending email: {\n"
        "  statusCode: 403,\n"
        f"  message: 'The {domain} domain is not verified. Please, add and verify your "
        "domain on https://resend.com/domains',\n"
        "  name: 'validation_error'\n"
        "}\n"
        "Error in sendPasswordResetEmail: Error: Failed to send password reset email\n"
        "    at sendPasswordResetEmail (file:///app/build/index.js:430:13)\n"
        "Error sending password reset email: Error: Failed to send password reset email\n"
        "    at sendPasswordResetEmail (file:///app/build/index.js:430:13)\n"
        "Password reset error: Error: Failed to send password reset email\n"
        "    at createPasswordResetToken (file:///app/build/index.js:383:11)"
    )


def traffic(*, app: str, user_id: str, at: datetime | None = None) -> list[Write]:
    """A short, normal session: a user adds a key, then scans it (MATCH_FOUND) and a key
    not in the inventory (NO_MATCH, with the app's own refused matching)."""
    key = cuid(f"key {user_id} 0")
    return [
        router("GET", "/scan", 200, app, service_ms=35),
        scan("EMPTY_INVENTORY", user_id=user_id, at=at),
        router("POST", "/scan/check", 302, app, service_ms=58),
        key_created(key_id=key),
        router("POST", "/scan/new", 302, app, service_ms=2950),
        scan("MATCH_FOUND", user_id=user_id, key_ids=(key,), at=at),
        router("POST", "/scan/check", 302, app, service_ms=2360),
        scan("NO_MATCH", user_id=user_id, key_ids=(key,), at=at),
        router("POST", "/scan/check", 302, app, service_ms=2342),
    ]
