"""Every Platform API route the stand-in serves answers what Heroku's schema says.

Walks the stand-in's own route table (so a new route without a request here fails),
calls each route over HTTP, and validates the answer against the targetSchema of the link
the route names, strictly: ``strictProperties`` objects must carry every listed property
and nothing else; uuids, date-times and emails are checked. The schema is the shared
reference copy, read through ``keycliq_ops.standin.apischema.ApiSchema``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from keycliq_ops.standin import KeycliqApps, Sandbox
from keycliq_ops.standin.api import routes
from keycliq_ops.standin.apischema import ApiSchema, Link
from keycliq_ops.standin.sample.repo import SampleRepo
from keycliq_ops.standin.server import RateLimiter

from .helpers import push

pytestmark = [pytest.mark.db, pytest.mark.e2e]

REFERENCE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "reference"
) / "heroku-platform-api-schema.json"


def _schema() -> ApiSchema:
    return ApiSchema.load(REFERENCE if REFERENCE.exists() else None)


def _link(api: ApiSchema, resource: str, title: str) -> Link:
    found = [lk for lk in api.links if lk.resource == resource and lk.title == title]
    assert len(found) == 1, (resource, title)
    return found[0]


def test_every_api_route_answers_per_the_schema(
    sandbox: Sandbox, apps: KeycliqApps, sample: SampleRepo, client: httpx.Client
) -> None:
    api = _schema()
    assert push(sample.path, "heroku-staging", "main:main").returncode == 0
    build = client.get("/apps/keycliq-staging/builds").json()[0]
    deployed = client.get("/apps/keycliq-staging/releases").json()[-1]
    promotion = client.post(
        "/pipeline-promotions",
        json={
            "pipeline": {"id": apps.pipeline.id},
            "source": {"app": {"id": apps.staging.id}},
            "targets": [{"app": {"id": apps.production.id}}],
        },
    ).json()
    dyno = client.post(
        "/apps/keycliq-staging/dynos", json={"command": "echo hi", "attach": True}
    ).json()
    params = {
        "app": "keycliq-staging",
        "build": build["id"],
        "release": deployed["id"],
        "pipeline": apps.pipeline.id,
        "promotion": promotion["id"],
        "dyno": dyno["id"],
        "user": "~",
    }
    bodies: dict[tuple[str, str], Any] = {
        ("PATCH", "/apps/{app}/config-vars"): {"WALK": "1"},
        ("POST", "/apps/{app}/releases"): {"release": deployed["id"]},
        ("POST", "/pipeline-promotions"): {
            "pipeline": {"id": apps.pipeline.id},
            "source": {"app": {"id": apps.staging.id}},
            "targets": [{"app": {"id": apps.production.id}}],
        },
        ("POST", "/apps/{app}/dynos"): {"command": "true", "attach": False, "type": "run"},
        ("POST", "/apps/{app}/log-sessions"): {"lines": 10, "source": "app", "tail": False},
        ("POST", "/filters/apps"): {"in": {"id": [apps.staging.id, apps.production.id]}},
    }

    walked = []
    for route in routes(sandbox.engine, RateLimiter()):
        if route.link is None:
            continue  # streams and internal /_sandbox/ routes: not Platform API
        link = _link(api, *route.link)
        path = route.pattern.format(**params)
        assert link.match(path) is not None, f"{route.pattern} does not fit {link.href}"
        body = bodies.get((route.method, route.pattern))
        if body is not None:
            api.validate_request(route.method, path, body)
        resp = client.request(route.method, path, json=body)
        assert resp.status_code in (200, 201, 202, 206), (path, resp.text)
        assert resp.headers["Content-Type"] == "application/json"
        assert int(resp.headers["RateLimit-Remaining"]) >= 0
        problems = api.errors(link.target_schema or {}, resp.json(), strict=True)
        assert problems == [], f"{route.method} {route.pattern}: {problems}"
        walked.append((route.method, route.pattern))
    assert len(walked) >= 23
    # What Heroku's CLI reads beside keycliq's own routes (docs/heroku-cli.md):
    cli_routes = {
        ("GET", "/users/{user}/apps"),
        ("POST", "/filters/apps"),
        ("GET", "/pipelines"),
        ("DELETE", "/apps/{app}/dynos"),
        ("GET", "/apps/{app}/addons"),
        ("GET", "/apps/{app}/collaborators"),
    }
    assert cli_routes <= set(walked)
    assert set(bodies) <= set(walked)


def test_pending_states_fit_the_schema_too(
    sandbox: Sandbox, apps: KeycliqApps, client: httpx.Client
) -> None:
    api = _schema()
    # A release before any deploy has no slug and no output stream: null where allowed.
    rel = client.get("/apps/keycliq-staging/releases/1").json()
    assert rel["slug"] is None and rel["output_stream_url"] is None
    assert api.errors(_link(api, "release", "Info").target_schema or {}, rel) == []
    app = client.get("/apps/keycliq-staging").json()
    assert app["slug_size"] is None and app["web_url"] == "https://keycliq-staging.herokuapp.com/"
    assert api.errors(_link(api, "app", "Info").target_schema or {}, app) == []
