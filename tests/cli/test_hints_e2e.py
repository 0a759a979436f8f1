"""Every hint and "run this" line keycliq prints across a release (a deploy, a promotion, a
rollback, and the usual mistakes on the way) is a keycliq command line that parses as
printed, options in the right place; ``pass --OPTION`` hints parse when added to the
command that printed them. And the gates' Dataclip runs are in the history: the trend of
A after a deploy, a promotion and a rollback has three points."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator

import click
import pytest
from typer.main import get_command

from keycliq_ops.__main__ import config_first
from keycliq_ops.cli.app import app
from tests.world import World

PRODUCTION = "keycliq-production"
ANSWERS = ("--answers", "keycliq-answers.yaml")
BACKTICKED = re.compile(r"`(keycliq [^`]+)`")


def parse(argv: list[str]) -> click.Command:
    """Parse ``keycliq ARGV`` as the entry point does (``-c`` moved first), down to the
    command; a wrong option or a missing argument raises click's UsageError."""
    root = get_command(app)
    ctx = root.make_context("keycliq", config_first(list(argv)))
    command: click.Command = root
    while isinstance(command, click.Group):
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        assert rest, f"no command in {argv}"
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
    return command


def commands_in(args: tuple[str, ...], output: str) -> Iterator[list[str]]:
    """The command lines a run's output tells the user to run."""
    for line in output.splitlines():
        for found in BACKTICKED.findall(line):
            yield shlex.split(found)[1:]
        hint = line.removeprefix("hint: ").strip()
        if line.startswith("hint: "):
            if hint.startswith("keycliq "):
                yield shlex.split(hint.split("  ")[0])[1:]
            for option in re.findall(r"\bpass (--[a-z-]+(?: [^\s,;()]+)?)", hint):
                words = shlex.split(option)
                if len(words) == 2 and words[1].isupper():
                    words[1] = "x"  # a placeholder: VALUE
                yield [*args, *words]


def test_hints_run_as_printed_and_the_trend_has_every_gate_run(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    printed: list[tuple[tuple[str, ...], list[str]]] = []

    def run(*args: str, code: int | None = 0) -> str:
        result = cli(*args)
        if code is not None:
            assert result.code == code, result
        printed.extend((args, found) for found in commands_in(args, result.output))
        return result.output

    # the usual mistakes first (nothing changes): each says how to go on
    run("deploy", "staging", code=2)  # no terminal to confirm in
    run("promote", code=2)  # the app's name must be confirmed
    run("dataclips", "run", code=2)  # which checks?
    run("deploy", "staging", "--skip", "tests", code=2)  # a skip needs a reason
    run("status", "-c", "nosuch.yaml", code=2)
    # a release, with the config given after the command (as hints print it)
    run("deploy", "staging", "--yes", *ANSWERS, "-c", "keycliq.yaml")
    run("promote", "--confirm", PRODUCTION, "--yes", *ANSWERS)
    run("rollback", "production", "--confirm", PRODUCTION, "--yes", *ANSWERS)
    run("status", "--config", "keycliq.yaml", code=None)
    assert printed, "no hint was printed at all"
    for args, line in printed:
        try:
            parse(line)
        except click.ClickException as exc:
            pytest.fail(f"`keycliq {shlex.join(line)}` (printed by {args}) does not parse: {exc}")

    # the gates ran A on staging (the deploy's checklist) and on production (the
    # promotion's and the rollback's checklist and gate): three runs, one point each
    trend = json.loads(cli("dataclips", "trend", "A", "--json").stdout)
    assert [p["source"] for p in trend["points"]] == ["deploy", "promote", "rollback"]
    assert [p["target"] for p in trend["points"]] == [
        "keycliq-staging",
        PRODUCTION,
        PRODUCTION,
    ]
    ledger_ids = {r["ref"] for r in world.ledger_records() if r.get("ref")}
    assert {p["ledger_id"] for p in trend["points"]} <= ledger_ids
    assert any(s["values"] and None not in s["values"] for s in trend["series"])
    shown = cli("dataclips", "trend", "A")
    assert shown.code == 0 and "run by" in shown.stdout and "rollback" in shown.stdout
    production = json.loads(cli("dataclips", "trend", "A", "-e", "production", "--json").stdout)
    assert len(production["points"]) == 2
