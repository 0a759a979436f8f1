"""The layered catalogue: the shipped checklists and Dataclips, then the repository's own
folders beside keycliq.yaml (or paths.*), which add entries and override by id / name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keycliq_ops.base.errors import ConfigError, UsageError
from keycliq_ops.checklists import ChecklistCatalog, find_checklist, list_checklists
from keycliq_ops.config import load_config
from keycliq_ops.config.loading import (
    SHIPPED_CHECKLISTS,
    SHIPPED_DATACLIPS,
    CatalogFolders,
    layered,
)
from keycliq_ops.dataclips import load_catalog

CONFIG = "version: 1\nenvironments:\n  staging:\n    app: keycliq-staging\n"
SHIPPED_IDS = ["A", "B", "C", "D", "E1", "E2", "E3", "E4", "F", "G", "H", "I", "J"]
K = (SHIPPED_DATACLIPS / "A_global_counts.sql").read_text().replace("-- id: A", "-- id: K")
G_STRICTER = """\
-- id: G
-- title: No matchType at all (the team's stricter G)
-- severity: critical
-- expect: rows = 0
SELECT id FROM key_matchings;
"""
CHECKLIST = """\
title: Our staging checklist
sections:
  - title: One
    items:
      - id: deployed
        kind: confirm
        text: It is deployed.
      - id: counts
        kind: dataclip
        text: Our own check K passes.
        dataclips: [K]
"""


def repo(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "keycliq.yaml").write_text(CONFIG + extra)
    return tmp_path


def test_without_repo_folders_the_catalogue_is_the_shipped_one(tmp_path: Path) -> None:
    loaded = load_config(repo(tmp_path) / "keycliq.yaml")
    catalog = loaded.dataclip_catalog()
    assert catalog.ids() == SHIPPED_IDS
    assert {c.layer for c in catalog.all()} == {"shipped"}
    assert catalog.folders == (SHIPPED_DATACLIPS,)
    assert loaded.checklist_catalog().names() == ["production", "staging"]
    # code written for one folder keeps working: the file of the highest layer having it
    assert (loaded.checklists_dir / "staging.yaml") == SHIPPED_CHECKLISTS / "staging.yaml"
    assert find_checklist(loaded.checklists_dir, "staging") == SHIPPED_CHECKLISTS / "staging.yaml"


def test_repo_dataclips_add_and_override_by_id(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "dataclips").mkdir()
    (root / "dataclips" / "K.sql").write_text(K)
    (root / "dataclips" / "G_stricter.sql").write_text(G_STRICTER)
    (root / "dataclips" / "README.md").write_text("not a check\n")
    loaded = load_config(root / "keycliq.yaml")
    # the same object for every consumer: load_catalog(loaded.dataclips_dir)
    catalog = load_catalog(loaded.dataclips_dir)
    assert catalog.ids() == [*SHIPPED_IDS, "K"]
    assert catalog.get("K").layer == "repo" and catalog.get("K").overrides is None
    g = catalog.get("g")
    assert g.title.startswith("No matchType at all") and g.severity == "critical"
    assert g.path == root / "dataclips" / "G_stricter.sql"
    assert g.overrides == SHIPPED_DATACLIPS / "G_unknown_match_types.sql"
    assert g.origin == "repo (overrides shipped)"
    assert catalog.get("A").origin == "shipped"
    assert catalog.folders == (root / "dataclips", SHIPPED_DATACLIPS)
    assert loaded.dataclip_catalog().ids() == catalog.ids()
    with pytest.raises(UsageError) as exc:
        catalog.get("Z")
    assert "K" in exc.value.message and "repo (" in (exc.value.hint or "")


def test_a_repo_file_that_does_not_parse_names_the_repo_file(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "dataclips").mkdir()
    bad = root / "dataclips" / "K.sql"
    bad.write_text("-- id: K\n-- title: K\n-- severity: urgent\nSELECT 1;\n")
    loaded = load_config(root / "keycliq.yaml")
    with pytest.raises(ConfigError) as exc:
        load_catalog(loaded.dataclips_dir)
    assert str(exc.value).startswith(f"{bad}:3: severity 'urgent' is not one of")


def test_an_id_twice_in_the_same_layer_is_an_error(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "dataclips").mkdir()
    (root / "dataclips" / "K.sql").write_text(K)
    (root / "dataclips" / "K_again.sql").write_text(K)
    with pytest.raises(ConfigError) as exc:
        load_config(root / "keycliq.yaml").dataclip_catalog()
    assert str(exc.value) == (
        f"{root / 'dataclips' / 'K_again.sql'}:1: id 'K' is also the id of K.sql"
    )


def test_configured_paths_are_the_repo_layer_and_must_exist(tmp_path: Path) -> None:
    root = repo(tmp_path, "paths:\n  dataclips: ops/clips\n  checklists: ops/lists\n")
    loaded = load_config(root / "keycliq.yaml")
    with pytest.raises(ConfigError, match="the Dataclips folder does not exist"):
        loaded.dataclip_catalog()
    with pytest.raises(ConfigError, match="the checklists folder does not exist"):
        loaded.checklist_catalog().names()
    (root / "ops" / "clips").mkdir(parents=True)
    (root / "ops" / "lists").mkdir(parents=True)
    (root / "ops" / "clips" / "K.sql").write_text(K)
    (root / "ops" / "lists" / "smoke.yaml").write_text(CHECKLIST)
    # a `dataclips/` beside keycliq.yaml is not a layer when paths.dataclips names another
    (root / "dataclips").mkdir()
    (root / "dataclips" / "G.sql").write_text(G_STRICTER)
    catalog = loaded.dataclip_catalog()
    assert catalog.ids() == [*SHIPPED_IDS, "K"] and catalog.get("G").layer == "shipped"
    assert loaded.checklist_catalog().names() == ["production", "smoke", "staging"]


def test_paths_shipped_false_keeps_only_the_repo_folders(tmp_path: Path) -> None:
    root = repo(tmp_path, "paths:\n  shipped: false\n")
    loaded = load_config(root / "keycliq.yaml")
    with pytest.raises(ConfigError, match="the Dataclips folder does not exist"):
        loaded.dataclip_catalog()
    (root / "dataclips").mkdir()
    (root / "dataclips" / "K.sql").write_text(K)
    (root / "checklists").mkdir()
    (root / "checklists" / "staging.yaml").write_text(CHECKLIST)
    assert loaded.dataclip_catalog().ids() == ["K"]
    infos = loaded.checklist_catalog().infos()
    assert [(i.name, i.source, i.overrides) for i in infos] == [("staging", "repo", None)]


def test_keycliqs_own_checkout_has_one_copy(tmp_path: Path) -> None:
    """In keycliq's own repository the repo folders are the shipped ones: one layer."""
    folders = layered("dataclips", SHIPPED_DATACLIPS)
    assert [layer.source for layer in folders] == ["shipped"]
    assert load_catalog(folders).ids() == SHIPPED_IDS
    assert [layer.source for layer in layered("checklists", SHIPPED_CHECKLISTS)] == ["shipped"]


def test_repo_checklists_add_and_override_by_name(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "checklists").mkdir()
    (root / "checklists" / "staging.yaml").write_text(CHECKLIST)
    (root / "checklists" / "smoke.yaml").write_text(CHECKLIST.replace("Our staging", "Smoke"))
    (root / "checklists" / "README.md").write_text("not a checklist\n")
    loaded = load_config(root / "keycliq.yaml")
    assert isinstance(loaded.checklists_dir, CatalogFolders)
    staging = root / "checklists" / "staging.yaml"
    assert find_checklist(loaded.checklists_dir, "staging") == staging
    assert loaded.checklists_dir / "staging.yaml" == staging
    assert loaded.checklists_dir / "production.yaml" == SHIPPED_CHECKLISTS / "production.yaml"
    assert loaded.checklist_catalog().load("staging").title == "Our staging checklist"
    infos = {i.name: i for i in list_checklists(loaded.checklists_dir)}
    assert {n: i.origin for n, i in infos.items()} == {
        "production": "shipped",
        "smoke": "repo",
        "staging": "repo (overrides shipped)",
    }
    assert infos["staging"].overrides == SHIPPED_CHECKLISTS / "staging.yaml"
    with pytest.raises(UsageError) as exc:
        find_checklist(loaded.checklists_dir, "beta")
    assert "(known: production, smoke, staging)" in exc.value.message


def test_a_broken_repo_checklist_names_its_file(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    root = repo(tmp_path)
    (root / "checklists").mkdir()
    bad = root / "checklists" / "staging.yaml"
    bad.write_text(CHECKLIST.replace("kind: confirm", "kind: confrim"))
    loaded = load_config(root / "keycliq.yaml")
    with pytest.raises(ConfigError) as exc:
        loaded.checklist_catalog().load("staging")
    assert str(exc.value).startswith(f"{bad}:6: sections[0].items[0].kind: unknown kind")
    result = cli("--config", str(root / "keycliq.yaml"), "checklist", "show", "staging")
    assert result.code == 2
    assert result.stderr.startswith(f"error: {bad}:6: sections[0].items[0].kind:")
    assert "Traceback" not in result.output


def test_a_yml_file_in_the_repo_folder_is_an_error(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "checklists").mkdir()
    (root / "checklists" / "staging.yml").write_text(CHECKLIST)
    with pytest.raises(ConfigError) as exc:
        load_config(root / "keycliq.yaml").checklist_catalog().names()
    assert (
        str(exc.value)
        == f"{root / 'checklists' / 'staging.yml'}: a checklist file must end in .yaml"
    )
    assert exc.value.hint == "rename it to staging.yaml"


def test_plain_folders_still_work_as_one_layer(tmp_path: Path) -> None:
    (tmp_path / "K.sql").write_text(K)
    catalog = load_catalog(tmp_path)
    assert catalog.ids() == ["K"] and catalog.get("K").layer == "repo"
    assert catalog.folder == tmp_path
    assert ChecklistCatalog(SHIPPED_CHECKLISTS).infos()[0].source == "shipped"


def test_list_commands_show_the_source(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    root = repo(tmp_path)
    (root / "dataclips").mkdir()
    (root / "dataclips" / "K.sql").write_text(K)
    (root / "dataclips" / "G.sql").write_text(G_STRICTER)
    (root / "checklists").mkdir()
    (root / "checklists" / "staging.yaml").write_text(CHECKLIST)
    (root / "checklists" / "smoke.yaml").write_text(CHECKLIST)
    monkeypatch.chdir(root)
    monkeypatch.setenv("COLUMNS", "200")

    listed = cli("dataclips", "list", "--json")
    assert listed.code == 0, listed.output
    rows = {c["id"]: c for c in json.loads(listed.stdout)}
    assert list(rows) == [*SHIPPED_IDS, "K"]
    assert (rows["A"]["source"], rows["A"]["overrides_shipped"]) == ("shipped", False)
    assert (rows["K"]["source"], rows["K"]["overrides_shipped"]) == ("repo", False)
    assert (rows["G"]["source"], rows["G"]["overrides_shipped"]) == ("repo", True)
    assert rows["G"]["path"] == str(root / "dataclips" / "G.sql")
    assert rows["G"]["overrides"] == str(SHIPPED_DATACLIPS / "G_unknown_match_types.sql")
    table = cli("dataclips", "list")
    assert table.code == 0
    lines = {line.split("│")[1].strip(): line for line in table.stdout.splitlines() if "│" in line}
    assert lines["A"].rstrip(" │").endswith("shipped")
    assert lines["K"].rstrip(" │").endswith("repo")
    assert lines["G"].rstrip(" │").endswith("repo (overrides shipped)")
    assert table.stdout.startswith(f"Dataclips: shipped ({SHIPPED_DATACLIPS}) + repo")
    shown = cli("dataclips", "show", "G", "--json")
    assert json.loads(shown.stdout)["source"] == "repo"

    listed = cli("checklist", "list", "--json")
    assert listed.code == 0, listed.output
    sources = {c["name"]: (c["source"], c["overrides_shipped"]) for c in json.loads(listed.stdout)}
    assert sources == {
        "production": ("shipped", False),
        "smoke": ("repo", False),
        "staging": ("repo", True),
    }
    table = cli("checklist", "list")
    lines = {line.split("│")[1].strip(): line for line in table.stdout.splitlines() if "│" in line}
    assert lines["production"].rstrip(" │").endswith("shipped")
    assert lines["smoke"].rstrip(" │").endswith("repo")
    assert lines["staging"].rstrip(" │").endswith("repo (overrides shipped)")
