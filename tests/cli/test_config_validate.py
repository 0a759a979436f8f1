"""``keycliq config validate`` refuses what deploy would refuse later: a checklist or
Dataclip id keycliq.yaml names that is not in the catalogue (exit 2, the setting's
file:line, the known ids)."""

from __future__ import annotations

from pathlib import Path

CONFIG = """\
pipeline: keycliq
environments:
  staging:
    app: keycliq-staging
    remote: heroku-staging
    checklist: {checklist}
    dataclips: {dataclips}
  production:
    app: keycliq-production
    stage: production
"""


def write(tmp_path: Path, *, checklist: str = "staging", dataclips: str = "[E1, F]") -> Path:
    path = tmp_path / "keycliq.yaml"
    path.write_text(CONFIG.format(checklist=checklist, dataclips=dataclips))
    return path


def test_known_ids_validate(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = cli("--config", str(write(tmp_path, dataclips="[e1, F]")), "config", "validate")
    assert done.code == 0, done.output  # ids match as Dataclip lookups do (any case)


def test_an_unknown_dataclip_id_is_refused_at_its_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, dataclips="[E1, NOPE]")
    done = cli("--config", str(path), "config", "validate")
    assert done.code == 2
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"error: {path}:7: environments.staging.dataclips[1]: ")
    assert "unknown Dataclip 'NOPE' (known: A, B, C" in first and "E1, E2" in first


def test_an_unknown_checklist_is_refused_at_its_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, checklist="stagign")
    done = cli("--config", str(path), "config", "validate", "--json")
    assert done.code == 2 and '"ok": true' not in done.stdout
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"error: {path}:6: environments.staging.checklist: ")
    assert "unknown checklist 'stagign' (known: production, staging)" in first


def test_a_default_gate_the_catalogue_lacks_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "dataclips").mkdir()
    (tmp_path / "dataclips" / "X_only.sql").write_text(
        "-- id: X\n-- title: the only check\nSELECT 1 AS ok\n"
    )
    path = tmp_path / "keycliq.yaml"
    path.write_text(
        "environments:\n  production:\n    app: keycliq-production\n    stage: production\n"
        "paths:\n  shipped: false\n"
    )
    done = cli("--config", str(path), "config", "validate")
    assert done.code == 2
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"error: {path}:2: environments.production.dataclips: ")
    assert "unknown Dataclip 'A' (the default for production) (known: X)" in first


def test_a_checklist_naming_an_unknown_dataclip_is_refused_at_the_checklist_line(  # type: ignore[no-untyped-def]
    cli,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "checklists"
    folder.mkdir()
    checklist = folder / "smoke.yaml"
    checklist.write_text(
        "title: smoke\nsections:\n  - title: db\n    items:\n"
        "      - id: s1\n        text: the gate\n        kind: dataclip\n"
        "        dataclips: [A, ZZ]\n"
    )
    path = write(tmp_path, checklist="smoke")
    done = cli("--config", str(path), "config", "validate")
    assert done.code == 2
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"error: {checklist}:8: sections[0].items[0].dataclips[1]: ")
    assert "item s1 names unknown Dataclip 'ZZ' (known: A, B" in first


def test_every_problem_of_the_file_is_listed_with_its_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "keycliq.yaml"
    path.write_text(
        "environments:\n"
        "  staging:\n"
        "    app: keycliq-staging\n"
        "    remot: heroku-staging\n"  # line 4: unknown key
        "  production:\n"
        "    app: keycliq-production\n"
        "    stage: productoin\n"  # line 7: not a stage
    )
    done = cli("--config", str(path), "config", "validate")
    assert done.code == 2, done.output
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2, done.stderr
    assert errors[0].startswith(f"error: {path}:4: environments.staging.remot: unknown key")
    assert errors[1].startswith(f"error: {path}:7: environments.production.stage: ")
    assert "more problem" not in done.stderr
    assert "2 problems found" in done.stderr


def test_every_unknown_reference_is_listed(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    path = write(tmp_path, checklist="stagign", dataclips="[NOPE, E1, ALSO_NOPE]")
    done = cli("--config", str(path), "config", "validate")
    assert done.code == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert [e.split(": ")[1:3] for e in errors] == [
        [f"{path}:7", "environments.staging.dataclips[0]"],
        [f"{path}:7", "environments.staging.dataclips[2]"],
        [f"{path}:6", "environments.staging.checklist"],
    ]
    assert "hint: the Dataclip catalogue is " in done.stderr
    as_json = cli("--config", str(path), "config", "validate", "--json")
    assert as_json.code == 2
    data = json.loads(as_json.stdout)
    assert data["ok"] is False
    assert [p["field"] for p in data["problems"]] == [
        "environments.staging.dataclips[0]",
        "environments.staging.dataclips[2]",
        "environments.staging.checklist",
    ]
    assert all(p["location"].startswith(f"{path}:") for p in data["problems"])
