"""The help and the newcomer's documents stay true to the code.

- every command and every option (and argument) has help text; every command an example;
- every command appears in the README, and every `keycliq …` line in the README and in
  docs/demo.md / docs/runbook-mapping.md names a real command with real options;
- relative links resolve; keycliq.yaml.example and Procfile.example are valid and agree;
- the README's Dataclip and checklist-item examples load, and the Dataclip runs.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from keycliq_ops.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
OWN_DOCS = [README, ROOT / "docs" / "demo.md", ROOT / "docs" / "runbook-mapping.md"]
ROOT_OPTIONS = {"-c", "--config", "-V", "--version", "-h", "--help"}


def commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, click command) of every group and command, depth first."""

    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        if path:
            yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, (*path, name))

    yield from walk(typer.main.get_command(app), ())


def leaves() -> list[tuple[tuple[str, ...], Any]]:
    return [(p, c) for p, c in commands() if not hasattr(c, "commands")]


def test_the_command_tree_is_the_expected_one() -> None:
    # Guards the tests below against walking an empty or partial tree.
    names = {" ".join(p) for p, _ in leaves()}
    assert {"demo", "deploy", "promote", "rollback", "status", "init"} <= names
    assert {"ledger verify", "dataclips run", "checklist run", "sandbox up"} <= names
    assert len(names) >= 24


def test_every_command_and_option_has_help() -> None:
    missing = []
    for path, cmd in commands():
        where = "keycliq " + " ".join(path)
        if not (cmd.help or "").strip():
            missing.append(f"{where}: no help text")
        for param in cmd.params:
            if not (getattr(param, "help", None) or "").strip():
                missing.append(f"{where} {param.opts[0]}: no help text")
    assert missing == []


def test_every_command_has_an_example() -> None:
    missing = [
        " ".join(path)
        for path, cmd in leaves()
        if "example" not in ((cmd.help or "") + (cmd.epilog or "")).lower()
    ]
    assert missing == []


def test_every_command_appears_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [" ".join(p) for p, _ in commands() if f"keycliq {' '.join(p)}" not in text]
    assert missing == []


# --------------------------------------------------- commands named in the documents


