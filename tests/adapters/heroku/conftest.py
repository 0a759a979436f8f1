"""Fixtures for the Heroku client tests: a respx router as the client's transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from keycliq_ops.adapters.heroku.client import HerokuClient
from tests.adapters.heroku.heroku_helpers import BASE, TOKEN, Sleeps


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE, assert_all_called=False)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(router: respx.Router, sleeps: Sleeps) -> Callable[..., HerokuClient]:
    def make(**kw: Any) -> HerokuClient:
        kw.setdefault("transport", httpx.MockTransport(router.handler))
        kw.setdefault("sleep", sleeps)
        return HerokuClient(TOKEN, BASE, **kw)

    return make


@pytest.fixture
def client(make_client: Callable[..., HerokuClient]) -> HerokuClient:
    return make_client()
