"""The answers file: who and why on every answer, checked before the run starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from keycliq_ops.base.errors import ConfigError, UsageError
from keycliq_ops.checklists import AnswersPrompter, load_checklist
from keycliq_ops.checklists.prompting import Question

from .conftest import write

LIST = """
title: T
sections:
  - title: S
    items:
      - id: deployed
        kind: confirm
        text: Deployed.
      - id: user
        kind: input
        name: userId
        pattern: "^c[a-z0-9]{5,30}$"
        text: The userId.
      - id: possible-keys
        kind: confirm
        required: false
        text: Optional.
      - id: page
        kind: http
        text: Page.
        url: "{app_url}/"
"""

GOOD = """
version: 1
checklist: t
commit: abc1234
answers:
  deployed:
    answer: yes
    by: Ana Lopez <ana@example.com>
    reason: release v87 succeeded
  user:
    value: "ck12345abc"
    by: Ana Lopez <ana@example.com>
    reason: account made for this release
"""


@pytest.fixture
def checklist(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_checklist(write(tmp_path / "t.yaml", LIST))


def _items(checklist):  # type: ignore[no-untyped-def]
    return [i for _, i in checklist.items() if i.kind in ("confirm", "input")]


def _q(item_id: str, kind: str = "confirm", required: bool = True) -> Question:
    return Question(item_id, kind, "S", "text", None, required, 1, 4)  # type: ignore[arg-type]


def test_good_answers(checklist, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prompter = AnswersPrompter(write(tmp_path / "a.yaml", GOOD))
    prompter.preflight(checklist, _items(checklist), "abc1234" + "0" * 33)
    yes = prompter.ask(_q("deployed"))
    assert (yes.action, yes.who, yes.reason) == (
        "yes", "Ana Lopez <ana@example.com>", "release v87 succeeded",
    )  # fmt: skip
    value = prompter.ask(_q("user", "input"))
    assert (value.action, value.value) == ("value", "ck12345abc")
    # an optional item left out is skipped, saying so
    skipped = prompter.ask(_q("possible-keys", required=False))
    assert skipped.action == "skip" and skipped.reason == f"not answered in {tmp_path / 'a.yaml'}"
    assert prompter.description == f"answers file {tmp_path / 'a.yaml'}"


def test_missing_required_item_is_named(checklist, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.split("  user:", maxsplit=1)[0]
    prompter = AnswersPrompter(write(tmp_path / "a.yaml", text))
    with pytest.raises(UsageError) as info:
        prompter.preflight(checklist, _items(checklist), "abc1234ff")
    assert info.value.message == (
        f"{tmp_path / 'a.yaml'} has no answer for required item(s): user (input)"
    )
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("    answer: yes\n    reason: r\n", ":5: answers.deployed.by: required but missing"),
        ("    answer: yes\n    by: A\n", ":5: answers.deployed.reason: required but missing"),
        ("    answer: yes\n    by: A\n    reason: '  '\n", ":8: answers.deployed.reason: must not"),
        ("    answer: maybe\n    by: A\n    reason: r\n", ":6: answers.deployed.answer: "),
        ("    by: A\n    reason: r\n", ":5: answers.deployed: give exactly one of"),
        (
            "    answer: yes\n    by: A\n    reason: r\n    when: now\n",
            ":9: answers.deployed.when: unknown key",
        ),
    ],
)
def test_each_answer_says_who_and_why(tmp_path: Path, entry: str, expected: str) -> None:
    text = "version: 1\nchecklist: t\ncommit: abc1234\nanswers:\n  deployed:\n" + entry
    path = write(tmp_path / "a.yaml", text)
    with pytest.raises(ConfigError) as info:
        AnswersPrompter(path)
    assert info.value.message.startswith(f"{path}{expected}"), info.value.message


def test_unquoted_number_value_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.yaml", "answers:\n  user:\n    value: 0123\n    by: A\n    reason: r\n"
    )
    with pytest.raises(ConfigError, match=r"a.yaml:3: answers.user.value: must be a quoted string"):
        AnswersPrompter(path)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (
            "  nosuch:\n    answer: yes\n    by: A\n    reason: r\n",
            ":2: no item 'nosuch' in checklist t",
        ),
        (
            "  page:\n    answer: yes\n    by: A\n    reason: r\n",
            ":2: item 'page' is a http item verified",
        ),
        (
            "  deployed:\n    answer: skip\n    by: A\n    reason: r\n",
            ":2: required item 'deployed' cannot be skipped",
        ),
        ("  user:\n    value: BAD\n    by: A\n    reason: r\n", ":3: value 'BAD' does not match"),
        (
            "  user:\n    answer: yes\n    by: A\n    reason: r\n",
            ":2: item 'user' is an input item",
        ),
        (
            "  deployed:\n    value: 'y'\n    by: A\n    reason: r\n",
            ":2: item 'deployed' is a confirm item",
        ),
    ],
)
def test_answers_that_do_not_fit_the_checklist(
    checklist, tmp_path: Path, answers: str, expected: str
) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "a.yaml", "answers:\n" + answers)
    prompter = AnswersPrompter(path)
    with pytest.raises(ConfigError) as info:
        prompter.preflight(checklist, _items(checklist), None)
    assert info.value.message.startswith(f"{path}{expected}"), info.value.message


def test_answers_for_another_checklist_or_commit(checklist, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prompter = AnswersPrompter(
        write(tmp_path / "a.yaml", GOOD.replace("checklist: t", "checklist: production"))
    )
    with pytest.raises(UsageError, match="answers checklist 'production', not 't'"):
        prompter.preflight(checklist, _items(checklist), "abc1234")
    prompter = AnswersPrompter(write(tmp_path / "b.yaml", GOOD))
    with pytest.raises(UsageError, match="is for commit abc1234, this run is for ffff"):
        prompter.preflight(checklist, _items(checklist), "ffff" * 10)


MULTI = """
version: 1
checklists:
  t:
    answers:
      deployed:
        answer: yes
        by: Ana
        reason: seen
      user:
        value: "ck12345abc"
        by: Ana
        reason: seen
  production:
    answers:
      light-scan:
        answer: yes
        by: Ana
        reason: seen
