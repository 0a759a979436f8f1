"""The ``dyno`` item kind: a command in an attached one-off dyno, its exit status and its
output (texts, JSON paths) checked; failures say why and keep the output's tail."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from keycliq_ops.base.errors import ConfigError, HerokuError
from keycliq_ops.checklists import (
    Answer,
    ChecklistContext,
    DynoOutput,
    ScriptedPrompter,
    load_checklist,
    plan_checklist,
    run_checklist,
)
from keycliq_ops.checklists.jsonexpect import (
    JsonExpectation,
    check_json,
    last_json_document,
    parse_path,
)
from keycliq_ops.checklists.wiring import DynoCommandRunner

from .conftest import Clock, write

STATS = {
    "keys": {"total": 5, "pending": 0, "ready": 4, "failed": 1},
    "queries": {"total": 8},
    "matchings": {"total": 8, "byType": {"MATCH_FOUND": 3, "POSSIBLE_KEYS": 1, "NO_MATCH": 4}},
}
BANNER = ["Running node -e … on ⬢ keycliq-staging... up, run.4321 (Basic)"]

LIST = """
title: Dyno items
sections:
  - title: Functions
    items:
      - id: user
        kind: input
        name: userId
        pattern: "^c[a-z0-9]{5,30}$"
        text: The userId.
      - id: stats
        kind: dyno
        text: getUserStats for {userId} on {app}.
        command: "node -e stats {userId} {app}"
        expect_text: [keys]
        expect_json:
          keys.total: {type: integer, min: 1}
          keys.ready: {type: integer, equals: 4}
          matchings.byType: {type: object}
          matchings.byType.MATCH_FOUND: {type: integer, min: 1}
          "[0]": {present: false}
