"""``keycliq watch --help`` and ``keycliq logs --help`` say what the watch fails on: every
error kind of the catalogue by name, the groups, and that a NO MATCH is normal."""

from __future__ import annotations

import re

from keycliq_ops.cli.logs_cmd import LOGS_HELP, WATCH_HELP
from keycliq_ops.ops.logs import ERROR_KINDS, GROUPS, KINDS


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z0-9][\w-]*[A-Za-z0-9]", text))


def test_watch_help_names_every_error_kind_it_fails_on(cli) -> None:  # type: ignore[no-untyped-def]
    named = _words(WATCH_HELP)
    assert [k for k in ERROR_KINDS if k not in named] == []
    # and no kind that is not one (a warning kind is named only as needing --max)
    info = {k for k, p in KINDS.items() if p.severity == "info" and k != "other"}
    assert not named & info
    shown = cli("watch", "--help")
    assert shown.code == 0, shown
    text = " ".join(shown.stdout.split())  # as wrapped for the terminal
    assert "By default it fails on one line of any error kind" in text
    assert "scan-crashed" in text and "NO MATCH" in text


def test_logs_help_names_the_groups(cli) -> None:  # type: ignore[no-untyped-def]
    assert {"errors", "scans"} <= set(GROUPS)
    assert "'errors' and 'scans'" in LOGS_HELP
    shown = cli("logs", "--help")
    assert shown.code == 0, shown
    text = " ".join(shown.stdout.split())
    assert "scan-match-found" in text and "database-unreachable" in text
