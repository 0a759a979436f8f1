"""The git adapter: the few questions keycliq asks of a checkout, and the deploy push.

Every git failure becomes :class:`~keycliq_ops.base.errors.GitError` carrying git's own message
and a hint; what the user must fix in the checkout (git not installed, not a git repository,
no commits yet) is the usage error :class:`~keycliq_ops.base.errors.CheckoutError` (exit 2).
git runs with ``LC_ALL=C`` (messages keycliq parses are English) and
``GIT_TERMINAL_PROMPT=0`` (a missing credential fails instead of waiting for a password).
URLs with credentials in git's output are redacted before they reach a caller. Quick local
queries (``git config``, ``rev-parse``) give up after :data:`QUICK_TIMEOUT` seconds.
:func:`git_config` and :func:`head_commit` are for callers to whom git is optional (who ran
this, which commit is checked out): they return None instead of raising.

This module is the only place keycliq runs git.

Example::

    repo = Repo.discover()
    if not repo.is_clean():
        print(repo.dirty_files())
    repo.push("heroku-staging", repo.head_commit(), on_line=print)
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from keycliq_ops.base.errors import CheckoutError, GitError
from keycliq_ops.base.redact import redact_url

QUICK_TIMEOUT = 10.0  # seconds: a local question (config, rev-parse, symbolic-ref)


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:8]


@dataclass(frozen=True)
class DirtyFile:
    """One line of ``git status --porcelain``: ``code`` is git's two-letter XY status."""

    code: str
    path: str

    @property
    def untracked(self) -> bool:
        return self.code == "??"


@dataclass(frozen=True)
class PushResult:
    remote: str
    commit: str
    ref: str
    output: tuple[str, ...]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"LC_ALL": "C", "LANG": "C", "GIT_TERMINAL_PROMPT": "0"})
    return env


def _last_error(text: str) -> str:
    lines = [redact_url(x.strip()) for x in text.splitlines() if x.strip()]
    errors = [x for x in lines if x.startswith(("fatal:", "error:"))]
    return (errors or lines or ["(no output)"])[-1]


