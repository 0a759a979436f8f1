"""The checklist file format: validation with file:line, the shipped catalogue, templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from keycliq_ops.base.errors import ConfigError, UsageError
from keycliq_ops.checklists import find_checklist, list_checklists, load_checklist
from keycliq_ops.checklists.items import CommandItem, DataclipItem, DynoItem, HttpItem, InputItem
from keycliq_ops.checklists.template import MissingVariable, placeholders, render
from keycliq_ops.config.loading import SHIPPED_CHECKLISTS

from .conftest import write

GOOD = """
title: Test list
sections:
  - title: One
    items:
      - id: first
        kind: confirm
        text: Do the first thing.
      - id: user
        kind: input
        name: userId
        pattern: "^c[a-z0-9]{5,30}$"
        text: The userId.
      - id: page
        kind: http
        text: The page answers for {userId}.
        url: "{app_url}/users/{userId}"
        expect_text: KeyCliq
"""


def _error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_checklist(path)
    assert info.value.exit_code == 2
    return info.value.message


def test_a_good_checklist_loads(tmp_path: Path) -> None:
    cl = load_checklist(write(tmp_path / "good.yaml", GOOD))
    assert cl.name == "good"
    assert cl.item_ids() == ["first", "user", "page"]
    assert len(cl.digest) == 64
    kinds = [type(i) for _, i in cl.items()]
    assert kinds[1] is InputItem and kinds[2] is HttpItem
    assert cl.variables_used() == {"userId", "app_url"}


def test_unknown_kind_names_file_line_and_kinds(tmp_path: Path) -> None:
    msg = _error(
        tmp_path,
        """
        title: T
        sections:
          - title: S
            items:
              - id: a
                kind: confirm
                text: ok
              - id: b
                kind: telepathy
                text: think
        """,
    )
    assert msg.startswith(f"{tmp_path / 'bad.yaml'}:9: sections[0].items[1].kind: ")
    assert "unknown kind 'telepathy'" in msg
    assert "confirm, input, dataclip, command, http" in msg


def test_missing_kind(tmp_path: Path) -> None:
    msg = _error(
        tmp_path, "title: T\nsections:\n  - title: S\n    items:\n      - id: a\n        text: x\n"
    )
    assert msg.startswith(f"{tmp_path / 'bad.yaml'}:5: sections[0].items[0].kind: required")


def test_duplicate_id_points_at_the_second(tmp_path: Path) -> None:
    msg = _error(
        tmp_path,
        """
        title: T
        sections:
          - title: S
            items:
              - id: same
                kind: confirm
                text: one
          - title: S2
            items:
              - id: same
                kind: confirm
                text: two
        """,
    )
    assert msg == (
        f"{tmp_path / 'bad.yaml'}:10: sections[1].items[0].id: duplicate item id 'same' "
        "(first at line 5)"
    )


def test_missing_text(tmp_path: Path) -> None:
    msg = _error(
        tmp_path,
        """
        title: T
        sections:
          - title: S
            items:
              - id: a
                kind: confirm
        """,
    )
    # the field is absent, so the line is the item's
    assert msg == f"{tmp_path / 'bad.yaml'}:5: sections[0].items[0].text: required but missing"


def test_blank_text(tmp_path: Path) -> None:
    msg = _error(
        tmp_path,
        "title: T\nsections:\n  - title: S\n    items:\n      - id: a\n        kind: confirm\n"
        "        text: '   '\n",
    )
    assert msg == f"{tmp_path / 'bad.yaml'}:7: sections[0].items[0].text: must not be blank"


def test_bad_pattern(tmp_path: Path) -> None:
    msg = _error(
        tmp_path,
        """
        title: T
        sections:
          - title: S
            items:
              - id: user
                kind: input
                name: userId
                text: The id.
                pattern: "^c[a-z0-9"
        """,
    )
    assert msg.startswith(f"{tmp_path / 'bad.yaml'}:9: sections[0].items[0].pattern: ")
    assert "bad regular expression '^c[a-z0-9'" in msg


def test_unknown_key_in_an_item(tmp_path: Path) -> None:
    msg = _error(
        tmp_path,
        "title: T\nsections:\n  - title: S\n    items:\n      - id: a\n        kind: confirm\n"
        "        text: x\n        requird: false\n",
    )
    assert msg == f"{tmp_path / 'bad.yaml'}:8: sections[0].items[0].requird: unknown key"


def test_placeholder_not_captured_before(tmp_path: Path) -> None:
    msg = _error(
        tmp_path,
        """
        title: T
        sections:
          - title: S
            items:
              - id: stats
                kind: dataclip
                text: Stats.
                dataclips: [B]
                params: {userId: "{userId}"}
              - id: user
                kind: input
                name: userId
                text: The id.
                pattern: ".+"
        """,
    )
    assert msg.startswith(f"{tmp_path / 'bad.yaml'}:9: sections[0].items[0].params.userId: ")
    assert "{userId} is not a built-in variable" in msg


def test_bad_id_and_bad_url_and_bad_command(tmp_path: Path) -> None:
    base = "title: T\nsections:\n  - title: S\n    items:\n"
    msg = _error(tmp_path, base + "      - id: Bad Id\n        kind: confirm\n        text: x\n")
    assert ":5: sections[0].items[0].id: 'Bad Id' is not a valid id" in msg
    msg = _error(
        tmp_path,
        base + "      - id: a\n        kind: http\n        text: x\n        url: ftp://x/\n",
    )
    assert ":8: sections[0].items[0].url: must start with {app_url} or http(s)://" in msg
    msg = _error(
        tmp_path,
        base
        + '      - id: a\n        kind: command\n        text: x\n        command: "echo \'x"\n',
    )
    assert ":8: sections[0].items[0].command: cannot split the command line" in msg


def test_yaml_errors_and_non_mapping(tmp_path: Path) -> None:
    assert "invalid YAML" in _error(tmp_path, "title: [unclosed\n")
    assert "must be a mapping" in _error(tmp_path, "- a\n- b\n")
    assert "duplicate key 'title'" in _error(tmp_path, "title: a\ntitle: b\nsections: []\n")


def test_error_through_the_cli_is_one_line_exit_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        tmp_path / "broken.yaml",
        "title: T\nsections:\n  - title: S\n    items:\n      - id: a\n        kind: nope\n"
        "        text: x\n",
    )
    result = cli("checklist", "show", str(path))
    assert result.code == 2
    assert result.stderr.startswith(f"error: {path}:6: sections[0].items[0].kind: unknown kind")
    assert "Traceback" not in result.stderr


def test_shipped_checklists_are_valid_and_follow_the_runbook() -> None:
    infos = {i.name: i for i in list_checklists(SHIPPED_CHECKLISTS)}
    assert set(infos) == {"staging", "production"}
    assert all(i.error is None for i in infos.values())

    staging = load_checklist(find_checklist(SHIPPED_CHECKLISTS, "staging"))
    # the team's OPERATIVA_STAGING sections A-E
    assert [s.title[:2] for s in staging.sections] == ["A.", "B.", "C.", "D.", "E."]
    clips = {
        d: item.id
        for _, item in staging.items()
        if isinstance(item, DataclipItem)
        for d in item.dataclips
    }
    assert {"F", "E1", "E2", "E3", "B", "C", "D", "A", "J"} <= set(clips)
    for _, item in staging.items():
        if isinstance(item, DataclipItem) and set(item.dataclips) & {"B", "C", "D"}:
            assert item.params == {"userId": "{userId}"}
    assert clips["J"] == "deletion-verified"
    dynos = {i.id: i for _, i in staging.items() if isinstance(i, DynoItem)}
    assert dynos["migrations-applied"].command.startswith("npx prisma migrate diff --from-url")
    assert dynos["migrations-applied"].expect_text == ["No difference detected."]
    assert "npx prisma db push" in (dynos["migrations-applied"].help or "")
    assert "getUserStats('{userId}')" in dynos["user-stats"].command
    assert "getUserHistory('{userId}', 10)" in dynos["user-history"].command
    for item_id, message in (
        ("validation-match-found-without-key", "MATCH_FOUND requires matchedKeyId"),
        ("validation-no-match-with-key", "NO_MATCH should not have matchedKeyId"),
    ):
        assert dynos[item_id].expect_text == [message]
        assert dynos[item_id].expect_json["code"].equals == "VALIDATION_ERROR"
    assert any(isinstance(i, HttpItem) for _, i in staging.items())
    optional = [i.id for _, i in staging.items() if not i.required]
    assert optional == ["scan-possible-keys"]
    ours = [i.id for _, i in staging.items() if i.source == "keycliq"]
    assert ours == ["app-up", "new-user-stats"]
    everything = " ".join(t for _, i in staging.items() for t in i.templates()).lower()
    assert "stats page" not in everything  # there is none: the stats come from getUserStats
    deletion = [
        i for _, i in staging.items() if i.id.startswith(("key-delet", "deleted", "deletion"))
    ]
    assert all(
        "Image deleted from Cloudinary" not in (i.text + getattr(i, "command", ""))
        for i in deletion
    )

    prod = load_checklist(find_checklist(SHIPPED_CHECKLISTS, "production"))
    prod_clips = [d for _, i in prod.items() if isinstance(i, DataclipItem) for d in i.dataclips]
    assert prod_clips == ["A", "C"]
    assert [i.kind for _, i in prod.items()].count("confirm") == 1  # the light scan
    assert any(isinstance(i, HttpItem) and i.url.startswith("{app_url}") for _, i in prod.items())


def test_find_checklist_unknown_lists_the_known(tmp_path: Path) -> None:
    write(tmp_path / "alpha.yaml", GOOD)
    with pytest.raises(UsageError, match=r"no checklist 'beta' .* \(known: alpha\)"):
        find_checklist(tmp_path, "beta")
    assert find_checklist(tmp_path, "alpha") == tmp_path / "alpha.yaml"


def test_list_reports_a_broken_file_without_failing(tmp_path: Path) -> None:
    write(tmp_path / "good.yaml", GOOD)
    write(tmp_path / "zbad.yaml", "title: T\n")
    infos = list_checklists(tmp_path)
    assert [(i.name, i.items, i.manual, i.automated) for i in infos[:1]] == [("good", 3, 2, 1)]
    assert infos[1].error is not None and "sections" in infos[1].error


def test_templates() -> None:
    assert placeholders("{a} {{b}} {a} '{}'::jsonb {c}") == ["a", "c"]
    assert render("{app_url}/x?q={{raw}}", {"app_url": "https://h"}) == "https://h/x?q={raw}"
    assert render("SELECT '{}'::jsonb, {\"k\": 1}", {}) == "SELECT '{}'::jsonb, {\"k\": 1}"
    assert render("{userId}", {"userId": None}, strict=False) == "{userId}"
    with pytest.raises(MissingVariable) as info:
        render("{userId}", {})
    assert info.value.name == "userId"


def test_command_argv_is_split_without_a_shell(tmp_path: Path) -> None:
    cl = load_checklist(
        write(
            tmp_path / "c.yaml",
            """
            title: T
            sections:
              - title: S
                items:
                  - id: run
                    kind: command
                    text: Runs.
                    command: "git log -1 --format='%H %s'"
            """,
        )
    )
    item = next(i for _, i in cl.items())
    assert isinstance(item, CommandItem)
    assert item.argv() == ["git", "log", "-1", "--format=%H %s"]
