"""The webhook adapter and the notify policy, with httpx's MockTransport as the far side."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from keycliq_ops.adapters.webhook import post_json, target_name
from keycliq_ops.base.redact import forget_secrets, register_secrets
from keycliq_ops.config.health_settings import NotifyTarget
from keycliq_ops.ops.notify import Notifier, notify_breach, payload

HOOK = "https://hooks.example.test/services/T000/B000/s3cr3t-path-token"


def transport(statuses: list[int], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(statuses[min(len(seen), len(statuses)) - 1])

    return httpx.MockTransport(handle)


def test_a_5xx_is_retried_a_bounded_number_of_times() -> None:
    seen: list[httpx.Request] = []
    got = post_json(
        HOOK,
        {"text": "x"},
        target="chat",
        retries=2,
        timeout=10,
        transport=transport([500, 502, 503, 200], seen),
    )
    assert got.state == "failed" and got.attempts == 3 and got.status == 503
    assert len(seen) == 3 and got.error == "HTTP 503"


def test_a_retry_that_succeeds_is_delivered_and_a_4xx_is_not_retried() -> None:
    seen: list[httpx.Request] = []
    got = post_json(
        HOOK, {"text": "x"}, target="chat", retries=2, transport=transport([500, 204], seen)
    )
    assert got.state == "delivered" and got.attempts == 2 and got.status == 204
    seen = []
    got = post_json(HOOK, {"text": "x"}, target="chat", retries=2, transport=transport([404], seen))
    assert got.state == "failed" and got.attempts == 1 and got.status == 404


def test_no_connection_and_a_bad_url_fail_without_raising() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    got = post_json(
        HOOK, {"text": "x"}, target="chat", retries=1, transport=httpx.MockTransport(refuse)
    )
    assert got.state == "failed" and got.attempts == 2 and got.error == "ConnectError"
    got = post_json("http://[::1", {"text": "x"}, target="chat", retries=3)
    assert got.state == "failed" and got.error == "not a usable URL" and got.attempts == 1
    assert HOOK not in json.dumps(got.to_json())


def test_the_name_of_a_webhook_is_its_host_never_its_path() -> None:
    assert target_name(HOOK) == "hooks.example.test"
    target = NotifyTarget(url=HOOK)
    seen: list[httpx.Request] = []
    notifier = Notifier(
        [target],
        {
            "action": "deploy",
            "environment": "staging",
            "app": "keycliq-staging",
            "commit": "a" * 40,
        },
        poster=lambda url, body, **kw: post_json(url, body, transport=transport([200], seen), **kw),
    )
    notifier.started("20261201T000000-abcd")
    notifier.wait()
    (delivery,) = notifier.deliveries()
    assert delivery["target"] == "hooks.example.test" and "s3cr3t" not in json.dumps(delivery)


def test_payload_is_slack_text_with_the_facts_and_masks_secrets() -> None:
    secret = "sk-proj-" + "Z" * 30
    register_secrets(secret)
    try:
        body = payload(
            "deploy.finished",
            {
                "action": "deploy",
                "environment": "staging",
                "app": "keycliq-staging",
                "commit": "0123456789abcdef",
                "outcome": "failed",
                "exit_code": 1,
                "error": f"the app printed {secret}",
            },
        )
    finally:
        forget_secrets()
    assert body["text"].startswith("keycliq: deploy 01234567 to staging (keycliq-staging)")
    assert body["keycliq"]["event"] == "deploy.finished"
    assert secret not in json.dumps(body)


def _recording(events: list[str]) -> Any:
    def post(url: str, body: dict[str, Any], **kw: Any) -> Any:
        events.append(body["keycliq"]["event"])
        return post_json(
            url, body, transport=httpx.MockTransport(lambda r: httpx.Response(200)), **kw
        )

    return post


def test_each_target_gets_only_its_events_and_gate_failed_on_exit_1() -> None:
    events: list[str] = []
    targets = [NotifyTarget(url=HOOK, events=["deploy.finished", "gate.failed"])]
    notifier = Notifier.for_action(
        targets,
        "deploy",
        environment="staging",
        app="keycliq-staging",
        commit=None,
        poster=_recording(events),
    )
    notifier.started()
    notifier.finished(outcome="failed", exit_code=1, failed_step="gate", error="E2 failed")
    assert sorted(events) == ["deploy.finished", "gate.failed"]
    assert [d["state"] for d in notifier.ledger_details()["notifications"]] == ["delivered"] * 2


def test_actions_without_events_send_nothing() -> None:
    events: list[str] = []
    notifier = Notifier.for_action(
        [NotifyTarget(url=HOOK)],
        "secret-rotation",
        environment="staging",
        app="a-b-c",
        commit=None,
        poster=_recording(events),
    )
    assert not notifier.active
    notifier.started()
    assert events == [] and notifier.ledger_details() == {}


def test_a_breach_notification_names_the_first_breach() -> None:
    events: list[str] = []
    got = notify_breach(
        [NotifyTarget(url=HOOK, events=["report.breach"])],
        environment="production",
        app="keycliq-production",
        breaches=["NO_MATCH share 84 % …", "3 keys stuck"],
        page="h.html",
        poster=_recording(events),
    )
    assert events == ["report.breach"] and got[0]["state"] == "delivered"


def test_a_target_names_exactly_one_url() -> None:
    with pytest.raises(ValueError, match="exactly one of url and url_env"):
        NotifyTarget(url=HOOK, url_env="HOOK")
    with pytest.raises(ValueError):
        NotifyTarget.model_validate({"url": HOOK, "events": ["deploy.exploded"]})
