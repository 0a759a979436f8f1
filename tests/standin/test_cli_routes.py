"""What Heroku's own CLI reads beside keycliq's routes (docs/heroku-cli.md): pipeline list
and name filter, ``POST /filters/apps``, ``/users/~/apps``, the formation's dynos and
restart-all, collaborators; log sessions as server-sent events; the TLS rendezvous."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from keycliq_ops.adapters.heroku.rendezvous import CA_ENV, read_attached, with_exit_marker
from keycliq_ops.base.errors import HerokuError
from keycliq_ops.standin import KeycliqApps, Sandbox
from keycliq_ops.standin.sample.repo import SampleRepo
from tests.world import rendezvous_ca

from .helpers import push

pytestmark = [pytest.mark.db, pytest.mark.e2e]


@pytest.fixture
def deployed(sandbox: Sandbox, sample: SampleRepo) -> SampleRepo:
    assert push(sample.path, "heroku-staging", "main:main").returncode == 0
    return sample


def test_pipelines_list_and_name_filter(apps: KeycliqApps, client: httpx.Client) -> None:
    listed = client.get("/pipelines")
    assert listed.status_code == 200
    assert [p["name"] for p in listed.json()] == ["keycliq"]
    named = client.get("/pipelines", params={"eq[name]": "keycliq"}).json()
    assert [p["id"] for p in named] == [apps.pipeline.id]
    assert client.get("/pipelines", params={"eq[name]": "other"}).json() == []


def test_filters_apps_answers_the_apps_asked_for(apps: KeycliqApps, client: httpx.Client) -> None:
    resp = client.post(
        "/filters/apps",
        json={"in": {"id": [apps.production.id]}},
        headers={"Range": "id ..; max=1000;"},  # as the CLI sends it
    )
    assert resp.status_code == 200
    [only] = resp.json()
    assert only["name"] == "keycliq-production" and only["joined"] is False
    bad = client.post("/filters/apps", json={"in": {"id": "not-a-list"}})
    assert bad.status_code == 422 and bad.json()["id"] == "invalid_params"


def test_users_apps_of_the_current_user(apps: KeycliqApps, client: httpx.Client) -> None:
    names = {a["name"] for a in client.get("/users/~/apps").json()}
    assert names == {"keycliq-staging", "keycliq-production"}
    account = client.get("/account").json()
    assert len(client.get(f"/users/{account['email']}/apps").json()) == 2
    assert client.get("/users/someone-else@example.com/apps").status_code == 404


def test_dynos_list_the_web_dyno_and_drop_finished_one_offs(
    deployed: SampleRepo, client: httpx.Client
) -> None:
    before = client.get("/apps/keycliq-staging/dynos").json()
    [web] = before
    assert (web["name"], web["type"], web["state"]) == ("web.1", "web", "up")
    current = client.get(
        "/apps/keycliq-staging/releases", headers={"Range": "version ..; max=1, order=desc"}
    ).json()[0]
    assert web["release"] == {"id": current["id"], "version": current["version"]}

    one_off = client.post(
        "/apps/keycliq-staging/dynos", json={"command": "echo done", "attach": False}
    ).json()
    log = client.post("/apps/keycliq-staging/log-sessions", json={"tail": True, "lines": 0})
    with client.stream("GET", log.json()["logplex_url"]) as stream:
        for line in stream.iter_lines():  # wait for the one-off to finish, on its log
            if f"heroku[{one_off['name']}]: State changed from up to complete" in line:
                break
    names = [d["name"] for d in client.get("/apps/keycliq-staging/dynos").json()]
    assert names == ["web.1"]
    # It is still there by name (its state), only the list drops it.
    info = client.get(f"/apps/keycliq-staging/dynos/{one_off['name']}").json()
    assert info["state"] == "complete"


def test_restart_all_restarts_the_web_dyno(deployed: SampleRepo, client: httpx.Client) -> None:
    resp = client.delete("/apps/keycliq-staging/dynos")
    assert resp.status_code == 202 and resp.json() == {}
    session = client.post("/apps/keycliq-staging/log-sessions", json={"lines": 10}).json()
    with client.stream("GET", session["logplex_url"]) as stream:
        text = "".join(stream.iter_text())
    assert "heroku[web.1]: Restarting" in text
    assert "heroku[web.1]: State changed from starting to up" in text
    assert client.get("/apps/keycliq-staging/dynos").json()[0]["state"] == "up"


def test_collaborators_list_the_owner(apps: KeycliqApps, client: httpx.Client) -> None:
    [owner] = client.get("/apps/keycliq-staging/collaborators").json()
    account = client.get("/account").json()
    assert owner["role"] == "owner" and owner["user"]["email"] == account["email"]
    assert owner["app"] == {"name": "keycliq-staging", "id": apps.staging.id}


def test_log_session_as_server_sent_events_when_asked(
    sandbox: Sandbox, apps: KeycliqApps, client: httpx.Client
) -> None:
    sandbox.write_log("keycliq-staging", "first line\nsecond line")
    body = {"lines": 2, "tail": False}
    url = client.post("/apps/keycliq-staging/log-sessions", json=body).json()["logplex_url"]
    with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        events = "".join(resp.iter_text()).split("\n\n")
    assert events[-1] == ""
    assert [e.split(": ", 1)[0] for e in events[:-1]] == ["data", "data"]
    assert events[0].endswith("app[web.1]: first line")
    assert events[1].endswith("app[web.1]: second line")
    # Without the Accept header: plain text lines, as before.
    url = client.post("/apps/keycliq-staging/log-sessions", json=body).json()["logplex_url"]
    with client.stream("GET", url) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain")
        assert "".join(resp.iter_text()).splitlines()[-1].endswith("app[web.1]: second line")


# ------------------------------------------------------------------ the TLS rendezvous


def _attach(client: httpx.Client, command: str) -> str:
    dyno = client.post(
        "/apps/keycliq-staging/dynos", json={"command": command, "attach": True}
    ).json()
    url: str = dyno["attach_url"]
    return url


def test_rendezvous_speaks_tls_with_the_stand_ins_certificate(
    sandbox: Sandbox, deployed: SampleRepo, client: httpx.Client
) -> None:
    url = urlsplit(_attach(client, "echo over tls"))
    assert url.hostname == "127.0.0.1" and url.port
    context = ssl.create_default_context(cafile=str(rendezvous_ca(sandbox)))
    with (
        socket.create_connection((url.hostname, url.port), timeout=30) as raw,
        context.wrap_socket(raw, server_hostname=url.hostname) as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        tls.sendall(url.path.lstrip("/").encode() + b"\r\n" + b"\x04")  # secret, then EOT
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    lines = data.decode().split("\r\n")
    assert lines[0] == "rendezvous"
    assert "over tls" in lines
    assert lines[-2] == "\uffff heroku-command-exit-status: 0"


def test_rendezvous_refuses_plain_tcp_and_an_untrusting_client(
    sandbox: Sandbox, deployed: SampleRepo, client: httpx.Client
) -> None:
    url = urlsplit(_attach(client, "echo never shown"))
    assert url.hostname is not None and url.port is not None
    with socket.create_connection((url.hostname, url.port), timeout=30) as raw:
        raw.sendall(url.path.lstrip("/").encode() + b"\r\n")
        try:
            answer = raw.recv(65536)
        except ConnectionResetError:
            answer = b""
        assert b"never shown" not in answer and b"rendezvous" not in answer  # alert or reset
    with (
        socket.create_connection((url.hostname, url.port), timeout=30) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        ssl.create_default_context().wrap_socket(raw, server_hostname=url.hostname)


def test_keycliqs_client_trusts_the_configured_ca_only(
    sandbox: Sandbox,
    deployed: SampleRepo,
    client: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv(CA_ENV, str(rendezvous_ca(sandbox)))
    lines: list[str] = []
    code = read_attached(_attach(client, with_exit_marker("echo hello; exit 4")), lines.append)
    assert code == 4 and "hello" in lines

    monkeypatch.delenv(CA_ENV)  # the system's trust store does not know the stand-in's CA
    with pytest.raises(HerokuError, match="certificate that is not trusted") as info:
        read_attached(_attach(client, with_exit_marker("true")), lines.append)
    assert info.value.exit_code == 3

    missing = tmp_path / "nowhere.pem"
    monkeypatch.setenv(CA_ENV, str(missing))
    with pytest.raises(HerokuError, match=f"{CA_ENV}={missing}"):
        read_attached(_attach(client, with_exit_marker("true")), lines.append)
