"""Helpers of the sandbox tests: real git pushes, commits, reading streams to their end."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx


def push(
    repo: Path, remote: str, ref: str, *, force: bool = False
) -> subprocess.CompletedProcess[str]:
    """A real ``git push``; its output (git writes progress and ``remote:`` to stderr)."""
    args = ["git", "push", *(["--force"] if force else []), remote, ref]
    return subprocess.run(args, cwd=repo, capture_output=True, text=True, check=False)


def commit_files(repo: Path, files: dict[str, str], message: str) -> str:
    """Write ``files`` in ``repo`` (created on first use, branch main), commit, return sha."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, check=True)
    out = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def follow(client: httpx.Client, url: str) -> str:
    """Read a stream URL to its end (it ends when the process it shows ends)."""
    with client.stream("GET", url) as resp:
        assert resp.status_code == 200
        return "".join(resp.iter_text())


def release_done(client: httpx.Client, app: str, version: int | str) -> dict[str, object]:
    """The release once final: follow its release-phase output to the end, then read it."""
    rel = client.get(f"/apps/{app}/releases/{version}").json()
    if rel["output_stream_url"]:
        follow(client, rel["output_stream_url"])
    final: dict[str, object] = client.get(f"/apps/{app}/releases/{version}").json()
    return final


# How often :func:`promotion_target_released` asks again: a poll interval, not a timing a
# test depends on (the wait ends on the answer, or fails after a minute).
_POLL_SECONDS = 0.05


def promotion_target_released(client: httpx.Client, promotion_id: str) -> dict[str, Any]:
    """The promotion's first target once its release exists. The target's release is made
    by the promotion's worker a moment after the promotion is created (as on Heroku, where
    the CLI polls the targets the same way)."""
    deadline = time.monotonic() + 60
    while True:
        target: dict[str, Any] = client.get(
            f"/pipeline-promotions/{promotion_id}/promotion-targets"
        ).json()[0]
        if target["release"] is not None or time.monotonic() > deadline:
            return target
        time.sleep(_POLL_SECONDS)
