"""The health report as one self-contained HTML page: inline CSS and SVG, no script, no
external asset (fonts, images, styles), so it can be mailed, archived or opened from a CI
artifact as it is. Breaches come first, in words."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from keycliq_ops.ops.health import svg
from keycliq_ops.ops.health.model import CheckTrend, CostReport, HealthReport, Marker

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       background: #f3f4f6; color: #111827; }
main { max-width: 820px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 10px; }
.meta { color: #6b7280; font-size: 13px; margin-bottom: 16px; }
section { background: #fff; border-radius: 8px; padding: 16px 18px; margin: 14px 0;
          box-shadow: 0 1px 2px rgba(0,0,0,.06); }
.breaches { border-left: 6px solid #dc2626; }
.breaches li { margin: 6px 0; font-size: 15px; }
.allgood { border-left: 6px solid #16a34a; font-size: 15px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
         font-weight: 600; color: #fff; }
.pass, .info { background: #16a34a; } .warn { background: #d97706; }
.fail { background: #dc2626; } .error { background: #7c3aed; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { text-align: left; padding: 3px 8px 3px 0; vertical-align: middle; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.spark { table-layout: fixed; }
.spark col.n { width: 190px; } .spark col.s { width: 436px; }
.spark td { border-top: 1px solid #f3f4f6; overflow: hidden; text-overflow: ellipsis; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px;
            border-radius: 2px; vertical-align: -1px; }
.note { color: #6b7280; font-size: 12px; }
.estimate { font-size: 12px; color: #92400e; background: #fef3c7; padding: 4px 8px;
            border-radius: 4px; display: inline-block; margin-bottom: 8px; }
.checks h3 { font-size: 14px; margin: 14px 0 4px; }
"""


def _legend(colors: dict[str, str], names: dict[str, str]) -> str:
    return (
        '<div class="legend">'
        + "".join(
            f'<span><i style="background:{c}"></i>{escape(names.get(k, k))}</span>'
            for k, c in colors.items()
        )
        + "</div>"
    )


def _axis(report: HealthReport) -> svg.TimeAxis | None:
    times = list(report.run_times)
    if not times:
        return None
    t0, t1 = times[0], times[-1]
    if t0 == t1:
        t0, t1 = t0 - timedelta(hours=12), t1 + timedelta(hours=12)
    pad = (t1 - t0) * 0.03
    return svg.TimeAxis(t0 - pad, t1 + pad)


def _marks(markers: list[Marker]) -> list[tuple[datetime, str]]:
    return [(m.at, m.label) for m in markers]


def _breaches(report: HealthReport) -> str:
    if not report.breaches:
        return '<section class="allgood">✓ Every threshold is met.</section>'
    items = "".join(f"<li>{escape(b.message)}</li>" for b in report.breaches)
    n = len(report.breaches)
    return (
        f'<section class="breaches"><h2>{n} breach{"es" if n != 1 else ""}</h2>'
        f"<ul>{items}</ul></section>"
    )


def _share(report: HealthReport, axis: svg.TimeAxis | None) -> str:
    if report.no_match_percent is None or axis is None:
        return ""
    chart = svg.line_chart(
        report.run_times,
        report.no_match_percent.values,
        axis=axis,
        markers=_marks(report.markers),
        threshold=report.no_match_threshold,
        unit="%",
        y_max=100,
        label="NO_MATCH share of the last 24 hours, per run",
    )
    return (
        "<section><h2>NO_MATCH share of the last 24 h, per run</h2>"
        f'{chart}<div class="note">Dashed purple lines: releases from the ledger '
        "(deploys, promotions, rollbacks of this environment). Dashed red: the threshold."
        "</div></section>"
    )


