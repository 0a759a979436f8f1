"""``keycliq init`` scaffolds a team's start; ``keycliq checklist answers`` prints a
template. Both answers templates load as answers files that answer the checklists."""

from __future__ import annotations

from pathlib import Path

import pytest

from keycliq_ops.checklists import AnswersPrompter, ChecklistCatalog
from keycliq_ops.checklists.items import is_manual
from keycliq_ops.config import load_config
from keycliq_ops.config.loading import SHIPPED_CHECKLISTS, layered
from keycliq_ops.config.starter import ci_workflow

REPO = Path(__file__).resolve().parents[2]
FILES = [
    "keycliq.yaml",
    "keycliq-answers.yaml",
    "checklists/README.md",
    "dataclips/README.md",
    ".github/workflows/deploy.yml",
]


def preflight(answers: Path, *names: str, folder: Path | None = None) -> None:
    """The answers file answers every required manual item of the checklists (raises
    otherwise, as a deploy would before it starts)."""
    catalog = ChecklistCatalog(layered("checklists", folder) if folder else SHIPPED_CHECKLISTS)
    for name in names:
        checklist = catalog.load(name)
        prompter = AnswersPrompter(answers)
        prompter.preflight(checklist, [i for _, i in checklist.items()], commit=None)
        manual = [i.id for _, i in checklist.items() if is_manual(i) and i.required]
        assert manual and set(manual) <= set(prompter._entries)


def test_the_ci_workflow_template_is_the_repositorys_example() -> None:
    assert ci_workflow() == (REPO / ".github" / "workflows" / "deploy.yml").read_text()


