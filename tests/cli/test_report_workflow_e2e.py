"""The scheduled report example (``.github/workflows/report.yml``) runs, line for line, on
the stand-in, with no terminal.

As in test_ci_example_e2e.py, each ``run:`` block is run by ``bash -eo pipefail`` in a
fresh clone of the shared remote (what ``actions/checkout`` leaves), stdin not a terminal;
only the ``install`` step is left out (this checkout's ``keycliq`` is on PATH). A step
after a failed one runs only when it says ``if: always()``, as on GitHub. The stand-in's
differences: ``HEROKU_API_URL`` and ``KEYCLIQ_CLOUDINARY_API`` point at it.

Two scheduled runs: the first on the provisioned data passes; then production's scans stop
matching, and the second run, in a new clone, fails at the report step, still uploads the
page, and charts both runs (the history came back through the ``keycliq-health`` branch).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from tests.ops.test_report_e2e import add_scans
from tests.world import World

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "report.yml"
JOB = "report-production"
SECRET = "${{ secrets.HEROKU_API_KEY }}"


def workflow() -> dict[Any, Any]:
    doc = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def test_the_workflow_is_scheduled_and_uploads_whatever_happens() -> None:
    doc = workflow()
    on = doc.get("on", doc.get(True))
    assert isinstance(on, dict)
    assert on["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"]  # daily
    assert "workflow_dispatch" in on
    job = doc["jobs"][JOB]
    assert job["env"]["HEROKU_API_KEY"] == SECRET
    scripts = [s["run"] for s in job["steps"] if "run" in s]
    assert not any("${{" in script for script in scripts)  # no expression injection
    assert any("keycliq report production" in " ".join(s.split()) for s in scripts)
    upload = next(s for s in job["steps"] if "upload-artifact" in str(s.get("uses", "")))
    assert isinstance(upload, dict)
    assert upload["if"] == "always()" and "keycliq-health.html" in upload["with"]["path"]


class Runner:
    def __init__(self, world: World, tmp: Path) -> None:
        self.world = world
        self.temp = tmp / "runner-temp"
        self.temp.mkdir()
        self.doc = workflow()

    def checkout(self, dest: Path) -> Path:
        subprocess.run(
            ["git", "clone", "--quiet", str(self.world.prov.origin), str(dest)],
            check=True,
            capture_output=True,
        )
        return dest

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({k: str(v) for k, v in self.doc["env"].items()})
        job = self.doc["jobs"][JOB]
        for name, value in job["env"].items():
            assert value == SECRET
            env[name] = self.world.sandbox.token
        env.update(
            RUNNER_TEMP=str(self.temp),
            GITHUB_ACTIONS="true",
            CI="true",
            GITHUB_RUN_ID="4343",
            GITHUB_JOB=JOB,
            KEYCLIQ_CLOUDINARY_API=self.world.sandbox.url,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        )
        return env

    def run_job(self, checkout: Path) -> dict[str, int]:
        """Each step's exit code (by name); after a failure only ``always()`` steps run."""
        codes: dict[str, int] = {}
        failed = False
        for step in self.doc["jobs"][JOB]["steps"]:
            if "run" not in step or step.get("id") == "install":
                continue
            if failed and step.get("if") != "always()":
                continue
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=checkout,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            codes[step["name"]] = proc.returncode
            if proc.returncode != 0:
                failed = True
                self.last_error = proc.stdout + proc.stderr
        return codes

    def artifacts(self) -> list[Path]:
        step = next(
            s for s in self.doc["jobs"][JOB]["steps"] if "upload-artifact" in s.get("uses", "")
        )
        lines = [ln.strip() for ln in step["with"]["path"].splitlines() if ln.strip()]
        return [Path(ln.replace("${{ runner.temp }}", str(self.temp))) for ln in lines]


def test_two_scheduled_runs_pass_then_fail_on_a_breach(world: World, tmp_path: Path) -> None:
    runner = Runner(world, tmp_path)
    report_step = next(
        s["name"] for s in runner.doc["jobs"][JOB]["steps"] if "keycliq report" in s.get("run", "")
    )

    codes = runner.run_job(runner.checkout(tmp_path / "run-1"))
    assert set(codes.values()) == {0}, getattr(runner, "last_error", codes)
    first = json.loads((runner.temp / "keycliq-report.json").read_text())
    assert first["ok"] is True and first["environment"] == "production"
    assert all(path.exists() for path in runner.artifacts())

    # Production's scans stop matching.
    add_scans(
        world.database_url("keycliq-production"),
        match_type="NO_MATCH",
        n=80,
        around=datetime.now(UTC) + timedelta(minutes=50),
        tag="wf",
    )
    codes = runner.run_job(runner.checkout(tmp_path / "run-2"))
    assert codes[report_step] == 1  # the job fails visibly
    assert [c for name, c in codes.items() if name != report_step] == [0] * (len(codes) - 1)
    second = json.loads((runner.temp / "keycliq-report.json").read_text())
    assert second["ok"] is False
    assert second["breaches"][0]["kind"] == "no_match_share"
    assert len(second["run_times"]) == 2  # the first run's numbers came back from the branch
    page = runner.temp / "keycliq-health.html"
    assert page.exists() and second["breaches"][0]["message"] in page.read_text()
    history = subprocess.run(
        ["git", "show", "keycliq-health:dataclips-history.jsonl"],
        cwd=world.prov.origin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert len([line for line in history.splitlines() if line.strip()]) == 2
    token = world.sandbox.token
    assert token not in page.read_text() and token not in history
