"""HerokuClient against a respx-faked API: parsing, headers, errors, retries, pagination."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import pytest
import respx

from keycliq_ops import __version__
from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.base.errors import EXIT_EXTERNAL, HerokuError, TwoFactorRequired
from tests.adapters.heroku.heroku_helpers import BASE, TOKEN, Sleeps, fixture, serve

STAGING = "keycliq-staging"


def test_headers_on_every_request(client: HerokuClient, router: respx.Router) -> None:
    route = serve(router, "account")
    account = client.account()
    assert account.email == "dev@keycliq.example"
    sent = route.calls.last.request
    assert sent.headers["Accept"] == "application/vnd.heroku+json; version=3"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["User-Agent"] == f"keycliq/{__version__}"
    assert "Heroku-Two-Factor-Code" not in sent.headers


def test_two_factor_code_header(make_client: Callable[..., HerokuClient], router: respx.Router):
    route = serve(router, "account")
    client = make_client(two_factor_code="123456")
    client.account()
    assert route.calls.last.request.headers["Heroku-Two-Factor-Code"] == "123456"
    client.two_factor_code = "654321"
    client.account()
    assert route.calls.last.request.headers["Heroku-Two-Factor-Code"] == "654321"


def test_models_from_fixtures(client: HerokuClient, router: respx.Router) -> None:
    for name in (
        "app",
        "rate-limits",
        "config-vars",
        "releases",
        "release",
        "build",
        "app-pipeline-coupling",
        "pipeline",
        "pipeline-couplings",
        "promotion",
        "promotion-targets",
        "dyno",
        "formation",
    ):
        serve(router, name)
    assert client.app(STAGING).web_url.startswith("https://keycliq-staging")  # type: ignore[union-attr]
    assert client.rate_limits().remaining == 4321
    assert client.config_vars(STAGING)["NODE_ENV"] == "production"
    releases = client.releases(STAGING)
    assert [r.version for r in releases] == [12, 11, 10]
    assert releases[0].current and releases[0].slug is not None
    assert client.release(STAGING, 12).description.startswith("Deploy 9e8d7c6b")
    build = client.build(STAGING, fixture("build")["body"]["id"])
    assert build.commit == "9e8d7c6b5a4938271605f4e3d2c1b0a998877665"
    assert build.release is not None and build.release.id == releases[0].id
    coupling = client.app_pipeline_coupling(STAGING)
    assert coupling.stage == "staging"
    assert client.pipeline(coupling.pipeline.id).name == "keycliq"
    stages = {c.stage for c in client.pipeline_couplings(coupling.pipeline.id)}
    assert stages == {"staging", "production"}
    promo_id = fixture("promotion")["body"]["id"]
    assert client.promotion(promo_id).status == "completed"
    [target] = client.promotion_targets(promo_id)
    assert target.status == "succeeded" and target.error_message is None
    assert client.dyno(STAGING, fixture("dyno")["body"]["id"]).state == "complete"
    [web] = client.formation(STAGING)
    assert (web.type, web.quantity) == ("web", 1)


def test_releases_range_newest_first_and_limit(client: HerokuClient, router: respx.Router):
    route = serve(router, "releases")
    client.releases(STAGING, limit=2)
    assert route.calls.last.request.headers["Range"] == "version ..; order=desc, max=2"
    client.releases(STAGING, newest_first=False)
    assert route.calls.last.request.headers["Range"] == "version ..; order=asc, max=1000"


def test_pagination_follows_next_range(client: HerokuClient, router: respx.Router) -> None:
    first = fixture("builds")
    second = fixture("build-failed")["body"]
    ranges: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        ranges.append(request.headers["Range"])
        if len(ranges) == 1:
            return httpx.Response(206, json=first["body"], headers=first["headers"])
        return httpx.Response(200, json=[second])

    router.get("/apps/keycliq-staging/builds").mock(side_effect=answer)
    builds = client.builds(STAGING)
    assert [b.status for b in builds] == ["succeeded", "succeeded", "failed"]
    assert ranges == ["started_at ..; order=desc, max=1000", first["headers"]["Next-Range"]]
    # A limit stops before the next page is asked for.
    ranges.clear()
    assert len(client.builds(STAGING, limit=2)) == 2
    assert ranges == ["started_at ..; order=desc, max=2"]


def test_write_calls_send_the_documented_bodies(client: HerokuClient, router: respx.Router):
    routes = {
        n: serve(router, n)
        for n in (
            "config-vars-update",
            "rollback",
            "promotion-create",
            "dyno-create",
            "log-session",
        )
    }
    result = client.update_config_vars(STAGING, {"X": "1", "OLD": None})
    assert result["X"] == "1"
    assert json.loads(routes["config-vars-update"].calls.last.request.content) == {
        "X": "1",
        "OLD": None,
    }
    rid = fixture("release")["body"]["id"]
    assert client.rollback(STAGING, rid).description == "Rollback to v11"
    assert json.loads(routes["rollback"].calls.last.request.content) == {"release": rid}
    client.create_promotion("p-id", "src-id", ["t1", "t2"], source_release_id="r-id")
    assert json.loads(routes["promotion-create"].calls.last.request.content) == {
        "pipeline": {"id": "p-id"},
        "source": {"app": {"id": "src-id"}, "release": {"id": "r-id"}},
        "targets": [{"app": {"id": "t1"}}, {"app": {"id": "t2"}}],
    }
    dyno = client.create_dyno(STAGING, "npx prisma migrate status", attach=True, env={"A": "b"})
    assert dyno.attach_url and dyno.attach_url.startswith("rendezvous://")
    assert json.loads(routes["dyno-create"].calls.last.request.content) == {
        "command": "npx prisma migrate status",
        "attach": True,
        "type": "run",
        "env": {"A": "b"},
    }
    session = client.create_log_session(STAGING, lines=100, tail=True, source="app")
    assert session.logplex_url.startswith("https://logplex")
    assert json.loads(routes["log-session"].calls.last.request.content) == {
        "tail": True,
        "lines": 100,
        "source": "app",
    }


def test_rollback_by_version_looks_the_release_up(client: HerokuClient, router: respx.Router):
    serve(router, "release")
    route = serve(router, "rollback")
    client.rollback(STAGING, "12")
    assert json.loads(route.calls.last.request.content) == {
        "release": fixture("release")["body"]["id"]
    }


def test_app_name_cannot_escape_its_path_segment(client: HerokuClient, router: respx.Router):
    route = router.get(url__regex=r".*").respond(404, json={"id": "not_found", "message": "no"})
    with pytest.raises(HerokuError):
        client.app("../account")
    assert route.calls.last.request.url.raw_path == b"/apps/..%2Faccount"


@pytest.mark.parametrize(
    ("name", "call", "error_id", "hint_word", "error_type"),
    [
        ("error-unauthorized", lambda c: c.account(), "unauthorized", "heroku login", HerokuError),
        (
            "error-two-factor",
            lambda c: c.rollback("keycliq-production", "0a1b2c3d-0000-4000-8000-000000000001"),
            "two_factor",
            "two-factor",
            TwoFactorRequired,
        ),
        ("error-not-found", lambda c: c.app("keycliq-nope"), "not_found", "keycliq.yaml", None),
        # 429 is retried (bounded) before it is reported.
        ("error-rate-limit", lambda c: c.releases(STAGING), "rate_limit", "wait", None),
        (
            "error-invalid-params",
            lambda c: c.update_config_vars(STAGING, {"bad name": "x"}),
            "invalid_params",
            "parameters",
            None,
        ),
    ],
)
def test_errors_become_typed_with_hints(
    client: HerokuClient, router: respx.Router, name, call, error_id, hint_word, error_type
) -> None:
    serve(router, name)
    with pytest.raises(error_type or HerokuError) as info:
        call(client)
    err = info.value
    f = fixture(name)
    assert err.status == f["status"]
    assert err.error_id == error_id
    assert f["body"]["message"] in err.message
    assert err.hint and hint_word in err.hint
    assert err.exit_code == EXIT_EXTERNAL


def test_error_without_json_body(client: HerokuClient, router: respx.Router) -> None:
    router.get("/account").respond(502, text="<html>Bad gateway</html>")
    with pytest.raises(HerokuError) as info:
        client.account()
    assert info.value.status == 502
    assert "status.heroku.com" in (info.value.hint or "")


def test_get_retried_on_5xx_then_succeeds(client: HerokuClient, router, sleeps: Sleeps):
    ok = fixture("account")
    router.get("/account").mock(
        side_effect=[
            httpx.Response(503, json={"id": "service_unavailable", "message": "x"}),
            httpx.Response(500, json={"id": "internal", "message": "y"}),
            httpx.Response(200, json=ok["body"]),
        ]
    )
    assert client.account().id == ok["body"]["id"]
    assert client.request_count == 3
    assert client.path_counts["GET /account"] == 3
    # Exponential backoff with jitter: each wait in the upper half of base * 2**n.
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5
    assert 0.5 <= sleeps[1] <= 1.0


def test_retry_after_is_honoured(client: HerokuClient, router: respx.Router, sleeps: Sleeps):
    router.get("/account").mock(
        side_effect=[
            httpx.Response(
                429, json={"id": "rate_limit", "message": "slow"}, headers={"Retry-After": "7"}
            ),
            httpx.Response(200, json=fixture("account")["body"]),
        ]
    )
    client.account()
    assert sleeps == [7.0]


def test_retries_are_bounded(make_client, router: respx.Router, sleeps: Sleeps) -> None:
    client = make_client(max_retries=2)
    router.get("/account").respond(503, json={"id": "service_unavailable", "message": "down"})
    with pytest.raises(HerokuError) as info:
        client.account()
    assert info.value.status == 503 and info.value.exit_code == 3
    assert client.request_count == 3
    assert len(sleeps) == 2


def test_post_not_retried_on_5xx(client: HerokuClient, router: respx.Router, sleeps: Sleeps):
    route = router.post("/apps/keycliq-staging/releases").respond(
        503, json={"id": "service_unavailable", "message": "down"}
    )
    with pytest.raises(HerokuError):
        client.rollback(STAGING, "0a1b2c3d-0000-4000-8000-000000000001")
    assert route.call_count == 1 and sleeps == []


def test_post_retried_when_never_sent(client: HerokuClient, router: respx.Router, sleeps: Sleeps):
    rollback = fixture("rollback")
    route = router.post("/apps/keycliq-staging/releases").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(201, json=rollback["body"])]
    )
    assert client.rollback(STAGING, rollback["body"]["id"]).version == 13
    assert route.call_count == 2 and len(sleeps) == 1


def test_post_not_retried_after_a_read_failure(client: HerokuClient, router, sleeps: Sleeps):
    route = router.post("/apps/keycliq-staging/releases").mock(
        side_effect=httpx.ReadTimeout("timed out")
    )
    with pytest.raises(HerokuError) as info:
        client.rollback(STAGING, "0a1b2c3d-0000-4000-8000-000000000001")
    assert "ReadTimeout" in info.value.message
    assert route.call_count == 1 and sleeps == []


def test_post_retried_on_429(client: HerokuClient, router: respx.Router, sleeps: Sleeps):
    """Heroku answers 429 before acting, so repeating even a POST is safe."""
    route = router.post("/apps/keycliq-staging/releases").mock(
        side_effect=[
            httpx.Response(
                429, json={"id": "rate_limit", "message": "x"}, headers={"Retry-After": "2"}
            ),
            httpx.Response(201, json=fixture("rollback")["body"]),
        ]
    )
    client.rollback(STAGING, "0a1b2c3d-0000-4000-8000-000000000001")
    assert route.call_count == 2 and sleeps == [2.0]


def test_connection_errors_exhaust_into_exit_3(make_client, router: respx.Router) -> None:
    client = make_client(max_retries=1)
    router.get("/account").mock(side_effect=httpx.ConnectError("Connection refused"))
    with pytest.raises(HerokuError) as info:
        client.account()
    assert "after 2 attempts" in info.value.message
    assert "ConnectError" in info.value.message
    assert info.value.exit_code == 3


def test_slows_down_when_rate_limit_runs_low(client: HerokuClient, router, sleeps: Sleeps):
    body = fixture("account")["body"]
    remaining = iter(["4000", "50", "0", "3000"])
    router.get("/account").mock(
        side_effect=lambda _r: httpx.Response(
            200, json=body, headers={"RateLimit-Remaining": next(remaining)}
        )
    )
    for _ in range(4):
        client.account()
    # No pause while the budget is healthy; the pause grows as it runs out.
    assert len(sleeps) == 2
    assert 0 < sleeps[0] < sleeps[1]
    assert client.rate_limit_remaining == 3000


def test_non_json_answer_is_an_outside_error(client: HerokuClient, router: respx.Router):
    router.get("/account").respond(200, text="<html>captive portal</html>")
    with pytest.raises(HerokuError) as info:
        client.account()
    assert "JSON" in info.value.message and BASE in (info.value.hint or "")


def test_unexpected_shape_is_an_outside_error(client: HerokuClient, router: respx.Router):
    router.get("/account").respond(200, json={"hello": "world"})
    with pytest.raises(HerokuError) as info:
        client.account()
    assert "Account" in info.value.message


def test_token_never_shown(client: HerokuClient, router: respx.Router, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    router.get("/account").mock(side_effect=httpx.ConnectError(f"cannot reach with {TOKEN}"))
    router.get("/apps/x1x").respond(
        401, json={"id": "unauthorized", "message": f"token {TOKEN} is invalid"}
    )
    texts = [repr(client), str(client), repr(client._t._auth), repr(client._token)]
    for call in (client.account, lambda: client.app("x1x")):
        with pytest.raises(HerokuError) as info:
            call()
        texts += [str(info.value), info.value.hint or "", repr(info.value)]
    texts += [r.getMessage() for r in caplog.records]
    assert texts and all(TOKEN not in t for t in texts)
    assert any("7f3a9c1e5b2d4f60"[-4:] in t for t in texts)  # shown masked, never whole
