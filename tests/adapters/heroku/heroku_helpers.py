"""Helpers for the Heroku client tests: fixtures on disk, recorded sleeps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import respx

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "heroku"
BASE = "https://api.heroku.test"
TOKEN = "hk-test-token-7f3a9c1e5b2d4f60"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def serve(router: respx.Router, name: str) -> respx.Route:
    """Route the fixture's method+path to its recorded answer."""
    f = fixture(name)
    return router.route(method=f["method"], path=f["path"]).respond(
        f["status"], json=f["body"], headers=f.get("headers", {})
    )


class Sleeps(list[float]):
    """An injected ``sleep`` that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
