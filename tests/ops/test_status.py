"""``keycliq status`` against a respx-faked Heroku API and a real git repository.

The faked answers are built from the API schema's examples and validated against it
(strict), so the fake speaks the real API's shape.
"""

from __future__ import annotations

import json
import logging
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from keycliq_ops.__main__ import main
from keycliq_ops.adapters.git import Repo
from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.base.errors import HerokuError
from keycliq_ops.config import load_config
from keycliq_ops.config.starter import render_starter
from keycliq_ops.ops.status import collect_status
from keycliq_ops.standin.apischema import ApiSchema

BASE = "https://api.heroku.test"
TOKEN = "hk-planted-9d8c7b6a5f4e3d2c1b0a"
NOW = datetime.now(UTC).replace(microsecond=0)  # the CLI run uses the real clock
API = ApiSchema.load()
PIPELINE_ID = str(uuid.uuid4())
APP_IDS = {"keycliq-staging": str(uuid.uuid4()), "keycliq-production": str(uuid.uuid4())}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def resource(kind: str, /, **fields: Any) -> dict[str, Any]:
    value = API.example(kind)
    value.update(fields)
    API.validate_resource(kind, value, strict=True)
    return value


@dataclass
class Deploy:
    app: str
    version: int
    commit: str | None  # None: promoted, the build is in another app
    slug: str
    age: timedelta
    status: str = "succeeded"
    current: bool = True
    description: str = ""


def release(d: Deploy) -> dict[str, Any]:
    created = NOW - d.age
    return resource(
        "release",
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{d.app}/v{d.version}")),
        app={"id": APP_IDS[d.app], "name": d.app},
        version=d.version,
        status=d.status,
        current=d.current,
        description=d.description or f"Deploy {(d.commit or '')[:8]}",
        slug={"id": d.slug},
        artifacts=[{"type": "slug", "id": d.slug}],
        created_at=iso(created),
        updated_at=iso(created),
        output_stream_url=None,
    )


def build(d: Deploy, release_id: str | None) -> dict[str, Any]:
    created = NOW - d.age - timedelta(minutes=3)
    return resource(
        "build",
        id=str(uuid.uuid4()),
        app={"id": APP_IDS[d.app]},
        source_blob={
            "checksum": None,
            "url": f"https://git.heroku.com/{d.app}.git",
            "version": d.commit,
            "version_description": None,
        },
        release={"id": release_id} if release_id else None,
        slug={"id": d.slug},
        status="succeeded",
        created_at=iso(created),
        updated_at=iso(created),
    )


def coupling(app: str, stage: str) -> dict[str, Any]:
    return resource(
        "pipeline-coupling",
        id=str(uuid.uuid4()),
        app={"id": APP_IDS[app]},
        pipeline={"id": PIPELINE_ID},
        stage=stage,
        created_at=iso(NOW),
        updated_at=iso(NOW),
    )


@dataclass
class World:
    root: Path
    commits: list[str]


@pytest.fixture
def world(hermetic_env: Path) -> World:
    """A KeyCliq checkout (cwd) with five commits and keycliq.yaml."""
    root = Path.cwd()
    git(root, "init", "-q", "-b", "main")
    (root / "keycliq.yaml").write_text(render_starter())
    commits = []
    for i, subject in enumerate(
        ["Initial Remix app", "Add scan retries", "Fix NO_MATCH validation", "Index keys", "WIP"]
    ):
        (root / f"f{i}.txt").write_text(subject)
        git(root, "add", ".")
        git(root, "commit", "-q", "-m", subject)
        commits.append(git(root, "rev-parse", "HEAD"))
    return World(root=root, commits=commits)


