"""The git adapter against real repositories in temp folders (bare remotes + a clone)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from keycliq_ops.adapters.git import Repo, repo_root
from keycliq_ops.base.errors import EXIT_EXTERNAL, EXIT_USAGE, GitError

HOOK = """#!/bin/sh
# A Heroku-like remote: prints a build log, refuses the push when the commit has FAIL.
while read old new ref; do
  echo "-----> Building on the Heroku-24 stack"
  if git cat-file -e "$new:FAIL" 2>/dev/null; then
    echo " !     Push rejected, failed to compile Node.js app."
    exit 1
  fi
  echo "-----> Build succeeded! $new"
done
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit(repo: Path, name: str, subject: str) -> str:
    (repo / name).write_text(subject + "\n")
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", subject)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def remotes(tmp_path: Path) -> tuple[Path, Path]:
    origin = tmp_path / "origin.git"
    heroku = tmp_path / "heroku-staging.git"
    for bare in (origin, heroku):
        git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    hook = heroku / "hooks" / "pre-receive"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    return origin, heroku


@pytest.fixture
def clone(tmp_path: Path, remotes: tuple[Path, Path]) -> Path:
    origin, heroku = remotes
    work = tmp_path / "keycliq"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "remote", "add", "origin", str(origin))
    git(work, "remote", "add", "heroku-staging", str(heroku))
    commit(work, "README.md", "Initial commit")
    git(work, "push", "-q", "origin", "main")
    return work


def test_root_branch_head(clone: Path) -> None:
    sub = clone / "app" / "routes"
    sub.mkdir(parents=True)
    assert repo_root(sub) == clone.resolve()
    repo = Repo.discover(sub)
    assert repo.current_branch() == "main"
    head = git(clone, "rev-parse", "HEAD")
    assert repo.head_commit() == head
    assert repo.resolve(head[:7]) == head
    assert repo.resolve("0" * 40) is None
    git(clone, "checkout", "-q", "--detach")
    assert repo.current_branch() is None


def test_outside_a_repository(tmp_path: Path) -> None:
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    with pytest.raises(GitError) as info:
        repo_root(lonely)
    assert "not a git repository" in info.value.message
    assert "checkout" in (info.value.hint or "")
    assert info.value.exit_code == EXIT_USAGE  # not a checkout: the input, not an outside failure


def test_repository_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main", "empty")
    with pytest.raises(GitError, match="no commits"):
        Repo.discover(tmp_path / "empty").head_commit()


def test_dirty_files(clone: Path) -> None:
    repo = Repo(clone)
    assert repo.is_clean() and repo.dirty_files() == []
    (clone / "README.md").write_text("changed\n")
    (clone / "new file.txt").write_text("x\n")
    commit(clone, "old.txt", "Add old")
    git(clone, "mv", "old.txt", "renamed.txt")
    dirty = {d.path: d for d in repo.dirty_files()}
    assert set(dirty) == {"README.md", "new file.txt", "renamed.txt"}
    assert dirty["new file.txt"].untracked
    assert dirty["README.md"].code == " M"
    assert dirty["renamed.txt"].code.startswith("R")
    assert not repo.is_clean()


def test_commits_between_and_remote_reachability(clone: Path) -> None:
    repo = Repo(clone)
    base = repo.head_commit()
    first = commit(clone, "a.txt", "Add scan retries")
    second = commit(clone, "b.txt", "Fix NO_MATCH validation")
    assert [c.subject for c in repo.commits_between(base, second)] == [
        "Fix NO_MATCH validation",
        "Add scan retries",
    ]
    assert repo.commits_between(second, base) == []
    assert repo.is_ancestor(base, second) and not repo.is_ancestor(second, base)
    # Only origin/main (fetched) counts: the two new commits are local so far.
    assert repo.commit_on_remote("origin", base)
    assert not repo.commit_on_remote("origin", first)
    assert not repo.commit_on_remote("origin", "f" * 40)
    git(clone, "push", "-q", "origin", "main")
    assert repo.commit_on_remote("origin", second)
    with pytest.raises(GitError, match="no git remote named 'upstream'"):
        repo.commit_on_remote("upstream", second)


def test_remote_url_and_identity(clone: Path, remotes: tuple[Path, Path]) -> None:
    repo = Repo(clone)
    assert repo.remote_url("heroku-staging") == str(remotes[1])
    assert repo.user_name() is None
    git(clone, "config", "user.name", "Dana Developer")
    git(clone, "config", "user.email", "dana@keycliq.example")
    assert (repo.user_name(), repo.user_email()) == ("Dana Developer", "dana@keycliq.example")


