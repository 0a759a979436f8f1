"""The engine: prompting through an injected prompter, automated checks, results, abort."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from keycliq_ops.base.errors import GateFailed, Interrupted, UsageError
from keycliq_ops.checklists import (
    Answer,
    ChecklistContext,
    ChecklistEvent,
    ChecklistResult,
    CheckSummary,
    DataclipOutcome,
    ScriptedPrompter,
    load_checklist,
    plan_checklist,
    run_checklist,
)

from .conftest import Clock, write

LIST = """
title: Engine test
sections:
  - title: People
    items:
      - id: deployed
        kind: confirm
        text: Deployed to {app}.
      - id: user
        kind: input
        name: userId
        pattern: "^c[a-z0-9]{5,30}$"
        text: The userId.
      - id: optional-scan
        kind: confirm
        required: false
        text: Optional scan for {userId}.
  - title: Machines
    items:
      - id: page
        kind: http
        text: The page answers.
        url: "{app_url}/welcome"
        expect_text: KeyCliq
      - id: stats
        kind: dataclip
        text: Stats for the user.
        dataclips: [B, C]
        params: {userId: "{userId}"}
      - id: echo
        kind: command
        text: Echo the user.
        command: "PYTHON -c 'import sys; print(\\"user\\", sys.argv[1])' {userId}"