def fake_api(
    router: respx.Router,
    world: World,
    *,
    production_missing: bool = False,
    production_description: str | None = None,
) -> None:
    c = world.commits
    staging_old = Deploy(
        "keycliq-staging", 11, c[1], str(uuid.uuid4()), timedelta(days=2), current=False
    )
    staging_now = Deploy("keycliq-staging", 12, c[3], str(uuid.uuid4()), timedelta(hours=3))
    # Production was promoted from staging v11: same slug, no build of its own.
    production = Deploy(
        "keycliq-production",
        8,
        None,
        staging_old.slug if production_description is None else str(uuid.uuid4()),
        timedelta(days=1),
        description=production_description or "Promote keycliq-staging v11",
    )
    # The Heroku Postgres API (status shows production's last backup): none taken yet.
    router.route(host="api.data.heroku.com").respond(200, json=[])
    rel_old, rel_now = release(staging_old), release(staging_now)
    router.get("/apps/keycliq-staging/releases").respond(
        206, json=[rel_now, rel_old], headers={"RateLimit-Remaining": "4000"}
    )
    router.get("/apps/keycliq-staging/builds").respond(
        200, json=[build(staging_now, rel_now["id"]), build(staging_old, rel_old["id"])]
    )
    router.get("/apps/keycliq-staging/pipeline-couplings").respond(
        200, json=coupling("keycliq-staging", "staging")
    )
    router.get(f"/pipelines/{PIPELINE_ID}").respond(
        200,
        json=resource(
            "pipeline",
            id=PIPELINE_ID,
            name="keycliq",
            created_at=iso(NOW),
            updated_at=iso(NOW),
        ),
    )
    if production_missing:
        for path in ("releases", "builds", "pipeline-couplings", "addons"):
            router.get(f"/apps/keycliq-production/{path}").respond(
                404, json={"id": "not_found", "message": "Couldn't find that app."}
            )
        return
    router.get("/apps/keycliq-production/releases").respond(200, json=[release(production)])
    router.get("/apps/keycliq-production/builds").respond(200, json=[])
    router.get("/apps/keycliq-production/pipeline-couplings").respond(
        200, json=coupling("keycliq-production", "production")
    )


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE, assert_all_called=False)


def client_for(router: respx.Router) -> HerokuClient:
    return HerokuClient(TOKEN, BASE, transport=httpx.MockTransport(router.handler))


def test_collect_status(world: World, router: respx.Router) -> None:
    fake_api(router, world)
    loaded = load_config(world.root / "keycliq.yaml")
    with client_for(router) as client:
        report = collect_status(loaded, client, Repo(world.root), now=NOW)
    staging, production = report.environments
    c = world.commits
    assert (staging.name, staging.stage, staging.pipeline) == ("staging", "staging", "keycliq")
    assert staging.release is not None and staging.release.version == 12
    assert staging.release.age_seconds == 3 * 3600
    assert staging.commit is not None and staging.commit.sha == c[3]
    assert staging.commit.source == "build" and staging.commit.subject == "Index keys"
    # The promoted release runs staging v11's slug: its commit comes from staging's build.
    assert production.release is not None and production.release.version == 8
    assert production.commit is not None and production.commit.sha == c[1]
    assert production.stage == "production" and not production.notes
    prod_vs_staging, staging_vs_local = report.comparisons
    assert (prod_vs_staging.base, prod_vs_staging.head, prod_vs_staging.state) == (
        "production",
        "staging",
        "ahead",
    )
    assert [x.subject for x in prod_vs_staging.ahead] == ["Index keys", "Fix NO_MATCH validation"]
    assert prod_vs_staging.behind == []
    assert staging_vs_local.state == "ahead"
    assert [x.subject for x in staging_vs_local.ahead] == ["WIP"]
    assert report.local is not None
    assert (report.local.branch, report.local.commit, report.local.clean) == ("main", c[4], True)
    # 3 calls per app + 1 pipeline lookup, nothing more.
    assert report.api_requests == 7
    assert not report.failed


def test_status_table(world: World, planted_token: str, capsys: pytest.CaptureFixture[str]) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        fake_api(router, world)
        code = run(["status"])
    out = capsys.readouterr().out
    assert code == 0
    assert "pipeline keycliq" in out
    staging_row = next(line for line in out.splitlines() if line.strip().startswith("staging"))
    for text in ("keycliq-staging", "v12", "succeeded", "3h ago", world.commits[3][:8]):
        assert text in staging_row
    assert "staging is 2 commits ahead of production:" in out
    assert f"+ {world.commits[2][:8]} Fix NO_MATCH validation" in out
    assert "local is 1 commit ahead of staging:" in out
    assert f"local: main @ {world.commits[4][:8]} (clean)" in out


