"""The canary: distinctive secret values planted everywhere keycliq can meet one, then every
command run in every output format, and all it printed and wrote searched for them.

Planted: secret config vars of both apps (through the stand-in's Platform API, as anyone
with access would set them), secret-looking variables of the local environment, and the
Heroku token the world already uses. The commands relay text that carries them: a test
command and a release phase that print their environment (``env``), app log lines that
quote them, a checklist answer whose typed reason holds one. Every stdout and stderr, the
ledger, the reports, ``.keycliq/``, every file in the checkout and the home folder must
hold none of them, whole or as a long enough piece to be a leak (a line folded at the
terminal's width).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx
import pytest

from keycliq_ops.checklists import find_checklist, load_checklist, render_answers
from keycliq_ops.config.loading import SHIPPED_CHECKLISTS
from keycliq_ops.standin.sample.seed import deleted_key_id, sample_user_id
from tests.world import World

STAGING = "keycliq-staging"
PRODUCTION = "keycliq-production"
# The release phase prints the dyno's environment (its config vars) before migrating.
RELEASE = "release: env; npx prisma migrate deploy"
# Prints the test command's environment; fails while CANARY_FAIL is set.
TESTS = 'env; test -z "$CANARY_FAIL"'


def _canary(tag: str) -> str:
    """A value nothing else prints: a tag and 24 random hex digits."""
    return f"cnry{tag}{secrets.token_hex(12)}"


def _plant_config(world: World, app: str, values: dict[str, str]) -> None:
    """Set config vars through the stand-in's API and wait for the release it creates."""
    sb = world.sandbox
    with httpx.Client(base_url=sb.url, headers=sb.headers(), timeout=30) as http:
        response = http.patch(f"/apps/{app}/config-vars", json=values)
        assert response.status_code == 200, response.text
        deadline = time.monotonic() + 60
        while True:
            releases = http.get(
                f"/apps/{app}/releases", headers={"Range": "version ..; order=desc, max=1"}
            ).json()
            if releases and releases[0]["status"] != "pending":
                assert releases[0]["status"] == "succeeded", releases[0]
                break
            assert time.monotonic() < deadline, f"the config release of {app} did not end"
            time.sleep(0.05)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _answers(reason: str) -> str:
    checklists = [
        load_checklist(find_checklist(SHIPPED_CHECKLISTS, name))
        for name in ("staging", "production")
    ]
    return render_answers(
        checklists,
        by="Canary Tester <canary@keycliq.invalid>",
        reason=reason,
        values={"userId": sample_user_id(), "keyId": deleted_key_id()},
    )


def _pieces(value: str) -> list[str]:
    """The value and the two halves of its random end (every planted value ends in 24
    random characters): a leak folded over two lines, or cut short, still shows one of
    them (the mask shows the last 4 only)."""
    return [value, value[-24:-12], value[-12:]]


class Canary:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values  # where → value
        self.seen: list[str] = []
        self.leaks: list[str] = []

    def hits(self, text: str) -> list[str]:
        return [
            f"{where} ({piece!r})"
            for where, value in self.values.items()
            for piece in _pieces(value)
            if piece in text
        ]

    def check(self, what: str, text: str) -> None:
        found = self.hits(text)
        if found:
            self.leaks.append(f"{what} shows {', '.join(found)}")
        self.seen.append(what)

    def check_files(self, roots: Iterable[Path]) -> int:
        count = 0
        for root in roots:
            for path in sorted(root.rglob("*")):
                if not path.is_file() or ".git" in path.relative_to(root).parts:
                    continue
                text = path.read_bytes().decode("utf-8", errors="replace")
                self.check(str(path), text)
                count += 1
        return count


@pytest.fixture
def planted(world: World, monkeypatch: pytest.MonkeyPatch) -> Canary:
    values: dict[str, str] = {}
    for app, tag in ((STAGING, "stg"), (PRODUCTION, "prd")):
        config = {
            "SESSION_SECRET": _canary(f"{tag}sess"),
            "STRIPE_SECRET_KEY": "sk_live_" + _canary(f"{tag}strp"),
            "CANARY_API_TOKEN": _canary(f"{tag}tokn"),
        }
        _plant_config(world, app, config)
        values |= {f"{app} {name}": value for name, value in config.items()}
        db_url = world.sandbox.database_url(app)
        password = httpx.URL(db_url).password
        if password and len(password) >= 8:
            values[f"{app} DATABASE_URL password"] = password
    local = {
        "OPENAI_API_KEY": "sk-proj-" + _canary("locopenai"),
        "STRIPE_SECRET_KEY": "sk_test_" + _canary("locstripe"),
        "SENTRY_AUTH_TOKEN": _canary("locsentry"),
    }
    for name, value in local.items():
        monkeypatch.setenv(name, value)
    values |= {f"local {name}": value for name, value in local.items()}
    values["the Heroku token"] = world.sandbox.token
    return Canary(values)


