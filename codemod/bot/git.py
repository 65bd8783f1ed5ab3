"""Real `git`, run as a subprocess: the bot's only way to read and change repositories.

The token reaches git through GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n
environment variables (an `http.<url>.extraHeader`), never through a URL, argv or a config
file; every message that leaves this module is scrubbed of it all the same.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from codemod.bot.token import Token
from codemod.interrupt import process_alive

GIT_TIMEOUT = 600
# Bot commits carry this trailer: a branch whose commits all have it is the bot's to rewrite.
TRAILER = "Unleak-Transform"
# Who the bot's commits are by, unless --author / UNLEAK_AUTHOR says otherwise: a bot, as
# Dependabot and Renovate are, never the machine's own git identity.
BOT_IDENTITY = ("unleak[bot]", "unleak-bot@users.noreply.github.com")


class GitError(Exception):
    """A git command failed: one line naming the command and git's own reason."""

    def __init__(self, message: str, command: str = "git", http_status: int | None = None):
        super().__init__(message)
        self.command = command  # "git push"
        self.http_status = http_status  # the server's refusal (401, 403, 404), when git says it


# How git reports a server's refusal over HTTP(S); none of these lines holds the token.
_HTTP_REFUSALS = (
    (401, re.compile(r"could not read (Username|Password)|Authentication failed|error: 401")),
    (403, re.compile(r"error: 403|HTTP 403|Permission to \S+ denied|403 Forbidden")),
    (404, re.compile(r"error: 404|HTTP 404|[Rr]epository '?\S*'? not found|Repository not found")),
)


def http_refusal(stderr: str) -> int | None:
    """The HTTP status of a server refusing a fetch or push, from git's messages."""
    for status, pattern in _HTTP_REFUSALS:
        if pattern.search(stderr):
            return status
    return None


def _identity(text: str) -> str:
    return text


def config_env(entries: Sequence[tuple[str, str]], environ: Mapping[str, str]) -> dict[str, str]:
    """Environment variables that add config entries after any the environment already has."""
    try:
        start = int(environ.get("GIT_CONFIG_COUNT", "0") or "0")
    except ValueError:
        start = 0
    env = {"GIT_CONFIG_COUNT": str(start + len(entries))}
    for index, (key, value) in enumerate(entries, start=start):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def auth_entries(url: str, token: Token | None) -> list[tuple[str, str]]:
    """Config that sends the token to `url` only, as a Basic Authorization header.

    The empty value first clears any header configured for that URL (actions/checkout
    persists one; two Authorization headers make GitHub answer 400), and the empty
    credential.helper keeps the user's helpers from storing or replacing our token.
    """
    if token is None or not url.startswith(("http://", "https://")):
        return []
    key = f"http.{url}.extraHeader"
    return [
        (key, ""),
        (key, f"Authorization: Basic {token.basic_credentials()}"),
        ("credential.helper", ""),
    ]


