"""The CI example (``.github/workflows/deploy.yml``) runs, line for line, on the stand-in.

Each job's ``run:`` blocks are taken from the YAML and run by ``bash -eo pipefail`` (what
``shell: bash`` means on GitHub) in a fresh clone of the shared remote, as
``actions/checkout`` would leave it, with stdin not a terminal. Only two blocks are not
run, because they download packages: installing keycliq (this checkout's ``keycliq`` is on
PATH instead) and ``npm ci`` (the sample app's tests need no packages). The differences
from GitHub are the stand-in's own: ``HEROKU_API_URL`` points at it, and git is told that
``https://git.heroku.com/`` is its folder of app repositories (``url.<dir>.insteadOf``).

The deploy job runs on a push to main; then the promote job runs in a *new* clone, so it
passes its ledger gate only if the deploy job's ledger reached it through the
``keycliq-ledger`` branch, as the example promises. No job has a line of shell for the
ledger: keycliq fetches and pushes the branch itself (``keycliq ledger sync`` is the only
ledger command, before and after each job's action).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.world import World

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "deploy.yml"
DOWNLOADS = {"install", "app-deps"}  # step ids that fetch packages from the network
SECRET = "${{ secrets.HEROKU_API_KEY }}"
STAGING = "keycliq-staging"
PRODUCTION = "keycliq-production"


def workflow() -> dict[Any, Any]:
    doc = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def run_blocks(job: dict[str, Any]) -> list[tuple[str, str]]:
    """(step name, script) of each ``run:`` step that does not download packages."""
    blocks = []
    for step in job["steps"]:
        if "run" in step and step.get("id") not in DOWNLOADS:
            blocks.append((step.get("name", step["run"][:40]), step["run"]))
    return blocks


def test_the_workflow_is_what_the_readme_says() -> None:
    doc = workflow()
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert on["push"]["branches"] == ["main"] and "workflow_dispatch" in on
    assert doc["defaults"]["run"]["shell"] == "bash"
    deploy, promote = doc["jobs"]["deploy-staging"], doc["jobs"]["promote"]
    assert "github.event_name == 'push'" in deploy["if"]
    assert "github.event_name == 'workflow_dispatch'" in promote["if"]
    assert promote["environment"] == "production"  # where the required reviewers are set
    for job in (deploy, promote):
        assert job["env"]["HEROKU_API_KEY"] == SECRET
        ids = {s.get("id") for s in job["steps"]}
        assert "install" in ids
        scripts = [s["run"] for s in job["steps"] if "run" in s]
        assert not any("${{" in script for script in scripts)  # no expression injection
        uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload")]
        assert len(uploads) == 1 and uploads[0]["if"] == "always()"
        assert ".keycliq/reports/" in uploads[0]["with"]["path"]
        assert uploads[0]["with"]["include-hidden-files"] is True  # else .keycliq/ is left out
    deploy_line = " ".join(s for _, s in run_blocks(deploy) if "keycliq deploy" in s)
    for flag in ("deploy staging", "--yes", "--answers keycliq-answers.yaml", "--json"):
        assert flag in " ".join(deploy_line.split())
    promote_line = " ".join(s for _, s in run_blocks(promote) if "keycliq promote" in s)
    assert "--confirm keycliq-production" in promote_line and "--json" in promote_line
    # Only the package downloads are left out of the end-to-end run below.
    skipped = [
        s.get("id") for j in (deploy, promote) for s in j["steps"] if s.get("id") in DOWNLOADS
    ]
    assert sorted(skipped) == ["app-deps", "install", "install"]
    # The ledger is keycliq's business: no git plumbing or file copying in any step.
    for job in (deploy, promote):
        scripts = "\n".join(s for _, s in run_blocks(job))
        for shell in (
            "commit-tree",
            "mktree",
            "hash-object",
            "git show",
            "git fetch",
            "ledger.jsonl",
        ):
            assert shell not in scripts, shell
        assert "keycliq ledger sync" in scripts
        publish = [s for s in job["steps"] if s.get("run") == "keycliq ledger sync"]
        assert publish and publish[-1]["if"] == "always()"


class Runner:
    """Runs a job's blocks in a checkout, as a GitHub runner would."""

    def __init__(self, world: World, tmp: Path) -> None:
        self.world = world
        self.temp = tmp / "runner-temp"
        self.temp.mkdir()
        self.doc = workflow()
        git_dir = Path(world.sandbox.git_url(STAGING)).parent
        subprocess.run(
            ["git", "config", "--global", f"url.{git_dir}/.insteadOf", "https://git.heroku.com/"],
            check=True,
        )
        self.outputs: list[str] = []

    def checkout(self, dest: Path) -> Path:
        subprocess.run(
            ["git", "clone", "--quiet", str(self.world.prov.origin), str(dest)],
            check=True,
            capture_output=True,
        )
        return dest

    def env(self, job_name: str, job: dict[str, Any]) -> dict[str, str]:
        env = dict(os.environ)  # the hermetic env, plus HEROKU_API_URL for the stand-in
        env.update({k: str(v) for k, v in self.doc["env"].items()})
        for name, value in job["env"].items():
            assert value == SECRET, f"{name}: only the token comes from an expression"
            env[name] = self.world.sandbox.token
        env.update(
            RUNNER_TEMP=str(self.temp),
            GITHUB_ACTIONS="true",
            CI="true",
            GITHUB_WORKFLOW=str(self.doc["name"]),
            GITHUB_RUN_ID="4242",
            GITHUB_JOB=job_name,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        )
        return env

    def run_job(self, job_name: str, checkout: Path) -> None:
        job = self.doc["jobs"][job_name]
        env = self.env(job_name, job)
        for name, script in run_blocks(job):
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                cwd=checkout,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            self.outputs.append(proc.stdout + proc.stderr)
            assert proc.returncode == 0, f"{job_name} / {name}:\n{proc.stdout}\n{proc.stderr}"

    def artifacts(self, job_name: str, checkout: Path) -> list[Path]:
        """The paths the job's upload step names, resolved as the runner would."""
        step = next(
            s for s in self.doc["jobs"][job_name]["steps"] if "upload-artifact" in s.get("uses", "")
        )
        lines = [ln.strip() for ln in step["with"]["path"].splitlines() if ln.strip()]
        return [checkout / ln.replace("${{ runner.temp }}", str(self.temp)) for ln in lines]


