"""The stand-in on Heroku's Fir generation: apps and pipeline of generation ``fir`` on
stack ``cnb``, builds without a slug, releases of an ``oci-image`` artifact, every answer
checked against Heroku's schema (the check of ``test_schema_walk``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from keycliq_ops.standin import KeycliqApps, Sandbox
from keycliq_ops.standin.api import routes
from keycliq_ops.standin.pgembed import PostgresServer
from keycliq_ops.standin.sample.repo import add_remote, write_sample_repo
from keycliq_ops.standin.sandbox import PRODUCTION, STAGING
from keycliq_ops.standin.server import RateLimiter

from .helpers import push, release_done
from .test_schema_walk import _link, _schema

pytestmark = [pytest.mark.db, pytest.mark.e2e]


@pytest.fixture
def fir(tmp_path: Path, pg_server: PostgresServer) -> Iterator[Sandbox]:
    with Sandbox(tmp_path / "sandbox", postgres=pg_server, generation="fir") as sb:
        yield sb


def _deployed(sb: Sandbox, tmp_path: Path, c: httpx.Client) -> KeycliqApps:
    apps = sb.setup_keycliq()
    repo = write_sample_repo(tmp_path / "keycliq")
    add_remote(repo.path, "heroku-staging", sb.git_url(STAGING))
    assert push(repo.path, "heroku-staging", "main:main").returncode == 0
    latest = c.get(f"/apps/{STAGING}/releases").json()[-1]
    assert release_done(c, STAGING, latest["version"])["status"] == "succeeded"
    return apps


def test_fir_apps_builds_and_releases_fit_the_schema(fir: Sandbox, tmp_path: Path) -> None:
    api = _schema()
    with httpx.Client(base_url=fir.url, headers=fir.headers(), timeout=30) as c:
        apps = _deployed(fir, tmp_path, c)
        app = c.get(f"/apps/{STAGING}").json()
        assert app["generation"]["name"] == "fir" and app["stack"]["name"] == "cnb"
        pipeline = c.get(f"/pipelines/{apps.pipeline.id}").json()
        assert pipeline["generation"]["name"] == "fir"
        build = c.get(f"/apps/{STAGING}/builds").json()[0]
        assert build["generation"] == "fir" and build["stack"] == "cnb"
        assert build["slug"] is None and build["release"] is not None
        release = c.get(f"/apps/{STAGING}/releases/{build['release']['id']}").json()
        assert release["slug"] is None
        [artifact] = release["artifacts"]
        assert artifact["type"] == "oci-image"
        # A promotion and a rollback run the same image.
        promo = c.post(
            "/pipeline-promotions",
            json={
                "pipeline": {"id": apps.pipeline.id},
                "source": {"app": {"id": apps.staging.id}},
                "targets": [{"app": {"id": apps.production.id}}],
            },
        )
        assert promo.status_code == 201, promo.text
        fir.engine.promotions[promo.json()["id"]].done.wait(60)
        promoted = c.get(f"/apps/{PRODUCTION}/releases").json()[-1]
        assert promoted["artifacts"] == [artifact] and promoted["slug"] is None
        back = c.post(f"/apps/{STAGING}/releases", json={"release": release["id"]})
        assert back.status_code == 201 and back.json()["artifacts"] == [artifact]
        dyno = c.post(f"/apps/{STAGING}/dynos", json={"command": "true", "attach": False})
        assert dyno.status_code == 201
        assert dyno.json()["name"].startswith("run-") and "." not in dyno.json()["name"]

        params: dict[str, str] = {
            "app": STAGING,
            "build": build["id"],
            "release": release["id"],
            "pipeline": apps.pipeline.id,
            "promotion": promo.json()["id"],
            "dyno": dyno.json()["id"],
        }
        checked = 0
        for route in routes(fir.engine, RateLimiter()):
            if route.link is None or route.method != "GET":
                continue  # streams, internal routes; the writes are checked above
            try:
                path = route.pattern.format(**params)
            except KeyError:
                continue  # a route whose parameters this walk does not make
            resp = c.get(path)
            assert resp.status_code in (200, 206), (path, resp.text)
            link = _link(api, *route.link)
            problems = api.errors(link.target_schema or {}, resp.json(), strict=True)
            assert problems == [], f"GET {route.pattern}: {problems}"
            checked += 1
        assert checked >= 15
        for answer, (resource, title) in (
            (back.json(), ("release", "Rollback")),
            (dyno.json(), ("dyno", "Create")),
            (promo.json(), ("pipeline-promotion", "Create")),
        ):
            schema: Any = _link(api, resource, title).target_schema or {}
            assert api.errors(schema, answer, strict=True) == []


def test_fir_release_from_an_image_id(fir: Sandbox, tmp_path: Path) -> None:
    with httpx.Client(base_url=fir.url, headers=fir.headers(), timeout=30) as c:
        _deployed(fir, tmp_path, c)
        image = c.get(f"/apps/{STAGING}/releases").json()[-1]["artifacts"][0]["id"]
        app = fir.engine.app(STAGING)
        again = fir.engine.release_from_slug(app, image, "again")
        again.done.wait(60)
        assert again.to_api()["artifacts"] == [{"type": "oci-image", "id": image}]
