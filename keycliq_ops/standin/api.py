"""The routes the stand-in serves: the Platform API subset keycliq uses, the output
streams, and a few internal ``/_sandbox/`` routes (the git hook, faults, app log lines).

Every Platform API route names the schema link it implements, so that a test can walk
them all and validate each answer against Heroku's schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from keycliq_ops.standin.cloudinary import routes as cloudinary_routes
from keycliq_ops.standin.faults import parse_fault
from keycliq_ops.standin.pgbackups import routes as pgbackups_routes
from keycliq_ops.standin.platform import ApiError, Engine, not_found
from keycliq_ops.standin.server import (
    JsonResponse,
    RateLimiter,
    Request,
    Route,
    StreamResponse,
)
from keycliq_ops.standin.world import AppRow, fir_dyno_name, formation_of, iso

BUILD_STATUS_MARKER = "\uffff sandbox-build-status: "


def _str_field(body: dict[str, Any], name: str, default: str | None = None) -> str | None:
    value = body.get(name, default)
    if value is not None and not isinstance(value, str):
        raise ApiError(422, "invalid_params", f"{name} must be a string.")
    return value


def _id_of(body: Any, *path: str) -> str:
    node = body
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, str):
        raise ApiError(422, "invalid_params", f"{'.'.join(path)} is required.")
    return node


def routes(engine: Engine, rate: RateLimiter) -> list[Route]:
    e = engine

    def account(_: Request) -> JsonResponse:
        return JsonResponse(e.account.to_api())

    def rate_limits(_: Request) -> JsonResponse:
        return JsonResponse({"remaining": rate.remaining()})

    def apps(_: Request) -> JsonResponse:
        with e.lock:
            return JsonResponse([a.to_api() for a in e.apps.values()])

    def app_info(r: Request) -> JsonResponse:
        return JsonResponse(e.app(r.params["app"]).to_api())

    def config_get(r: Request) -> JsonResponse:
        return JsonResponse(dict(e.app(r.params["app"]).config))

    def config_of_release(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        return JsonResponse(dict(e.release(app, r.params["release"]).config))

    def config_patch(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        return JsonResponse(e.set_config(app, r.json_object()))

    def builds(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        with e.lock:
            return JsonResponse([b.to_api() for b in app.builds])

    def build_info(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        with e.lock:
            found = next((b for b in app.builds if b.id == r.params["build"]), None)
            if found is None:
                raise not_found("build")
            return JsonResponse(found.to_api())

    def releases(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        with e.lock:
            return JsonResponse([rel.to_api() for rel in app.releases])

    def release_info(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        rel = e.release(app, r.params["release"])
        with e.lock:
            return JsonResponse(rel.to_api())

    def release_create(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        body = r.json_object()
        target = _str_field(body, "release")
        slug = _str_field(body, "slug") or _str_field(body, "oci_image")  # Fir: an image
        if target is None and slug is None:
            raise ApiError(
                422, "invalid_params", "Send slug (a new release) or release (a rollback)."
            )
        if target is not None:
            rel = e.rollback(app, target)
        else:
            assert slug is not None
            rel = e.release_from_slug(app, slug, _str_field(body, "description"))
        with e.lock:
            return JsonResponse(rel.to_api(), 201)

    def pipeline_info(r: Request) -> JsonResponse:
        return JsonResponse(e.pipeline(r.params["pipeline"]).to_api())

    def couplings_of_pipeline(r: Request) -> JsonResponse:
        pipeline = e.pipeline(r.params["pipeline"])
        with e.lock:
            return JsonResponse([c.to_api() for c in e.couplings if c.pipeline_id == pipeline.id])

    def coupling_of_app(r: Request) -> JsonResponse:
        return JsonResponse(e.coupling_of(e.app(r.params["app"])).to_api())

    def promotion_create(r: Request) -> JsonResponse:
        body = r.json_object()
        pipeline = e.pipeline(_id_of(body, "pipeline", "id"))
        source = e.app(_id_of(body, "source", "app", "id"))
        raw_targets = body.get("targets")
        if not isinstance(raw_targets, list):
            raise ApiError(422, "invalid_params", "targets is required.")
        targets = [e.app(_id_of(t, "app", "id")) for t in raw_targets]
        promotion = e.promote(pipeline, source, targets)
        with e.lock:
            return JsonResponse(promotion.to_api(), 201)

    def promotion_info(r: Request) -> JsonResponse:
        with e.lock:
            promotion = e.promotions.get(r.params["promotion"])
            if promotion is None:
                raise not_found("promotion")
            return JsonResponse(promotion.to_api())

    def promotion_targets(r: Request) -> JsonResponse:
        with e.lock:
            promotion = e.promotions.get(r.params["promotion"])
            if promotion is None:
                raise not_found("promotion")
            return JsonResponse([t.to_api() for t in promotion.targets])

    def dyno_create(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        body = r.json_object()
        command = _str_field(body, "command")
        if not command:
            raise ApiError(422, "invalid_params", "command is required.")
        env = body.get("env") or {}
        if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
            raise ApiError(422, "invalid_params", "env must map names to strings.")
        dyno = e.run_dyno(
            app,
            command,
            env={str(k): v for k, v in env.items()},
            attach=bool(body.get("attach", False)),
            size=_str_field(body, "size", "basic") or "basic",
            type_=_str_field(body, "type", "run") or "run",
        )
        with e.lock:
            return JsonResponse(dyno.to_api(), 201)

    def dynos(r: Request) -> JsonResponse:
        """The formation's dynos (``web.1`` while a release runs) and the one-offs still
        running: a finished one-off leaves the list, as on Heroku."""
        app = e.app(r.params["app"])
        with e.lock:
            running = [d.to_api() for d in app.dynos if d.state in ("starting", "up")]
            return JsonResponse(formation_dynos(app, e.web_restarted.get(app.id)) + running)

    def dynos_restart(r: Request) -> JsonResponse:
        e.restart_dynos(e.app(r.params["app"]))
        return JsonResponse({}, 202)

    def user_apps(r: Request) -> JsonResponse:
        if r.params["user"] not in ("~", e.account.id, e.account.email):
            raise not_found("user")
        return apps(r)

    def filter_apps(r: Request) -> JsonResponse:
        wanted = r.json_object().get("in")
        ids = wanted.get("id") if isinstance(wanted, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ApiError(422, "invalid_params", "in.id must be a list of app ids.")
        with e.lock:
            found = [a for a in e.apps.values() if a.id in ids or a.name in ids]
            return JsonResponse([team_app(a.to_api()) for a in found])

    def pipelines(r: Request) -> JsonResponse:
        name = r.query.get("eq[name]")
        with e.lock:
            found = [p for p in e.pipelines.values() if name is None or p.name == name]
            return JsonResponse([p.to_api() for p in found])

    def collaborators(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        with e.lock:
            return JsonResponse([owner_collaborator(app)])

    def dyno_info(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        dyno = e.dyno(app, r.params["dyno"])
        with e.lock:
            return JsonResponse(dyno.to_api())

    def log_session(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        body = r.json_object()
        lines = body.get("lines", 100)
        if not isinstance(lines, int) or isinstance(lines, bool):
            raise ApiError(422, "invalid_params", "lines must be an integer.")
        session = e.open_log_session(
            app,
            lines=lines,
            tail=bool(body.get("tail", False)),
            source=_str_field(body, "source"),
            dyno_name=_str_field(body, "dyno_name") or _str_field(body, "dyno"),
        )
        return JsonResponse(session.to_api(), 201)

    def formation(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        with e.lock:
            return JsonResponse(formation_of(app))

    # ------------------------------------------------------------ streams
    def stream(r: Request) -> StreamResponse:
        kind, ident = r.params["kind"], r.params["id"]
        if kind == "log":
            if "text/event-stream" in (r.headers.get("Accept") or ""):
                # Heroku's CLI 10+ reads a log session as server-sent events only.
                return StreamResponse(
                    "log", sse_events(e.log_stream(ident)), content_type=SSE_CONTENT_TYPE
                )
            return StreamResponse("log", e.log_stream(ident))
        with e.lock:
            found = e.streams.get(ident)
        if found is None or found[0] != kind:
            raise not_found("stream")
        return StreamResponse(kind, found[1].follow())

    # ----------------------------------------------------------- internal
    def push(r: Request) -> StreamResponse:
        app = e.app(r.params["app"])
        commit = r.query.get("commit", "")
        build = e.start_build(
            app, commit=commit, message=r.query.get("message", ""), tarball=r.body
        )
        return StreamResponse("push", _push_output(e, build.id, app.name))

    def faults(r: Request) -> JsonResponse:
        if r.method == "POST":
            specs = r.json_object().get("faults", [])
            if not isinstance(specs, list):
                raise ApiError(422, "invalid_params", "faults must be a list of specs.")
            for spec in specs:
                try:
                    e.faults.add(parse_fault(str(spec)))
                except Exception as exc:
                    raise ApiError(422, "invalid_params", str(exc)) from None
        elif r.method == "DELETE":
            e.faults.clear()
        return JsonResponse([f.describe() for f in e.faults.pending()])

    def app_log(r: Request) -> JsonResponse:
        app = e.app(r.params["app"])
        body = r.json_object()
        text = _str_field(body, "text") or ""
        app.log.write(
            text,
            source=_str_field(body, "source", "app") or "app",
            dyno=_str_field(body, "dyno", "web.1") or "web.1",
        )
        return JsonResponse({"written": len(text.splitlines())}, 201)

    def web(r: Request) -> JsonResponse | StreamResponse:
        """The app's web dyno, as its public URL answers: the router logs the request."""
        app = e.app(r.params["app"])
        path = "/" + r.params.get("page", "")
        with e.lock:
            current = app.current
        if current is None or current.slug is None:  # nothing deployed: no web dyno
            app.log.write(
                f'at=error code=H14 desc="No web processes running" method=GET path="{path}" '
                f"host={app.name}.herokuapp.com status=503",
                source="heroku",
                dyno="router",
            )
            raise ApiError(503, "application_error", f"{app.name} has no running release.")
        app.log.write(
            f'at=info method=GET path="{path}" host={app.name}.herokuapp.com status=200 '
            f"service=12ms",
            source="heroku",
            dyno="router",
        )
        page = (
            "<!doctype html><html><head><title>KeyCliq</title></head><body>"
            f"<h1>KeyCliq</h1><p>{app.name} v{current.version}</p></body></html>\n"
        )
        return StreamResponse("web", iter([page]), content_type="text/html; charset=utf-8")

    def status(_: Request) -> JsonResponse:
        with e.lock:
            out = []
            for app in e.apps.values():
                cur = app.current
                out.append(
                    {
                        "name": app.name,
                        "release": cur.version if cur else None,
                        "commit": cur.slug.commit if cur and cur.slug else None,
                        "releases": len(app.releases),
                        "builds": len(app.builds),
                        "git": str(app.bare_repo),
                    }
                )
        return JsonResponse({"apps": out, "faults": [f.describe() for f in e.faults.pending()]})

    a = "/apps/{app}"
    return [
        Route("GET", "/account", account, ("account", "Info")),
        Route("GET", "/account/rate-limits", rate_limits, ("rate-limit", "Info")),
        Route("GET", "/apps", apps, ("app", "List"), ranges=("id", "name")),
        Route("GET", a, app_info, ("app", "Info")),
        Route("GET", f"{a}/config-vars", config_get, ("config-var", "Info for App")),
        Route("PATCH", f"{a}/config-vars", config_patch, ("config-var", "Update")),
        Route(
            "GET",
            f"{a}/builds",
            builds,
            ("build", "List"),
            ranges=("started_at", "created_at", "id"),
        ),
        Route("GET", f"{a}/builds/{{build}}", build_info, ("build", "Info")),
        Route("GET", f"{a}/releases", releases, ("release", "List"), ranges=("version", "id")),
        Route("POST", f"{a}/releases", release_create, ("release", "Rollback")),
        Route("GET", f"{a}/releases/{{release}}", release_info, ("release", "Info")),
        Route(
            "GET",
            f"{a}/releases/{{release}}/config-vars",
            config_of_release,
            ("config-var", "Info for App Release"),
        ),
        Route(
            "GET", f"{a}/pipeline-couplings", coupling_of_app, ("pipeline-coupling", "Info By App")
        ),
        Route("GET", "/pipelines/{pipeline}", pipeline_info, ("pipeline", "Info")),
        Route(
            "GET",
            "/pipelines/{pipeline}/pipeline-couplings",
            couplings_of_pipeline,
            ("pipeline-coupling", "List By Pipeline"),
            ranges=("id",),
        ),
        Route("POST", "/pipeline-promotions", promotion_create, ("pipeline-promotion", "Create")),
        Route(
            "GET",
            "/pipeline-promotions/{promotion}",
            promotion_info,
            ("pipeline-promotion", "Info"),
        ),
        Route(
            "GET",
            "/pipeline-promotions/{promotion}/promotion-targets",
            promotion_targets,
            ("pipeline-promotion-target", "List"),
            ranges=("id",),
        ),
        Route("POST", f"{a}/dynos", dyno_create, ("dyno", "Create")),
        Route("GET", f"{a}/dynos", dynos, ("dyno", "List"), ranges=("id", "name")),
        Route("DELETE", f"{a}/dynos", dynos_restart, ("dyno", "Restart all")),
        Route(
            "GET",
            "/users/{user}/apps",
            user_apps,
            ("app", "List Owned and Collaborated"),
            ranges=("id", "name", "updated_at"),
        ),
        Route(
            "POST",
            "/filters/apps",
            filter_apps,
            ("filter-apps", "Apps"),
            ranges=("id", "name", "updated_at"),
        ),
        Route("GET", "/pipelines", pipelines, ("pipeline", "List"), ranges=("id", "name")),
        Route("GET", f"{a}/collaborators", collaborators, ("collaborator", "List"), ranges=("id",)),
        Route("GET", f"{a}/dynos/{{dyno}}", dyno_info, ("dyno", "Info")),
        Route("POST", f"{a}/log-sessions", log_session, ("log-session", "Create")),
        Route("GET", f"{a}/formation", formation, ("formation", "List"), ranges=("id", "type")),
        Route("GET", "/streams/{kind}/{id}", stream, auth=False),
        Route("POST", "/_sandbox/apps/{app}/push", push, api=False),
        Route("GET", "/_sandbox/faults", faults, api=False),
        Route("POST", "/_sandbox/faults", faults, api=False),
        Route("DELETE", "/_sandbox/faults", faults, api=False),
        Route("POST", "/_sandbox/apps/{app}/log", app_log, api=False),
        Route("GET", "/_sandbox/status", status, api=False),
        Route("GET", "/_sandbox/web/{app}", web, auth=False, api=False),
        Route("GET", "/_sandbox/web/{app}/", web, auth=False, api=False),
        Route("GET", "/_sandbox/web/{app}/{page}", web, auth=False, api=False),
        *pgbackups_routes(engine),  # the Heroku Postgres API's backups, and the add-on list
        *cloudinary_routes(engine),  # Cloudinary's Admin API usage (standin/cloudinary.py)
    ]


SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
# Properties of a team-app (``POST /filters/apps``) that an app does not carry.
_TEAM_APP_ONLY = {"joined": False, "locked": False}
_TEAM_APP_KEYS = (
    "archived_at",
    "buildpack_provided_description",
    "build_stack",
    "created_at",
    "git_url",
    "id",
    "internal_routing",
    "maintenance",
    "name",
    "team",
    "owner",
    "region",
    "released_at",
    "repo_size",
    "slug_size",
    "space",
    "stack",
    "updated_at",
    "web_url",
)


def sse_events(lines: Iterator[str]) -> Iterator[str]:
    """Each log line as one server-sent event (``data: <line>`` and a blank line)."""
    for line in lines:
        yield f"data: {line.rstrip(chr(10))}\n\n"


def team_app(app: dict[str, Any]) -> dict[str, Any]:
    """An app as ``POST /filters/apps`` answers it (the schema's ``team-app``)."""
    return {**{k: app[k] for k in _TEAM_APP_KEYS}, **_TEAM_APP_ONLY}


def owner_collaborator(app: AppRow) -> dict[str, Any]:
    """The owner of a personal app, as its collaborator list shows them."""
    return {
        "app": {"name": app.name, "id": app.id},
        "created_at": iso(app.created_at),
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{app.id}/collaborator/{app.owner.id}")),
        "permissions": [],
        "role": "owner",
        "updated_at": iso(app.created_at),
        "user": {"email": app.owner.email, "federated": False, "id": app.owner.id},
    }


