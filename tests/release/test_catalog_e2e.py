"""Acceptance: a repository's own ``dataclips/`` and ``checklists/`` layer over the shipped
catalogue with no configuration, and a staging deploy on the stand-in runs them."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

from keycliq_ops.config.loading import SHIPPED_CHECKLISTS, SHIPPED_DATACLIPS
from tests.world import World

DEPLOY = ("deploy", "staging", "--yes", "--answers", "keycliq-answers.yaml")
SHIPPED_IDS = ["A", "B", "C", "D", "E1", "E2", "E3", "E4", "F", "G", "H", "I", "J"]

# In the format of the shipped dataclips/A_global_counts.sql.
K_SQL = """\
-- id: K
-- title: Keys and their signatures, counted
-- description: The team's own check: every key table answers, and the signatures are
--   no more than keys and key queries together.
-- severity: high
-- tags: integrity, after-deploy
-- returns: one-row
-- expect: keys >= 0
-- expect: signatures <= keys_and_queries
SELECT
    (SELECT count(*) FROM keys) AS keys,
    (SELECT count(*) FROM key_signatures) AS signatures,
    (SELECT count(*) FROM keys) + (SELECT count(*) FROM key_queries) AS keys_and_queries;
"""

K_ITEM = """
  - title: "10. The team's own checks"
    items:
      - id: own-counts
        kind: dataclip
        text: The team's check K passes on {app}.
        dataclips: [K]
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def add_own_catalogue(repo: Path) -> None:
    (repo / "dataclips").mkdir(exist_ok=True)
    (repo / "dataclips" / "K_key_signature_counts.sql").write_text(K_SQL)
    (repo / "checklists").mkdir(exist_ok=True)
    # the sample's own staging checklist (the shipped one with its dyno items runnable on
    # the stand-in) plus the team's item
    ours = repo / "checklists" / "staging.yaml"
    base = ours.read_text() if ours.exists() else (SHIPPED_CHECKLISTS / "staging.yaml").read_text()
    ours.write_text(base.rstrip("\n") + "\n" + K_ITEM)
    config = repo / "keycliq.yaml"
    text, n = re.subn(
        r"(\n    stage: staging\n)", r"\1    dataclips: [E1, E2, E3, F, G, K]\n", config.read_text()
    )
    assert n == 1, "the sample keycliq.yaml changed shape"
    config.write_text(text)
    git(repo, "add", "dataclips", "checklists", "keycliq.yaml")
    git(repo, "commit", "-q", "-m", "Our own Dataclip K and staging checklist")


def test_repo_catalogue_layers_over_the_shipped_one_and_a_deploy_runs_it(
    world: World,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    add_own_catalogue(world.repo)

    listed = cli("dataclips", "list", "--json")
    assert listed.code == 0, listed.output
    rows = {c["id"]: c for c in json.loads(listed.stdout)}
    assert list(rows) == [*SHIPPED_IDS, "K"]
    assert rows["K"]["source"] == "repo" and not rows["K"]["overrides_shipped"]
    assert rows["K"]["path"] == str(world.repo / "dataclips" / "K_key_signature_counts.sql")
    assert all(rows[i]["source"] == "shipped" for i in SHIPPED_IDS)
    assert rows["A"]["path"] == str(SHIPPED_DATACLIPS / "A_global_counts.sql")
    table = cli("dataclips", "list")
    k_line = next(line for line in table.stdout.splitlines() if line.startswith("│ K "))
    assert "repo" in k_line
    checklists = {c["name"]: c for c in json.loads(cli("checklist", "list", "--json").stdout)}
    assert checklists["staging"]["source"] == "repo" and checklists["staging"]["overrides_shipped"]
    assert checklists["production"]["source"] == "shipped"

    head = git(world.repo, "rev-parse", "HEAD")
    result = cli(*DEPLOY)
    assert result.code == 0, result.output
    # the step output: the repo's checklist item was walked, the gate ran K
    assert "own-counts" in result.output
    assert re.search(r"\bK\s+pass\b", result.output), result.output

    end = world.last_record()
    assert end["outcome"] == "succeeded" and end["commit"] == head
    checklist = end["checklist"]
    assert isinstance(checklist, dict)
    assert checklist["verdict"] == "passed"
    # the checklist walked is the repository's file (its digest), not the shipped one
    ours = (world.repo / "checklists" / "staging.yaml").read_bytes()
    assert checklist["digest"] == hashlib.sha256(ours).hexdigest()
    item = next(i for i in checklist["items"] if i["id"] == "own-counts")
    assert item["verdict"] == "passed"
    assert [(c["id"], c["verdict"]) for c in item["checks"]] == [("K", "pass")]
    gate = {d["id"]: d for d in end["dataclips"]}  # type: ignore[union-attr]
    assert list(gate) == ["E1", "E2", "E3", "F", "G", "K"]
    assert gate["K"]["verdict"] == "pass" and "signatures" in gate["K"]["numbers"]