def _set_up_repo(world: World, canary: Canary, answers: Path) -> None:
    repo = world.repo
    procfile = repo / "Procfile"
    lines = [ln for ln in procfile.read_text().splitlines() if not ln.startswith("release:")]
    procfile.write_text("\n".join([*lines, RELEASE]) + "\n")
    config = repo / "keycliq.yaml"
    text = config.read_text()
    start = text.index("tests:\n")
    end = text.index("migrations:")
    config.write_text(text[:start] + f"tests:\n  command: {json.dumps(TESTS)}\n" + text[end:])
    _git(repo, "commit", "-qam", "canary: a release phase and tests that print env")
    _git(repo, "push", "-q", "origin", "HEAD")
    # A checklist reason that quotes two secrets, as a person pasting the wrong thing would.
    reason = (
        f"checked with session {canary.values[f'{STAGING} SESSION_SECRET']} and key "
        f"{canary.values['local OPENAI_API_KEY']}"
    )
    answers.write_text(_answers(reason))


def _log_lines(world: World, canary: Canary) -> None:
    v = canary.values
    for app, other in ((STAGING, PRODUCTION), (PRODUCTION, STAGING)):
        world.sandbox.write_log(app, f"auth header Bearer {v['the Heroku token']} rejected")
        world.sandbox.write_log(
            app, f"❌ Hybrid Balanced AI analysis failed: 401 key {v['local OPENAI_API_KEY']}"
        )
        world.sandbox.write_log(app, f"loaded other secret={v[f'{other} SESSION_SECRET']}")
        world.sandbox.write_log(app, f"Error: session secret {v[f'{app} SESSION_SECRET']} bad")
        world.sandbox.write_log(app, f"stripe {v[f'{other} STRIPE_SECRET_KEY']} declined")


def test_no_planted_secret_reaches_any_output_or_file(  # type: ignore[no-untyped-def]
    world: World, cli, planted: Canary, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    canary = planted
    answers = tmp_path / "canary-answers.yaml"  # outside the checkout: the tree stays clean
    _set_up_repo(world, canary, answers)
    ANSWERS = str(answers)
    _log_lines(world, canary)

    def run(*args: str, expect: Callable[[int], bool] = lambda c: c in (0, 1)) -> str:
        result = cli(*args)
        what = f"keycliq {' '.join(args)}"
        assert expect(result.code), f"{what}: exit {result.code}\n{result.output[-3000:]}"
        canary.check(f"{what} (stdout)", result.stdout)
        canary.check(f"{what} (stderr)", result.stderr)
        return str(result.output)

    # A failing test command that prints its environment, plain and --json.
    monkeypatch.setenv("CANARY_FAIL", "1")
    deploy = ("deploy", "staging", "--yes", "--answers", ANSWERS)
    failed = run(*deploy, expect=lambda c: c == 1)
    assert "failed at tests" in failed
    run(*deploy, "--json", expect=lambda c: c == 1)
    monkeypatch.delenv("CANARY_FAIL")

    # Tests pass (still printing env); the release phase prints the staging dyno's env.
    # Rich live output (a terminal) this time: lines folded at 120 columns.
    monkeypatch.setenv("FORCE_COLOR", "1")
    run(*deploy, expect=lambda c: c == 0)
    monkeypatch.delenv("FORCE_COLOR")

    for fmt in ((), ("--json",)):
        run("status", *fmt, expect=lambda c: c == 0)
        run("logs", "staging", "-n", "1500", *fmt, expect=lambda c: c == 0)
        run("logs", "production", "-n", "1500", *fmt, expect=lambda c: c == 0)
        run("logs", "staging", "-n", "1500", "--summary", *fmt, expect=lambda c: c == 0)
        run("watch", "staging", "--for", "1s", *fmt)
        run("playbook", "run", "scan-failures", "-e", "staging", *fmt)
        run("playbook", "run", "scan-failures", "-e", "production", *fmt)
        run("config", "check", "staging", *fmt)
        run("config", "show", *fmt, expect=lambda c: c == 0)
        run("secrets", "list", "staging", *fmt, expect=lambda c: c == 0)
        run("secrets", "list", "production", *fmt, expect=lambda c: c == 0)
        run("dataclips", "run", "E1", "-e", "staging", *fmt)
        run("checklist", "run", "staging", "--answers", ANSWERS, *fmt)

    # Promote: production's release phase prints its env; then roll it back.
    run("promote", "--yes", "--confirm", PRODUCTION, "--answers", ANSWERS, expect=lambda c: c == 0)
    run(
        "rollback",
        "production",
        "--yes",
        "--confirm",
        PRODUCTION,
        "--answers",
        ANSWERS,
        "--json",
        expect=lambda c: c == 0,
    )
    for fmt in ((), ("--json",)):
        run("ledger", "list", *fmt, expect=lambda c: c == 0)
        run("ledger", "verify", *fmt, expect=lambda c: c == 0)
    last = world.ledger_records()[-1]["id"]
    for fmt in ((), ("--json",)):
        run("ledger", "show", str(last), *fmt, expect=lambda c: c == 0)

    # Everything written: the checkout (ledger, reports, .keycliq/) and the home folder.
    files = canary.check_files([world.repo, tmp_path / "home"])
    assert (world.repo / ".keycliq" / "ledger.jsonl").is_file() and files > 10
    assert len(canary.seen) > 60
    assert not canary.leaks, "\n".join(canary.leaks)
