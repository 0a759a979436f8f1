"""Inline SVG charts for the health page: plain strings, no script, no external asset.

Every chart that shows runs over time takes the same time axis (``t0``..``t1``) and draws
the releases (markers) as dashed vertical lines on it, so a jump lines up with the release
before it. Hovering a point shows its value (an SVG ``<title>``, no script).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

MARKER_COLOR = "#7c3aed"
LINE_COLOR = "#2563eb"
BREACH_COLOR = "#dc2626"
GRID_COLOR = "#e5e7eb"
TEXT_COLOR = "#374151"
MATCH_COLORS: dict[str, str] = {
    "match_found": "#16a34a",
    "possible_keys": "#84cc16",
    "possible_match": "#eab308",
    "no_match": "#dc2626",
    "other_types": "#6b7280",
}


@dataclass(frozen=True)
class TimeAxis:
    t0: datetime
    t1: datetime

    def x(self, at: datetime, left: float, width: float) -> float:
        span = (self.t1 - self.t0).total_seconds()
        if span <= 0:
            return left + width / 2
        return left + width * (at - self.t0).total_seconds() / span

    def contains(self, at: datetime) -> bool:
        return self.t0 <= at <= self.t1


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def fmt_value(v: float | int | None) -> str:
    if v is None:
        return "–"
    if isinstance(v, int) or float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.2f}"


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="11">'
        + "".join(body)
        + "</svg>"
    )


def _markers(
    axis: TimeAxis,
    markers: Sequence[tuple[datetime, str]],
    left: float,
    width: float,
    top: float,
    bottom: float,
    *,
    labels: bool,
) -> list[str]:
    out: list[str] = []
    for at, label in markers:
        if not axis.contains(at):
            continue
        x = axis.x(at, left, width)
        out.append(
            f'<line x1="{_num(x)}" y1="{_num(top)}" x2="{_num(x)}" y2="{_num(bottom)}" '
            f'stroke="{MARKER_COLOR}" stroke-width="1.5" stroke-dasharray="4 3">'
            f"<title>{escape(label)} ({at:%Y-%m-%d %H:%M} UTC)</title></line>"
        )
        if labels:
            anchor = "end" if x > left + width * 0.8 else "start"
            dx = -4 if anchor == "end" else 4
            out.append(
                f'<text x="{_num(x + dx)}" y="{_num(top - 5)}" fill="{MARKER_COLOR}" '
                f'font-weight="600" text-anchor="{anchor}">{escape(label)}</text>'
            )
    return out


def _polyline(points: list[tuple[float, float]], color: str, width: float) -> str:
    path = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
    return (
        f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="{width}" '
        'stroke-linejoin="round" stroke-linecap="round"/>'
    )


def line_chart(
    times: Sequence[datetime],
    values: Sequence[float | int | None],
    *,
    axis: TimeAxis,
    markers: Sequence[tuple[datetime, str]] = (),
    threshold: float | None = None,
    width: int = 760,
    height: int = 240,
    unit: str = "",
    y_max: float | None = None,
    label: str = "",
) -> str:
    """A line over the runs with y ticks, date ticks, the threshold and the releases."""
    left, right, top, bottom = 44.0, 16.0, 22.0, 28.0
    pw, ph = width - left - right, height - top - bottom
    present = [float(v) for v in values if v is not None]
    top_value = max([*present, threshold or 0.0, 1.0])
    ymax = y_max if y_max is not None else top_value * 1.15

    def y(v: float) -> float:
        return top + ph * (1 - min(v, ymax) / ymax)

    body: list[str] = []
    for i in range(5):
        v = ymax * i / 4
        yy = y(v)
        body.append(
            f'<line x1="{left}" y1="{_num(yy)}" x2="{left + pw}" y2="{_num(yy)}" '
            f'stroke="{GRID_COLOR}"/>'
            f'<text x="{left - 6}" y="{_num(yy + 4)}" fill="{TEXT_COLOR}" '
            f'text-anchor="end">{_num(v)}{escape(unit)}</text>'
        )
    for at in _date_ticks(times):
        x = axis.x(at, left, pw)
        body.append(
            f'<text x="{_num(x)}" y="{height - 8}" fill="{TEXT_COLOR}" '
            f'text-anchor="middle">{at:%m-%d}</text>'
        )
    if threshold is not None:
        yy = y(threshold)
        body.append(
            f'<line x1="{left}" y1="{_num(yy)}" x2="{left + pw}" y2="{_num(yy)}" '
            f'stroke="{BREACH_COLOR}" stroke-width="1" stroke-dasharray="6 4"/>'
            f'<text x="{left + pw - 2}" y="{_num(yy - 4)}" fill="{BREACH_COLOR}" '
            f'text-anchor="end">threshold {_num(threshold)}{escape(unit)}</text>'
        )
    body += _markers(axis, markers, left, pw, top, top + ph, labels=True)
    pts = [
        (axis.x(at, left, pw), y(float(v)))
        for at, v in zip(times, values, strict=False)
        if v is not None
    ]
    if len(pts) > 1:
        body.append(_polyline(pts, LINE_COLOR, 2.2))
    for (x, yy), (at, v) in zip(
        pts, [(a, v) for a, v in zip(times, values, strict=False) if v is not None], strict=False
    ):
        over = threshold is not None and v is not None and float(v) > threshold
        color = BREACH_COLOR if over else LINE_COLOR
        body.append(
            f'<circle cx="{_num(x)}" cy="{_num(yy)}" r="3.5" fill="{color}">'
            f"<title>{at:%Y-%m-%d %H:%M} UTC: {fmt_value(v)}{escape(unit)}</title></circle>"
        )
    return _svg(width, height, body, label)


def nice_ceiling(v: float, *, whole: bool = True) -> float:
    """The smallest 1/2/2.5/5 x 10^n at or above ``v`` whose quarters are whole numbers
    when ``whole`` (axis ticks at 0, ¼, ½, ¾ and 1 of it)."""
    import math

    if v <= 0:
        return 4.0 if whole else 1.0
    exp = math.floor(math.log10(v))
    for step in (1.0, 2.0, 2.5, 4.0, 5.0, 8.0, 10.0):
        top = step * 10.0**exp
        if top >= v and (not whole or (top / 4).is_integer()):
            return top
    return float(10.0 ** (exp + 1)) if not whole else max(4.0, float(math.ceil(v / 4) * 4))


def _date_ticks(times: Sequence[datetime], most: int = 10) -> list[datetime]:
    if not times:
        return []
    step = max(1, -(-len(times) // most))
    return list(times[::step])


def sparkline(
    times: Sequence[datetime],
    values: Sequence[float | int | None],
    *,
    axis: TimeAxis,
    markers: Sequence[tuple[datetime, str]] = (),
    width: int = 420,
    height: int = 36,
    label: str = "",
) -> str:
    """A small line (its own scale) on the shared time axis, with the release lines."""
    left, right, top, bottom = 4.0, 8.0, 4.0, 4.0
    pw, ph = width - left - right, height - top - bottom
    present = [float(v) for v in values if v is not None]
    lo, hi = (min(present), max(present)) if present else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 1, hi + 1

    def y(v: float) -> float:
        return top + ph * (1 - (v - lo) / (hi - lo))

    body = [
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f9fafb" rx="3"/>',
        *_markers(axis, markers, left, pw, 0, height, labels=False),
    ]
    pts = [
        (axis.x(at, left, pw), y(float(v)), at, v)
        for at, v in zip(times, values, strict=False)
        if v is not None
    ]
    if len(pts) > 1:
        body.append(_polyline([(x, yy) for x, yy, _, _ in pts], LINE_COLOR, 1.6))
    for x, yy, at, v in pts:
        body.append(
            f'<circle cx="{_num(x)}" cy="{_num(yy)}" r="2" fill="{LINE_COLOR}">'
            f"<title>{at:%Y-%m-%d %H:%M} UTC: {fmt_value(v)}</title></circle>"
        )
    return _svg(width, height, body, label)


def stacked_share_bars(
    labels: Sequence[str],
    rows: Sequence[dict[str, int]],
    *,
    order: Sequence[str],
    colors: dict[str, str],
    width: int = 760,
    height: int = 220,
    label: str = "",
) -> str:
    """One bar per day, its parts the share of each kind (100 % high); empty days grey."""
    left, right, top, bottom = 44.0, 8.0, 10.0, 28.0
    pw, ph = width - left - right, height - top - bottom
    n = max(1, len(rows))
    slot = pw / n
    bar = max(2.0, slot * 0.72)
    body: list[str] = []
    for pct in (0, 25, 50, 75, 100):
        yy = top + ph * (1 - pct / 100)
        body.append(
            f'<line x1="{left}" y1="{_num(yy)}" x2="{left + pw}" y2="{_num(yy)}" '
            f'stroke="{GRID_COLOR}"/><text x="{left - 6}" y="{_num(yy + 4)}" '
            f'fill="{TEXT_COLOR}" text-anchor="end">{pct}%</text>'
        )
    every = max(1, -(-n // 14))
    for i, (day, row) in enumerate(zip(labels, rows, strict=False)):
        x = left + slot * i + (slot - bar) / 2
        total = sum(row.get(k, 0) for k in order)
        if total == 0:
            body.append(
                f'<rect x="{_num(x)}" y="{_num(top)}" width="{_num(bar)}" height="{_num(ph)}" '
                f'fill="#f3f4f6"><title>{escape(day)}: no matchings</title></rect>'
            )
        else:
            yy = top + ph
            for kind in order:
                count = row.get(kind, 0)
                if not count:
                    continue
                h = ph * count / total
                yy -= h
                share = 100 * count / total
                body.append(
                    f'<rect x="{_num(x)}" y="{_num(yy)}" width="{_num(bar)}" height="{_num(h)}" '
                    f'fill="{colors[kind]}"><title>{escape(day)}: {escape(kind.upper())} '
                    f"{count} of {total} ({share:.0f}%)</title></rect>"
                )
        if i % every == 0:
            body.append(
                f'<text x="{_num(x + bar / 2)}" y="{height - 8}" fill="{TEXT_COLOR}" '
                f'text-anchor="middle">{escape(day)}</text>'
            )
    return _svg(width, height, body, label)


def bar_groups(
    groups: Sequence[str],
    series: dict[str, Sequence[int | float]],
    *,
    colors: dict[str, str],
    width: int = 760,
    height: int = 200,
    fmt: Callable[[float], str] = fmt_value,
    label: str = "",
    every: int = 1,
    whole: bool = True,
) -> str:
    """Stacked bars, one per group (e.g. an age bucket or a day), counts on top; ``whole``:
    the values are counts (whole-number ticks)."""
    left, right, top, bottom = 52.0, 8.0, 16.0, 28.0
    pw, ph = width - left - right, height - top - bottom
    n = max(1, len(groups))
    totals = [sum(float(s[i]) for s in series.values()) for i in range(len(groups))]
    vmax = nice_ceiling(max([*totals, 0.0]) * 1.1, whole=whole)
    slot = pw / n
    bar = max(2.0, min(90.0, slot * 0.6))
    body: list[str] = []
    for i in range(5):
        v = vmax * i / 4
        yy = top + ph * (1 - i / 4)
        body.append(
            f'<line x1="{left}" y1="{_num(yy)}" x2="{left + pw}" y2="{_num(yy)}" '
            f'stroke="{GRID_COLOR}"/><text x="{left - 6}" y="{_num(yy + 4)}" '
            f'fill="{TEXT_COLOR}" text-anchor="end">{escape(fmt(v))}</text>'
        )
    for i, group in enumerate(groups):
        x = left + slot * i + (slot - bar) / 2
        yy = top + ph
        for name, values in series.items():
            v = float(values[i])
            if v <= 0:
                continue
            h = ph * v / vmax
            yy -= h
            body.append(
                f'<rect x="{_num(x)}" y="{_num(yy)}" width="{_num(bar)}" height="{_num(h)}" '
                f'fill="{colors[name]}"><title>{escape(group)}: {escape(name)} '
                f"{escape(fmt(v))}</title></rect>"
            )
        if totals[i] > 0 and n <= 16:
            body.append(
                f'<text x="{_num(x + bar / 2)}" y="{_num(yy - 4)}" fill="{TEXT_COLOR}" '
                f'text-anchor="middle">{escape(fmt(totals[i]))}</text>'
            )
        if i % every == 0:
            body.append(
                f'<text x="{_num(x + bar / 2)}" y="{height - 8}" fill="{TEXT_COLOR}" '
                f'text-anchor="middle">{escape(group)}</text>'
            )
    return _svg(width, height, body, label)