def _balance(report: HealthReport) -> str:
    if not report.balance:
        return ""
    order = ["match_found", "possible_keys", "possible_match", "no_match", "other_types"]
    names = {k: k.upper() for k in order}
    labels = [f"{(d.start + timedelta(days=1)):%m-%d}" for d in report.balance]
    rows = [{k: int(getattr(d, k)) for k in order} for d in report.balance]
    chart = svg.stacked_share_bars(
        labels, rows, order=order, colors=svg.MATCH_COLORS, label="matchType balance per day"
    )
    recent = list(zip(labels, report.balance, strict=False))[-3:]
    totals = ", ".join(f"{lab}: {d.matchings}" for lab, d in recent)
    return (
        "<section><h2>matchType balance per day (all users)</h2>"
        f"{_legend(svg.MATCH_COLORS, names)}{chart}"
        f'<div class="note">Each bar is a 24-hour window ending on the day shown; grey: no '
        f"matchings. Matchings in the last days: {escape(totals)}.</div></section>"
    )


def _unsigned(report: HealthReport) -> str:
    u = report.unsigned_keys
    if u is None:
        return ""
    colors = {"pending (with a photo)": "#d97706", "failed": "#dc2626"}
    chart = svg.bar_groups(
        u.buckets,
        {"pending (with a photo)": u.pending, "failed": u.failed},
        colors=colors,
        height=180,
        label="keys without a signature by age",
    )
    return (
        "<section><h2>Keys without a signature, by age</h2>"
        f"{_legend(colors, {})}{chart}"
        f'<div class="note">{u.unsigned} keys have no signature: {u.stuck} stuck in pending '
        f"(a photo, older than 30 min, never edited), {u.no_photo} without a photo (pending "
        "by design).</div></section>"
    )


def _bytes(v: float | None) -> str:
    if v is None:
        return "–"
    size = float(v)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:,.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:,.1f} TB"


