"""Deploy reports of one action (Markdown, self-contained HTML, JSON) and the chain dump.

Every value is escaped for its format; the HTML page has no scripts and loads nothing (its
Content-Security-Policy forbids it), so it can be archived and opened anywhere.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from keycliq_ops import __version__
from keycliq_ops.ledger.chain import VerifyReport
from keycliq_ops.ledger.query import Run
from keycliq_ops.ledger.records import StoredRecord

if TYPE_CHECKING:
    from keycliq_ops.ledger.stats import Week

Rows = list[tuple[str, str]]


def fmt_duration(ms: int | None) -> str:
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_time(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if when else "—"


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def summary_rows(run: Run) -> Rows:
    """The facts of an action as (label, text) pairs, in report order."""
    start, end = run.start, run.end
    actor = run.value("actor")
    who = " ".join(
        p for p in (actor.git_name, f"<{actor.git_email}>" if actor.git_email else None) if p
    )
    rows: Rows = [
        ("Action", start.action),
        ("Environment", _text(start.environment)),
        ("App", _text(run.value("app"))),
        ("Outcome", run.status),
        ("Exit code", _text(run.value("exit_code"))),
        ("Started", fmt_time(start.ts)),
        ("Finished", fmt_time(end.ts) if end else "—"),
        ("Duration", fmt_duration(run.duration_ms)),
        ("Commit", _text(run.value("commit"))),
        ("Branch", _text(run.value("branch"))),
        ("Release", _release(run)),
        ("Build id", _text(run.value("build_id"))),
        ("Who (git)", who or "—"),
        ("Heroku account", _text(actor.heroku_email)),
        ("Host", f"{start.host} (pid {start.pid})"),
        ("keycliq version", start.keycliq_version),
    ]
    if run.value("override_reason"):
        rows.append(("Override reason", run.value("override_reason")))
    if run.value("error"):
        rows.append(("Error", run.value("error")))
    return rows


def _release(run: Run) -> str:
    version, rid = run.value("release_version"), run.value("release_id")
    parts = [f"v{version}" if version is not None else None, rid]
    return " · ".join(p for p in parts if p) or "—"


def step_rows(run: Run) -> list[list[str]]:
    return [
        [
            s.title or s.name,
            s.status,
            fmt_time(s.started),
            fmt_duration(s.duration_ms),
            " ".join(p for p in (s.detail, s.hint) if p) or "",
        ]
        for s in run.value("steps")
    ]


# Item columns shown in reports, in this order (the JSON export keeps every key).
_ITEM_COLUMNS = ("id", "text", "section", "verdict", "answer", "reason", "note", "summary", "who")
_FACT_ORDER = ("name", "checklist", "title", "verdict", "passed", "env", "app", "commit")


def _empty(value: Any) -> bool:
    return value is None or value in ([], {})


def checklist_parts(checklist: dict[str, Any] | None) -> tuple[Rows, list[str], list[list[str]]]:
    """(facts, item columns, item rows) of a checklist dump; empty values are left out."""
    if not checklist:
        return [], [], []
    items = checklist.get("items")
    rows = items if isinstance(items, list) and all(isinstance(i, dict) for i in items) else []
    keys = sorted(
        (k for k, v in checklist.items() if not _empty(v) and not (k == "items" and rows)),
        key=lambda k: (_FACT_ORDER.index(k) if k in _FACT_ORDER else len(_FACT_ORDER), k),
    )
    facts = [(k, _text(checklist[k])) for k in keys]
    columns = [c for c in _ITEM_COLUMNS if any(not _empty(r.get(c)) for r in rows)]
    if not columns:
        for r in rows:
            columns += [k for k in r if k not in columns]
    return facts, columns, [[_text(r.get(c)) if c in r else "" for c in columns] for r in rows]


def dataclip_rows(run: Run) -> list[list[str]]:
    return [
        [
            d.id,
            d.verdict,
            ", ".join(f"{k}={_text(v)}" for k, v in sorted(d.numbers.items())) or "—",
        ]
        for d in run.value("dataclips")
    ]


def integrity_rows(run: Run, verify: VerifyReport) -> Rows:
    rows: Rows = []
    for label, rec in (("Start record", run.start), ("Completion record", run.end)):
        if rec is not None:
            rows.append((label, f"{rec.id} · hash {rec.hash}"))
    state = "verified" if verify.ok else f"NOT verified: {_problem(verify)}"
    count = f"{verify.records} record{'' if verify.records == 1 else 's'}"
    rows += [
        ("Ledger", verify.path),
        ("Chain at export", f"{state} ({count})"),
        ("Chain head", verify.head or "—"),
    ]
    return rows


def _problem(verify: VerifyReport) -> str:
    p = verify.problem
    if p is None:
        return "the anchor hash is not in the chain"
    return f"line {p.line}: {p.kind}: {p.message}"


def report_data(run: Run, verify: VerifyReport, now: datetime | None = None) -> dict[str, Any]:
    """The JSON export of one action: both records as stored, and the chain's state."""
    return {
        "format": "keycliq-deploy-report",
        "version": 1,
        "generated_at": (now or datetime.now(UTC)).isoformat(),
        "generated_by": f"keycliq {__version__}",
        "run": run.summary().model_dump(mode="json"),
        "records": [_stored(r) for r in (run.start, run.end) if r is not None],
        "ledger": verify.model_dump(mode="json"),
    }