def run_git(
    args: Sequence[str],
    cwd: Path | None = None,
    *,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run git; GitError with git's message when it fails (and ``check``), when it cannot
    be started, or when it runs longer than ``timeout`` seconds (None: no limit)."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env=_env(),
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not answer within {timeout:g}s") from None
    except FileNotFoundError:
        if cwd is not None and not cwd.is_dir():
            raise CheckoutError(f"git {args[0]}: no folder {cwd}") from None
        raise CheckoutError(
            "git is not installed (or not on PATH)", hint="install git and run again"
        ) from None
    except OSError as exc:
        raise GitError(f"cannot run git {args[0]}: {exc.strerror or exc}") from None
    if check and proc.returncode != 0:
        message = _last_error(proc.stderr or proc.stdout)
        if "not a git repository" in message:
            raise CheckoutError(
                f"git {args[0]}: {message}",
                hint="run keycliq inside your KeyCliq checkout (or pass --config), "
                "or make this folder one: git init && git add -A && git commit",
            )
        raise GitError(f"git {args[0]}: {message}")
    return proc


def repo_root(path: Path | None = None) -> Path:
    """The top folder of the work tree containing ``path`` (default: the working dir)."""
    out = run_git(
        ["rev-parse", "--show-toplevel"], cwd=path or Path.cwd(), timeout=QUICK_TIMEOUT
    ).stdout.strip()
    return Path(out)


def git_config(root: Path, key: str) -> str | None:
    """``git config --get key`` as seen from ``root``; None when unset or when git cannot
    answer (not installed, not a folder, timed out)."""
    try:
        proc = run_git(["config", "--get", key], root, check=False, timeout=QUICK_TIMEOUT)
    except GitError:
        return None
    value = proc.stdout.strip()
    return value if proc.returncode == 0 and value else None


def head_commit(root: Path) -> str | None:
    """The full sha of the commit checked out in ``root``; None outside a git repository,
    in one without commits, or when git cannot answer."""
    try:
        proc = run_git(
            ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
            root,
            check=False,
            timeout=QUICK_TIMEOUT,
        )
    except GitError:
        return None
    sha = proc.stdout.strip()
    return sha if proc.returncode == 0 and sha else None


class Repo:
    """A local checkout."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def discover(cls, path: Path | None = None) -> Repo:
        return cls(repo_root(path))

    def __repr__(self) -> str:
        return f"Repo({str(self.root)!r})"

    def git(self, *args: str, check: bool = True) -> str:
        return run_git(args, cwd=self.root, check=check).stdout

    # -- where we are ------------------------------------------------------------------

    def current_branch(self) -> str | None:
        """The checked-out branch; None on a detached HEAD."""
        proc = run_git(
            ["symbolic-ref", "--quiet", "--short", "HEAD"],
            self.root,
            check=False,
            timeout=QUICK_TIMEOUT,
        )
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def head_commit(self) -> str:
        """The full sha of HEAD (GitError on a repository without commits)."""
        proc = run_git(
            ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
            self.root,
            check=False,
            timeout=QUICK_TIMEOUT,
        )
        if proc.returncode != 0:
            raise CheckoutError(
                f"{self.root} has no commits yet",
                hint="commit your work before deploying: git add -A && git commit",
            )
        return proc.stdout.strip()

    def resolve(self, rev: str) -> str | None:
        """The full sha of ``rev`` when it names a commit known here, else None."""
        proc = run_git(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
            self.root,
            check=False,
            timeout=QUICK_TIMEOUT,
        )
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def has_commit(self, commit: str) -> bool:
        return self.resolve(commit) is not None

    def files_at(
        self, commit: str, paths: Sequence[str], *, max_bytes: int = 2_000_000
    ) -> dict[str, str]:
        """The text of every file under ``paths`` (files or folders) in ``commit``.

        One ``ls-tree`` and one ``cat-file --batch``: a handful of small files is read in two
        git calls. Files larger than ``max_bytes`` and non-text files are left out.
        """
        listing = run_git(
            ["ls-tree", "-r", "-z", "--end-of-options", commit, "--", *paths],
            self.root,
            timeout=QUICK_TIMEOUT,
        ).stdout
        wanted: list[tuple[str, str]] = []
        for entry in listing.split("\0"):
            meta, _, path = entry.partition("\t")
            fields = meta.split()
            if len(fields) == 3 and fields[1] == "blob":
                wanted.append((fields[2], path))
        if not wanted:
            return {}
        try:
            proc = subprocess.run(
                ["git", "cat-file", "--batch"],
                cwd=self.root,
                input="".join(f"{sha}\n" for sha, _ in wanted).encode(),
                capture_output=True,
                env=_env(),
                check=False,
                timeout=QUICK_TIMEOUT,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GitError(f"git cat-file: {exc}") from None
        if proc.returncode != 0:
            raise GitError(f"git cat-file: {_last_error(proc.stderr.decode('utf-8', 'replace'))}")
        out: dict[str, str] = {}
        data, pos = proc.stdout, 0
        for _, path in wanted:
            header_end = data.index(b"\n", pos)
            header = data[pos:header_end].split()
            size = int(header[2]) if len(header) == 3 else 0
            body = data[header_end + 1 : header_end + 1 + size]
            pos = header_end + 1 + size + 1
            if size <= max_bytes and b"\0" not in body:
                out[path] = body.decode("utf-8", "replace")
        return out

    def dirty_files(self) -> list[DirtyFile]:
        """Modified, staged and untracked files (ignored files excluded)."""
        out = self.git("status", "--porcelain=v1", "-z", "--untracked-files=normal")
        entries = out.split("\0")
        dirty: list[DirtyFile] = []
        i = 0
        while i < len(entries):
            entry = entries[i]
            i += 1
            if len(entry) < 4:
                continue
            code, path = entry[:2], entry[3:]
            if code[0] in "RC":
                i += 1  # a rename/copy is followed by its source path
            dirty.append(DirtyFile(code=code, path=path))
        return dirty

    def is_clean(self) -> bool:
        return not self.dirty_files()

    # -- history -----------------------------------------------------------------------

    def commits_between(self, base: str, head: str) -> list[Commit]:
        """Commits reachable from ``head`` but not from ``base`` (newest first)."""
        out = self.git("log", "--format=%H%x1f%s", f"{base}..{head}", "--")
        commits = []
        for line in out.splitlines():
            sha, _, subject = line.partition("\x1f")
            commits.append(Commit(sha=sha, subject=subject))
        return commits

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        proc = run_git(
            ["merge-base", "--is-ancestor", ancestor, descendant], self.root, check=False
        )
        if proc.returncode not in (0, 1):
            raise GitError(f"git merge-base: {_last_error(proc.stderr)}")
        return proc.returncode == 0

    def commit_on_remote(self, remote: str, commit: str) -> bool:
        """Whether ``commit`` is reachable from a remote-tracking ref of ``remote``.

        Only what was last fetched is known: fetching first is the caller's choice.
        An unknown commit is not on the remote.
        """
        self.remote_url(remote)  # a GitError naming the remote when it does not exist
        if not self.has_commit(commit):
            return False
        out = self.git(
            "for-each-ref", "--format=%(refname)", "--contains", commit, f"refs/remotes/{remote}/"
        )
        return any(line.strip() for line in out.splitlines())

    def fetch(self, remote: str) -> None:
        self.git("fetch", "--quiet", remote)

    # -- remotes and identity ----------------------------------------------------------

    def remote_url(self, remote: str) -> str:
        """The remote's URL as configured (may hold credentials: redact before showing)."""
        proc = run_git(["remote", "get-url", "--", remote], self.root, check=False)
        if proc.returncode != 0:
            known = ", ".join(self.git("remote").split()) or "none"
            raise GitError(
                f"no git remote named {remote!r} in {self.root} (remotes: {known})",
                hint=f"add it: git remote add {remote} https://git.heroku.com/<app>.git",
            )
        return proc.stdout.strip()

    def user_name(self) -> str | None:
        return self._config("user.name")

    def user_email(self) -> str | None:
        return self._config("user.email")

    def _config(self, key: str) -> str | None:
        return git_config(self.root, key)

    # -- the deploy push ---------------------------------------------------------------

    def push(
        self,
        remote: str,
        commit: str,
        target_ref: str = "main",
        *,
        force: bool = False,
        on_line: Callable[[str], None] | None = None,
    ) -> PushResult:
        """``git push <remote> <commit>:refs/heads/<target_ref>``, streaming each output
        line (``remote:`` build output included) to ``on_line`` as it arrives.

        A refused push (non-fast-forward, a failed build rejected by the remote, auth)
        raises GitError with git's message; a non-fast-forward's hint mentions ``--force``.
        """
        ref = target_ref if target_ref.startswith("refs/") else f"refs/heads/{target_ref}"
        if "/" not in remote and ":" not in remote:
            self.remote_url(remote)  # a named remote must exist (a URL is pushed to as is)
        args = ["git", "push", "--progress"]
        if force:
            args.append("--force")
        args += ["--", remote, f"{commit}:{ref}"]
        try:
            proc = subprocess.Popen(
                args,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=_env(),
            )
        except FileNotFoundError:
            raise CheckoutError(
                "git is not installed (or not on PATH)", hint="install git and run again"
            ) from None
        output: list[str] = []
        try:
            assert proc.stdout is not None
            for raw in _lines(proc.stdout):
                line = redact_url(raw)
                output.append(line)
                if on_line is not None:
                    on_line(line)
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if code != 0:
            raise _push_error(remote, ref, output)
        return PushResult(remote=remote, commit=commit, ref=ref, output=tuple(output))


def _lines(stream: IO[bytes]) -> Iterator[str]:
    """Lines of ``stream`` as they arrive, split on ``\\n`` and ``\\r`` (git redraws its
    progress with ``\\r``); blank lines dropped."""
    buf = b""
    while True:
        chunk = stream.read1(65536) if isinstance(stream, io.BufferedReader) else stream.read(1)
        if not chunk:
            break
        buf += chunk
        *complete, buf = re.split(rb"[\r\n]", buf)
        for part in complete:
            if part.strip():
                yield part.decode("utf-8", "replace").rstrip()
    if buf.strip():
        yield buf.decode("utf-8", "replace").rstrip()


def _push_error(remote: str, ref: str, output: list[str]) -> GitError:
    text = "\n".join(output)
    branch = ref.removeprefix("refs/heads/")
    if "non-fast-forward" in text or "fetch first" in text or "[rejected]" in text:
        return GitError(
            f"git push to {remote} was rejected: {branch} there has commits this one does not "
            "(non-fast-forward)",
            hint="deploy a commit that contains the deployed one, or pass --force to replace "
            "what is deployed",
        )
    if "pre-receive hook declined" in text or "[remote rejected]" in text:
        return GitError(
            f"git push to {remote} was refused by the remote: {_last_error(text)}",
            hint="the build failed: read the remote: lines above",
        )
    if "Authentication failed" in text or "could not read Username" in text:
        return GitError(
            f"git push to {remote}: authentication failed",
            hint="Heroku git needs ~/.netrc machine git.heroku.com (run `heroku login`)",
        )
    return GitError(f"git push to {remote} failed: {_last_error(text)}")
