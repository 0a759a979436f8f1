"""Every fault on demand, as a client sees it; and the fault spec syntax."""

from __future__ import annotations

import httpx
import pytest

from keycliq_ops.standin import Sandbox, parse_fault
from keycliq_ops.standin.failures import StandinError
from keycliq_ops.standin.sample.repo import SampleRepo

from .helpers import follow, push, release_done

pytestmark = [pytest.mark.db, pytest.mark.e2e]


def test_n_answers_of_429_then_normal(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.setup_keycliq()
    sandbox.faults.http_error("/apps/keycliq-staging", status=429, count=2)

    seen = [client.get("/apps/keycliq-staging") for _ in range(3)]

    assert [r.status_code for r in seen] == [429, 429, 200]
    assert seen[0].json()["id"] == "rate_limit"
    assert seen[0].headers["RateLimit-Remaining"] == "0"
    assert seen[0].headers["Content-Type"] == "application/json"
    # Other paths were never affected.
    assert client.get("/apps/keycliq-production").status_code == 200


def test_503_on_a_glob_of_paths(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.setup_keycliq()
    sandbox.faults.add(parse_fault("503x*@/apps/*/releases"))

    for _ in range(3):
        resp = client.get("/apps/keycliq-staging/releases")
        assert resp.status_code == 503
        assert resp.json() == {
            "id": "service_unavailable",
            "message": "The service is temporarily unavailable (sandbox fault).",
        }
    assert client.get("/apps/keycliq-staging").status_code == 200


def test_slow_answer_times_a_client_out_once(sandbox: Sandbox) -> None:
    # The slow answer holds for ten minutes (until the sandbox stops), far past the client's
    # one-second read timeout: the timeout is certain however loaded the machine is. Only
    # the read is short; connecting may take as long as it takes.
    sandbox.faults.slow("/account", seconds=600)
    patient_connect = httpx.Timeout(30.0, read=1.0)
    with httpx.Client(
        base_url=sandbox.url, headers=sandbox.headers(), timeout=patient_connect
    ) as quick:
        with pytest.raises(httpx.ReadTimeout):
            quick.get("/account")
        # The fault fired once; the next answer is prompt (a generous timeout: a loaded
        # machine must not make this flaky).
        assert quick.get("/account", timeout=30).status_code == 200


def test_stream_cut_mid_way(sandbox: Sandbox, sample: SampleRepo, client: httpx.Client) -> None:
    assert push(sample.path, "heroku-staging", "main:main").returncode == 0
    rel = client.get("/apps/keycliq-staging/releases").json()[-1]
    whole = follow(client, rel["output_stream_url"]).encode()
    sandbox.faults.cut_stream("release", after_bytes=40)

    got = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("GET", rel["output_stream_url"]) as resp,
    ):
        for chunk in resp.iter_bytes():
            got += chunk
    assert got == whole[:40]
    assert follow(client, rel["output_stream_url"]).encode() == whole  # the next read is whole


def test_build_failure_rejects_the_push(
    sandbox: Sandbox, sample: SampleRepo, client: httpx.Client
) -> None:
    sandbox.faults.fail_build("keycliq-staging")

    done = push(sample.path, "heroku-staging", "main:main")

    assert done.returncode != 0
    assert "remote: npm ERR! Exit status 1 (sandbox fault build-fail)" in done.stderr
    assert "remote:  !     Push rejected, failed to compile Node.js app." in done.stderr
    build = client.get("/apps/keycliq-staging/builds").json()[0]
    assert build["status"] == "failed" and build["release"] is None and build["slug"] is None
    assert "Push rejected" in follow(client, build["output_stream_url"])
    # The fault fired once: the same push now goes through.
    assert push(sample.path, "heroku-staging", "main:main").returncode == 0


def test_release_phase_failure(sandbox: Sandbox, sample: SampleRepo, client: httpx.Client) -> None:
    sandbox.faults.fail_release("keycliq-staging")

    done = push(sample.path, "heroku-staging", "main:main")

    assert done.returncode == 0  # the build succeeded; the release phase is reported apart
    assert "remote: Waiting for release.... failed." in done.stderr
    rel = client.get("/apps/keycliq-staging/releases").json()[-1]
    final = release_done(client, "keycliq-staging", rel["version"])
    assert final["status"] == "failed" and final["current"] is False
    assert "P1001" in follow(client, rel["output_stream_url"])
    current = [r for r in client.get("/apps/keycliq-staging/releases").json() if r["current"]]
    assert [r["version"] for r in current] == [rel["version"] - 1]


def test_faults_can_be_planted_over_http(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.setup_keycliq()
    resp = client.post("/_sandbox/faults", json={"faults": ["503x2@/account"]})
    assert resp.json() == ["HTTP 503 x2 @ /account"]
    assert client.get("/account").status_code == 503
    assert client.delete("/_sandbox/faults").json() == []
    assert client.get("/account").status_code == 200


@pytest.mark.parametrize(
    "spec",
    ["boom", "200@/x", "slow=soon@/account", "cut=10@everything", "build-fail", "429x0@/a"],
)
def test_bad_fault_specs_are_usage_errors(spec: str) -> None:
    with pytest.raises(StandinError) as err:
        parse_fault(spec)
    assert err.value.kind == "usage"
    assert spec in err.value.message and "\n" not in err.value.message
