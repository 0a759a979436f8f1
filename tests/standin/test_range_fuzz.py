"""Hypothesis against the stand-in's ``Range`` parsing, over HTTP: it never crashes, and
answers either a 400 ``bad_request`` or a page consistent with the header.

Headers are built from the grammar's parts (field, ``]``, start, end, options, separators,
trailing ``;``), valid and broken alike, so the test knows what each one means and what
page it must get: the releases sorted by the field in the asked order, bounded by start
and end, at most ``max``, a 206 and a ``Next-Range`` exactly when more remain, and following
the ``Next-Range`` chain gives every matching release once. Free text is thrown at it too:
that must get a 400 or a page, never a dropped connection or a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from keycliq_ops.standin import KeycliqApps, Sandbox

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is a dev dependency")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

pytestmark = [pytest.mark.db, pytest.mark.e2e]

URL = "/apps/keycliq-staging/releases"
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)


@dataclass(frozen=True)
class Header:
    text: str
    valid: bool
    field: str = "version"
    exclusive: bool = False
    start: str = ""
    end: str = ""
    max: int = 200
    desc: bool = False


_TOKENS = st.one_of(
    st.just(""),
    st.integers(-2, 12).map(str),
    st.sampled_from(["a", "x1", "0x3", "007", "-"]),
)
_OPTION = st.tuples(
    st.sampled_from(["max", "order", "limit", "", "MAX"]),
    st.one_of(
        st.integers(-2, 1003).map(str),
        st.sampled_from(["asc", "desc", "", "DESC", "3.0", "+4"]),
    ),
)


@st.composite
def headers(draw: st.DrawFn) -> Header:
    field = draw(st.sampled_from(["version", "id", "name", "created_at", "Version"]))
    excl = draw(st.booleans())
    start, end = draw(_TOKENS), draw(_TOKENS)
    options = draw(st.lists(_OPTION, max_size=3))
    with_options = bool(options) or draw(st.booleans())
    joiner = draw(st.sampled_from([", ", ",", " , ", ",,"]))
    trailing = draw(st.sampled_from(["", ";", " ;", ";;"]))
    spaces = draw(st.sampled_from(["", " ", "  "]))  # between the field and the range

    text = f"{field} {spaces}{']' if excl else ''}{start}..{end}"
    if with_options:
        text += ";" + (" " + joiner.join(f"{k}={v}" for k, v in options) if options else "")
    text += trailing

    valid = field in ("version", "id") and not (excl and not start)
    if field == "version":
        valid = valid and all(t == "" or (t.isascii() and t.isdigit()) for t in (start, end))
    keys = [k for k, _ in options]
    valid = valid and all(k in ("max", "order") for k in keys) and len(set(keys)) == len(keys)
    valid = valid and not (joiner == ",," and len(options) > 1)
    valid = valid and not (trailing == ";;" and with_options)
    values = dict(options)
    limit, desc = 200, False
    if "max" in values:
        raw = values["max"]
        ok = raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 1000
        valid = valid and ok
        limit = int(raw) if ok else 200
    if "order" in values:
        valid = valid and values["order"] in ("asc", "desc")
        desc = values["order"] == "desc"
    return Header(text, valid, field, excl, start, end, limit, desc)


def _expected(releases: list[dict[str, Any]], h: Header) -> list[dict[str, Any]]:
    def value(r: dict[str, Any]) -> Any:
        return r[h.field]

    def typed(raw: str) -> Any:
        return int(raw) if h.field == "version" else raw

    out = sorted(releases, key=value, reverse=h.desc)
    if h.start:
        s = typed(h.start)
        out = [
            r
            for r in out
            if (value(r) < s if h.desc else value(r) > s) or (not h.exclusive and value(r) == s)
        ]
    if h.end:
        e = typed(h.end)
        out = [r for r in out if (value(r) >= e if h.desc else value(r) <= e)]
    return out


@pytest.fixture
def releases(sandbox: Sandbox, apps: KeycliqApps, client: httpx.Client) -> list[dict[str, Any]]:
    for n in range(9):  # twelve releases: versions 1..12, so two digits compare as numbers
        assert client.patch("/apps/keycliq-staging/config-vars", json={"N": str(n)}).is_success
    everything: list[dict[str, Any]] = client.get(
        URL, headers={"Range": "version ..; max=1000"}
    ).json()
    assert [r["version"] for r in everything] == list(range(1, 13))
    return everything


def _get(client: httpx.Client, header: str) -> httpx.Response:
    return client.get(URL, headers={"Range": header})


@FUZZ
@given(h=headers())
def test_range_headers_from_the_grammar(
    client: httpx.Client, releases: list[dict[str, Any]], h: Header
) -> None:
    resp = _get(client, h.text)
    if not h.valid:
        assert resp.status_code == 400, (h, resp.text)
        assert resp.json()["id"] == "bad_request"
        return
    assert resp.status_code in (200, 206), (h, resp.text)
    want = _expected(releases, h)
    got = resp.json()
    assert [r["id"] for r in got] == [r["id"] for r in want[: h.max]], h
    assert (resp.status_code == 206) == (len(want) > h.max) == ("Next-Range" in resp.headers)
    collected = list(got)
    while "Next-Range" in resp.headers:  # the chain gives every matching release once
        resp = _get(client, resp.headers["Next-Range"])
        assert resp.status_code in (200, 206), resp.text
        assert 0 < len(resp.json()) <= h.max
        collected += resp.json()
    assert [r["id"] for r in collected] == [r["id"] for r in want]


_PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


@FUZZ
@given(text=st.text(_PRINTABLE, max_size=40).map(str.strip))  # HTTP strips the ends
def test_any_text_gets_a_page_or_a_400(
    client: httpx.Client, releases: list[dict[str, Any]], text: str
) -> None:
    resp = _get(client, text)
    assert resp.status_code in (200, 206, 400), (text, resp.text)
    body = resp.json()
    if resp.status_code == 400:
        assert body["id"] == "bad_request"
    else:
        assert isinstance(body, list) and len(body) <= len(releases)
        assert {r["id"] for r in body} <= {r["id"] for r in releases}
