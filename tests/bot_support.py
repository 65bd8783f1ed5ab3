"""Helpers for the bot's tests: real git repositories with a real bare remote, and `unleak pr`."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.cli_support import LEAKY
from tests.conftest import ROOT

# A token no test output may ever contain, in any spelling.
TOKEN = "ghp_UNLEAKtestSECRET0123456789abcdefXYZ"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
}

# A second idiom, for a second commit: a context whose cancel function is dropped.
LOST_CANCEL = b"""package p

import (
\t"context"
\t"time"
)

func Wait(parent context.Context) error {
\tctx, _ := context.WithTimeout(parent, time.Second)
\t<-ctx.Done()
\treturn ctx.Err()
}
"""

CLEAN = b"package p\n\nfunc Add(a, b int) int {\n\treturn a + b\n}\n"

ANOTHER_LEAK = b"""package p

func Words(words []string) <-chan string {
\tout := make(chan string)
\tgo func() {
\t\tfor _, w := range words {
\t\t\tout <- w
\t\t}
\t}()
\treturn out
}

func Join(words []string) string {
\ts := ""
\tfor w := range Words(words) {
\t\ts += w
\t}
\treturn s
}
"""


def secret_forms(token: str = TOKEN) -> list[str]:
    return [
        token,
        base64.b64encode(token.encode()).decode(),
        base64.b64encode(f"x-access-token:{token}".encode()).decode(),
    ]


def assert_no_secret(*texts: str | bytes, token: str = TOKEN) -> None:
    for text in texts:
        data = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
        for form in secret_forms(token):
            assert form.encode() not in data, f"the token ({form[:6]}...) leaked into output"


def git(cwd: Path, *args: str, check: bool = True) -> str:
    completed = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **IDENTITY, "GIT_TERMINAL_PROMPT": "0"},
        check=False,
        timeout=120,
    )
    if check and completed.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {completed.stderr}")
    return completed.stdout.strip()


def show(repository: Path, spec: str) -> bytes:
    """`git show REV:PATH`, byte for byte."""
    return subprocess.run(
        ["git", "show", spec], cwd=repository, capture_output=True, check=True, timeout=60
    ).stdout


@dataclass
class Project:
    """A work clone whose `origin` is a bare repository, with `main` pushed."""

    work: Path
    remote: Path

    def commit_to_main(self, files: dict[str, bytes], message: str) -> str:
        """A commit pushed straight to the remote's main (as a teammate would)."""
        for name, content in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "main")
        return git(self.work, "rev-parse", "HEAD")

    def remote_branch(self, branch: str = "unleak/fixes") -> str | None:
        sha = git(
            self.remote, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False
        )
        return sha or None


def make_project(tmp_path: Path, files: dict[str, bytes] | None = None) -> Project:
    remote = tmp_path / "remote.git"
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "remote", "add", "origin", str(remote))
    project = Project(work, remote)
    contents = {"go.mod": b"module example.com/m\n\ngo 1.22\n"}
    contents.update(files if files is not None else {"leaky.go": LEAKY, "clean.go": CLEAN})
    project.commit_to_main(contents, "initial")
    git(work, "fetch", "-q", "origin")
    return project


def unleak_pr(
    cwd: Path, *args: str, env: dict[str, str] | None = None, token: str | None = TOKEN
) -> subprocess.CompletedProcess[str]:
    """`unleak pr ARGS` in a subprocess; the token (if any) in GITHUB_TOKEN and GITEA_TOKEN."""
    environment = {
        k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITEA_TOKEN")
    }
    environment.update(IDENTITY)
    environment.update({"PYTHONPATH": str(ROOT), "NO_COLOR": "", "TERM": "dumb"})
    if token is not None:
        environment.update({"GITHUB_TOKEN": token, "GITEA_TOKEN": token})
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "codemod.cli", "pr", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        stdin=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )


def state_of(work: Path) -> dict[str, str]:
    """What a user sees of their checkout: HEAD, branches, status, worktrees, stash, files."""
    files = {
        str(p.relative_to(work)): p.read_bytes().hex()
        for p in sorted(work.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(work).parts
    }
    return {
        "head": git(work, "rev-parse", "HEAD"),
        "symbolic": git(work, "symbolic-ref", "-q", "HEAD", check=False),
        "branches": git(work, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads"),
        "status": git(work, "status", "--porcelain", "--untracked-files=all"),
        "worktrees": git(work, "worktree", "list", "--porcelain"),
        "stash": git(work, "stash", "list"),
        "index": git(work, "ls-files", "-s"),
        "files": repr(files),
    }
