"""The health page from a built report: self-contained, escaped, breaches first, and the
release markers on the shared time axis."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from keycliq_ops.ops.health.html import render_html
from keycliq_ops.ops.health.model import Breach, CheckTrend, HealthReport, Marker, Series
from keycliq_ops.ops.health.svg import TimeAxis, line_chart

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
TIMES = [T0 + timedelta(days=i) for i in range(6)]


def report(**changes: object) -> HealthReport:
    base = HealthReport(
        environment="production",
        app="keycliq-production",
        target="keycliq-production",
        generated_at=TIMES[-1],
        ok=False,
        breaches=[
            Breach(
                kind="no_match_share",
                message="NO_MATCH share 80 % <above> the 60 % threshold",
                value=80,
                limit=60,
            ),
            Breach(kind="failing_check", message="Dataclip E2 failed: no_match_with_key = 3"),
        ],
        checks=[
            CheckTrend(
                id="X1",
                title="title with <script>alert(1)</script>",
                verdict="pass",
                at=TIMES,
                verdicts=["pass"] * 6,
                series=[Series(name="n", values=[1, 2, 3, 4, 5, 6], last=6)],
            ),
        ],
        markers=[
            Marker(
                at=TIMES[2] + timedelta(hours=3),
                action="promote",
                label="promote v42",
                release_version=42,
                outcome="succeeded",
                ledger_id="20261122T090000-aaaa",
            ),
            Marker(
                at=T0 - timedelta(days=30),
                action="deploy",
                label="deploy v7",
                release_version=7,
                outcome="succeeded",
                ledger_id="20261021T090000-bbbb",
            ),
        ],
        balance=[],
        no_match_percent=Series(name="no_match_percent", values=[10, 12, 11, 70, 80, 80]),
        run_times=TIMES,
        no_match_threshold=60,
    )
    return base.model_copy(update=changes)


def test_the_page_is_self_contained_and_escaped() -> None:
    html = render_html(report())
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"(src|href)\s*=|url\(|@import", html)
    assert html.count("<svg") >= 2


def test_breaches_come_first_in_words() -> None:
    html = render_html(report())
    first_section = html.index("<section")
    assert html.index("2 breaches") > first_section
    assert html.index("2 breaches") < html.index("<svg")
    assert "NO_MATCH share 80 % &lt;above&gt; the 60 % threshold" in html
    ok = render_html(report(breaches=[], ok=True))
    assert "Every threshold is met" in ok


def test_markers_inside_the_axis_are_drawn_with_their_label() -> None:
    axis = TimeAxis(TIMES[0], TIMES[-1])
    chart = line_chart(
        TIMES,
        [10, 12, 11, 70, 80, 80],
        axis=axis,
        markers=[
            (TIMES[2] + timedelta(hours=3), "promote v42"),
            (T0 - timedelta(days=30), "deploy v7"),
        ],
        threshold=60,
        unit="%",
        y_max=100,
    )
    assert ">promote v42</text>" in chart and "deploy v7" not in chart
    # The marker's x lies between the third and the fourth run's points.
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', chart)]
    (mx,) = [float(x) for x in re.findall(r'<line x1="([\d.]+)"[^>]*stroke-dasharray="4 3"', chart)]
    assert xs[2] < mx < xs[3]
    # Points above the threshold are drawn in the breach colour.
    assert len(re.findall(r'<circle[^>]*fill="#dc2626"', chart)) == 3
