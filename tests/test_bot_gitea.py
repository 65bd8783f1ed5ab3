"""`unleak pr --forge gitea` end to end, against a real Gitea server on 127.0.0.1.

Gitea is built once per machine from its Go module (tests/gitea_server.py); each test gets a
private repository, so every git fetch and push needs the token the bot passes to git.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.bot_support import (
    ANOTHER_LEAK,
    CLEAN,
    IDENTITY,
    assert_no_secret,
    git,
    show,
    state_of,
    unleak_pr,
)
from tests.cli_support import LEAKY
from tests.gitea_server import ADMIN, GiteaServer, ensure_gitea, running_gitea

BOT = ("unleak[bot]", "unleak-bot@users.noreply.github.com")


@pytest.fixture(scope="module")
def gitea(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GiteaServer]:
    install = ensure_gitea()
    with running_gitea(install, tmp_path_factory.mktemp("gitea")) as server:
        yield server


def auth_env(token: str) -> dict[str, str]:
    """How the test itself talks to Gitea over git (as the bot does: a header, not a URL)."""
    import base64

    credentials = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {credentials}",
        "GIT_TERMINAL_PROMPT": "0",
    }


def authed_git(cwd: Path, token: str, *args: str) -> str:
    import os

    completed = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **IDENTITY, **auth_env(token)},
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


@dataclass
class GiteaProject:
    server: GiteaServer
    name: str
    work: Path

    @property
    def repo_path(self) -> str:
        return f"/repos/{ADMIN}/{self.name}"

    def commit_to_main(self, files: dict[str, bytes], message: str) -> None:
        for name, content in files.items():
            (self.work / name).write_bytes(content)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        authed_git(self.work, self.server.token, "push", "-q", "origin", "main")

    def branch_tip(self, branch: str = "unleak/fixes") -> str | None:
        out = authed_git(
            self.work, self.server.token, "ls-remote", "origin", f"refs/heads/{branch}"
        )
        return out.split("\t")[0] if out else None

    def pulls(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.server.api(
            "GET", f"{self.repo_path}/pulls", params={"state": "all"}
        )
        return result

    def comments(self, number: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.server.api(
            "GET", f"{self.repo_path}/issues/{number}/comments"
        )
        return result

    def pr(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        used = token or self.server.token
        completed = unleak_pr(self.work, "--base", "main", "--forge", "gitea", *args, token=used)
        assert_no_secret(completed.stdout, completed.stderr, token=used)
        assert_no_secret(completed.stdout, completed.stderr, token=self.server.token)
        return completed


@pytest.fixture
def project(gitea: GiteaServer, tmp_path: Path, request: pytest.FixtureRequest) -> GiteaProject:
    name = request.node.name.replace("[", "-").replace("]", "")[:60]
    url = gitea.create_repo(name, private=True)
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "remote", "add", "origin", url)
    project = GiteaProject(gitea, name, work)
    (work / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    project.commit_to_main({"leaky.go": LEAKY, "clean.go": CLEAN}, "initial")
    authed_git(work, gitea.token, "fetch", "-q", "origin")
    # Gitea records a push in a queue: until then the repository counts as empty (no PRs).
    deadline = time.monotonic() + 60
    while gitea.api("GET", project.repo_path)["empty"]:
        assert time.monotonic() < deadline, "Gitea never saw the first push"
        time.sleep(0.2)
    return project


def test_opens_updates_and_leaves_alone_a_real_gitea_pull_request(project: GiteaProject) -> None:
    before = state_of(project.work)
    first = project.pr()
    assert first.returncode == 0, first.stderr
    assert state_of(project.work) == before, "the user's checkout must stay as it was"
    pulls = project.pulls()
    assert len(pulls) == 1
    pull = pulls[0]
    assert first.stdout.strip() == pull["html_url"]
    assert (pull["head"]["ref"], pull["base"]["ref"], pull["state"]) == (
        "unleak/fixes",
        "main",
        "open",
    )
    assert pull["title"] == "unleak: fix 1 goroutine-leak-prone idiom"
    for needle in (
        "**Why it leaks.**",
        "safety: **safe**",
        "unleak explain close-producer-channel",
    ):
        assert needle in pull["body"]
    assert "gofmt (passed)" in pull["body"]
    commits = project.server.api(
        "GET", f"{project.repo_path}/commits", params={"sha": "unleak/fixes", "limit": "5"}
    )
    subjects = [c["commit"]["message"].splitlines()[0] for c in commits]
    assert subjects == ["Close the channel when its only producer goroutine finishes", "initial"]
    # By the bot, not by the identity the machine's git has (IDENTITY, in the environment).
    for role in ("author", "committer"):
        person = commits[0]["commit"][role]
        assert (person["name"], person["email"]) == BOT
    tip = project.branch_tip()

    again = project.pr()
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stderr
    assert project.branch_tip() == tip
    assert [p["updated_at"] for p in project.pulls()] == [pull["updated_at"]]

    project.commit_to_main({"words.go": ANOTHER_LEAK}, "a new leak lands on main")
    third = project.pr()
    assert third.returncode == 0, third.stderr
    assert project.branch_tip() not in (None, tip)
    pulls = project.pulls()
    assert [p["number"] for p in pulls] == [pull["number"]], "the same PR, never a duplicate"
    assert "words.go" in pulls[0]["body"]
    assert pulls[0]["title"] == "unleak: fix 2 goroutine-leak-prone idioms"

    # A teammate lands the bot's changes on main by hand: nothing is left to fix.
    authed_git(project.work, project.server.token, "fetch", "-q", "origin")
    fixed = {
        name: show(project.work, f"origin/unleak/fixes:{name}") for name in ("leaky.go", "words.go")
    }
    project.commit_to_main(fixed, "fix the leaks by hand")
    done = project.pr()
    assert done.returncode == 0, done.stderr
    assert "nothing left to fix" in done.stderr
    comments = project.comments(pull["number"])
    assert len(comments) == 1 and "obsolete" in comments[0]["body"]
    last = project.pr()
    assert last.returncode == 0
    assert len(project.comments(pull["number"])) == 1, "the obsolete note is posted once"
    worktrees = state_of(project.work)["worktrees"]
    assert worktrees.count("worktree ") == 1, "the temporary worktrees are gone"


def test_a_wrong_token_is_refused_before_anything_is_pushed(project: GiteaProject) -> None:
    wrong = "0123456789abcdef0123456789abcdef01234567"
    completed = project.pr(token=wrong)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("unleak: ")
    assert "HTTP 401" in lines[0] and "check GITEA_TOKEN or --token-file" in lines[0]
    assert "Username" not in lines[0], "git's words, not what to do"
    assert project.branch_tip() is None
    assert project.pulls() == []


def test_a_read_only_token_cannot_push_and_leaves_nothing(project: GiteaProject) -> None:
    token = project.server.new_token(f"read-{project.name}", "read:repository,read:user")
    completed = project.pr(token=token)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "git push origin failed (HTTP 403)" in lines[0], completed.stderr
    assert "needs the write:repository scope" in lines[0]
    assert project.branch_tip() is None
    assert project.pulls() == []


class _FailingProxy:
    """Forwards the bot's API calls to Gitea, but answers `POST .../pulls` with Gitea's 409."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.command == "POST" and urlsplit(self.path).path.endswith("/pulls"):
                    status, payload = (
                        409,
                        json.dumps(
                            {"message": "pull request already exists for these targets", "url": ""}
                        ).encode(),
                    )
                    headers = {"Content-Type": "application/json"}
                else:
                    forwarded = requests.request(
                        self.command,
                        proxy.upstream + self.path,
                        headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                        data=body,
                        timeout=60,
                    )
                    status, payload = forwarded.status_code, forwarded.content
                    headers = {"Content-Type": forwarded.headers.get("Content-Type", "")}
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _FailingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_failed_pull_request_deletes_the_branch_it_pushed(project: GiteaProject) -> None:
    with _FailingProxy(project.server.url) as proxy:
        completed = project.pr("--api-url", f"{proxy.url}/api/v1")
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert "409 pull request already exists" in lines[0]
    assert "deleted the branch unleak/fixes" in lines[0]
    assert project.branch_tip() is None, "nothing half-done on the real server"


