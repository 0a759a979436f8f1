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
from typing import IO, TYPE_CHECKING

from keycliq_ops.base.errors import CheckoutError, GitError
from keycliq_ops.base.redact import redact_url

if TYPE_CHECKING:
    from datetime import datetime

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


# -- the ledger branch: plumbing that touches neither the work tree nor the index -------
#
# The shared ledger lives on a branch of the team's remote (``keycliq-ledger``) whose only
# file is the ledger. These functions fetch that branch into a private ref, read its file,
# write a commit of a new file content on top of it, and push that commit fast-forward only
# (never ``--force``), all with bounded timeouts and the user's own git setup (remotes,
# credential helpers, ssh keys): keycliq handles no credential.

NETWORK_TIMEOUT = 60.0  # seconds: a fetch or push of the (small) ledger branch
_FALLBACK_IDENTITY = ("keycliq", "keycliq@localhost")


class RemoteUnreachable(GitError):
    """The remote could not be reached or did not let us in (offline, moved away, refused
    the connection, no access, did not answer in time): nothing was changed there."""


class PushRejected(GitError):
    """The remote refused the push because its branch moved on since it was fetched
    (non-fast-forward, or another push won the race): fetch again and retry."""


_UNREACHABLE = (
    "does not appear to be a git repository",
    "could not read from remote repository",
    "unable to access",
    "could not resolve host",
    "connection refused",
    "connection timed out",
    "operation timed out",
    "network is unreachable",
    "no route to host",
    "permission denied",
    "authentication failed",
    "could not read username",
    "repository not found",
    "host key verification failed",
)
_REJECTED = (
    "[rejected]",
    "non-fast-forward",
    "fetch first",
    "cannot lock ref",
    "failed to update ref",
    "incorrect old value",
    "stale info",
)