def test_push_streams_remote_lines(clone: Path, remotes: tuple[Path, Path]) -> None:
    repo = Repo(clone)
    head = commit(clone, "app.js", "Ship it")
    seen: list[str] = []
    result = repo.push("heroku-staging", head, on_line=seen.append)
    assert "remote: -----> Building on the Heroku-24 stack" in seen
    assert f"remote: -----> Build succeeded! {head}" in seen
    assert result.output == tuple(seen) and result.ref == "refs/heads/main"
    assert git(remotes[1], "rev-parse", "main") == head


def test_push_rejected_by_failed_build(clone: Path, remotes: tuple[Path, Path]) -> None:
    repo = Repo(clone)
    head = commit(clone, "FAIL", "Break the build")
    seen: list[str] = []
    with pytest.raises(GitError) as info:
        repo.push("heroku-staging", head, on_line=seen.append)
    assert "refused by the remote" in info.value.message
    assert "build failed" in (info.value.hint or "")
    assert any("failed to compile" in line for line in seen)
    unborn = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", "main"], cwd=remotes[1], check=False
    )
    assert unborn.returncode != 0  # nothing reached the remote


def test_non_fast_forward_needs_force(clone: Path, remotes: tuple[Path, Path]) -> None:
    repo = Repo(clone)
    ahead = commit(clone, "x.txt", "Newer")
    repo.push("heroku-staging", ahead)
    older = git(clone, "rev-parse", "HEAD~1")
    with pytest.raises(GitError) as info:
        repo.push("heroku-staging", older)
    assert "non-fast-forward" in info.value.message
    assert "--force" in (info.value.hint or "")
    assert git(remotes[1], "rev-parse", "main") == ahead
    repo.push("heroku-staging", older, force=True)
    assert git(remotes[1], "rev-parse", "main") == older


def test_push_to_a_missing_remote(clone: Path) -> None:
    with pytest.raises(GitError) as info:
        Repo(clone).push("heroku-nowhere", "HEAD")
    assert "no git remote named 'heroku-nowhere'" in info.value.message
    assert "git remote add heroku-nowhere" in (info.value.hint or "")


# -- the quick queries other layers ask (who, which commit), through one timeout ------------


def test_git_config_and_head_commit_on_a_real_repository(tmp_path: Path) -> None:
    from keycliq_ops.adapters.git import git_config, head_commit

    work = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    assert head_commit(work) is None  # no commits yet
    git(work, "config", "user.name", "Pat Tester")
    git(work, "config", "user.email", "pat@example.com")
    sha = commit(work, "a.txt", "first")
    assert head_commit(work) == sha
    assert git_config(work, "user.name") == "Pat Tester"
    assert git_config(work, "user.email") == "pat@example.com"
    assert git_config(work, "keycliq.unset") is None
    assert Repo(work).user_name() == "Pat Tester"


def test_quick_queries_outside_a_repository_answer_none(tmp_path: Path) -> None:
    from keycliq_ops.adapters.git import git_config, head_commit

    plain = tmp_path / "plain"
    plain.mkdir()
    assert head_commit(plain) is None
    assert git_config(plain, "keycliq.unset") is None
    assert head_commit(tmp_path / "missing") is None  # not even a folder
    assert git_config(tmp_path / "missing", "user.name") is None


def test_git_that_does_not_answer_in_time_is_a_git_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keycliq_ops.adapters import git as git_adapter

    seen: dict[str, object] = {}

    def hung(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        seen["timeout"] = kw.get("timeout")
        raise subprocess.TimeoutExpired(argv, float(kw["timeout"]))  # type: ignore[arg-type]

    monkeypatch.setattr(git_adapter.subprocess, "run", hung)
    with pytest.raises(GitError, match=r"git config did not answer within 10s") as info:
        git_adapter.run_git(["config", "--get", "user.name"], tmp_path, timeout=10)
    assert info.value.exit_code == EXIT_EXTERNAL  # git hung: an outside failure
    # the optional questions use the one quick timeout and swallow the failure
    assert git_adapter.git_config(tmp_path, "user.name") is None
    assert seen["timeout"] == git_adapter.QUICK_TIMEOUT
    assert git_adapter.head_commit(tmp_path) is None


def test_ledger_actor_and_checklist_actor_ask_the_git_adapter(tmp_path: Path) -> None:
    from keycliq_ops.checklists.wiring import actor
    from keycliq_ops.ledger.actor import detect_actor

    work = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "config", "user.name", "Pat Tester")
    git(work, "config", "user.email", "pat@example.com")
    found = detect_actor(work, "pat@heroku.example")
    assert (found.git_name, found.git_email, found.heroku_email) == (
        "Pat Tester",
        "pat@example.com",
        "pat@heroku.example",
    )
    assert actor(work) == "Pat Tester <pat@example.com>"
    outside = detect_actor(tmp_path / "missing")
    assert outside.git_name is None and outside.git_email is None