def test_init_scaffolds_the_files_and_says_what_to_commit(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("init", "--dir", str(tmp_path), "--staging-app", "kq-stage")
    assert result.code == 0, result.output
    for name in FILES:
        assert (tmp_path / name).is_file(), name
        assert f"wrote {tmp_path / name}" in result.stderr
    assert "commit the files: git add " + " ".join(FILES) in result.stderr
    loaded = load_config(tmp_path / "keycliq.yaml")
    assert loaded.env("staging").app == "kq-stage"
    assert (tmp_path / ".github/workflows/deploy.yml").read_text() == ci_workflow()
    for folder in ("checklists", "dataclips"):
        readme = (tmp_path / folder / "README.md").read_text()
        assert readme.count("\n") == 1 and "shipped" in readme
    # the empty folders are the repo layer, and do not disturb the catalogue
    assert loaded.dataclip_catalog().ids()[0] == "A"
    assert loaded.checklist_catalog().names() == ["production", "staging"]
    text = (tmp_path / "keycliq-answers.yaml").read_text()
    assert "CHANGE ME" in text
    preflight(tmp_path / "keycliq-answers.yaml", "staging", "production")


def test_init_never_overwrites_and_says_which_it_kept(
    cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # a long temp path must not wrap the lines
    (tmp_path / "keycliq-answers.yaml").write_text("# ours\n")
    (tmp_path / "checklists").mkdir()
    (tmp_path / "checklists" / "README.md").write_text("our own\n")
    result = cli("init", "--dir", str(tmp_path))
    assert result.code == 0, result.output
    assert (tmp_path / "keycliq-answers.yaml").read_text() == "# ours\n"
    assert (tmp_path / "checklists" / "README.md").read_text() == "our own\n"
    kept = [line for line in result.stderr.splitlines() if line.startswith("kept ")]
    assert kept == [
        f"kept {tmp_path / 'keycliq-answers.yaml'} (it exists; not overwritten)",
        f"kept {tmp_path / 'checklists' / 'README.md'} (it exists; not overwritten)",
    ]
    assert f"wrote {tmp_path / 'keycliq.yaml'}" in result.stderr
    before = {n: (tmp_path / n).read_text() for n in FILES}
    (tmp_path / "keycliq.yaml").write_text(before["keycliq.yaml"] + "# edited\n")
    again = cli("init", "--dir", str(tmp_path))
    assert again.code == 0 and "nothing to write: every file exists" in again.stderr
    assert (tmp_path / "keycliq.yaml").read_text().endswith("# edited\n")
    forced = cli("init", "--dir", str(tmp_path), "--force")
    assert forced.code == 0 and f"wrote {tmp_path / 'keycliq.yaml'}" in forced.stderr
    assert (tmp_path / "keycliq.yaml").read_text() == before["keycliq.yaml"]
    assert (tmp_path / "keycliq-answers.yaml").read_text() == "# ours\n"


def test_init_answers_follow_the_repos_own_checklists(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "checklists").mkdir()
    (tmp_path / "checklists" / "staging.yaml").write_text(
        "title: Ours\nsections:\n  - title: S\n    items:\n"
        "      - id: our-check\n        kind: confirm\n        text: We looked.\n"
    )
    assert cli("init", "--dir", str(tmp_path)).code == 0
    text = (tmp_path / "keycliq-answers.yaml").read_text()
    assert "our-check:" in text and "migrations-applied:" not in text
    preflight(tmp_path / "keycliq-answers.yaml", "staging", folder=tmp_path / "checklists")


def test_init_into_a_missing_folder_is_a_usage_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("init", "--dir", str(tmp_path / "nope"))
    assert result.code == 2 and "is not a folder" in result.stderr


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "keycliq.yaml").write_text(
        "version: 1\nenvironments:\n"
        "  staging:\n    app: keycliq-staging\n"
        "  production:\n    app: keycliq-production\n    stage: production\n"
        "  review:\n    app: keycliq-review\n    stage: review\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_checklist_answers_for_an_environment(cli, checkout: Path) -> None:  # type: ignore[no-untyped-def]
    by_arg = cli("checklist", "answers", "staging")
    assert by_arg.code == 0, by_arg.output
    assert "  staging:\n    answers:\n" in by_arg.stdout and "test-user:" in by_arg.stdout
    assert cli("checklist", "answers", "-e", "staging").stdout == by_arg.stdout
    assert cli("checklist", "answers", "--env", "keycliq-staging").stdout == by_arg.stdout
    path = checkout / "staging-answers.yaml"
    path.write_text(by_arg.stdout)
    preflight(path, "staging")
    prod = cli("checklist", "answers", "-e", "production")
    assert prod.code == 0 and "light-scan:" in prod.stdout and "test-user" not in prod.stdout


def test_checklist_answers_by_name_and_errors(cli, checkout: Path) -> None:  # type: ignore[no-untyped-def]
    named = cli("checklist", "answers", "--checklist", "production")
    assert named.code == 0 and "  production:\n" in named.stdout
    no_env = cli("checklist", "answers")
    assert no_env.code == 2
    assert no_env.stderr.startswith("error: checklist answers needs an environment (known: ")
    none = cli("checklist", "answers", "review")
    assert none.code == 2 and "environment 'review' walks no checklist" in none.stderr
    unknown = cli("checklist", "answers", "qa")
    assert unknown.code == 2 and "unknown environment 'qa'" in unknown.stderr
    missing = cli("checklist", "answers", "--checklist", "beta")
    assert missing.code == 2 and "no checklist 'beta'" in missing.stderr


def test_checklist_answers_uses_the_repos_checklist(cli, checkout: Path) -> None:  # type: ignore[no-untyped-def]
    (checkout / "checklists").mkdir()
    (checkout / "checklists" / "staging.yaml").write_text(
        "title: Ours\nsections:\n  - title: S\n    items:\n"
        "      - id: our-check\n        kind: confirm\n        text: We looked.\n"
    )
    result = cli("checklist", "answers", "staging")
    assert result.code == 0
    assert "our-check:" in result.stdout and "test-user" not in result.stdout


def test_checklist_answers_without_a_config(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("checklist", "answers", "--checklist", "staging")
    assert result.code == 0 and "deployed:" in result.stdout and "key-deleted:" in result.stdout
    no_config = cli("checklist", "answers", "staging")
    assert no_config.code == 2 and "--checklist NAME" in no_config.stderr
