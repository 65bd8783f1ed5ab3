"""`unleak pr --forge github`: real git with a real bare remote, a loopback server answering as
GitHub, and every request checked against GitHub's official OpenAPI description."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.bot_support import (
    ANOTHER_LEAK,
    LOST_CANCEL,
    TOKEN,
    Project,
    assert_no_secret,
    git,
    make_project,
    show,
    unleak_pr,
)
from tests.fake_github import FakeGitHub, serving
from tests.github_openapi import validation_errors
from transforms import transform_by_id

REPO = "acme/widgets"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with serving(FakeGitHub(TOKEN, REPO)) as fake:
        yield fake
        errors = validation_errors(fake.records, fake.description_name)
        assert not errors, "requests GitHub's OpenAPI description rejects:\n" + "\n".join(errors)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)


def run(
    project: Project, fake: FakeGitHub, *extra: str, token: str | None = TOKEN
) -> subprocess.CompletedProcess[str]:
    completed = unleak_pr(
        project.work,
        "--base",
        "main",
        "--forge",
        "github",
        "--repo",
        REPO,
        "--api-url",
        fake.url,
        *extra,
        token=token,
    )
    assert_no_secret(completed.stdout, completed.stderr)
    return completed


def title_of(transform_id: str) -> str:
    transform = transform_by_id(transform_id)
    assert transform is not None
    return transform.title


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{stderr}"
    assert lines[0].startswith("unleak: "), lines[0]
    assert "Traceback" not in stderr
    return lines[0]


def test_opens_then_leaves_alone_then_updates_the_same_pull_request(
    project: Project, github: FakeGitHub
) -> None:
    first = run(project, github)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"https://github.example/{REPO}/pull/1"
    tip = project.remote_branch()
    assert tip is not None
    assert git(project.remote, "log", "--format=%s", "main..unleak/fixes") == (
        "Close the channel when its only producer goroutine finishes"
    )
    assert github.calls("POST") == [f"POST /repos/{REPO}/pulls"]
    pull = github.pulls[1]
    assert (pull["head"], pull["base"], pull["state"]) == ("unleak/fixes", "main", "open")
    assert "close-producer-channel" in pull["body"]
    assert "unleak explain close-producer-channel" in pull["body"]

    again = run(project, github)
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stderr
    assert project.remote_branch() == tip, "a second run with nothing new must not push"
    assert github.calls("POST") == [f"POST /repos/{REPO}/pulls"]
    assert github.calls("PATCH") == []

    project.commit_to_main({"words.go": ANOTHER_LEAK}, "a new leak lands on main")
    third = run(project, github)
    assert third.returncode == 0, third.stderr
    assert project.remote_branch() not in (None, tip), "new changes force-update the branch"
    assert github.calls("POST") == [f"POST /repos/{REPO}/pulls"], "never a duplicate PR"
    assert github.calls("PATCH") == [f"PATCH /repos/{REPO}/pulls/1"]
    assert "words.go" in github.pulls[1]["body"]
    assert github.pulls[1]["title"] == "unleak: fix 2 goroutine-leak-prone idioms"
    # The branch is based on the new main: its only commit sits on top of it.
    assert git(project.remote, "rev-parse", "unleak/fixes~1") == git(
        project.remote, "rev-parse", "main"
    )


def test_nothing_left_comments_once_that_the_open_pull_request_is_obsolete(
    project: Project, github: FakeGitHub
) -> None:
    assert run(project, github).returncode == 0
    # A teammate lands the same fix on main by hand.
    project.commit_to_main({"leaky.go": show(project.remote, "unleak/fixes:leaky.go")}, "fix")
    done = run(project, github)
    assert done.returncode == 0, done.stderr
    assert "nothing left to fix" in done.stderr
    assert len(github.comments[1]) == 1
    assert "obsolete" in github.comments[1][0]["body"]
    again = run(project, github)
    assert again.returncode == 0
    assert "already marked obsolete" in again.stderr
    assert len(github.comments[1]) == 1, "the obsolete note is posted once"


def test_closed_pull_request_with_the_same_changes_is_not_reopened(
    project: Project, github: FakeGitHub
) -> None:
    assert run(project, github).returncode == 0
    tip = project.remote_branch()
    github.pulls[1]["state"] = "closed"
    again = run(project, github)
    assert again.returncode == 0
    assert "left out 1 fix rejected in closed pull request #1" in again.stderr
    assert "nothing new to propose" in again.stderr
    assert github.calls("POST") == [f"POST /repos/{REPO}/pulls"]
    assert project.remote_branch() == tip
    # Reopened, it is the bot's again: its fixes are no longer rejected, and it is up to date.
    github.pulls[1]["state"] = "open"
    reopened = run(project, github)
    assert reopened.returncode == 0, reopened.stderr
    assert "up to date" in reopened.stderr
    assert github.calls("POST") == [f"POST /repos/{REPO}/pulls"]


def test_a_closed_pull_requests_fixes_stay_out_of_later_ones(
    project: Project, github: FakeGitHub
) -> None:
    assert run(project, github).returncode == 0
    rejected_tip = project.remote_branch()
    github.pulls[1]["state"] = "closed"
    # main moves on: a new leak, and an unrelated edit that shifts the rejected fix's lines.
    leaky = show(project.remote, "main:leaky.go")
    shifted = leaky.replace(b"package p\n", b"package p\n\n// Version is new.\nconst Version = 2\n")
    project.commit_to_main({"words.go": ANOTHER_LEAK, "leaky.go": shifted}, "more code")
    completed = run(project, github)
    assert completed.returncode == 0, completed.stderr
    assert "left out 1 fix rejected in closed pull request #1" in completed.stderr
    assert github.calls("POST") == [f"POST /repos/{REPO}/pulls"] * 2
    second = github.pulls[2]
    assert second["head"] == "unleak/fixes-2", "a new branch: the closed one is the human's record"
    assert "words.go" in second["body"] and "leaky.go" not in second["body"]
    assert second["title"] == "unleak: fix 1 goroutine-leak-prone idiom"
    assert project.remote_branch() == rejected_tip, "the closed pull request's branch is untouched"
    changed = git(project.remote, "diff", "--name-only", "main", "unleak/fixes-2")
    assert changed.splitlines() == ["words.go"]
    # The next run keeps to the open pull request on its new branch.
    project.commit_to_main({"wait.go": LOST_CANCEL}, "another leak")
    third = run(project, github)
    assert third.returncode == 0, third.stderr
    assert github.calls("POST") == [f"POST /repos/{REPO}/pulls"] * 2
    assert github.calls("PATCH") == [f"PATCH /repos/{REPO}/pulls/2"]
    assert "leaky.go" not in github.pulls[2]["body"] and "wait.go" in github.pulls[2]["body"]
    assert project.remote_branch() == rejected_tip


def test_removing_the_fingerprints_from_a_closed_pull_request_proposes_them_again(
    project: Project, github: FakeGitHub
) -> None:
    assert run(project, github).returncode == 0
    closed = github.pulls[1]
    closed["state"] = "closed"
    assert "unleak:fingerprints" in closed["body"]
    closed["body"] = "\n".join(
        line for line in closed["body"].splitlines() if "unleak:fingerprints" not in line
    )
    completed = run(project, github)
    assert completed.returncode == 0, completed.stderr
    assert "left out" not in completed.stderr
    assert github.pulls[2]["head"] == "unleak/fixes-2"
    assert "leaky.go" in github.pulls[2]["body"]


def test_one_commit_per_transform(tmp_path: Path, github: FakeGitHub) -> None:
    from tests.cli_support import LEAKY

    project = make_project(tmp_path, {"leaky.go": LEAKY, "wait.go": LOST_CANCEL})
    completed = run(project, github)
    assert completed.returncode == 0, completed.stderr
    subjects = git(project.remote, "log", "--reverse", "--format=%s", "main..unleak/fixes")
    # Highest precedence first, as the engine orders fixes.
    assert subjects.splitlines() == [
        title_of("close-producer-channel"),
        title_of("lost-cancel"),
    ]
    for sha in git(project.remote, "rev-list", "main..unleak/fixes").splitlines():
        message = git(project.remote, "log", "-1", "--format=%B", sha)
        files = git(project.remote, "show", "--format=", "--name-only", sha).splitlines()
        transform = message.rsplit("Unleak-Transform: ", 1)[1].strip()
        assert len(files) == 1
        assert files[0] in message, "the commit message names its files"
        assert f"unleak explain {transform}" in message
    body = github.pulls[1]["body"]
    assert "lost-cancel" in body and "close-producer-channel" in body


def test_github_enterprise_base_url(project: Project) -> None:
    fake = FakeGitHub(TOKEN, REPO, prefix="/api/v3", description_name="ghes-3.19")
    with serving(fake):
        completed = run(project, fake)
        assert completed.returncode == 0, completed.stderr
        assert fake.calls("POST") == [f"POST /repos/{REPO}/pulls"]
    assert not validation_errors(fake.records, "ghes-3.19")


RESET = int(time.time()) + 3600
# What the bot must say about RESET: the moment itself (the minutes left depend on the clock).
RESET_TEXT = f"resets at {datetime.fromtimestamp(RESET, tz=UTC):%Y-%m-%d %H:%M:%S} UTC (in "
API_FAILURES = {
    "bad-credentials": ("GET", r".*/pulls", 401, "Bad credentials", {}, "check GITHUB_TOKEN"),
    "forbidden": (
        "GET",
        r".*/pulls",
        403,
        "Resource not accessible by integration",
        {},
        "pull-requests: write",
    ),
    "not-found": ("GET", r".*/pulls", 404, "Not Found", {}, f"no repository {REPO}"),
    "rate-limit": (
        "GET",
        r".*/pulls",
        403,
        "API rate limit exceeded for installation ID 1.",
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(RESET)},
        RESET_TEXT,
    ),
}


@pytest.mark.parametrize("case", API_FAILURES, ids=list(API_FAILURES))
def test_api_errors_before_the_push_leave_the_remote_untouched(
    project: Project, github: FakeGitHub, case: str
) -> None:
    method, path, status, message, headers, expected = API_FAILURES[case]
    github.fail(method, path, status, message, headers)
    completed = run(project, github)
    assert completed.returncode == 2
    line = one_error_line(completed.stderr)
    assert expected in line
    assert project.remote_branch() is None


@pytest.mark.parametrize("case", ["already-exists", "rate-limit-on-create"])
def test_pull_request_creation_failure_deletes_the_pushed_branch(
    project: Project, github: FakeGitHub, case: str
) -> None:
    if case == "already-exists":
        error = {"resource": "PullRequest", "code": "custom"}
        error["message"] = "A pull request already exists for acme:unleak/fixes."
        github.fail("POST", r".*/pulls", 422, "Validation Failed", errors=[error])
        expected = "A pull request already exists"
    else:
        headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(RESET)}
        github.fail("POST", r".*/pulls", 403, "API rate limit exceeded", headers)
        expected = "into main; " + RESET_TEXT
    completed = run(project, github)
    assert completed.returncode == 2
    line = one_error_line(completed.stderr)
    assert expected in line and "deleted the branch unleak/fixes" in line
    assert project.remote_branch() is None
    assert github.pulls == {}


def test_update_failure_puts_the_previous_tip_back(project: Project, github: FakeGitHub) -> None:
    assert run(project, github).returncode == 0
    previous = project.remote_branch()
    project.commit_to_main({"words.go": ANOTHER_LEAK}, "a new leak")
    github.fail("PATCH", r".*/pulls/1", 403, "Must have admin rights to Repository.")
    completed = run(project, github)
    assert completed.returncode == 2
    assert "reset unleak/fixes to its previous tip" in completed.stderr
    assert project.remote_branch() == previous


def test_a_wrong_token_is_one_line_and_never_shown(project: Project, github: FakeGitHub) -> None:
    wrong = "ghp_WRONGtokenWRONGtoken0123456789"
    completed = run(project, github, token=wrong)
    assert completed.returncode == 2
    assert "401" in one_error_line(completed.stderr)
    assert_no_secret(completed.stdout, completed.stderr, token=wrong)


def test_missing_token_is_a_usage_error(project: Project, github: FakeGitHub) -> None:
    completed = run(project, github, token=None)
    assert completed.returncode == 2
    assert "GITHUB_TOKEN" in one_error_line(completed.stderr)
    assert github.records == []


def test_token_file(project: Project, github: FakeGitHub, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    completed = run(project, github, "--token-file", str(token_file), token=None)
    assert completed.returncode == 0, completed.stderr


def test_refuses_a_branch_holding_someone_elses_commits(
    project: Project, github: FakeGitHub
) -> None:
    git(project.work, "checkout", "-q", "-b", "unleak/fixes")
    (project.work / "notes.txt").write_text("a human was here\n")
    git(project.work, "add", "notes.txt")
    git(project.work, "commit", "-q", "-m", "human work")
    git(project.work, "push", "-q", "origin", "unleak/fixes")
    git(project.work, "checkout", "-q", "main")
    before = project.remote_branch()
    completed = run(project, github)
    assert completed.returncode == 2
    assert "commits unleak did not make" in one_error_line(completed.stderr)
    assert project.remote_branch() == before


def test_never_pushes_to_the_remotes_default_branch(project: Project, github: FakeGitHub) -> None:
    git(project.work, "push", "-q", "origin", "main:develop")
    completed = run(project, github, "--branch", "main", "--base", "develop")
    assert completed.returncode == 2
    assert "default branch" in one_error_line(completed.stderr)
    assert git(project.remote, "rev-parse", "main") == git(project.work, "rev-parse", "main")


def test_a_shallow_clone_works_and_stays_idempotent(project: Project, github: FakeGitHub) -> None:
    shallow = project.work.parent / "shallow"
    git(
        project.work.parent, "clone", "-q", "--depth", "1", f"file://{project.remote}", str(shallow)
    )
    clone = Project(shallow, project.remote)
    assert run(clone, github).returncode == 0
    tip = clone.remote_branch()
    fresh = project.work.parent / "shallow2"
    git(project.work.parent, "clone", "-q", "--depth", "1", f"file://{project.remote}", str(fresh))
    again = run(Project(fresh, project.remote), github)
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stderr
    assert clone.remote_branch() == tip


def test_a_push_the_remote_rejects_is_one_line_and_opens_nothing(
    project: Project, github: FakeGitHub
) -> None:
    hook = project.remote / "hooks" / "update"
    hook.write_text('#!/bin/sh\necho "branch protection says no" >&2\nexit 1\n')
    hook.chmod(0o755)
    completed = run(project, github)
    assert completed.returncode == 2
    line = one_error_line(completed.stderr)
    assert "git push failed" in line and "hook declined" in line
    assert project.remote_branch() is None
    assert github.pulls == {}


def authors(project: Project) -> set[str]:
    log = git(project.remote, "log", "--format=%an <%ae>|%cn <%ce>", "main..unleak/fixes")
    return {person for line in log.splitlines() for person in line.split("|")}


def test_commits_are_by_the_bot_not_the_machines_git_identity(
    project: Project, github: FakeGitHub
) -> None:
    # The machine has an identity everywhere git looks: config and environment (IDENTITY).
    git(project.work, "config", "user.name", "Machine Owner")
    git(project.work, "config", "user.email", "owner@example.com")
    completed = run(project, github)
    assert completed.returncode == 0, completed.stderr
    assert authors(project) == {"unleak[bot] <unleak-bot@users.noreply.github.com>"}


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_the_bot_identity_is_configurable(project: Project, github: FakeGitHub, how: str) -> None:
    chosen = "Fleet Bot <fleet-bot@example.org>"
    if how == "flag":
        completed = run(project, github, "--author", chosen)
    else:
        completed = unleak_pr(
            project.work,
            *("--base", "main", "--forge", "github", "--repo", REPO, "--api-url", github.url),
            env={"UNLEAK_AUTHOR": chosen},
        )
    assert completed.returncode == 0, completed.stderr
    assert authors(project) == {chosen}


def test_an_author_without_an_email_is_a_usage_error(project: Project, github: FakeGitHub) -> None:
    completed = run(project, github, "--author", "just a name")
    assert completed.returncode == 2
    assert "Name <email@host>" in completed.stderr
    assert project.remote_branch() is None
    assert github.records == []


def update_branch(project: Project, clone_name: str, hand_edit: bytes | None = None) -> str:
    """What a forge's *Update branch* button does: merge the base into the bot's branch, in
    a clone; with `hand_edit`, a human slips a change into the merge."""
    clone = project.work.parent / clone_name
    git(project.work.parent, "clone", "-q", f"file://{project.remote}", str(clone))
    git(clone, "checkout", "-q", "unleak/fixes")
    git(clone, "merge", "-q", "--no-ff", "--no-commit", "origin/main")
    if hand_edit is not None:
        (clone / "clean.go").write_bytes(hand_edit)
        git(clone, "add", "clean.go")
    git(clone, "commit", "-q", "-m", "Merge branch 'main' into unleak/fixes")
    git(clone, "push", "-q", "origin", "unleak/fixes")
    return git(clone, "rev-parse", "HEAD")


def test_a_merge_of_the_base_into_the_branch_is_not_foreign_work(
    project: Project, github: FakeGitHub
) -> None:
    assert run(project, github).returncode == 0
    project.commit_to_main({"more.go": b"package p\n\nconst More = 1\n"}, "unrelated work")
    merged = update_branch(project, "update-branch")
    again = run(project, github)
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stderr
    assert project.remote_branch() == merged
    project.commit_to_main({"words.go": ANOTHER_LEAK}, "a new leak")
    third = run(project, github)
    assert third.returncode == 0, third.stderr
    assert project.remote_branch() not in (None, merged)
    assert github.calls("PATCH") == [f"PATCH /repos/{REPO}/pulls/1"]
    assert github.comments.get(1, []) == []
    # A merge that slips a hand-made change in is a human's work: the bot stops.
    project.commit_to_main({"more.go": b"package p\n\nconst More = 2\n"}, "more work")
    evil = update_branch(project, "evil-merge", hand_edit=b"package p\n\n// Edited in the merge.\n")
    refused = run(project, github)
    assert refused.returncode == 2
    assert "commits unleak did not make" in one_error_line(refused.stderr)
    assert project.remote_branch() == evil


def test_human_commits_stop_the_bot_and_it_says_so_once_on_the_pull_request(
    project: Project, github: FakeGitHub
) -> None:
    assert run(project, github).returncode == 0
    git(project.work, "fetch", "-q", "origin")
    git(project.work, "checkout", "-q", "-b", "mine", "origin/unleak/fixes")
    (project.work / "notes.txt").write_text("a human was here\n")
    git(project.work, "add", "notes.txt")
    git(project.work, "commit", "-q", "-m", "human work")
    git(project.work, "push", "-q", "origin", "mine:unleak/fixes")
    git(project.work, "checkout", "-q", "main")
    human_tip = project.remote_branch()
    for _ in range(2):
        completed = run(project, github)
        assert completed.returncode == 2
        line = one_error_line(completed.stderr)
        assert "commits unleak did not make" in line and "human work" in line
        assert "pull request #1" in line
        assert project.remote_branch() == human_tip
    comments = github.comments[1]
    assert len(comments) == 1, "said once, not on every run"
    assert "stopped updating" in comments[0]["body"] and "human work" in comments[0]["body"]