"""


def test_one_file_for_several_checklists(checklist, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prompter = AnswersPrompter(write(tmp_path / "a.yaml", MULTI))
    prompter.preflight(checklist, _items(checklist), None)
    assert prompter.ask(_q("user", "input")).value == "ck12345abc"
    bad = MULTI.replace("      user:\n", "      usr:\n")
    prompter = AnswersPrompter(write(tmp_path / "b.yaml", bad))
    with pytest.raises(ConfigError) as info:
        prompter.preflight(checklist, _items(checklist), None)
    assert info.value.message.startswith(f"{tmp_path / 'b.yaml'}:9: no item 'usr' in checklist t")
    other = load_checklist(write(tmp_path / "other.yaml", LIST))
    with pytest.raises(UsageError, match=r"has no answers for checklist 'other' \(it has: t, prod"):
        AnswersPrompter(tmp_path / "a.yaml").preflight(other, _items(other), None)
    with pytest.raises(ConfigError, match="exactly one of `answers:` or `checklists:`"):
        AnswersPrompter(write(tmp_path / "c.yaml", MULTI + "answers: {}\n"))


def test_rendered_answers_fit_the_shipped_checklists(tmp_path: Path) -> None:
    from keycliq_ops.checklists import find_checklist, render_answers
    from keycliq_ops.config.loading import SHIPPED_CHECKLISTS

    shipped = [
        load_checklist(find_checklist(SHIPPED_CHECKLISTS, n)) for n in ("staging", "production")
    ]
    text = render_answers(
        shipped,
        by="Sandbox demo <demo@keycliq.invalid>",
        reason="simulated: the sandbox has no browser",
        values={"userId": "c0123456789abcdef0123456", "keyId": "c0123456789abcdef0654321"},
    )
    path = write(tmp_path / "answers.yaml", text)
    for cl in shipped:
        prompter = AnswersPrompter(path)
        prompter.preflight(cl, _items(cl), None)  # every required item is answered
        first = prompter.ask(_q(_items(cl)[0].id))
        assert first.who == "Sandbox demo <demo@keycliq.invalid>"
    assert "scan-possible-keys" not in text  # optional: left out, so skipped
    # without the value the input item is left out, and a run names it
    text = render_answers(shipped[:1], by="A", reason="r")
    prompter = AnswersPrompter(write(tmp_path / "b.yaml", text))
    with pytest.raises(UsageError, match=r"required item\(s\): test-user \(input\)"):
        prompter.preflight(shipped[0], _items(shipped[0]), None)
