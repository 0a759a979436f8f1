"""The ``Range`` header as Heroku parses it (reference: "Details Heroku's own clients rely
on"): a trailing ``;``, the options in any order, ``max`` from 1 to 1,000, and every
malformed or out-of-bounds value a 400 ``bad_request`` — never a crash, never a traceback."""

from __future__ import annotations

import httpx
import pytest

from keycliq_ops.standin import KeycliqApps, Sandbox
from keycliq_ops.standin.platform import ApiError
from keycliq_ops.standin.server import RangeSpec, paginate, parse_range

RELEASES = ("version", "id")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, RangeSpec("version")),
        ("version ..", RangeSpec("version")),
        ("version ..;", RangeSpec("version")),
        ("version ..; max=3;", RangeSpec("version", max=3)),
        ("version ..; max=3, order=desc;", RangeSpec("version", max=3, desc=True)),
        ("version ..; order=desc, max=3", RangeSpec("version", max=3, desc=True)),
        ("version ..; order=desc,max=3;", RangeSpec("version", max=3, desc=True)),  # heroku3
        ("  version 2..9 ;  max = 1000 ,order=asc ; ", RangeSpec("version", "2", "9", max=1000)),
        (
            "version ]5..; max=2, order=desc",
            RangeSpec("version", "5", exclusive=True, max=2, desc=True),
        ),
        ("id ..; max=10;", RangeSpec("id", max=10)),  # Heroku's docs
    ],
)
def test_what_heroku_accepts(header: str | None, expected: RangeSpec) -> None:
    assert parse_range(header, RELEASES) == expected


@pytest.mark.parametrize(
    "header",
    [
        "version ..; max=0",
        "version ..; max=-1",
        "version ..; max=1001",
        "version ..; max=",
        "version ..; max=3.5",
        "version ..; max=+3",
        "version ..; max=three",
        "version ..; order=sideways",
        "version ..; max=3, max=4",
        "version ..; limit=3",
        "version ..; max=3,, order=desc",
        "version ..; max=3;;",
        "version ..; max=3; order=desc",
        "version",
        "version 1",
        "..",
        "created_at ..",  # not a range field of releases
        "version a..b",
        "version ]..",
        "version 1..2..3",
        "version\u00a0..",
        "version ١..",  # a digit, but not an ASCII one
    ],
)
def test_what_heroku_refuses_with_400_bad_request(header: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_range(header, RELEASES)
    assert (info.value.status, info.value.error_id) == (400, "bad_request")
    assert repr(header) in info.value.message


def test_pages_and_next_range_round_trip() -> None:
    items = [{"version": v, "id": f"id-{v:02}"} for v in range(1, 8)]
    first = paginate(items, "version ..; max=3, order=desc;", RELEASES)
    assert first.status == 206 and [i["version"] for i in first.body] == [7, 6, 5]
    assert first.headers["Next-Range"] == "version ]5..; max=3, order=desc"
    second = paginate(items, first.headers["Next-Range"], RELEASES)
    assert [i["version"] for i in second.body] == [4, 3, 2]
    last = paginate(items, second.headers["Next-Range"], RELEASES)
    assert last.status == 200 and [i["version"] for i in last.body] == [1]
    assert "Next-Range" not in last.headers
    bounded = paginate(items, "version 2..4", RELEASES)
    assert [i["version"] for i in bounded.body] == [2, 3, 4]


# ------------------------------------------------------------------ over HTTP


@pytest.fixture
def releases_client(sandbox: Sandbox, apps: KeycliqApps, client: httpx.Client) -> httpx.Client:
    for n in range(4):  # seven releases in all
        assert client.patch("/apps/keycliq-staging/config-vars", json={"N": str(n)}).is_success
    return client


@pytest.mark.parametrize(
    ("header", "status", "versions"),
    [
        ("version ..; max=3;", 206, [1, 2, 3]),
        ("version ..; max=3, order=desc;", 206, [7, 6, 5]),
        ("version ..; order=desc, max=3", 206, [7, 6, 5]),
        ("version ..; max=1000", 200, [1, 2, 3, 4, 5, 6, 7]),
        ("version ..; max=0", 400, None),
        ("version ..; max=-1", 400, None),
        ("version ..; max=1001", 400, None),
        ("version ..; max=x", 400, None),
    ],
)
def test_the_acceptance_headers_over_http(
    releases_client: httpx.Client,
    capfd: pytest.CaptureFixture[str],
    header: str,
    status: int,
    versions: list[int] | None,
) -> None:
    resp = releases_client.get("/apps/keycliq-staging/releases", headers={"Range": header})
    assert resp.status_code == status, resp.text
    if versions is None:
        assert resp.json()["id"] == "bad_request"
        assert header in resp.json()["message"]
    else:
        assert [r["version"] for r in resp.json()] == versions
        assert ("Next-Range" in resp.headers) == (status == 206)
    # The connection stays usable, and nothing was printed (no traceback).
    assert releases_client.get("/account").status_code == 200
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


def test_a_bug_answers_500_in_one_log_line_not_a_traceback(
    sandbox: Sandbox, client: httpx.Client, capfd: pytest.CaptureFixture[str]
) -> None:
    """Whatever escapes a handler is a JSON 500 and one line in the access log."""
    logged: list[str] = []
    server = sandbox._server
    assert server is not None
    server.access_log = logged.append
    # A release list of an app that has none, asked of a broken engine: simulate a bug by
    # handing the releases route a non-list-of-dicts.
    sandbox.engine.apps["broken"] = object()  # type: ignore[assignment]
    resp = client.get("/apps/broken")
    assert resp.status_code == 500 and resp.json()["id"] == "internal_server_error"
    assert any("internal error on GET /apps/broken: AttributeError" in line for line in logged)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    del sandbox.engine.apps["broken"]