def test_status_json(world: World, planted_token: str, capsys: pytest.CaptureFixture[str]) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        fake_api(router, world)
        code = run(["status", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in data["environments"]] == ["staging", "production"]
    assert data["environments"][1]["commit"]["sha"] == world.commits[1]
    assert data["comparisons"][0]["state"] == "ahead"
    assert len(data["comparisons"][0]["ahead"]) == 2


def test_unknown_app_is_shown_and_exits_3(world: World, planted_token: str, capsys) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        fake_api(router, world, production_missing=True)
        code = run(["status"])
    captured = capsys.readouterr()
    assert code == 3
    production_row = next(
        line for line in captured.out.splitlines() if line.strip().startswith("production")
    )
    assert "error" in production_row and "404" in captured.out
    assert "v12" in captured.out  # staging is still reported
    assert "unknown" in captured.out  # no comparison possible
    assert "error: could not read production (keycliq-production)" in captured.err
    assert "hint: check the app or pipeline name in keycliq.yaml" in captured.err


def test_commit_missing_locally_is_explained(world: World, router: respx.Router) -> None:
    fake_api(router, world)
    loaded = load_config(world.root / "keycliq.yaml")
    git(world.root, "reset", "-q", "--hard", world.commits[0])
    git(world.root, "reflog", "expire", "--expire=now", "--all")
    git(world.root, "gc", "-q", "--prune=now")
    with client_for(router) as client:
        report = collect_status(loaded, client, Repo(world.root), now=NOW)
    comparison = report.comparisons[0]
    assert comparison.state == "unknown"
    assert comparison.note and "not in the local repository" in comparison.note


def test_commit_from_release_description(world: World, router: respx.Router) -> None:
    """No build matches the release's slug: the short sha in "Deploy <sha>" is used."""
    fake_api(router, world, production_description=f"Deploy {world.commits[0][:7]}")
    loaded = load_config(world.root / "keycliq.yaml")
    with client_for(router) as client:
        report = collect_status(loaded, client, Repo(world.root), now=NOW)
    production = report.environments[1]
    assert production.commit is not None
    assert (production.commit.sha, production.commit.source) == (world.commits[0], "description")
    assert production.commit.subject == "Initial Remix app"
    assert report.comparisons[0].state == "ahead" and len(report.comparisons[0].ahead) == 3


def run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def planted_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HEROKU_API_KEY", TOKEN)
    monkeypatch.setenv("HEROKU_API_URL", BASE)
    yield TOKEN


def test_token_never_reaches_any_output(
    world: World,
    planted_token: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    captured: list[str] = []
    # A good run, a --json run, and a run where the API echoes the token in an error.
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        fake_api(router, world)
        assert run(["status"]) == 0
        assert run(["status", "--json"]) == 0
        sent = [call.request.headers.get("Authorization") for call in router.calls]
    assert sent and all(h == f"Bearer {planted_token}" for h in sent)  # it was really used
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get(url__regex=r".*").respond(
            401, json={"id": "unauthorized", "message": f"Invalid token {planted_token}."}
        )
        assert run(["status"]) == 3
    loaded = load_config(world.root / "keycliq.yaml")
    with (
        pytest.raises(HerokuError) as info,
        respx.mock(base_url=BASE, assert_all_called=False) as router,
        HerokuClient.from_environment(max_retries=0) as client,
    ):
        router.get(url__regex=r".*").mock(side_effect=httpx.ConnectError(f"boom {planted_token}"))
        captured += [repr(client), str(client)]
        collect_status(loaded, client, Repo(world.root), now=NOW)
    out = capsys.readouterr()
    captured += [out.out, out.err, str(info.value), repr(info.value)]
    captured += [r.getMessage() for r in caplog.records]
    captured += [info.value.hint or ""]
    assert "error: Heroku API GET" in out.err  # the 401 was reported…
    assert all(planted_token not in text for text in captured)  # …without the token