"""


@dataclass
class FakeDyno:
    """A DynoRunner that answers from a table: command -> (status, lines)."""

    answers: dict[str, tuple[int, list[str]]]
    app: str = "keycliq-staging"
    ran: list[str] = field(default_factory=list)
    secrets: tuple[str, ...] = ()

    def __call__(self, command: str, *, timeout: float) -> DynoOutput:
        self.ran.append(command)
        status, lines = self.answers[command]
        return DynoOutput(status, lines, dyno="run.4321", secrets=self.secrets)


def _pretty(value: object) -> list[str]:
    return json.dumps(value, indent=2).splitlines()


def _ctx(runner: FakeDyno | None, clock: Clock) -> ChecklistContext:
    prompter = ScriptedPrompter({"user": Answer("value", value="ck12345abc", who="Ana")})
    return ChecklistContext(
        env="staging", app="keycliq-staging", commit="c" * 40, prompter=prompter,
        dyno_runner=runner, clock=clock,
    )  # fmt: skip


def _walk(tmp_path: Path, clock: Clock, status: int, lines: list[str]):  # type: ignore[no-untyped-def]
    cl = load_checklist(write(tmp_path / "dyno.yaml", LIST))
    runner = FakeDyno({"node -e stats ck12345abc keycliq-staging": (status, lines)})
    result = run_checklist(cl, _ctx(runner, clock))
    return result, result.item("stats"), runner


def test_passes_on_the_expected_output(tmp_path: Path, clock: Clock) -> None:
    lines = [*BANNER, "prisma:info Starting a postgresql pool", *_pretty(STATS)]
    result, item, runner = _walk(tmp_path, clock, 0, lines)
    assert runner.ran == ["node -e stats ck12345abc keycliq-staging"]  # placeholders filled
    assert item.verdict == "passed", item.reason
    assert result.verdict == "passed"
    assert item.who == "keycliq"
    assert "exit 0" in (item.summary or "") and "5 JSON path(s) met" in (item.summary or "")
    assert item.output is None  # a passing output is not kept (it may hold personal data)


def test_wrong_count_fails_with_the_output_tail(tmp_path: Path, clock: Clock) -> None:
    stats = json.loads(json.dumps(STATS))
    stats["keys"]["total"] = 0
    stats["keys"]["ready"] = 3
    result, item, _ = _walk(tmp_path, clock, 0, [*BANNER, *_pretty(stats)])
    assert item.verdict == "failed" and result.verdict == "failed"
    assert item.reason is not None
    assert "keys.total is 0, expected at least 1" in item.reason
    assert "keys.ready is 3, expected 4" in item.reason
    assert item.output is not None
    assert item.output.splitlines()[-1] == "}"
    assert '"total": 0,' in item.output and BANNER[0] in item.output


def test_missing_json_field_fails(tmp_path: Path, clock: Clock) -> None:
    stats = json.loads(json.dumps(STATS))
    del stats["matchings"]["byType"]
    _, item, _ = _walk(tmp_path, clock, 0, _pretty(stats))
    assert item.verdict == "failed"
    assert item.reason == ("matchings.byType is missing; matchings.byType.MATCH_FOUND is missing")
    assert item.output is not None and '"matchings": {' in item.output


def test_non_zero_exit_fails(tmp_path: Path, clock: Clock) -> None:
    lines = [
        *BANNER,
        "PrismaClientInitializationError: Can't reach database server at `db:5432`",
    ]
    _, item, _ = _walk(tmp_path, clock, 1, lines)
    assert item.verdict == "failed"
    assert item.reason is not None
    assert item.reason.startswith("exited with status 1, expected 0")
    assert "the output does not contain 'keys'" in item.reason
    assert "holds no JSON document" in item.reason
    assert item.output is not None and item.output.endswith("at `db:5432`")
    assert "exit 1" in (item.summary or "")


def test_the_last_json_document_counts(tmp_path: Path, clock: Clock) -> None:
    stale = json.loads(json.dumps(STATS))
    stale["keys"]["total"] = 0
    lines = [json.dumps(stale), "retrying…", *_pretty(STATS), "done"]
    _, item, _ = _walk(tmp_path, clock, 0, lines)
    assert item.verdict == "passed", item.reason


def test_without_a_runner_it_is_skipped_never_passed(tmp_path: Path, clock: Clock) -> None:
    cl = load_checklist(write(tmp_path / "dyno.yaml", LIST))
    plan = plan_checklist(cl, _ctx(None, clock))
    assert plan.items[1].action.startswith("skip (no app to run a one-off dyno on)")
    result = run_checklist(cl, _ctx(None, clock))
    item = result.item("stats")
    assert item is not None and item.verdict == "skipped"
    assert item.reason is not None and "no app to run a one-off dyno on" in item.reason
    assert result.verdict == "failed"  # a required item that did not pass


def test_a_dyno_that_cannot_run_is_a_failed_item(tmp_path: Path, clock: Clock) -> None:
    class Broken(FakeDyno):
        def __call__(self, command: str, *, timeout: float) -> DynoOutput:
            raise HerokuError("lost the one-off dyno's output (TimeoutError)")

    cl = load_checklist(write(tmp_path / "dyno.yaml", LIST))
    result = run_checklist(cl, _ctx(Broken({}), clock))
    item = result.item("stats")
    assert item is not None and item.verdict == "failed"
    assert item.reason == "lost the one-off dyno's output (TimeoutError)"


def test_secrets_in_the_output_are_masked(tmp_path: Path, clock: Clock) -> None:
    secret = "postgres://u:hunter2hunter2@db.example.com:5432/d"
    cl = load_checklist(write(tmp_path / "dyno.yaml", LIST))
    runner = FakeDyno(
        {"node -e stats ck12345abc keycliq-staging": (1, [f"cannot reach {secret}", "x"])},
        secrets=("sk-live-0123456789abcdef",),
    )
    runner.answers["node -e stats ck12345abc keycliq-staging"][1].append(
        "OPENAI_API_KEY=sk-live-0123456789abcdef"
    )
    result = run_checklist(cl, _ctx(runner, clock))
    dumped = json.dumps(result.model_dump(mode="json"))
    assert "hunter2hunter2" not in dumped
    assert "sk-live-0123456789abcdef" not in dumped
    item = result.item("stats")
    assert item is not None and item.output is not None and "OPENAI_API_KEY=" in item.output


def test_dyno_command_runner_keeps_lines_and_asks_secrets_once() -> None:
    calls: list[tuple[str, str, float]] = []
    asked: list[int] = []

    def attached(app: str, command: str, on_line, timeout: float):  # type: ignore[no-untyped-def]
        calls.append((app, command, timeout))
        for line in ("a", "b"):
            on_line(line)
        return 3, "run.1"

    def secrets() -> list[str]:
        asked.append(1)
        return ["s3cr3t-value"]

    runner = DynoCommandRunner("keycliq-staging", attached, secrets)
    first = runner("echo hi", timeout=5)
    second = runner("echo again", timeout=7)
    assert (first.status, first.lines, first.dyno) == (3, ["a", "b"], "run.1")
    assert first.secrets == second.secrets == ("s3cr3t-value",)
    assert calls == [("keycliq-staging", "echo hi", 5), ("keycliq-staging", "echo again", 7)]
    assert asked == [1]


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("expect_json: {'keys..total': {type: integer}}",
         "expect_json path 'keys..total': cannot read it at '..total'"),
        ("expect_json: {keys.total: {type: integr}}", "type"),
        ("expect_json: {keys.total: {order: descending}}",
         "`order` needs a path with [*]"),
        ("expect_json: {keys.total: {present: false, type: integer}}",
         "`present: false` cannot be combined"),
        ("expect_json: {keys.total: {min: 3, max: 1}}", "min 3 is larger than max 1"),
        ("expect_json: {keys.total: integer}", "an expectation is a mapping"),
        ("expect_json: {keys.total: {kind: integer}}", "kind"),
        ("expect_exit: 300", "expect_exit"),
        ("expect_text: ['']", "an expected text must not be blank"),
    ],
)  # fmt: skip
def test_a_bad_dyno_item_is_one_line_with_file_and_item(
    tmp_path: Path, snippet: str, message: str
) -> None:
    text = f"""
    title: Bad
    sections:
      - title: S
        items:
          - id: stats
            kind: dyno
            text: Stats.
            command: node -e stats
            {snippet}
    """
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_checklist(path)
    where = info.value.location or ""
    assert where.startswith(f"{path}:")
    assert message in info.value.message
    assert (info.value.field or "").startswith("sections[0].items[0]")
    assert "\n" not in info.value.message


def test_paths_and_documents() -> None:
    assert parse_path("$") == []
    assert parse_path("[0].query.id") == [0, "query", "id"]
    assert parse_path("[*].matchings[*].matchType") == [None, "matchings", None, "matchType"]
    assert parse_path("$.keys.total") == ["keys", "total"]
    for bad in ("", "a..b", ".a", "a[x]", "a.*", "$x"):
        with pytest.raises(ValueError):
            parse_path(bad)
    history = [
        {"query": {"id": "q2", "createdAt": "2025-01-12T10:00:00.000Z"},
         "matchings": [{"matchType": "MATCH_FOUND", "similarity": 1, "matchedKey": None}]},
        {"query": {"id": "q1", "createdAt": "2025-01-13T10:00:00.000Z"}, "matchings": []},
    ]  # fmt: skip
    text = "\n".join(["log {not json", *_pretty(history), "trailer"])
    doc, found = last_json_document(text)
    assert found and doc == history  # the nested objects on their own lines are not documents
    e = JsonExpectation
    checked, problems = check_json(
        doc,
        {
            "$": e(type="array", min_items=1),
            "[*].query.createdAt": e(order="descending"),
            "[*].matchings[*].matchedKey": e(type="object", nullable=True),
            "[*].matchings[*].similarity": e(type="number"),
            "[0].matchings[0].matchType": e(one_of=["MATCH_FOUND", "NO_MATCH"]),
            "[1].query.result": e(),
        },
    )
    assert problems == [
        "[*].query.createdAt is not in descending order "
        '("2025-01-12T10:00:00.000Z" before "2025-01-13T10:00:00.000Z")',
        "[1].query.result is missing",
    ]
    assert checked == 7
    assert check_json(True, {"$": e(equals=1)})[1] == ["$ is true, expected 1"]
    assert last_json_document("no json here\n")[1] is False


def test_cli_show_and_run_without_an_app(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io
    import sys

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    # no app: {app} would be refused before anything runs (exit 2), so the item names none
    path = write(tmp_path / "dyno.yaml", LIST.replace(" on {app}", "").replace(" {app}", ""))
    shown = cli("checklist", "show", str(path))
    assert shown.code == 0
    assert "stats (dyno, verified)" in shown.stdout
    assert "one-off dyno: node -e stats {userId}" in shown.stdout
    assert "keys.total (type: integer, min: 1)" in shown.stdout
    result = cli("checklist", "run", str(path), "--param", "userId=ck12345abc", "--json")
    assert result.code == 1, result.stderr
    data = json.loads(result.stdout)
    stats = next(i for i in data["items"] if i["id"] == "stats")
    assert stats["verdict"] == "skipped" and stats["who"] == "keycliq"
    assert "no app to run a one-off dyno on" in stats["reason"]
    assert "error: checklist dyno failed: stats" in result.stderr
