"""What a person sees in a real terminal (tmux at 80x24 and 120x40), asserted on the screen
the terminal holds at the end, not on the ledger: a deploy's five prompted checklist items
(questions, typed answers, verdicts) all still there; a preflight warning still there after
the run; a wrong app name's 404 reason in ``status``. ``KEYCLIQ_KEEP_CAPTURES=docs/terminal``
rewrites the captures kept in docs/terminal/."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from keycliq_ops.standin.sample.seed import sample_user_id
from tests.cli.test_screen_support import Screen, keep_capture
from tests.world import World

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]

# Five prompted items: three confirmations, an input, an optional confirmation skipped.
QUESTIONS = {
    "deployed": "The release of {app} succeeded and the app is up.",
    "signup": "A fresh account can sign up on the staging site.",
    "test-user": "The new account's userId.",
    "scan": "A scan of a known key finds it.",
    "share": "Sharing a key by link works (optional today).",
}
SCREEN_CHECKLIST = """\
version: 1
title: Screen test checklist
sections:
  - title: "A. By hand"
    items:
      - id: deployed
        kind: confirm
        text: "The release of {app} succeeded and the app is up."
      - id: signup
        kind: confirm
        text: A fresh account can sign up on the staging site.
      - id: test-user
        kind: input
        name: userId
        text: The new account's userId.
        pattern: "^[a-z][a-z0-9]{19,31}$"
        example: ckz1q2w3e4r5t6y7u8i9o0p1a
      - id: scan
        kind: confirm
        text: A scan of a known key finds it.
      - id: share
        kind: confirm
        required: false
        text: Sharing a key by link works (optional today).
"""


@pytest.fixture
def screen_factory(tmp_path: Path) -> Iterator[type[Screen]]:
    made: list[Screen] = []

    def make(cols: int, rows: int) -> Screen:
        screen = Screen(tmp_path / f"tmux-{len(made)}", cols=cols, rows=rows)
        screen.socket.parent.mkdir(parents=True, exist_ok=True)
        made.append(screen)
        return screen

    yield make  # type: ignore[misc]
    for screen in made:
        screen.close()


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Screen Tester", "-c", "user.email=screen@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _use_screen_checklist(world: World) -> None:
    """The staging environment walks the five-item checklist; committed (so the tree is
    clean), and not pushed to origin: preflight warns about that."""
    repo = world.repo
    (repo / "checklists").mkdir(exist_ok=True)
    (repo / "checklists" / "screen.yaml").write_text(SCREEN_CHECKLIST)
    config = (repo / "keycliq.yaml").read_text()
    config = config.replace(
        "    remote: heroku-staging\n", "    remote: heroku-staging\n    checklist: screen\n", 1
    )
    (repo / "keycliq.yaml").write_text(config)
    _git(repo, "add", "checklists/screen.yaml", "keycliq.yaml")
    _git(repo, "commit", "-q", "-m", "screen checklist")


def _answer(screen: Screen) -> int:
    at = screen.wait_for("? [y/N]:", timeout=240)  # the confirmation
    screen.send("y")
    at = screen.wait_for("[1/5]", after=at, timeout=600)
    at = screen.wait_for("yes / no [y/n]", after=at)
    screen.send("y")
    at = screen.wait_for("[2/5]", after=at)
    at = screen.wait_for("yes / no [y/n]", after=at)
    screen.send("y")
    at = screen.wait_for("[3/5]", after=at)
    at = screen.wait_for("value (matching", after=at)
    screen.send(sample_user_id())
    at = screen.wait_for("[4/5]", after=at)
    at = screen.wait_for("yes / no [y/n]", after=at)
    screen.send("y")
    at = screen.wait_for("[5/5]", after=at)
    at = screen.wait_for("yes / no / skip [y/n/s]", after=at)
    screen.send("s")
    at = screen.wait_for("why skip it?", after=at)
    screen.send("no shared links in this release")
    return at


@pytest.mark.parametrize("size", SIZES)
def test_deploy_keeps_every_question_answer_verdict_and_warning_on_screen(
    world: World, screen_factory, size: tuple[int, int]
) -> None:  # type: ignore[no-untyped-def]
    _use_screen_checklist(world)
    cols, rows = size
    screen = screen_factory(cols, rows)
    screen.start(["deploy", "staging"], cwd=world.repo)
    _answer(screen)
    code = screen.exit_code(timeout=600)
    text = screen.text(joined=True)
    assert code == 0, text
    rows_of = screen.text()
    assert all(len(row) <= cols for row in rows_of.splitlines())
    # every question, in order, once
    found = []
    for item, template in QUESTIONS.items():
        question = template.format(app="keycliq-staging")
        assert text.count(question) == 1, (question, text)
        found.append(text.index(question))
        assert re.search(rf"\[\d/5\] A\. By hand · {re.escape(item)}", text), item
    assert found == sorted(found)
    # every answer as typed, after its question
    lines = text.splitlines()
    answers = [ln for ln in lines if re.search(r"(\[y/n\]|\[y/n/s\]|value \(matching.*\)):", ln)]
    assert [ln.rsplit(":", 1)[1].strip() for ln in answers] == [
        "y",
        "y",
        sample_user_id(),
        "y",
        "s",
    ], answers
    assert "why skip it?: no shared links in this release" in text
    # every verdict
    for verdict in (
        "[passed] deployed",
        "[passed] signup",
        f"[passed] test-user = {sample_user_id()}",
        "[passed] scan",
        "[skipped] share",
    ):
        assert verdict in text, (verdict, text)
    assert "no shared links in this release" in text.split("[skipped] share", 1)[1]
    # the preflight warning: when it arose, and again in the summary at the end
    warning = "is not on origin"
    assert text.count(warning) >= 2, text
    assert text.rindex(warning) > text.rindex("ledger: "), "not in the final summary"
    assert "✓ Checklist" in text and "✓ Dataclip gate" in text
    # the live line is gone: no spinner left behind
    assert not re.search(r"[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]", screen.visible())
    if size == (80, 24):
        keep_capture(
            "deploy-prompted-items-80x24.md",
            screen,
            what="keycliq deploy staging with five prompted checklist items, at 80×24",
        )


@pytest.mark.parametrize("size", SIZES)
def test_status_with_a_wrong_app_name_shows_the_404_reason(
    world: World, screen_factory, size: tuple[int, int]
) -> None:  # type: ignore[no-untyped-def]
    config = (world.repo / "keycliq.yaml").read_text()
    (world.repo / "keycliq.yaml").write_text(
        config.replace("app: keycliq-staging", "app: keycliq-stagin", 1)
    )
    cols, rows = size
    screen = screen_factory(cols, rows)
    screen.start(["status"], cwd=world.repo)
    code = screen.exit_code(timeout=120)
    text = screen.text(joined=True)
    assert code == 3, text
    assert all(len(row) <= cols for row in screen.text().splitlines())
    flat = " ".join(text.split())
    assert "keycliq-stagin" in flat
    # the reason itself (Heroku's 404 for the app), and the error points at it
    assert re.search(r"not[_ ]found|404|[Cc]ouldn't find that app", flat), text
    assert "see above" not in flat or "Couldn't find" in flat or "not found" in flat
    # the commit column is kept at 80 columns for the environment that works
    assert "commit" in text
    production = next(line for line in text.splitlines() if "keycliq-production" in line)
    assert production
    if size == (80, 24):
        keep_capture(
            "status-wrong-app-80x24.md",
            screen,
            what="keycliq status with a wrong app name in keycliq.yaml, at 80×24",
        )