def code_text(markdown: str) -> Iterator[str]:
    """Fenced blocks' lines and inline code spans."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.DOTALL | re.MULTILINE)
    for block in fenced:
        yield from block.splitlines()
    without = re.sub(r"^```[^\n]*\n.*?^```", "", markdown, flags=re.DOTALL | re.MULTILINE)
    yield from re.findall(r"`([^`\n]+)`", without)


_SEPARATORS = {"|", "||", "&&", ";", ">", "2>&1", "#"}


def invocations(line: str) -> Iterator[list[str]]:
    """The words after each `keycliq` that starts a command (at the start of the line or
    after a prompt, `uv run`, `$(` or a shell separator), up to a shell separator."""
    for m in re.finditer(r"(?:^|\$ |uv run |\$\(|&& |\|\| |\| |; )keycliq(?= )", line.strip()):
        rest = line.strip()[m.end() :]
        try:
            words = shlex.split(rest, comments=True)
        except ValueError:
            words = rest.split()
        taken = []
        for word in words:
            if word in _SEPARATORS or word.startswith(("#", ">", "|")):
                break
            taken.append(word.rstrip(')"'))
        yield taken


def resolve(words: list[str]) -> tuple[Any, list[str]] | str:
    """(command or topic, the words after its name), or why the words name no command."""
    cmd: Any = typer.main.get_command(app)
    i = 0
    while i < len(words) and words[i] in ROOT_OPTIONS | {"-c"}:
        i += 2 if words[i] in ("-c", "--config") else 1
    path: list[str] = []
    while hasattr(cmd, "commands"):
        if i >= len(words):
            return cmd, []  # the topic itself (`keycliq sandbox`)
        name = words[i]
        if name not in cmd.commands:
            return f"keycliq {' '.join([*path, name])}: no such command"
        cmd, path, i = cmd.commands[name], [*path, name], i + 1
    return cmd, words[i:]


def options_of(cmd: Any) -> set[str]:
    names = set(ROOT_OPTIONS)
    for param in cmd.params:
        names.update(param.opts)
        names.update(getattr(param, "secondary_opts", []))
    return names


@pytest.mark.parametrize("doc", OWN_DOCS, ids=lambda p: p.name)
def test_documents_name_only_real_commands_and_options(doc: Path) -> None:
    problems = []
    seen = 0
    for line in code_text(doc.read_text(encoding="utf-8")):
        for words in invocations(line):
            if not words or words[0].endswith(":") or words[0] in ("…", "..."):
                continue  # output such as "keycliq demo: release — …", or a placeholder
            found = resolve(words)
            if isinstance(found, str):
                problems.append(f"{line.strip()!r}: {found}")
                continue
            seen += 1
            cmd, rest = found
            known = options_of(cmd)
            for word in rest:
                flag = word.split("=", 1)[0]
                if flag.startswith("-") and flag != "-" and flag not in known:
                    problems.append(f"{line.strip()!r}: {flag} is not an option of it")
    assert seen > 5  # the scan found the document's commands
    assert problems == []


def test_the_resolver_catches_rot() -> None:
    assert isinstance(resolve(["deploy", "staging"]), tuple)
    assert isinstance(resolve(["ledger"]), tuple)  # a topic
    assert resolve(["ship", "it"]) == "keycliq ship: no such command"
    cmd, rest = resolve(["-c", "x.yaml", "config", "validate"])  # type: ignore[misc]
    assert rest == [] and "--no-such-flag" not in options_of(cmd)


@pytest.mark.parametrize("doc", OWN_DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    broken = [
        link
        for link in links
        if not re.match(r"^[a-z]+://", link) and not (doc.parent / link).exists()
    ]
    assert broken == []
    if doc == README:
        assert len(links) >= 5


# ------------------------------------------------------------------------- examples


def test_keycliq_yaml_example_is_the_teams_layout() -> None:
    from keycliq_ops.config import load_config

    loaded = load_config(ROOT / "keycliq.yaml.example")
    cfg = loaded.config
    assert cfg.pipeline == "keycliq"
    staging, production = cfg.environments["staging"], cfg.environments["production"]
    assert (staging.app, staging.remote, staging.stage) == (
        "keycliq-staging",
        "heroku-staging",
        "staging",
    )
    assert (production.app, production.remote, production.stage) == (
        "keycliq-production",
        None,
        "production",
    )
    assert cfg.migrations.strategy == "release-phase"


def test_procfile_example_runs_the_migrations_in_the_release_phase() -> None:
    from keycliq_ops.config import load_config

    lines = (ROOT / "Procfile.example").read_text(encoding="utf-8").splitlines()
    procs = dict(line.split(":", 1) for line in lines if line.strip())
    assert set(procs) == {"web", "release"}
    release = procs["release"].strip()
    assert release == "npx prisma migrate deploy"
    assert load_config(ROOT / "keycliq.yaml.example").config.migrations.command == release


def readme_block(heading: str, lang: str) -> str:
    section = README.read_text(encoding="utf-8").split(f"## {heading}\n", 1)[1]
    m = re.search(rf"^```{lang}\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
    assert m, f"no {lang} block under {heading}"
    return m.group(1)


def test_the_readme_checklist_item_loads(tmp_path: Path) -> None:
    from keycliq_ops.checklists import load_checklist
    from keycliq_ops.config.loading import SHIPPED_CHECKLISTS

    shipped = (SHIPPED_CHECKLISTS / "staging.yaml").read_text(encoding="utf-8")
    path = tmp_path / "staging.yaml"
    path.write_text(
        shipped.rstrip("\n") + "\n\n" + readme_block("Writing a checklist item", "yaml")
    )
    checklist = load_checklist(path)
    items = {item.id: item for section in checklist.sections for item in section.items}
    assert items["image-uploaded"].kind == "confirm"
    assert items["no-stuck-keys"].kind == "dataclip"


def test_the_readme_dataclip_loads_and_runs(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    from keycliq_ops.dataclips.fileformat import parse_dataclip
    from keycliq_ops.standin.sample.seed import seed

    folder = tmp_path / "dataclips"
    folder.mkdir()
    path = folder / "K_stuck_pending_keys.sql"
    path.write_text(readme_block("Writing a Dataclip", "sql"))
    clip = parse_dataclip(path)
    assert clip.id == "K" and [p.name for p in clip.params] == ["graceMinutes"]
    seed(pg_url, scale=1)
    (tmp_path / "keycliq.yaml").write_text(
        "version: 1\nenvironments:\n  staging:\n    app: keycliq-staging\n"
        "paths:\n  dataclips: dataclips\n"
    )
    monkeypatch.chdir(tmp_path)
    result = cli("dataclips", "run", "K", "--database-url", pg_url, "--no-history")
    assert result.code == 0, result.output
    assert "stuck" in result.stdout and "pass" in result.stdout
