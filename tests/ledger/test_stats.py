"""``keycliq ledger stats``: the delivery figures of a ledger with known promotions,
rollbacks and failures, checked against figures worked out by hand; and the HTML export's
releases-per-week chart."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from keycliq_ops.ledger import GENESIS
from keycliq_ops.ledger.chain import seal

C1, C2, C3, C4 = ("1" * 40, "2" * 40, "3" * 40, "4" * 40)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


class Book:
    """Writes a sealed ledger whose records carry chosen times."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.prev = GENESIS
        self.n = 0
        path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, when: datetime, **fields: Any) -> str:
        self.n += 1
        rid = f"{when:%Y%m%dT%H%M%S}-{self.n:04x}"
        obj = {
            "schema": 1,
            "id": rid,
            "ts": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "prev": self.prev,
            "host": "ci-runner-7",
            "pid": 4242,
            "keycliq_version": "0.1.0",
            **fields,
        }
        line, self.prev = seal(obj)
        with self.path.open("ab") as fh:
            fh.write(line)
        return rid

    def run(
        self,
        action: str,
        env: str,
        commit: str,
        begin: datetime,
        end: datetime,
        outcome: str = "succeeded",
        release: int | None = None,
    ) -> str:
        app = f"keycliq-{env}"
        common = {"action": action, "environment": env, "app": app, "commit": commit}
        start = self.record(begin, outcome="running", **common)
        done: dict[str, Any] = {**common, "ref": start, "outcome": outcome}
        if release is not None:
            done["release_version"] = release
        self.record(end, exit_code=0 if outcome == "succeeded" else 1, **done)
        return start


@pytest.fixture
def book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Book:
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("KEYCLIQ_LEDGER", str(path))
    return Book(path)


def known_history(b: Book) -> dict[str, str]:
    ids: dict[str, str] = {}
    # Week 2 of 2026 (Mon 5 Jan .. Sun 11 Jan)
    b.run("deploy", "staging", C1, at(5, 9), at(5, 9, 10), release=20)
    ids["d1"] = b.run("promote", "production", C1, at(5, 10), at(5, 10, 30), release=10)
    b.run("deploy", "staging", C2, at(6, 9), at(6, 9, 10), release=21)
    ids["d2"] = b.run(  # its production checks failed after the release
        "promote", "production", C2, at(6, 11), at(6, 11, 20), "failed", release=11
    )
    b.run("rollback", "production", C1, at(6, 11, 30), at(6, 11, 50), release=12)
    b.run("deploy", "staging", C3, at(7, 9), at(7, 9, 10), release=22)
    ids["d3"] = b.run("promote", "production", C3, at(7, 12), at(7, 12, 10), release=13)
    b.run("rollback", "production", C1, at(7, 15), at(7, 15, 30), release=14)  # d3 rolled back
    # Week 3 (Mon 12 Jan ..)
    b.run("deploy", "staging", C4, at(12, 9), at(12, 9, 10), release=23)
    ids["d4"] = b.run("promote", "production", C4, at(12, 10), at(12, 10, 5), release=15)
    # refused before any release: not a deployment
    b.run("promote", "production", C4, at(13, 10), at(13, 10, 2), "failed")
    b.run("deploy", "staging", C4, at(13, 11), at(13, 11, 5), "failed")
    return ids


def test_stats_gives_the_figures_worked_out_by_hand(book: Book, cli: Any) -> None:
    ids = known_history(book)
    result = cli("ledger", "stats", "--since", "2026-01-05", "--until", "2026-01-19", "--json")
    assert result.code == 0, result.output
    got = json.loads(result.stdout)
    assert got["weeks"] == 2.0
    # four promotions reached production (the refused one did not): 4 / 2 weeks
    assert got["deployments"] == 4
    assert got["deployment_ids"] == [ids["d1"], ids["d2"], ids["d3"], ids["d4"]]
    assert got["deployment_frequency_per_week"] == 2.0
    # lead time: first record of the commit (no checkout here) to production:
    # d1 09:00→10:30 = 5400 s, d2 09:00→11:20 = 8400 s, d3 09:00→12:10 = 11400 s,
    # d4 09:00→10:05 = 3900 s; median (5400 + 8400) / 2, mean 29100 / 4
    assert got["lead_time"] == {"count": 4, "median_seconds": 6900.0, "mean_seconds": 7275.0}
    # d2 failed its checks, d3 was rolled back before the next promotion: 2 of 4
    assert got["failed_ids"] == [ids["d2"], ids["d3"]]
    assert got["change_failure_rate"] == 0.5
    # restored: d2 11:20 → rollback done 11:50 = 1800 s; d3 12:10 → 15:30 = 12000 s
    assert got["time_to_restore"] == {
        "count": 2,
        "median_seconds": 6900.0,
        "mean_seconds": 6900.0,
    }
    assert got["unrestored"] == []
    weekly = {w["week"]: w for w in got["weekly"]}
    assert weekly["2026-W02"] == {
        "week": "2026-W02",
        "start": "2026-01-05",
        "succeeded": 7,
        "failed": 1,
        "aborted": 0,
        "other": 0,
    }
    assert (weekly["2026-W03"]["succeeded"], weekly["2026-W03"]["failed"]) == (2, 2)

    text = cli("ledger", "stats", "--since", "2026-01-05", "--until", "2026-01-19")
    assert text.code == 0, text.output
    assert "deployment frequency: 2 per week (4 production deployments)" in text.stdout
    assert "change failure rate: 50% (2 of 4)" in text.stdout


def test_a_failure_not_restored_yet_is_counted_apart(book: Book, cli: Any) -> None:
    book.run("deploy", "staging", C1, at(5, 9), at(5, 9, 10), release=20)
    bad = book.run("promote", "production", C1, at(5, 10), at(5, 10, 30), "failed", release=10)
    got = json.loads(
        cli("ledger", "stats", "--since", "2026-01-05", "--until", "2026-01-12", "--json").stdout
    )
    assert got["deployments"] == 1 and got["change_failure_rate"] == 1.0
    assert got["time_to_restore"]["count"] == 0 and got["unrestored"] == [bad]


def test_stats_of_an_empty_window_and_a_bad_window(book: Book, cli: Any) -> None:
    known_history(book)
    got = json.loads(
        cli("ledger", "stats", "--since", "2025-01-05", "--until", "2025-02-02", "--json").stdout
    )
    assert got["deployments"] == 0 and got["change_failure_rate"] is None
    assert got["weekly"] == []
    bad = cli("ledger", "stats", "--since", "2026-01-19", "--until", "2026-01-05")
    assert bad.code == 2 and "is not after" in bad.stderr


def test_the_html_export_has_an_inline_svg_chart_of_releases_per_week(
    book: Book,
    cli: Any,
) -> None:
    ids = known_history(book)
    page = cli("ledger", "export", ids["d4"], "--format", "html")
    assert page.code == 0, page.output
    html = page.stdout
    assert "<h2>Releases per week</h2>" in html and "<svg" in html
    assert "<script" not in html.lower() and "href=" not in html and "src=" not in html
    assert not re.search(r"url\(|@import|https?://(?!www\.w3\.org/2000/svg)", html)
    # one bar segment per (week, outcome), its count in its tooltip
    assert "W02: 7 succeeded" in html and "W02: 1 failed" in html
    assert "W03: 2 succeeded" in html and "W03: 2 failed" in html
