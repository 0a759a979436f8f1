"""Contract tests: the client speaks Heroku's Platform API as its schema defines it.

- Every public method of HerokuClient is called here through a recording transport; every
  request it sends must match a schema link (method + href template, path parameters
  valid), its JSON body must validate against the link's ``schema`` (no unknown
  properties), and a ``Range`` header must name one of the link's ``ranges``.
- A public method missing from ``CALLS`` fails ``test_every_public_method_is_covered``,
  so adding a client call without a schema match cannot go unnoticed.
- Every response fixture in tests/fixtures/heroku validates against the link's
  ``targetSchema`` with Heroku's ``strictProperties`` enforced (all properties, no others).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.standin.apischema import VENDORED_SCHEMA, ApiSchema, SchemaViolation
from tests.adapters.heroku.heroku_helpers import BASE, TOKEN, fixture, fixture_names

REPO = Path(__file__).resolve().parents[3]
SHARED_SCHEMA = REPO.parent / "shared" / "reference" / "heroku-platform-api-schema.json"
SCHEMA_PATH = SHARED_SCHEMA if SHARED_SCHEMA.is_file() else VENDORED_SCHEMA


@pytest.fixture(scope="module")
def api() -> ApiSchema:
    return ApiSchema.load(SCHEMA_PATH)


def _id(name: str) -> str:
    return str(fixture(name)["body"]["id"])


APP = "keycliq-staging"
PIPELINE = "0a1b2c3d-0000-4000-8000-0000000000f1"
STAGING_ID = "0a1b2c3d-0000-4000-8000-0000000000a1"
PRODUCTION_ID = "0a1b2c3d-0000-4000-8000-0000000000a2"

# Every public API method, called with realistic arguments (each variant of optional
# arguments that changes the request is exercised).
CALLS: dict[str, list[Callable[[HerokuClient], object]]] = {
    "account": [lambda c: c.account()],
    "rate_limits": [lambda c: c.rate_limits()],
    "app": [lambda c: c.app(APP), lambda c: c.app(STAGING_ID)],
    "config_vars": [lambda c: c.config_vars(APP)],
    "update_config_vars": [lambda c: c.update_config_vars(APP, {"A_B": "1", "OLD_VAR": None})],
    "formation": [lambda c: c.formation(APP)],
    "builds": [
        lambda c: c.builds(APP),
        lambda c: c.builds(APP, newest_first=False, limit=5),
    ],
    "build": [lambda c: c.build(APP, _id("build"))],
    "releases": [lambda c: c.releases(APP), lambda c: c.releases(APP, limit=3)],
    "release": [lambda c: c.release(APP, 12), lambda c: c.release(APP, _id("release"))],
    "rollback": [lambda c: c.rollback(APP, _id("release")), lambda c: c.rollback(APP, "12")],
    "create_release": [
        lambda c: c.create_release(
            APP, fixture("release")["body"]["slug"]["id"], description="Deploy 1a2b3c4d again"
        ),
        lambda c: c.create_release(APP, "6f1e2d3c-0000-4000-8000-00000000a1b2", oci_image=True),
    ],
    "app_pipeline_coupling": [lambda c: c.app_pipeline_coupling(APP)],
    "pipeline": [lambda c: c.pipeline(PIPELINE), lambda c: c.pipeline("keycliq")],
    "pipeline_couplings": [lambda c: c.pipeline_couplings(PIPELINE)],
    "create_promotion": [
        lambda c: c.create_promotion(PIPELINE, STAGING_ID, [PRODUCTION_ID]),
        lambda c: c.create_promotion(
            PIPELINE, STAGING_ID, [PRODUCTION_ID], source_release_id=_id("release")
        ),
    ],
    "promotion": [lambda c: c.promotion(_id("promotion"))],
    "promotion_targets": [lambda c: c.promotion_targets(_id("promotion"))],
    "create_dyno": [
        lambda c: c.create_dyno(APP, "npx prisma migrate status"),
        lambda c: c.create_dyno(
            APP, "npx prisma migrate deploy", attach=True, env={"X": "1"}, size="basic"
        ),
    ],
    "dyno": [lambda c: c.dyno(APP, _id("dyno"))],
    "create_log_session": [
        lambda c: c.create_log_session(APP),
        lambda c: c.create_log_session(APP, lines=200, tail=True, source="app", dyno_name="web.1"),
    ],
}
# Public methods that are not Platform API calls.
NOT_API_CALLS = {"close", "from_environment", "stream_lines"}


class Recorder:
    """A transport that records each request and answers from the response fixtures."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: dict[tuple[str, str], dict[str, Any]] = {}
        for name in fixture_names():
            f = fixture(name)
            if f["status"] < 400:
                self.answers.setdefault((f["method"], f["path"]), f)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        f = self.answers.get((request.method, path))
        if f is None and request.method == "GET" and "/releases/" in path:
            f = self.answers[("GET", "/apps/keycliq-staging/releases/12")]
        if f is None and request.method == "GET" and path.startswith("/apps/"):
            f = self.answers[("GET", "/apps/keycliq-staging")]
        if f is None and request.method == "GET" and path.startswith("/pipelines/"):
            f = self.answers[("GET", f"/pipelines/{PIPELINE}")]
        if f is None:
            return httpx.Response(404, json={"id": "not_found", "message": "no fixture"})
        return httpx.Response(f["status"], json=f["body"], headers=f.get("headers", {}))