def _plumb(
    args: Sequence[str],
    root: Path,
    *,
    data: bytes | None = None,
    timeout: float = QUICK_TIMEOUT,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run git with bytes in and out (never raises for git's exit code)."""
    try:
        return subprocess.run(
            ["git", *args],
            cwd=root,
            input=data,
            stdin=None if data is not None else subprocess.DEVNULL,
            capture_output=True,
            env=env or _env(),
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        if args and args[0] in ("fetch", "push", "ls-remote"):
            raise RemoteUnreachable(
                f"git {args[0]} did not answer within {timeout:g}s",
                hint="check the network and the remote (`git fetch` by hand shows why)",
            ) from None
        raise GitError(f"git {args[0]} did not answer within {timeout:g}s") from None
    except FileNotFoundError:
        if not root.is_dir():
            raise CheckoutError(f"git {args[0]}: no folder {root}") from None
        raise CheckoutError(
            "git is not installed (or not on PATH)", hint="install git and run again"
        ) from None
    except OSError as exc:
        raise GitError(f"cannot run git {args[0]}: {exc.strerror or exc}") from None


def _failure(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = proc.stderr or proc.stdout
    return _last_error(text.decode("utf-8", "replace"))


def _remote_error(what: str, remote: str, proc: subprocess.CompletedProcess[bytes]) -> GitError:
    text = (proc.stderr + proc.stdout).decode("utf-8", "replace")
    lowered = text.lower()
    message = _failure(proc)
    if "not a git repository" in lowered and "does not appear" not in lowered:
        return CheckoutError(f"git {what}: {message}")
    if any(marker in lowered for marker in _UNREACHABLE):
        return RemoteUnreachable(
            f"git {what} {remote}: cannot reach the remote: {message}",
            hint=f"check the network and `git remote get-url {remote}`",
        )
    return GitError(f"git {what} {remote}: {message}")


def remote_exists(root: Path, remote: str) -> bool:
    """Whether ``remote`` is a configured remote of the repository at ``root``."""
    return _plumb(["remote", "get-url", "--", remote], root).returncode == 0


def resolve_ref(root: Path, ref: str) -> str | None:
    """The commit ``ref`` points at, or None when there is no such ref."""
    args = ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"]
    proc = _plumb(args, root)
    sha = proc.stdout.decode().strip()
    return sha if proc.returncode == 0 and sha else None


def fetch_branch(
    root: Path, remote: str, branch: str, into_ref: str, *, timeout: float = NETWORK_TIMEOUT
) -> str | None:
    """Fetch ``refs/heads/<branch>`` of ``remote`` into the private ref ``into_ref``
    (replaced, whatever it held; no tags, no FETCH_HEAD, no remote-tracking branch).

    Returns the fetched commit, or None when the remote has no such branch (``into_ref``
    is then deleted). RemoteUnreachable when the remote cannot be reached.
    """
    proc = _plumb(
        [
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--",
            remote,
            f"+refs/heads/{branch}:{into_ref}",
        ],
        root,
        timeout=timeout,
    )
    if proc.returncode != 0:
        if "couldn't find remote ref" in proc.stderr.decode("utf-8", "replace"):
            _plumb(["update-ref", "-d", into_ref], root)
            return None
        raise _remote_error("fetch", remote, proc)
    return resolve_ref(root, into_ref)


def read_blob(root: Path, commit: str, path: str) -> bytes | None:
    """The bytes of ``path`` in ``commit``, or None when the commit has no such file."""
    proc = _plumb(["cat-file", "blob", f"{commit}:{path}"], root)
    if proc.returncode != 0:
        if resolve_ref(root, commit) is None:
            raise GitError(f"git cat-file: no commit {commit} in {root}")
        return None
    return proc.stdout


def is_ancestor_of(root: Path, ancestor: str, descendant: str) -> bool:
    """Whether ``ancestor`` is ``descendant`` or one of its ancestors."""
    proc = _plumb(["merge-base", "--is-ancestor", ancestor, descendant], root)
    if proc.returncode not in (0, 1):
        raise GitError(f"git merge-base: {_failure(proc)}")
    return proc.returncode == 0


def commit_file(root: Path, path: str, content: bytes, parent: str | None, message: str) -> str:
    """A commit whose tree holds only ``path`` with ``content``, on top of ``parent``.

    Written straight into the object store (``hash-object``, ``mktree``, ``commit-tree``):
    the work tree, the index and every ref stay as they are. The author is the user's git
    identity (``keycliq <keycliq@localhost>`` where none is configured, as on a CI runner).
    """
    if "/" in path or "\t" in path or "\n" in path:
        raise ValueError(f"a single file name, not {path!r}")
    blob = _plumb(["hash-object", "-w", "--stdin"], root, data=content)
    if blob.returncode != 0:
        raise GitError(f"git hash-object: {_failure(blob)}")
    entry = f"100644 blob {blob.stdout.decode().strip()}\t{path}\n".encode()
    tree = _plumb(["mktree"], root, data=entry)
    if tree.returncode != 0:
        raise GitError(f"git mktree: {_failure(tree)}")
    env = _env()
    name, email = git_config(root, "user.name"), git_config(root, "user.email")
    for role in ("AUTHOR", "COMMITTER"):
        if not name:
            env.setdefault(f"GIT_{role}_NAME", _FALLBACK_IDENTITY[0])
        if not email:
            env.setdefault(f"GIT_{role}_EMAIL", _FALLBACK_IDENTITY[1])
    args = ["commit-tree", tree.stdout.decode().strip()]
    if parent:
        args += ["-p", parent]
    made = _plumb([*args, "-F", "-"], root, data=message.encode(), env=env)
    if made.returncode != 0:
        raise GitError(f"git commit-tree: {_failure(made)}")
    return made.stdout.decode().strip()


def push_branch(
    root: Path, remote: str, commit: str, branch: str, *, timeout: float = NETWORK_TIMEOUT
) -> None:
    """``git push <remote> <commit>:refs/heads/<branch>``: fast-forward only, never forced.

    PushRejected when the branch moved on there (fetch, rebuild, retry); RemoteUnreachable
    when the remote cannot be reached; GitError for any other refusal.
    """
    proc = _plumb(
        ["push", "--porcelain", "--no-verify", "--", remote, f"{commit}:refs/heads/{branch}"],
        root,
        timeout=timeout,
    )
    if proc.returncode == 0:
        return
    text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    if any(marker in text for marker in _REJECTED):
        raise PushRejected(
            f"git push to {remote} was rejected: {branch} there has records this copy has "
            "not fetched yet (non-fast-forward)",
            hint="fetch and push again (keycliq does so by itself a few times)",
        )
    raise _remote_error("push", remote, proc)


def set_ref(root: Path, ref: str, commit: str | None) -> None:
    """Point the private ``ref`` at ``commit`` (None: delete it)."""
    args = ["update-ref", "-d", ref] if commit is None else ["update-ref", ref, commit]
    proc = _plumb(args, root)
    if proc.returncode != 0:
        raise GitError(f"git update-ref {ref}: {_failure(proc)}")


def commit_time(root: Path, commit: str) -> datetime | None:
    """When ``commit`` was made (its committer time, UTC); None when the checkout does not
    have it or git cannot answer."""
    from datetime import UTC, datetime

    try:
        args = ["show", "-s", "--format=%ct", "--end-of-options", f"{commit}^{{commit}}"]
        proc = _plumb(args, root)
    except GitError:
        return None
    text = proc.stdout.decode().strip()
    if proc.returncode != 0 or not text.isdigit():
        return None
    return datetime.fromtimestamp(int(text), UTC)
