"""``keycliq logs [-e] ENV`` (the log lines that matter) and ``keycliq watch [-e] ENV``
(post-deploy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from keycliq_ops.cli.common import (
    JSON_OPTION,
    emit_json,
    err,
    heroku_client,
    learn_app_secrets,
    load,
    out,
)
from keycliq_ops.cli.envopt import ENV_ARGUMENT, ENV_OPTION

if TYPE_CHECKING:
    from keycliq_ops.ops.logs import LogEvent, Summary, WatchResult

LOGS_HELP = (
    "Show an app's log with each line classified by what it means: the app's real lines "
    "(scans by outcome from its KEYSCAN banners: scan-match-found, scan-no-match, "
    "scan-possible-match…; its failures: scan-crashed, openai-failed, image-upload-failed, "
    "mail-failed, database-unreachable…) and Heroku's H10/H12/H13/H14/R14/R15 codes, "
    "coloured by severity, secrets masked. --only keeps some kinds ('errors' and 'scans' "
    "are groups); --summary counts them instead (first and last seen, scans by outcome); "
    "--tail follows the log until Ctrl-C (exit 0).\n\n"
    "Exit 0, 2 usage, 3 Heroku failed.\n\n"
    "\b\nExamples:\n"
    "  keycliq logs staging\n"
    "  keycliq logs -e keycliq-production --lines 1500 --summary\n"
    "  keycliq logs production --only errors --tail\n"
    "  keycliq logs staging --only openai-failed,scans --json | jq .message"
)

WATCH_HELP = (
    "Post-deploy watch: read the app's log since its current release (or from now) for a "
    "while, then judge it. By default it fails on one line of any error kind: Heroku's "
    "H10, H12, H13, H14, R15, heroku-error, crashed, and the app's failure lines "
    "scan-crashed, scan-route-failed, openai-failed, signature-failed, "
    "signature-not-saved, key-not-created, image-upload-failed, image-delete-failed, "
    "matching-not-saved, scan-not-saved, mail-disabled, mail-domain-unverified, "
    "mail-failed, database-unreachable, database-error, password-reset-failed, "
    "signup-failed, history-failed. --max-errors N allows N lines of each; --max KIND=N "
    "sets one kind's limit (a warning kind such as R14 or app-error counts only when "
    "given a --max). Normal lines never fail it: scans by outcome (a NO MATCH is normal "
    "despite its ❌), matchings the app itself refuses for a NO_MATCH. On failure it "
    "names each kind over its limit with a hint, and the rollback command.\n\n"
    "Exit 0 clean, 1 the watch failed, 2 usage, 3 Heroku failed, 130 interrupted.\n\n"
    "\b\nExamples:\n"
    "  keycliq watch production\n"
    "  keycliq watch -e staging --for 90s --max H12=2 --max R14=0\n"
    "  keycliq watch production --for 10m --max-errors 3 --json"
)


def register_logs(app: typer.Typer) -> None:
    app.command("logs", help=LOGS_HELP)(logs)


def register_watch(app: typer.Typer) -> None:
    app.command("watch", help=WATCH_HELP)(watch)


_STYLE = {"error": "bold red", "warning": "yellow"}
_KIND_WIDTH = 20
_INFO_STYLE = {
    "scan-started": "cyan",
    "scan-match-found": "green",
    "scan-possible-match": "cyan",
    "scan-no-match": "cyan",
    "scan-empty-inventory": "cyan",
    "image-deleted": "green",
}


def logs(
    ctx: typer.Context,
    env_arg: str | None = ENV_ARGUMENT,
    env_opt: str | None = ENV_OPTION,
    lines: int = typer.Option(
        100,
        "--lines",
        "-n",
        min=0,
        max=1500,
        help="How many recent lines to read (0–1500). Example: --lines 500",
    ),
    tail: bool = typer.Option(
        False, "--tail", "-t", help="Keep following new lines until Ctrl-C. Example: --tail"
    ),
    source: str | None = typer.Option(
        None,
        "--source",
        metavar="app|heroku",
        help="Only the app's own lines or only Heroku's (router, dynos, api). "
        "Example: --source heroku",
    ),
    dyno: str | None = typer.Option(
        None,
        "--dyno",
        "-d",
        help="Only one dyno or process type (web, web.1, router). Example: --dyno web",
    ),
    only: list[str] = typer.Option(
        [],
        "--only",
        metavar="KIND",
        help="Keep only these kinds (repeat or comma-separate; 'errors' = every error "
        "kind, 'scans' = the scan outcomes). Example: --only H12,openai-failed",
    ),
    summary: bool = typer.Option(
        False,
        "--summary",
        help="Print counts per kind (first and last seen) instead of the lines. Example: --summary",
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="One JSON object per line (ts, source, dyno, kind, severity, message), or the "
        "summary as one object with --summary. Example: --json",
    ),
) -> None:
    from keycliq_ops.base.errors import UsageError
    from keycliq_ops.cli.envopt import pick_env
    from keycliq_ops.ops.logs import (
        Summary,
        is_fir_app,
        no_history_note,
        parse_kinds,
        read_logs,
    )

    if source is not None and source not in ("app", "heroku"):
        raise UsageError(f"--source {source!r}: expected app or heroku")
    kinds = parse_kinds(only)
    loaded = load(ctx)
    env = pick_env(loaded, env_arg, env_opt, what="keycliq logs")
    target = loaded.env(env)
    counted = Summary()
    read = 0  # every line read, before --only (to say so when none matched)
    interrupted = False
    with heroku_client() as client:
        fir = is_fir_app(client, target.app)
        if fir and not (as_json and summary):
            # Said, not an empty listing: Fir keeps no history to show.
            err().print(no_history_note(target.app) + ("; following new lines…" if tail else ""))
        learn_app_secrets(loaded, client)  # a line may quote either app's secrets
        events = read_logs(
            client, target.app, lines=lines, tail=tail, source=source, dyno=dyno, fir=fir
        )
        try:
            for event in events:
                read += 1
                if kinds and event.kind not in kinds:
                    continue
                counted.add(event)
                if summary:
                    continue
                if as_json:
                    _json_line(event)
                else:
                    _print_event(event)
        except KeyboardInterrupt:
            if not tail:
                raise
            interrupted = True
    if summary:
        if as_json:
            emit_json(
                {
                    "app": target.app,
                    "environment": env,
                    **counted.model_dump(mode="json"),
                    **({"history": False, "note": no_history_note(target.app)} if fir else {}),
                }
            )
        else:
            _print_summary(counted, f"{target.app} ({env})")
    if interrupted:
        err().print(f"stopped following {target.app} after {counted.lines} lines")
    elif counted.lines == 0 and not (summary and as_json):
        _say_none_matched(target.app, read, only, source, dyno)


def watch(
    ctx: typer.Context,
    env_arg: str | None = ENV_ARGUMENT,
    env_opt: str | None = ENV_OPTION,
    duration: str = typer.Option(
        "5m",
        "--for",
        metavar="DURATION",
        help="How long to watch: 90s, 5m, 1h (at most 24h). Example: --for 10m",
    ),
    max_errors: int = typer.Option(
        0,
        "--max-errors",
        min=0,
        help="Lines of each error kind tolerated before the watch fails. Example: --max-errors 2",
    ),
    limits: list[str] = typer.Option(
        [],
        "--max",
        metavar="KIND=N",
        help="Lines of one kind tolerated (overrides --max-errors; makes a warning kind "
        "such as R14 or http-5xx count). Repeatable. Example: --max H12=3 --max R14=0",
    ),
    from_now: bool = typer.Option(
        False,
        "--from-now",
        help="Count only lines written after the watch starts (default: every line since "
        "the current release was created). Example: --from-now",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    from keycliq_ops.base.errors import GateFailed, Interrupted
    from keycliq_ops.cli.envopt import pick_env
    from keycliq_ops.ops.logs import WatchPolicy, parse_duration, parse_limits
    from keycliq_ops.ops.logs import watch as run_watch

    seconds = parse_duration(duration)
    policy = WatchPolicy(max_errors=max_errors, limits=parse_limits(limits))
    loaded = load(ctx)
    env = pick_env(loaded, env_arg, env_opt, what="keycliq watch")
    target = loaded.env(env)
    if not as_json:
        since = "from now" if from_now else "since its current release"
        err().print(f"watching {target.app} ({env}) for {duration.strip()}, {since}…")
    with heroku_client() as client:
        learn_app_secrets(loaded, client)
        try:
            result = run_watch(
                client,
                target.app,
                env,
                seconds=seconds,
                policy=policy,
                from_now=from_now,
                on_event=None if as_json else _live,
            )
        except KeyboardInterrupt:
            raise Interrupted("watch interrupted before its end: no verdict") from None
    if as_json:
        emit_json(result)
    else:
        _print_verdict(result)
    if not result.passed:
        what = ", ".join(f"{b.kind} ×{b.count} (max {b.limit})" for b in result.breaches)
        raise GateFailed(
            f"watch of {target.app} failed: {what}",
            hint=f"to roll back: {result.rollback_command}",
        )


def _say_none_matched(
    app: str, read: int, only: list[str], source: str | None, dyno: str | None
) -> None:
    """An empty result says so, on stderr (stdout stays empty for a pipe): which filter
    left nothing, and how many lines were read."""
    filters = [f"--only {','.join(only)}"] if only else []
    filters += [f"--source {source}"] if source else []
    filters += [f"--dyno {dyno}"] if dyno else []
    what = f"matched {' '.join(filters)}" if filters else "in the log"
    lines = f"{read} line{'s' if read != 1 else ''} read from {app}"
    err().print(f"no log lines {what} ({lines})", markup=False, highlight=False, soft_wrap=True)


# ------------------------------------------------------------------------------ rendering
def _json_line(event: LogEvent) -> None:
    import json
    import sys

    from keycliq_ops.base.redact import mask_tree

    line = json.dumps(mask_tree(event.model_dump(mode="json")), separators=(",", ":"))
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _kind_style(kind: str, severity: str) -> str:
    return _STYLE.get(severity) or _INFO_STYLE.get(kind, "dim")


def _format(event: LogEvent) -> str:
    from rich.markup import escape

    line = escape(event.render())
    if event.kind == "other":
        return f"{'':<{_KIND_WIDTH}} [dim]{line}[/]"
    return f"[{_kind_style(event.kind, event.severity)}]{event.kind:<{_KIND_WIDTH}}[/] {line}"


def _print_event(event: LogEvent) -> None:
    out().print(_format(event), soft_wrap=True)


def _live(event: LogEvent) -> None:
    if event.severity != "info":
        err().print(_format(event), soft_wrap=True)


def _stamp(value: object) -> str:
    from datetime import datetime

    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else "-"


def _print_summary(summary: Summary, title: str) -> None:
    from rich.table import Table

    table = Table(title=f"{title}: {summary.lines} lines", title_justify="left", show_edge=False)
    for column in ("kind", "severity", "count", "first seen", "last seen", "meaning"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for counted in summary.ordered():
        style = _kind_style(counted.kind, counted.severity)
        table.add_row(
            f"[{style}]{counted.kind}[/]",
            counted.severity,
            str(counted.count),
            _stamp(counted.first_seen),
            _stamp(counted.last_seen),
            counted.meaning,
        )
    out().print(table)
    scans = summary.scans
    if scans["started"] or any(scans.values()):
        outcomes = ", ".join(f"{label} {n}" for label, n in scans.items() if label != "started")
        out().print(f"scans: {scans['started']} started; {outcomes}")


def _print_verdict(result: WatchResult) -> None:
    for note in result.notes:
        err().print(f"note: {note}")
    since = f" since {_stamp(result.since)}" if result.since else ""
    _print_summary(result.summary, f"{result.app} ({result.environment}){since}")
    console = out()
    if result.passed:
        console.print(f"[green]watch passed[/]: no error kind over its limit in {result.app}")
        return
    console.print(f"[bold red]watch failed[/] for {result.app}:")
    for breach in result.breaches:
        console.print(
            f"  {breach.kind}: {breach.count} line{'s' if breach.count != 1 else ''} "
            f"(max {breach.limit}) — {breach.meaning}"
        )
        if breach.hint:
            console.print(f"    hint: {breach.hint}")
    console.print(f"roll back with: [bold]{result.rollback_command}[/]")