def costs_section(costs: CostReport | None) -> str:
    if costs is None:
        return ""
    o = costs.openai
    labels = [f"{(d.start + timedelta(days=1)):%m-%d}" for d in o.days]
    every = max(1, -(-len(labels) // 14))
    chart = svg.bar_groups(
        labels,
        {"USD": [d.usd for d in o.days]},
        colors={"USD": "#0ea5e9"},
        height=170,
        fmt=lambda v: f"${v:,.2f}",
        whole=False,
        label="estimated OpenAI spend per day",
        every=every,
    )
    c = costs.cloudinary
    if c.available:
        used = (
            f"{svg.fmt_value(c.credits_used)} of {svg.fmt_value(c.credits_limit)} credits "
            f"({svg.fmt_value(c.credits_used_percent)} %)"
            if c.credits_used is not None
            else "–"
        )
        cloud = (
            "<table>"
            f"<tr><th>plan</th><td>{escape(c.plan or '–')}</td></tr>"
            f"<tr><th>credits used (30 days)</th><td>{escape(used)}</td></tr>"
            f"<tr><th>storage</th><td>{_bytes(c.storage_bytes)} "
            f"({svg.fmt_value(c.storage_credits)} credits)</td></tr>"
            f"<tr><th>bandwidth</th><td>{_bytes(c.bandwidth_bytes)} "
            f"({svg.fmt_value(c.bandwidth_credits)} credits)</td></tr>"
            f"<tr><th>transformations</th><td>{svg.fmt_value(c.transformations)} "
            f"({svg.fmt_value(c.transformations_credits)} credits)</td></tr>"
            f"<tr><th>last updated</th><td>{escape(c.last_updated or '–')}</td></tr>"
            "</table>"
        )
    else:
        cloud = f'<div class="note">Not available: {escape(c.error or "unknown")}</div>'
    return (
        "<section><h2>Costs</h2>"
        f'<div class="estimate">OpenAI: an {escape(o.label)}</div>'
        f'<table><tr><th>window</th><th class="num">scans</th>'
        f'<th class="num">inventory signatures</th><th class="num">calls</th>'
        f'<th class="num">estimated USD</th></tr>'
        f'<tr><td>last 24 h</td><td class="num">{o.days[-1].scans if o.days else 0}</td>'
        f'<td class="num">{o.days[-1].inventory_signatures if o.days else 0}</td>'
        f'<td class="num">{o.days[-1].calls if o.days else 0}</td>'
        f'<td class="num">${o.usd_last_24h:,.4f}</td></tr>'
        f'<tr><td>{len(o.days)} days</td><td class="num">{o.scans}</td>'
        f'<td class="num">{o.inventory_signatures}</td><td class="num">{o.calls}</td>'
        f'<td class="num">${o.usd_total:,.4f}</td></tr></table>'
        f'<div class="note">{escape(o.model)}: {o.tokens_per_call["prompt"]} prompt + '
        f"{o.tokens_per_call['image']} image tokens at ${o.usd_per_million['input']:g}/M, "
        f"{o.tokens_per_call['output']} output tokens at ${o.usd_per_million['output']:g}/M "
        f"= ${o.usd_per_call:.5f} a call.</div>"
        f"{chart}<h2>Cloudinary (from its Admin API)</h2>{cloud}</section>"
    )


def _check(t: CheckTrend, axis: svg.TimeAxis | None, markers: list[Marker]) -> str:
    head = (
        f'<h3>{escape(t.id)} — {escape(t.title)} <span class="badge {escape(t.verdict)}">'
        f"{escape(t.verdict)}</span></h3>"
    )
    if t.error:
        head += f'<div class="note">{escape(t.error)}</div>'
    if axis is None or not t.series:
        return head
    rows = []
    for s in t.series:
        line = svg.sparkline(
            t.at, s.values, axis=axis, markers=_marks(markers), label=f"{t.id} {s.name}"
        )
        rows.append(
            f"<tr><td>{escape(s.name)}</td><td>{line}</td>"
            f'<td class="num">{escape(svg.fmt_value(s.last))}</td></tr>'
        )
    cols = '<colgroup><col class="n"><col class="s"><col class="v"></colgroup>'
    return head + f'<table class="spark">{cols}{"".join(rows)}</table>'


def _releases(report: HealthReport) -> str:
    if not report.markers:
        return ""
    rows = "".join(
        f"<tr><td>{m.at:%Y-%m-%d %H:%M} UTC</td><td>{escape(m.label)}</td>"
        f"<td>{escape((m.commit or '')[:8])}</td><td>{escape(m.ledger_id)}</td></tr>"
        for m in report.markers[-12:]
    )
    return (
        "<section><h2>Releases (from the ledger)</h2><table><tr><th>when</th><th>release</th>"
        f"<th>commit</th><th>ledger id</th></tr>{rows}</table></section>"
    )


def render_html(report: HealthReport) -> str:
    """The whole page."""
    axis = _axis(report)
    checks = "".join(_check(t, axis, report.markers) for t in report.checks)
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
    runs = len(report.run_times)
    title = f"KeyCliq health — {report.environment} ({report.app})"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_CSS}</style></head><body><main>"
        f"<h1>{escape(title)}</h1>"
        f'<div class="meta">{report.generated_at:%Y-%m-%d %H:%M} UTC · {runs} '
        f"run{'s' if runs != 1 else ''} charted · {len(report.markers)} release"
        f"{'s' if len(report.markers) != 1 else ''} in the ledger</div>"
        f"{_breaches(report)}"
        f"{_share(report, axis)}"
        f"{_balance(report)}"
        f"{_unsigned(report)}"
        f"{costs_section(report.costs)}"
        f'<section class="checks"><h2>Checks over the last {runs} runs</h2>'
        f'<div class="note">Each number on its own scale; the purple lines are the releases.'
        f"</div>{checks}</section>"
        f"{_releases(report)}"
        + (f'<section><h2>Notes</h2><ul class="note">{notes}</ul></section>' if notes else "")
        + "</main></body></html>\n"
    )