def _stored(record: StoredRecord) -> dict[str, Any]:
    return record.model_dump(mode="json", by_alias=True, exclude_none=True)


# -- Markdown ------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans(
    {
        "\\": "\\\\",
        "|": "\\|",
        "`": "\\`",
        "*": "\\*",
        "_": "\\_",
        "[": "\\[",
        "]": "\\]",
        "<": "&lt;",
        ">": "&gt;",
        "&": "&amp;",
        "\n": " ",
        "\r": " ",
    }
)


def md(text: str) -> str:
    """Text safe inside a Markdown table cell (no markup, no HTML, no line breaks)."""
    return text.translate(_MD_SPECIAL)


def _md_table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    out = ["| " + " | ".join(md(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return out


def render_markdown(run: Run, verify: VerifyReport, now: datetime | None = None) -> str:
    start = run.start
    title = f"{start.action} {start.environment or ''} — {run.status}".strip()
    lines = [f"# Deploy report: {md(title)}", "", f"Record `{start.id}`", ""]
    lines += _md_table(["Field", "Value"], [[k, v] for k, v in summary_rows(run)])
    steps = step_rows(run)
    if steps:
        lines += ["", "## Steps", ""]
        lines += _md_table(["Step", "Status", "Started", "Duration", "Detail"], steps)
    facts, columns, items = checklist_parts(run.value("checklist"))
    if facts or items:
        lines += ["", "## Checklist", ""]
        lines += [f"- {md(k)}: {md(v)}" for k, v in facts]
        if items:
            lines += ["", *_md_table(columns, items)]
    clips = dataclip_rows(run)
    if clips:
        lines += ["", "## Dataclips", ""]
        lines += _md_table(["Dataclip", "Verdict", "Numbers"], clips)
    details = run.value("details")
    if details:
        lines += ["", "## Details", ""]
        lines += _md_table(["Key", "Value"], [[k, _text(v)] for k, v in sorted(details.items())])
    lines += ["", "## Integrity", ""]
    lines += _md_table(["", ""], [[k, v] for k, v in integrity_rows(run, verify)])
    when = fmt_time(now or datetime.now(UTC))
    lines += [
        "",
        f"Generated {when} by keycliq {__version__}. Check later with "
        f"`keycliq ledger verify --anchor {(run.end or start).hash}`.",
        "",
    ]
    return "\n".join(lines)


# -- HTML ----------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1b1f24;
max-width:980px;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:1.8rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.k{width:12rem;font-weight:600;background:#fafbfc}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;
word-break:break-all}
.status{display:inline-block;padding:.05rem .5rem;border-radius:1rem;font-weight:600}
.succeeded,.pass{background:#dafbe1;color:#116329}.failed,.fail,.error{background:#ffebe9;
color:#a40e26}.aborted,.interrupted,.warn{background:#fff8c5;color:#7d4e00}
.running{background:#ddf4ff;color:#0550ae}footer{margin-top:2rem;color:#57606a;font-size:12px}
"""


def h(text: str) -> str:
    return html.escape(text, quote=True)


def _html_table(header: list[str] | None, rows: Iterable[list[str]], *, kv: bool = False) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{h(c)}</th>" for c in header) + "</tr>")
    for row in rows:
        cells = [
            f'<td class="k">{h(c)}</td>' if kv and i == 0 else f"<td>{h(c)}</td>"
            for i, c in enumerate(row)
        ]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _badge(status: str) -> str:
    cls = status if status.isalpha() else "other"
    return f'<span class="status {h(cls)}">{h(status)}</span>'


def render_html(
    run: Run,
    verify: VerifyReport,
    now: datetime | None = None,
    *,
    weekly: list[Week] | None = None,
) -> str:
    """The self-contained page; ``weekly`` adds the releases-per-week chart (inline SVG)."""
    start = run.start
    title = f"Deploy report: {start.action} {start.environment or ''}".strip()
    body = [
        f"<h1>{h(title)} {_badge(run.status)}</h1>",
        f"<p>Record <code>{h(start.id)}</code> · started {h(fmt_time(start.ts))}</p>",
        _html_table(None, [[k, v] for k, v in summary_rows(run)], kv=True),
    ]
    steps = step_rows(run)
    if steps:
        body += [
            "<h2>Steps</h2>",
            _html_table(["Step", "Status", "Started", "Duration", "Detail"], steps),
        ]
    facts, columns, items = checklist_parts(run.value("checklist"))
    if facts or items:
        body.append("<h2>Checklist</h2>")
        if facts:
            body.append(_html_table(None, [[k, v] for k, v in facts], kv=True))
        if items:
            body.append(_html_table(columns, items))
    clips = dataclip_rows(run)
    if clips:
        body += ["<h2>Dataclips</h2>", _html_table(["Dataclip", "Verdict", "Numbers"], clips)]
    details = run.value("details")
    if details:
        rows = [[k, _text(v)] for k, v in sorted(details.items())]
        body += ["<h2>Details</h2>", _html_table(None, rows, kv=True)]
    if weekly is not None:
        from keycliq_ops.ledger.stats import svg_chart

        body += ["<h2>Releases per week</h2>", f'<div class="chart">{svg_chart(weekly)}</div>']
    body += [
        "<h2>Integrity</h2>",
        _html_table(None, [[k, v] for k, v in integrity_rows(run, verify)], kv=True),
        f"<footer>Generated {h(fmt_time(now or datetime.now(UTC)))} by keycliq "
        f"{h(__version__)}. Check later with <code>keycliq ledger verify --anchor "
        f"{h((run.end or start).hash)}</code>.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{h(title)} — {h(start.id)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


# -- the whole chain -----------------------------------------------------------------------


def write_chain_json(lines: Iterable[bytes], verify: VerifyReport, out: TextIO) -> int:
    """Stream ``{"ledger": <verify report>, "records": [<each line as stored>]}`` to ``out``.

    Each record is copied byte for byte (its hash stays checkable). Returns the count.
    """
    head = {
        "format": "keycliq-ledger-export",
        "version": 1,
        "ledger": verify.model_dump(mode="json"),
    }
    out.write(json.dumps(head, indent=2, ensure_ascii=False)[:-2] + ',\n  "records": [')
    count = 0
    for raw in lines:
        out.write(("\n    " if count == 0 else ",\n    ") + raw.decode("utf-8"))
        count += 1
    out.write("\n  ]\n}\n" if count else "]\n}\n")
    return count
