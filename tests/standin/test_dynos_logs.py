"""One-off dynos (attached over the rendezvous protocol, detached to the log) and log
sessions with lines, source, dyno and tail; the cut fault on a log stream."""

from __future__ import annotations

import httpx
import pytest

from keycliq_ops.standin import Sandbox
from keycliq_ops.standin.sample.repo import SampleRepo

from .helpers import push
from .rendezvous_helpers import read_rendezvous

pytestmark = [pytest.mark.db, pytest.mark.e2e]


def _rendezvous(attach_url: str) -> str:
    return read_rendezvous(attach_url, timeout=30).decode()


@pytest.fixture
def deployed(sandbox: Sandbox, sample: SampleRepo) -> SampleRepo:
    assert push(sample.path, "heroku-staging", "main:main").returncode == 0
    return sample


def _log(client: httpx.Client, **body: object) -> str:
    session = client.post("/apps/keycliq-staging/log-sessions", json=body)
    assert session.status_code == 201
    with client.stream("GET", session.json()["logplex_url"]) as resp:
        return "".join(resp.iter_text())


def test_attached_one_off_returns_output_and_exit_status(
    deployed: SampleRepo, client: httpx.Client
) -> None:
    dyno = client.post(
        "/apps/keycliq-staging/dynos",
        json={"command": "npx prisma migrate status; exit 3", "attach": True},
    ).json()
    assert dyno["name"].startswith("run.") and dyno["attach_url"]

    out = _rendezvous(dyno["attach_url"])

    lines = out.split("\r\n")
    assert lines[0] == "rendezvous"
    assert "Database schema is up to date!" in lines
    assert lines[-2] == "\uffff heroku-command-exit-status: 3"
    info = client.get(f"/apps/keycliq-staging/dynos/{dyno['name']}").json()
    assert info["state"] == "crashed" and info["release"]["version"] >= 1


def test_the_client_exit_marker_is_not_doubled(deployed: SampleRepo, client: httpx.Client) -> None:
    command = 'true; echo "\uffff heroku-command-exit-status: $?"'
    dyno = client.post("/apps/keycliq-staging/dynos", json={"command": command, "attach": True})
    out = _rendezvous(dyno.json()["attach_url"])
    assert out.count("heroku-command-exit-status") == 1
    assert "\uffff heroku-command-exit-status: 0" in out


def test_detached_one_off_output_reaches_the_log(
    deployed: SampleRepo, client: httpx.Client
) -> None:
    dyno = client.post(
        "/apps/keycliq-staging/dynos",
        json={"command": "echo cleanup done for $NODE_ENV", "env": {"EXTRA": "1"}},
    ).json()
    assert dyno["attach_url"] is None
    # Tail the dyno's lines until its exit line arrives (the stream follows live output).
    session = client.post(
        "/apps/keycliq-staging/log-sessions", json={"dyno_name": dyno["name"], "tail": True}
    ).json()
    seen: list[str] = []
    with client.stream("GET", session["logplex_url"]) as resp:
        for line in resp.iter_lines():
            seen.append(line)
            if "Process exited with status" in line:
                break
    assert any(f"app[{dyno['name']}]: cleanup done for production" in s for s in seen)
    assert seen[-1].endswith(f"heroku[{dyno['name']}]: Process exited with status 0")


def test_log_sessions_filter_by_source_dyno_and_lines(
    sandbox: Sandbox, deployed: SampleRepo, client: httpx.Client
) -> None:
    sandbox.write_log("keycliq-staging", "processKeyImageV6 start user=u1")
    sandbox.write_log("keycliq-staging", "Hybrid Balanced AI analysis failed: 429 quota")
    sandbox.write_log(
        "keycliq-staging",
        'at=error code=H12 desc="Request timeout"',
        source="heroku",
        dyno="router",
    )

    web = _log(client, source="app", dyno_name="web", lines=2)
    assert web.splitlines()[0].endswith("app[web.1]: processKeyImageV6 start user=u1")
    assert web.splitlines()[1].endswith("app[web.1]: Hybrid Balanced AI analysis failed: 429 quota")
    router = _log(client, source="heroku", dyno_name="router", lines=1)
    assert "heroku[router]: at=error code=H12" in router
    everything = _log(client, lines=1500)
    assert "app[build]: -----> Node.js app detected" in everything
    assert "Applying migration `20250114093000_init`" in everything
    assert "app[api]: Release v" in everything
    stamp = everything.split(" ", 1)[0]
    assert stamp.endswith("+00:00") and "T" in stamp


def test_tail_follows_new_lines(
    sandbox: Sandbox, deployed: SampleRepo, client: httpx.Client
) -> None:
    session = client.post(
        "/apps/keycliq-staging/log-sessions", json={"tail": True, "lines": 0, "dyno_name": "web"}
    ).json()
    with client.stream("GET", session["logplex_url"]) as resp:
        sandbox.write_log("keycliq-staging", "Image deleted from Cloudinary: keys/abc")
        first = next(resp.iter_lines())
    assert first.endswith("app[web.1]: Image deleted from Cloudinary: keys/abc")


def test_log_stream_cut_fault(sandbox: Sandbox, deployed: SampleRepo, client: httpx.Client) -> None:
    sandbox.faults.cut_stream("log", after_bytes=10)
    session = client.post("/apps/keycliq-staging/log-sessions", json={"lines": 50}).json()
    got = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("GET", session["logplex_url"]) as resp,
    ):
        for chunk in resp.iter_bytes():
            got += chunk
    assert len(got) == 10