def result_of(jsonl: Path) -> dict[str, Any]:
    events = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
    assert events and events[-1]["event"] == "result"
    return events[-1]


def ledger_branch(origin: Path) -> tuple[int, str]:
    """(commits on keycliq-ledger, its ledger.jsonl) in the shared remote."""
    count = subprocess.run(
        ["git", "rev-list", "--count", "keycliq-ledger"],
        cwd=origin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    text = subprocess.run(
        ["git", "show", "keycliq-ledger:ledger.jsonl"],
        cwd=origin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(count), text


def current_commit(world: World, app: str) -> str | None:
    rel = world.sandbox.engine.app(app).current
    assert rel is not None and rel.slug is not None
    return rel.slug.commit


def test_the_ci_example_deploys_then_promotes(
    world: World,
    tmp_path: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    head = world.prov.sample.head
    runner = Runner(world, tmp_path)

    # Push to main: the deploy-staging job.
    first = runner.checkout(tmp_path / "run-1")
    runner.run_job("deploy-staging", first)
    assert "shared with origin/keycliq-ledger: 0 records" in runner.outputs[1]  # a new ledger
    assert current_commit(world, STAGING) == head
    deployed = result_of(runner.temp / "keycliq-deploy.jsonl")
    assert deployed["outcome"] == "succeeded" and deployed["commit"] == head
    for path in runner.artifacts("deploy-staging", first):
        assert path.exists(), path
    assert list((first / ".keycliq" / "reports").glob("*.md"))
    commits, ledger = ledger_branch(world.prov.origin)
    assert commits >= 1 and deployed["ledger_id"] in ledger
    assert deployed["ledger_shared"] is True
    assert (
        subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=first, capture_output=True, text=True, check=True
        ).stdout.strip()
        == head
    )  # the job pushed nothing to main

    # "Run workflow": the promote job, on another runner.
    second = runner.checkout(tmp_path / "run-2")
    before = len(runner.outputs)
    runner.run_job("promote", second)
    restored = runner.outputs[before]  # the sync step: the deploy job's ledger, verified
    assert "2 records (2 taken in)" in restored and "intact" in restored  # start, end
    assert current_commit(world, PRODUCTION) == head
    promoted = result_of(runner.temp / "keycliq-promote.jsonl")
    assert promoted["outcome"] == "succeeded" and promoted["commit"] == head
    for path in runner.artifacts("promote", second):
        assert path.exists(), path
    commits_after, ledger = ledger_branch(world.prov.origin)
    assert commits_after > commits and promoted["ledger_id"] in ledger
    assert promoted["ledger_shared"] is True
    # The ledger on the branch verifies, and holds the deploy the promotion was gated on.
    copy = tmp_path / "ledger-copy.jsonl"
    copy.write_text(ledger)
    monkeypatch.setenv("KEYCLIQ_LEDGER", str(copy))
    verify = cli("ledger", "verify", "--json")
    assert verify.code == 0 and json.loads(verify.stdout)["ok"] is True
    actions = [json.loads(x)["action"] for x in ledger.splitlines() if x.strip()]
    assert actions.count("deploy") == 2 and actions.count("promote") == 2  # start + end each

    # No secret in any step's output, artifact or the ledger.
    token = world.sandbox.token
    texts = [*runner.outputs, ledger, (runner.temp / "keycliq-deploy.jsonl").read_text()]
    assert not [t for t in texts if token in t or re.search(r"postgres(ql)?://", t)]