"""


class RecordingRunner:
    """A Dataclip runner that records its calls and answers with a given verdict."""

    def __init__(self, verdict: str = "pass") -> None:
        self.verdict = verdict
        self.calls: list[tuple[list[str], str, dict[str, str]]] = []

    def __call__(
        self, ids: Sequence[str], database_url: str, params: Mapping[str, str]
    ) -> DataclipOutcome:
        self.calls.append((list(ids), database_url, dict(params)))
        checks = [CheckSummary(id=i, verdict=self.verdict, numbers={"total": 3}) for i in ids]
        return DataclipOutcome(self.verdict, self.verdict in ("pass", "warn"), checks)


@pytest.fixture
def checklist(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_checklist(write(tmp_path / "engine.yaml", LIST.replace("PYTHON", sys.executable)))


def _ctx(web_app: str, clock: Clock, prompter: object, **kw: object) -> ChecklistContext:
    base: dict[str, object] = {
        "env": "staging",
        "app": "keycliq-staging",
        "app_url": web_app,
        "commit": "a" * 40,
        "prompter": prompter,
        "dataclip_runner": RecordingRunner(),
        "database_url": lambda: "postgresql://u:s3cretpass@db.example/kc",
        "actor": "Ana <ana@example.com>",
        "clock": clock,
    }
    base.update(kw)
    return ChecklistContext(**base)  # type: ignore[arg-type]


ALL_YES = {
    "deployed": Answer("yes", who="Ana"),
    "user": Answer("value", value="ck12345abc"),
    "optional-scan": Answer("skip", reason="no identical keys at hand"),
}


def test_a_whole_run_records_every_item(checklist, web_app: str, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    prompter = ScriptedPrompter(ALL_YES, who="Bea")
    runner = RecordingRunner()
    events: list[ChecklistEvent] = []
    result = run_checklist(
        checklist,
        _ctx(web_app, clock, prompter, dataclip_runner=runner, on_event=events.append),
    )
    assert result.verdict == "passed" and result.passed and result.exit_code == 0
    by = {i.id: i for i in result.items}
    assert [i.id for i in result.items] == [
        "deployed", "user", "optional-scan", "page", "stats", "echo",
    ]  # fmt: skip
    assert by["deployed"].who == "Ana" and by["deployed"].answer == "yes"
    assert by["user"].answer == "ck12345abc" and by["user"].who == "Bea"
    assert by["optional-scan"].verdict == "skipped"
    assert by["optional-scan"].reason == "no identical keys at hand"
    assert by["page"].who == "keycliq" and by["page"].verdict == "passed"
    assert by["page"].summary == f"GET {web_app}/welcome → 200 (expected 200); text 'KeyCliq' found"
    # captured values flow into prompts, Dataclip params and commands
    assert prompter.asked[0].text == "Deployed to keycliq-staging."
    assert prompter.asked[2].text == "Optional scan for ck12345abc."
    assert runner.calls == [
        (["B", "C"], "postgresql://u:s3cretpass@db.example/kc", {"userId": "ck12345abc"})
    ]
    assert by["stats"].summary == "B pass · C pass"
    assert by["stats"].checks is not None and by["stats"].checks[0].numbers == {"total": 3}
    assert by["echo"].output == "user ck12345abc"
    # when is the injected clock, in order; JSON dump is what the ledger stores
    whens = [i.when for i in result.items]
    assert whens == sorted(whens) and result.started < whens[0] < result.finished  # type: ignore[operator]
    dumped = result.model_dump(mode="json")
    assert dumped["verdict"] == "passed" and dumped["items"][1]["answer"] == "ck12345abc"
    assert "s3cretpass" not in result.model_dump_json()
    assert [e.kind for e in events].count("done") == 6


def test_a_no_fails_a_required_item_but_the_walk_goes_on(
    checklist, web_app: str, clock: Clock
) -> None:  # type: ignore[no-untyped-def]
    answers = {**ALL_YES, "deployed": Answer("no", reason="release v87 failed")}
    result = run_checklist(checklist, _ctx(web_app, clock, ScriptedPrompter(answers)))
    assert result.verdict == "failed" and result.exit_code == 1
    assert [i.id for i in result.blocking_items()] == ["deployed"]
    assert result.item("deployed").reason == "release v87 failed"  # type: ignore[union-attr]
    assert len(result.items) == 6
    with pytest.raises(GateFailed, match="checklist engine failed: deployed"):
        result.raise_for_verdict()


def test_failed_checks_fail_the_run_with_reasons(checklist, web_app: str, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    ctx = _ctx(
        web_app + "/missing",
        clock,
        ScriptedPrompter(ALL_YES),
        dataclip_runner=RecordingRunner("fail"),
    )
    result = run_checklist(checklist, ctx)
    page, stats = result.item("page"), result.item("stats")
    assert page is not None and page.verdict == "failed"
    assert page.reason == "status 404, expected 200"
    assert stats is not None and stats.verdict == "failed" and stats.reason == "verdict fail (B, C)"
    assert result.verdict == "failed"


def test_optional_failure_does_not_fail_the_run(tmp_path: Path, web_app: str, clock: Clock) -> None:
    cl = load_checklist(
        write(
            tmp_path / "opt.yaml",
            """
            title: T
            sections:
              - title: S
                items:
                  - id: maybe
                    kind: http
                    required: false
                    text: Optional page.
                    url: "{app_url}/nope"
                  - id: redirect
                    kind: http
                    text: Old URL redirects to the welcome page.
                    url: "{app_url}/old"
                    expect_text: Welcome
            """,
        )
    )
    result = run_checklist(cl, _ctx(web_app, clock, None))
    assert [(i.id, i.verdict) for i in result.items] == [
        ("maybe", "failed"),
        ("redirect", "passed"),
    ]
    assert result.verdict == "passed"


def test_no_prompter_fails_at_once_naming_the_items(checklist, web_app: str, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    runner = RecordingRunner()
    with pytest.raises(UsageError) as info:
        run_checklist(checklist, _ctx(web_app, clock, None, dataclip_runner=runner))
    assert "needs a person for 3 item(s) (deployed, user, optional-scan)" in info.value.message
    assert "no terminal to ask in and no answers file" in info.value.message
    assert info.value.hint is not None and "--answers" in info.value.hint
    assert runner.calls == []  # nothing ran


def test_param_answers_the_input_and_reaches_dataclips(
    checklist, web_app: str, clock: Clock
) -> None:  # type: ignore[no-untyped-def]
    runner = RecordingRunner()
    answers = {k: v for k, v in ALL_YES.items() if k != "user"}
    prompter = ScriptedPrompter(answers)
    ctx = _ctx(web_app, clock, prompter, dataclip_runner=runner, params={"userId": "cparam999"})
    result = run_checklist(checklist, ctx)
    user = result.item("user")
    assert user is not None and user.answer == "cparam999"
    assert user.reason == "given with --param userId" and user.who == "Ana <ana@example.com>"
    assert "user" not in [q.item_id for q in prompter.asked]
    assert runner.calls[0][2] == {"userId": "cparam999"}
    with pytest.raises(UsageError, match="does not match"):
        run_checklist(checklist, _ctx(web_app, clock, prompter, params={"userId": "BAD"}))


def test_interactive_prompter_is_asked_again(checklist, web_app: str, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    answers: dict[str, Answer | list[Answer]] = {
        **ALL_YES,
        "user": [Answer("value", value="nope"), Answer("value", value="cgood123")],
        "deployed": [Answer("no"), Answer("no", reason="crashed: H10")],
    }
    prompter = ScriptedPrompter(answers, interactive=True)
    result = run_checklist(checklist, _ctx(web_app, clock, prompter))
    problems = [(q.item_id, q.problem) for q in prompter.asked if q.problem]
    assert problems == [
        ("deployed", "say what is wrong"),
        ("user", "'nope' does not match ^c[a-z0-9]{5,30}$"),
    ]
    assert result.item("user").answer == "cgood123"  # type: ignore[union-attr]
    assert result.item("deployed").reason == "crashed: H10"  # type: ignore[union-attr]


def test_non_interactive_bad_answer_fails_the_item(checklist, web_app: str, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    answers = {**ALL_YES, "deployed": Answer("skip", reason="later")}
    result = run_checklist(checklist, _ctx(web_app, clock, ScriptedPrompter(answers)))
    item = result.item("deployed")
    assert item is not None and item.verdict == "failed"
    assert item.reason == "answer refused: a required item cannot be skipped"


def test_skipped_input_skips_optional_users_and_fails_required(
    tmp_path: Path, web_app: str, clock: Clock
) -> None:
    cl = load_checklist(
        write(
            tmp_path / "s.yaml",
            """
            title: T
            sections:
              - title: S
                items:
                  - id: user
                    kind: input
                    required: false
                    name: userId
                    pattern: ".+"
                    text: The id.
                  - id: opt-page
                    kind: http
                    required: false
                    text: Page.
                    url: "{app_url}/u/{userId}"
                  - id: stats
                    kind: dataclip
                    text: Stats.
                    dataclips: [B]
                    params: {userId: "{userId}"}
            """,
        )
    )
    runner = RecordingRunner()
    prompter = ScriptedPrompter({"user": Answer("skip", reason="no account")})
    result = run_checklist(cl, _ctx(web_app, clock, prompter, dataclip_runner=runner))
    assert [(i.id, i.verdict) for i in result.items] == [
        ("user", "skipped"), ("opt-page", "skipped"), ("stats", "failed"),
    ]  # fmt: skip
    assert result.item("stats").reason == "needs {userId}, which was not captured"  # type: ignore[union-attr]
    assert runner.calls == []


class Interrupting(ScriptedPrompter):
    def ask(self, question):  # type: ignore[no-untyped-def]
        if question.item_id == "optional-scan":
            raise KeyboardInterrupt
        return super().ask(question)


def test_ctrl_c_records_aborted_never_passed(checklist, web_app: str, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    saved: list[ChecklistResult] = []
    ctx = _ctx(web_app, clock, Interrupting(ALL_YES), record=saved.append)
    result = run_checklist(checklist, ctx)
    assert result.verdict == "aborted" and result.exit_code == 130
    assert result.aborted_at == "optional-scan"
    assert [i.id for i in result.items] == ["deployed", "user"]
    assert result.not_reached == ["optional-scan", "page", "stats", "echo"]
    assert result.finished is not None
    # saved after each item and at the end; never a passed verdict
    assert [r.verdict for r in saved] == ["aborted", "aborted", "aborted"]
    with pytest.raises(Interrupted) as info:
        result.raise_for_verdict()
    assert info.value.exit_code == 130 and "--resume" in (info.value.hint or "")


def test_resume_starts_at_the_first_item_not_passed(checklist, web_app: str, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    answers = {**ALL_YES, "optional-scan": Answer("yes")}
    first = run_checklist(checklist, _ctx(web_app + "/broken", clock, ScriptedPrompter(answers)))
    assert first.item("page").verdict == "failed"  # type: ignore[union-attr]

    runner = RecordingRunner()
    prompter = ScriptedPrompter({})
    second = run_checklist(
        checklist, _ctx(web_app, clock, prompter, dataclip_runner=runner), resume=first
    )
    assert prompter.asked == []  # the passed manual items are kept
    kept = [i.id for i in second.items if i.resumed]
    assert kept == ["deployed", "user", "optional-scan"]
    assert second.item("deployed").when == first.item("deployed").when  # type: ignore[union-attr]
    assert second.resumed_from == first.started
    assert second.verdict == "passed"
    assert runner.calls[0][2] == {"userId": "ck12345abc"}  # the captured value came back

    other = _ctx(web_app, clock, prompter, commit="b" * 40)
    with pytest.raises(UsageError, match="cannot resume"):
        run_checklist(checklist, other, resume=first)


def test_command_output_is_redacted_and_failures_kept(
    tmp_path: Path, web_app: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_SECRET", "f" * 64)
    code = "import os,sys; print(os.environ['SESSION_SECRET']); sys.exit(3)"
    cl = load_checklist(
        write(
            tmp_path / "cmd.yaml",
            f"""
            title: T
            sections:
              - title: S
                items:
                  - id: leak
                    kind: command
                    text: Prints a secret and fails.
                    command: "{sys.executable} -c \\"{code}\\""
                  - id: missing
                    kind: command
                    text: A tool that is not installed.
                    command: no-such-tool-kc --version
                  - id: slow
                    kind: command
                    text: Too slow.
                    timeout: 0.5
                    command: "{sys.executable} -c 'import time; time.sleep(30)'"
            """,
        )
    )
    result = run_checklist(cl, _ctx(web_app, clock, None))
    leak, missing, slow = result.items
    assert leak.verdict == "failed" and leak.reason == "exited with status 3"
    assert leak.output is not None and "f" * 64 not in leak.output and "••••" in leak.output
    assert missing.reason == "command not found: no-such-tool-kc"
    assert slow.reason == "timed out after 0.5s"
    assert "f" * 64 not in result.model_dump_json()


def test_unreachable_app_is_a_failed_item(tmp_path: Path, clock: Clock) -> None:
    cl = load_checklist(
        write(
            tmp_path / "h.yaml",
            """
            title: T
            sections:
              - title: S
                items:
                  - id: page
                    kind: http
                    text: Page.
                    url: "{app_url}/"
                    timeout: 2
            """,
        )
    )
    result = run_checklist(cl, _ctx("http://127.0.0.1:9", clock, None))
    assert result.items[0].verdict == "failed"
    assert result.items[0].reason is not None and result.items[0].reason.startswith("ConnectError")


def test_unknown_app_url_is_refused_before_anything(checklist, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=r"item page uses \{app_url\}") as info:
        run_checklist(checklist, _ctx("unused", clock, ScriptedPrompter(ALL_YES), app_url=None))
    assert "environments.<env>.url" in (info.value.hint or "")


def test_unknown_dataclip_id_is_refused_before_anything(
    checklist, web_app: str, clock: Clock
) -> None:  # type: ignore[no-untyped-def]
    class Known(RecordingRunner):
        def known_ids(self) -> set[str]:
            return {"A", "B"}

    prompter = ScriptedPrompter(ALL_YES)
    with pytest.raises(UsageError, match=r"item stats names unknown Dataclip\(s\) C"):
        run_checklist(checklist, _ctx(web_app, clock, prompter, dataclip_runner=Known()))
    assert prompter.asked == []


def test_database_url_failure_is_recorded_not_raised(checklist, web_app: str, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    from keycliq_ops.base.errors import HerokuError

    def no_url() -> str:
        raise HerokuError("GET /apps/keycliq-staging/config-vars: 403 forbidden")

    result = run_checklist(
        checklist, _ctx(web_app, clock, ScriptedPrompter(ALL_YES), database_url=no_url)
    )
    stats = result.item("stats")
    assert stats is not None and stats.verdict == "failed"
    assert stats.reason == "no database URL: GET /apps/keycliq-staging/config-vars: 403 forbidden"


def test_dry_run_plan_asks_and_runs_nothing(checklist, web_app: str, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    runner = RecordingRunner()
    plan = plan_checklist(checklist, _ctx(web_app, clock, None, dataclip_runner=runner))
    actions = {i.id: i.action for i in plan.items}
    assert actions["deployed"] == "ask: yes / no"
    assert actions["optional-scan"] == "ask: yes / no / skip"
    assert actions["user"] == "ask for userId (matching ^c[a-z0-9]{5,30}$)"
    assert actions["page"] == f"GET {web_app}/welcome, expect 200 containing 'KeyCliq'"
    assert actions["stats"] == "run Dataclips B, C with userId={userId}"
    assert actions["echo"].startswith("run ") and actions["echo"].endswith(
        "{userId} (exit 0 passes)"
    )
    assert runner.calls == []