def public_methods() -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(HerokuClient)
        if not name.startswith("_")
        and (inspect.isfunction(member) or isinstance(member, classmethod))
    } | {name for name, m in vars(HerokuClient).items() if isinstance(m, classmethod)}


def test_every_public_method_is_covered() -> None:
    missing = public_methods() - set(CALLS) - NOT_API_CALLS
    assert not missing, f"add these client methods to CALLS (contract test): {sorted(missing)}"
    assert set(CALLS) <= public_methods()


@pytest.mark.parametrize("method", sorted(CALLS))
def test_every_request_matches_a_schema_link(api: ApiSchema, method: str) -> None:
    recorder = Recorder()
    client = HerokuClient(
        TOKEN, BASE, transport=httpx.MockTransport(recorder), sleep=lambda _s: None
    )
    for call in CALLS[method]:
        call(client)
    assert recorder.requests, f"{method} sent no request"
    for request in recorder.requests:
        body = json.loads(request.content) if request.content else None
        link = api.validate_request(
            request.method,
            request.url.path,
            body,
            range_header=request.headers.get("Range"),
        )
        assert link.method == request.method


def test_vendored_schema_is_the_shared_reference() -> None:
    if not SHARED_SCHEMA.is_file():
        pytest.skip(f"{SHARED_SCHEMA} is not beside this clone")
    assert VENDORED_SCHEMA.read_bytes() == SHARED_SCHEMA.read_bytes()


@pytest.mark.parametrize("name", fixture_names())
def test_fixture_fits_the_schema(api: ApiSchema, name: str) -> None:
    f = fixture(name)
    assert api.links_for(f["method"], f["path"]), f"{name}: no link for {f['method']} {f['path']}"
    if f["status"] >= 400:
        body = f["body"]
        assert set(body) == {"id", "message"}
        assert isinstance(body["id"], str) and isinstance(body["message"], str)
    else:
        api.validate_response(f["method"], f["path"], f["body"], strict=True)


# -- the checker itself catches what it must ------------------------------------------------


def test_unknown_endpoint_is_refused(api: ApiSchema) -> None:
    with pytest.raises(SchemaViolation, match="matches no link"):
        api.validate_request("GET", "/apps/keycliq-staging/deployments")
    with pytest.raises(SchemaViolation, match="matches no link"):
        api.validate_request("DELETE", "/account/rate-limits")


def test_bad_path_parameter_is_refused(api: ApiSchema) -> None:
    assert api.links_for("GET", "/apps/Not_An_App_Name") == []
    assert api.links_for("GET", "/apps/keycliq-staging/releases/v12") == []
    assert api.links_for("GET", "/apps/keycliq-staging/releases/12")


def test_bad_bodies_are_refused(api: ApiSchema) -> None:
    with pytest.raises(SchemaViolation, match="not a property"):
        api.validate_request("POST", "/apps/keycliq-staging/log-sessions", {"tial": True})
    with pytest.raises(SchemaViolation, match="is not of type"):
        api.validate_request("POST", "/apps/keycliq-staging/dynos", {"command": ["ls"]})
    with pytest.raises(SchemaViolation, match="uuid"):
        api.validate_request("POST", "/apps/keycliq-staging/releases", {"release": "v12"})
    with pytest.raises(SchemaViolation, match="Range"):
        api.validate_request(
            "GET", "/apps/keycliq-staging/builds", range_header="created_at ..; max=10"
        )


def test_strict_responses_need_every_property(api: ApiSchema) -> None:
    release = fixture("release")["body"]
    api.validate_response("GET", "/apps/keycliq-staging/releases/12", release)
    partial = {k: v for k, v in release.items() if k != "current"}
    api.validate_response("GET", "/apps/keycliq-staging/releases/12", partial, strict=False)
    with pytest.raises(SchemaViolation, match="'current' is a required property"):
        api.validate_response("GET", "/apps/keycliq-staging/releases/12", partial)
    with pytest.raises(SchemaViolation, match="Additional properties"):
        api.validate_resource("release", {**release, "surprise": 1})
    with pytest.raises(SchemaViolation, match="date-time"):
        api.validate_resource("release", {**release, "created_at": "yesterday"})


def test_examples_are_complete_instances(api: ApiSchema) -> None:
    for resource in ("app", "build", "release", "dyno", "pipeline-promotion-target"):
        api.validate_resource(resource, api.example(resource), strict=True)