def test_a_closed_pull_request_is_not_proposed_again(project: GiteaProject) -> None:
    """Close PR #1 by hand, push a new leak to main, run again: the new PR holds only the new
    fix, on a new branch, and the closed PR's branch is as the human left it."""
    assert project.pr().returncode == 0
    [first] = project.pulls()
    rejected_tip = project.branch_tip()
    project.server.api(
        "PATCH", f"{project.repo_path}/pulls/{first['number']}", json={"state": "closed"}
    )
    project.commit_to_main({"words.go": ANOTHER_LEAK}, "a new leak lands on main")
    completed = project.pr()
    assert completed.returncode == 0, completed.stderr
    assert f"rejected in closed pull request #{first['number']}" in completed.stderr
    pulls = {p["number"]: p for p in project.pulls()}
    assert len(pulls) == 2
    [second] = [p for p in pulls.values() if p["number"] != first["number"]]
    assert (second["state"], second["head"]["ref"]) == ("open", "unleak/fixes-2")
    assert "words.go" in second["body"] and "leaky.go" not in second["body"]
    assert pulls[first["number"]]["state"] == "closed"
    assert project.branch_tip() == rejected_tip, "the closed PR's head is never rewritten"
    again = project.pr()
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stderr
    assert len(project.pulls()) == 2


def test_update_branch_is_not_foreign_work_but_a_human_commit_is_said_once(
    project: GiteaProject,
) -> None:
    assert project.pr().returncode == 0
    [pull] = project.pulls()
    project.commit_to_main({"more.go": b"package p\n\nconst More = 1\n"}, "unrelated work")
    # Gitea's own "Update branch" button: a merge of main into the bot's branch.
    project.server.api("POST", f"{project.repo_path}/pulls/{pull['number']}/update")
    merged = project.branch_tip()
    parents = project.server.api("GET", f"{project.repo_path}/git/commits/{merged}")["parents"]
    assert len(parents) == 2, "Gitea made a merge commit"
    after_update = project.pr()
    assert after_update.returncode == 0, after_update.stderr
    assert "up to date" in after_update.stderr
    assert project.branch_tip() == merged

    authed_git(project.work, project.server.token, "fetch", "-q", "origin")
    git(project.work, "checkout", "-q", "-b", "mine", "origin/unleak/fixes")
    (project.work / "notes.txt").write_text("a human was here\n")
    git(project.work, "add", "notes.txt")
    git(project.work, "commit", "-q", "-m", "human work")
    authed_git(project.work, project.server.token, "push", "-q", "origin", "mine:unleak/fixes")
    git(project.work, "checkout", "-q", "main")
    for _ in range(2):
        stopped = project.pr()
        assert stopped.returncode == 2
        assert "commits unleak did not make" in stopped.stderr and "human work" in stopped.stderr
    comments = project.comments(pull["number"])
    assert len(comments) == 1 and "stopped updating" in comments[0]["body"]
