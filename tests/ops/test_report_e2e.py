"""``keycliq report`` end to end: ten scheduled runs on ten simulated days against the
stand-in (real Postgres, real ledger, Cloudinary's usage endpoint over loopback), with a
real ``keycliq deploy staging`` in the middle after which the NO_MATCH share jumps.

Time: the days are simulated with the report's hidden ``--now``; the deploy's ledger
record keeps its real time. The first five days are the 4.5 days before the test's start
(12 hours apart from it at the nearest), the last five the 4.5 days after, so the real
deploy falls between day 5 and day 6 on the report's time axis.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import psycopg
import pytest

from tests.world import World

DEPLOY = ("deploy", "staging", "--yes", "--answers", "keycliq-answers.yaml")


def add_scans(url: str, *, match_type: str, n: int, around: datetime, tag: str) -> None:
    """``n`` scans, each with one matching of ``match_type``, in the 24 hours before
    ``around`` (as the app writes them: MATCH_FOUND names a ready key and its signature,
    NO_MATCH names none)."""
    at = around.astimezone(UTC).replace(tzinfo=None)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            """SELECT k.id, k."userId", k.signature FROM keys k
               WHERE k."sigStatus" = 'ready' ORDER BY k.id LIMIT 1"""
        ).fetchone()
        assert row is not None
        key, user, _sig = row
        conn.execute(
            """INSERT INTO key_queries (id, "userId", "queryType", result, status,
                                        "createdAt", "updatedAt")
               SELECT 'q' || %(tag)s || g, %(user)s, 'scan', '{"signature": {}}'::jsonb,
                      'completed', %(at)s::timestamp - make_interval(mins => 60 + g * 7),
                      %(at)s::timestamp - make_interval(mins => 60 + g * 7)
               FROM generate_series(1, %(n)s) g""",
            {"tag": tag, "user": user, "at": at, "n": n},
        )
        conn.execute(
            """INSERT INTO key_matchings (id, "userId", "keyQueryId", "matchedKeyId",
                   "matchType", similarity, confidence, "querySignature", "matchedSignature",
                   "comparisonResult", "createdAt", "updatedAt")
               SELECT 'm' || %(tag)s || g, %(user)s, 'q' || %(tag)s || g,
                      CASE WHEN %(mt)s = 'MATCH_FOUND' THEN %(key)s END, %(mt)s,
                      CASE WHEN %(mt)s = 'MATCH_FOUND' THEN 1.0 ELSE 0 END,
                      CASE WHEN %(mt)s = 'MATCH_FOUND' THEN 1.0 ELSE 0 END,
                      '{}'::jsonb,
                      CASE WHEN %(mt)s = 'MATCH_FOUND' THEN '{}'::jsonb END, NULL,
                      %(at)s::timestamp - make_interval(mins => 60 + g * 7) + interval '2 s',
                      %(at)s::timestamp - make_interval(mins => 60 + g * 7) + interval '2 s'
               FROM generate_series(1, %(n)s) g""",
            {"tag": tag, "user": user, "at": at, "n": n, "mt": match_type, "key": key},
        )


class _Text(HTMLParser):
    """The page's visible text, and whether it has any script or external reference."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self.refs: list[str] = []
        self.in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.in_body = self.in_body or tag == "body"
        for name, value in attrs:
            if name in ("src", "href") or (value and "url(" in value):
                self.refs.append(f"{tag} {name}={value}")

    def handle_data(self, data: str) -> None:
        if self.in_body and data.strip():
            self.text.append(data.strip())


def test_ten_days_with_a_release_that_raises_no_match(
    world: World,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEYCLIQ_CLOUDINARY_API", world.sandbox.url)
    url = world.database_url()
    start = datetime.now(UTC).replace(microsecond=0)
    days = [start - timedelta(hours=12) + timedelta(days=i - 4) for i in range(10)]
    for i in range(5):  # before the release: mostly found
        add_scans(url, match_type="MATCH_FOUND", n=30, around=days[i], tag=f"a{i}x")
    results = []
    for i in range(5):
        r = cli("report", "staging", "--now", days[i].isoformat(), "--json")
        assert r.code == 0, r.output
        results.append(json.loads(r.stdout))
    assert all(res["ok"] and not res["breaches"] for res in results)

    deployed = cli(*DEPLOY)
    assert deployed.code == 0, deployed.output
    release = world.last_record()["release_version"]

    for i in range(5, 10):  # after it: the scans stop matching
        add_scans(url, match_type="NO_MATCH", n=60, around=days[i], tag=f"b{i}x")
    for i in range(5, 10):
        r = cli("report", "staging", "--now", days[i].isoformat(), "--json")
        assert r.code == 1, r.output  # a breach: the scheduled job fails visibly
        results.append(json.loads(r.stdout))
    assert "threshold" in results[-1]["breaches"][0]["message"]

    last = results[-1]
    # Ten runs on ten days, and the deploy on the same axis, between day 5 and day 6.
    assert len(last["run_times"]) == 10
    times = [datetime.fromisoformat(t) for t in last["run_times"]]
    assert times == days
    marker = next(m for m in last["markers"] if m["action"] == "deploy")
    assert marker["label"] == f"deploy v{release}"
    assert times[4] < datetime.fromisoformat(marker["at"]) < times[5]
    # The share jumps right after it.
    share = last["no_match_percent"]["values"]
    assert all(v < 30 for v in share[:5]) and all(v > 60 for v in share[5:])

    # The breach comes first, in words, naming the release before the jump.
    first = last["breaches"][0]
    assert first["kind"] == "no_match_share" and first["limit"] == 60
    assert f"before deploy v{release}" in first["message"]
    assert re.search(r"NO_MATCH share \d+ % of the \d+ matchings", first["message"])

    page = world.repo / ".keycliq" / "reports" / "health-staging.html"
    assert last["output"] == str(page)
    html = page.read_text()
    parsed = _Text()
    parsed.feed(html)
    assert "script" not in parsed.tags and not parsed.refs  # self-contained, no JS
    assert "<svg" in html and "@import" not in html
    # The breaches section is the first thing after the title.
    title, _meta, heading, message = parsed.text[:4]
    assert title == "KeyCliq health — staging (keycliq-staging)"
    assert heading == f"{len(last['breaches'])} breach" + (
        "es" if len(last["breaches"]) > 1 else ""
    )
    assert message == first["message"]
    # The release marker is drawn on the NO_MATCH chart, labelled with its version.
    chart = html[html.index("NO_MATCH share of the last 24 h") :]
    chart = chart[: chart.index("</svg>")]
    assert f">deploy v{release}</text>" in chart
    assert 'stroke-dasharray="4 3"' in chart  # the marker line
    assert "threshold 60%" in chart
    # Costs are there, labelled an estimate, with what Cloudinary served.
    assert "estimate" in html and "Cloudinary" in html
    assert last["costs"]["cloudinary"]["available"] is True
    # No secret of the app reaches the page or the JSON.
    config = world.sandbox.engine.app("keycliq-staging").config
    for name in ("CLOUDINARY_API_SECRET", "CLOUDINARY_API_KEY", "DATABASE_URL"):
        assert config[name] not in html and config[name] not in json.dumps(last)
    # The history has the ten report runs (and the deploy's own gate line, apart).
    history = world.repo / ".keycliq" / "dataclips-history.jsonl"
    lines = [json.loads(x) for x in history.read_text().splitlines() if x.strip()]
    assert sum(1 for x in lines if x.get("source") == "report") == 10