@dataclass(frozen=True)
class Git:
    """git in one directory; `network` adds the token's config for commands that reach a remote."""

    directory: Path
    network: Mapping[str, str] = field(default_factory=dict)
    scrub: Callable[[str], str] = _identity

    def env(self, remote: bool) -> dict[str, str]:
        env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "LC_ALL": "C",
        }
        env.pop("GIT_DIR", None)
        env.pop("GIT_WORK_TREE", None)
        # The user's hooks are theirs: the bot's commits and pushes are checked by the bot.
        entries = [("core.hooksPath", os.devnull)]
        env.update(config_env(entries, env))
        if remote:
            env.update(self.network)
        return env

    def run(
        self,
        *args: str,
        remote: bool = False,
        stdin: str | None = None,
        check: bool = True,
        extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        git = shutil.which("git")
        if git is None:
            raise GitError("git is not on PATH")
        try:
            completed = subprocess.run(
                [git, *args],
                cwd=self.directory,
                input=stdin if stdin is not None else "",
                capture_output=True,
                encoding="utf-8",
                errors="replace",
                env={**self.env(remote), **(extra_env or {})},
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} took longer than {GIT_TIMEOUT}s") from None
        except OSError as error:
            raise GitError(f"git {args[0]} could not run: {error.strerror}") from None
        if check and completed.returncode != 0:
            reason = _reason(completed.stderr, completed.stdout)
            status = http_refusal(completed.stderr) if remote else None
            command = f"git {args[0]}"
            raise GitError(self.scrub(f"{command} failed: {reason}"), command, status)
        return completed

    def out(self, *args: str, remote: bool = False) -> str:
        return self.run(*args, remote=remote).stdout.strip()

    def succeeds(self, *args: str) -> bool:
        return self.run(*args, check=False).returncode == 0


def _reason(stderr: str, stdout: str = "") -> str:
    """git's most telling line: a rejected ref of `push --porcelain`, the last `fatal:` or
    `error:` line, else the last line."""
    for line in stdout.splitlines():
        if line.startswith("!"):
            return " ".join(line.split("\t")[1:]).strip() or line
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(("fatal:", "error:", "remote: error", "!")):
            return line
    return lines[-1] if lines else "no message"


def toplevel(path: Path) -> Path:
    """The root of the work tree holding path."""
    start = path if path.is_dir() else path.parent
    completed = Git(start).run("rev-parse", "--show-toplevel", check=False)
    if completed.returncode != 0:
        raise GitError(f"{path}: not inside a git work tree")
    return Path(completed.stdout.strip()).resolve()


def dirty_paths(git: Git) -> list[str]:
    """Tracked files with changes, staged or not (untracked files play no part in the bot)."""
    text = git.run("status", "--porcelain", "-z", "--untracked-files=no").stdout
    # Entries are "XY path"; a rename is followed by one more entry, its old path.
    paths: list[str] = []
    entries = iter(text.split("\0"))
    for entry in entries:
        if len(entry) > 3:
            paths.append(entry[3:])
            if entry[0] in "RC":
                next(entries, None)
    return paths


def rev_parse(git: Git, revision: str) -> str | None:
    completed = git.run("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
    return completed.stdout.strip() or None if completed.returncode == 0 else None


def remote_url(git: Git, remote: str) -> str:
    completed = git.run("remote", "get-url", "--push", remote, check=False)
    if completed.returncode != 0:
        raise GitError(f"no git remote named {remote!r} (pass --remote NAME)")
    return completed.stdout.strip()


@dataclass(frozen=True)
class RemoteRefs:
    """What `git ls-remote` says: branch tips, and the branch the remote's HEAD names."""

    heads: dict[str, str]
    default_branch: str | None


def ls_remote(git: Git, remote: str, branches: Sequence[str]) -> RemoteRefs:
    refs = [f"refs/heads/{b}" for b in branches]
    text = git.out("ls-remote", "--symref", remote, "HEAD", *refs, remote=True)
    heads: dict[str, str] = {}
    default = None
    for line in text.splitlines():
        symref = re.match(r"ref: refs/heads/(\S+)\s+HEAD$", line)
        if symref:
            default = symref.group(1)
            continue
        parts = line.split("\t")
        if len(parts) == 2 and parts[1].startswith("refs/heads/"):
            heads[parts[1].removeprefix("refs/heads/")] = parts[0]
    return RemoteRefs(heads, default)


def fetch(git: Git, remote: str, branches: Sequence[str]) -> None:
    """Update the remote-tracking refs of these branches (what a plain `git fetch` does).

    A shallow clone (CI's default) is deepened: telling the bot's own commits from others'
    needs the history back to where its branch left the base.
    """
    refspecs = [f"+refs/heads/{b}:refs/remotes/{remote}/{b}" for b in branches]
    shallow = git.out("rev-parse", "--is-shallow-repository") == "true"
    options = ["--unshallow"] if shallow else []
    git.run("fetch", "--no-tags", "--no-write-fetch-head", *options, remote, *refspecs, remote=True)


def push(git: Git, remote: str, source: str, branch: str, expected: str | None) -> None:
    """Set (or, with an empty source, delete) one branch, only if it still is `expected`.

    --force-with-lease names the exact value we saw (empty: the branch must not exist), so
    the push never overwrites anything but our own branch as we last read it.
    """
    lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
    refspec = f"{source}:refs/heads/{branch}" if source else f":refs/heads/{branch}"
    git.run("push", "--no-verify", "--porcelain", lease, remote, refspec, remote=True)


def patch_id(git: Git, base: str, tip: str) -> str:
    """A stable id of the change base..tip (whitespace and line numbers aside); '' if none."""
    diff = git.run("diff", "--no-color", "--no-ext-diff", "--binary", base, tip).stdout
    if not diff:
        return ""
    completed = git.run("patch-id", "--stable", stdin=diff)
    return completed.stdout.split(" ", 1)[0]


def merge_base(git: Git, first: str, second: str) -> str | None:
    completed = git.run("merge-base", first, second, check=False)
    return completed.stdout.strip() or None if completed.returncode == 0 else None


def foreign_commits(git: Git, base: str, tip: str) -> list[str]:
    """The commits between the base and `tip` the bot did not make, as `SHA subject`.

    Bot commits carry the trailer. A merge of the base into the branch (a forge's *Update
    branch* button) is not foreign either, as long as its second parent is on the base and
    its tree is exactly what merging the two parents gives: no hand-made change rides on it.
    """
    start = merge_base(git, base, tip)
    if start is None:
        return [f"{tip[:12]} (shares no history with the base)"]
    text = git.out("log", "--format=%H %P%x1f%s%x1f%B%x00", f"{start}..{tip}")
    foreign = []
    for record in text.split("\0"):
        if not record.strip():
            continue
        shas, subject, message = record.strip().split("\x1f", 2)
        sha, *parents = shas.split()
        if f"\n{TRAILER}: " in message or _merges_the_base(git, sha, parents, base):
            continue
        foreign.append(f"{sha[:12]} {subject}")
    return foreign


def _merges_the_base(git: Git, sha: str, parents: list[str], base: str) -> bool:
    if len(parents) != 2 or not git.succeeds("merge-base", "--is-ancestor", parents[1], base):
        return False
    merged = git.run("merge-tree", "--write-tree", "--no-messages", *parents, check=False)
    tree = merged.stdout.split("\n", 1)[0].strip()
    return merged.returncode == 0 and tree == git.out("rev-parse", f"{sha}^{{tree}}")


def parse_identity(text: str) -> tuple[str, str]:
    """`Name <email>` as (name, email); ValueError names what is wrong."""
    match = re.fullmatch(r"\s*([^<>]*?)\s*<([^<>\s]+@[^<>\s]+)>\s*", text)
    if match is None or not match.group(1):
        raise ValueError(f"{text!r}: expected 'Name <email@host>'")
    return match.group(1), match.group(2)


def identity_env(identity: tuple[str, str]) -> dict[str, str]:
    """Author and committer of the bot's commits; they replace whatever the environment or
    git's user.name / user.email say."""
    name, email = identity
    return {
        f"GIT_{role}_{part}": value
        for role in ("AUTHOR", "COMMITTER")
        for part, value in (("NAME", name), ("EMAIL", email))
    }


def commit_all(worktree: Git, message: str, identity: Mapping[str, str]) -> str:
    """Commit every change in the worktree; returns the new commit."""
    worktree.run("add", "--all", "--", ".")
    worktree.run(
        "commit",
        "--quiet",
        "--no-verify",
        "--no-gpg-sign",
        "--file",
        "-",
        stdin=message,
        extra_env=identity,
    )
    return worktree.out("rev-parse", "HEAD")


WORKTREE_PARENT_PREFIX = "unleak-pr-"
# unleak-pr-<pid>-<random>/worktree: the pid tells a later run whether its owner is gone.
_WORKTREE_PATH = re.compile(r"unleak-pr-(?P<pid>[0-9]{1,10})-[^/]+/worktree$")


@contextmanager
def temporary_worktree(git: Git, commit: str) -> Iterator[Git]:
    """A detached worktree at commit, outside the user's checkout, removed afterwards.

    Removed on every exit (TERM raises like Ctrl-C, codemod.interrupt), including a `worktree
    add` cut short, which leaves it locked ("initializing"): hence --force twice. Worktrees of
    runs killed with -9 are removed by the next run.
    """
    remove_orphaned_worktrees(git)
    parent = Path(tempfile.mkdtemp(prefix=f"{WORKTREE_PARENT_PREFIX}{os.getpid()}-"))
    path = parent / "worktree"
    try:
        try:
            git.run("worktree", "add", "--quiet", "--detach", str(path), commit)
            yield Git(path.resolve(), git.network, git.scrub)
        finally:
            git.run("worktree", "remove", "--force", "--force", str(path), check=False)
            git.run("worktree", "prune", check=False)
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def remove_orphaned_worktrees(git: Git) -> None:
    """Remove the temporary worktrees (and their folders) of earlier runs whose process died."""
    listed = git.run("worktree", "list", "--porcelain", "-z", check=False).stdout
    for field_text in listed.split("\0"):
        if not field_text.startswith("worktree "):
            continue
        path = Path(field_text.removeprefix("worktree "))
        match = _WORKTREE_PATH.search(path.as_posix())
        if match is None or process_alive(int(match.group("pid"))):
            continue
        git.run("worktree", "remove", "--force", "--force", str(path), check=False)
        shutil.rmtree(path.parent, ignore_errors=True)
    git.run("worktree", "prune", check=False)