def formation_dynos(app: AppRow, restarted: datetime | None) -> list[dict[str, Any]]:
    """The dynos the formation runs for the current release (``quantity`` of each type),
    up since the release (or the last restart)."""
    current = app.current
    if current is None or current.slug is None:
        return []
    since = max(current.updated_at, restarted) if restarted else current.updated_at
    out = []
    for entry in formation_of(app):
        for number in range(1, int(entry["quantity"]) + 1):
            name = f"{entry['type']}.{number}"
            if app.fir:
                name = fir_dyno_name(app.id, name)
            out.append(
                {
                    "attach_url": None,
                    "command": entry["command"],
                    "created_at": iso(since),
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{app.id}/{name}/{iso(since)}")),
                    "name": name,
                    "release": {"id": current.id, "version": current.version},
                    "app": {"name": app.name, "id": app.id},
                    "size": entry["size"],
                    "state": "up",
                    "type": entry["type"],
                    "updated_at": iso(since),
                }
            )
    return out


def _push_output(e: Engine, build_id: str, app_name: str) -> Iterator[str]:
    """What ``git push`` shows: the build log, the release, the release phase, the status."""
    app = e.app(app_name)
    build = next(b for b in app.builds if b.id == build_id)
    yield from build.output.follow()
    if build.status != "succeeded" or build.release is None:
        yield f"{BUILD_STATUS_MARKER}failed\n"
        return
    rel = build.release
    yield "-----> Launching...\n"
    yield f"       Released v{rel.version}\n"
    yield f"       https://{app.name}.herokuapp.com/ deployed to Heroku\n\n"
    yield "Verifying deploy... done.\n"
    if rel.output is not None:
        yield "Running release command...\n\n"
        yield from rel.output.follow()
        rel.done.wait()
        yield f"Waiting for release.... {'done' if rel.status == 'succeeded' else 'failed'}.\n"
    yield f"{BUILD_STATUS_MARKER}succeeded\n"
