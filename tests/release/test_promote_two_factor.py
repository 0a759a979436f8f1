"""Two-factor answers from the API (respx): the code is asked for, sent as
``Heroku-Two-Factor-Code`` on the repeated request, and a refusal is told apart from
having no code at all."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import respx

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.base.errors import TwoFactorRequired, UsageError
from keycliq_ops.release.two_factor import with_two_factor

BASE = "https://api.heroku.test"
PIPELINE, SOURCE, TARGET = (str(uuid.uuid4()) for _ in range(3))
TWO_FACTOR = {"id": "two_factor", "message": "A second authentication factor is required."}
PROMOTION = {
    "id": str(uuid.uuid4()),
    "status": "pending",
    "pipeline": {"id": PIPELINE},
    "source": {"app": {"id": SOURCE}, "release": {"id": str(uuid.uuid4())}},
    "created_at": "2026-11-28T03:00:00Z",
    "updated_at": "2026-11-28T03:00:00Z",
}


@pytest.fixture
def client() -> Iterator[HerokuClient]:
    with HerokuClient("hk-token-0123456789abcdef", BASE, sleep=lambda _: None) as c:
        yield c


def wants_code(code: str) -> respx.Route:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Heroku-Two-Factor-Code") == code:
            return httpx.Response(201, json=PROMOTION)
        return httpx.Response(403, json=TWO_FACTOR)

    return respx.post(f"{BASE}/pipeline-promotions").mock(side_effect=answer)


def promote(client: HerokuClient) -> object:
    return client.create_promotion(PIPELINE, SOURCE, [TARGET])


@respx.mock
def test_the_code_is_asked_for_and_sent_with_the_repeated_request(client: HerokuClient) -> None:
    route = wants_code("123456")
    asked: list[str] = []

    def ask(message: str) -> str:
        asked.append(message)
        return " 123456 "

    got = with_two_factor(client, ask, lambda: promote(client), what="promoting")
    assert getattr(got, "id", None) == PROMOTION["id"]
    assert len(asked) == 1 and "second authentication factor" in asked[0]
    assert [c.request.headers.get("Heroku-Two-Factor-Code") for c in route.calls] == [
        None,
        "123456",
    ]


@respx.mock
def test_a_wrong_code_is_asked_again(client: HerokuClient) -> None:
    route = wants_code("654321")
    codes = iter(["000000", "654321"])
    with_two_factor(client, lambda _: next(codes), lambda: promote(client), what="promoting")
    assert route.call_count == 3


@respx.mock
def test_no_code_to_give_is_a_usage_error(client: HerokuClient) -> None:
    route = wants_code("123456")
    with pytest.raises(UsageError) as exc:
        with_two_factor(client, lambda _: None, lambda: promote(client), what="promoting")
    assert exc.value.exit_code == 2 and "--two-factor-code" in (exc.value.hint or "")
    with pytest.raises(UsageError):
        with_two_factor(client, None, lambda: promote(client), what="promoting")
    assert route.call_count == 2  # once each: nothing repeated without a code


@respx.mock
def test_a_refused_code_with_nothing_more_to_ask(client: HerokuClient) -> None:
    wants_code("123456")
    given = ["999999"]
    with pytest.raises(TwoFactorRequired) as exc:
        with_two_factor(
            client, lambda _: given.pop() if given else None, lambda: promote(client), what="p"
        )
    assert exc.value.exit_code == 3 and "refused the two-factor code" in exc.value.message


@respx.mock
def test_codes_refused_again_and_again_stop_after_three(client: HerokuClient) -> None:
    route = wants_code("123456")
    with pytest.raises(TwoFactorRequired) as exc:
        with_two_factor(client, lambda _: "111111", lambda: promote(client), what="rolling back")
    assert "refused the two-factor code 3 times" in exc.value.message
    assert route.call_count == 4


@respx.mock
def test_the_rollback_request_gets_the_same_treatment(client: HerokuClient) -> None:
    release = {
        "id": str(uuid.uuid4()),
        "version": 12,
        "status": "pending",
        "current": False,
        "created_at": "2026-11-28T03:00:00Z",
    }
    target = str(uuid.uuid4())

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Heroku-Two-Factor-Code") == "424242":
            assert request.content and target.encode() in request.content
            return httpx.Response(201, json=release)
        return httpx.Response(403, json=TWO_FACTOR)

    respx.post(f"{BASE}/apps/keycliq-production/releases").mock(side_effect=answer)
    got = with_two_factor(
        client,
        lambda _: "424242",
        lambda: client.rollback("keycliq-production", target),
        what="rolling back",
    )
    assert got.version == 12
