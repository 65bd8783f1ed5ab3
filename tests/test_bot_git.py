"""`unleak pr` and git: dry runs, refusals, the user's checkout left alone, the token kept out
of argv and the repository. Real repositories with a real bare remote; no forge needed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.bot_support import (
    LOST_CANCEL,
    TOKEN,
    Project,
    assert_no_secret,
    git,
    make_project,
    state_of,
    unleak_pr,
)
from tests.cli_support import LEAKY
from tests.fake_github import FakeGitHub, serving
from transforms import transform_by_id


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path, {"leaky.go": LEAKY, "wait.go": LOST_CANCEL})


def title(transform_id: str) -> str:
    transform = transform_by_id(transform_id)
    assert transform is not None
    return transform.title


def test_dry_run_prints_branch_commits_and_body_and_touches_no_remote(project: Project) -> None:
    # The remote cannot be reached at all: a dry run must not try.
    git(project.work, "remote", "set-url", "origin", "http://127.0.0.1:9/nowhere.git")
    before = state_of(project.work)
    completed = unleak_pr(project.work, "--base", "main", "--dry-run", token=None)
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert out.startswith("branch: unleak/fixes (from main at ")
    assert "2 commits; nothing was pushed" in out
    assert f"commit 1/2:\n    {title('close-producer-channel')}" in out
    assert f"commit 2/2:\n    {title('lost-cancel')}" in out
    assert "pull request: unleak: fix 2 goroutine-leak-prone idioms" in out
    assert "<!-- unleak:pull-request -->" in out
    assert "unleak explain lost-cancel" in out
    assert state_of(project.work) == before
    assert project.remote_branch() is None


def test_dry_run_reports_gofmt_and_go_vet(project: Project) -> None:
    completed = unleak_pr(project.work, "--base", "main", "--dry-run", token=None)
    assert completed.returncode == 0, completed.stderr
    assert "- gofmt (passed): all 2 rewritten Go files parse and are gofmt-formatted" in (
        completed.stdout
    )
    assert "- go vet (passed): `go vet .`: passed" in completed.stdout


def test_go_vet_failure_that_unleak_did_not_cause_is_said_so(tmp_path: Path) -> None:
    vet_bad = b'package p\n\nimport "fmt"\n\nfunc Say() {\n\tfmt.Printf("%d\\n", "x")\n}\n'
    project = make_project(tmp_path, {"leaky.go": LEAKY, "say.go": vet_bad})
    completed = unleak_pr(project.work, "--base", "main", "--dry-run", token=None)
    assert completed.returncode == 0, completed.stderr
    assert "fails on the base commit too, not from unleak" in completed.stdout
    assert "<details><summary>go vet output</summary>" in completed.stdout


def test_nothing_to_fix(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"clean.go": b"package p\n"})
    completed = unleak_pr(project.work, "--base", "main", "--dry-run", token=None)
    assert completed.returncode == 0
    assert "nothing to fix" in completed.stderr
    assert completed.stdout == ""


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "real"])
def test_refuses_a_dirty_work_tree(project: Project, dry_run: bool) -> None:
    (project.work / "leaky.go").write_bytes(LEAKY + b"// edited\n")
    completed = unleak_pr(project.work, "--base", "main", *(["--dry-run"] * dry_run))
    assert completed.returncode == 2
    assert "uncommitted changes (leaky.go)" in completed.stderr
    assert project.remote_branch() is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--branch", "main"], "is the base branch"),
        (["--branch", "bad..name"], "not a valid branch name"),
        (["--base", "nope"], "no branch 'nope'"),
    ],
    ids=["branch-is-base", "bad-name", "missing-base"],
)
def test_refusals(project: Project, args: list[str], message: str) -> None:
    completed = unleak_pr(project.work, "--base", "main", "--dry-run", *args)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], completed.stderr


def test_path_outside_a_repository(tmp_path: Path) -> None:
    (tmp_path / "loose").mkdir()
    completed = unleak_pr(tmp_path / "loose", "--base", "main", "--dry-run")
    assert completed.returncode == 2
    assert "not inside a git work tree" in completed.stderr


def test_user_hooks_and_missing_identity_do_not_matter(project: Project, tmp_path: Path) -> None:
    hook = project.work / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho hook ran >&2\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    home = tmp_path / "home"
    home.mkdir()
    no_identity = {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "",
        "GIT_AUTHOR_EMAIL": "",
        "GIT_COMMITTER_NAME": "",
        "GIT_COMMITTER_EMAIL": "",
    }
    completed = unleak_pr(project.work, "--base", "main", "--dry-run", env=no_identity)
    assert completed.returncode == 0, completed.stderr
    assert "hook ran" not in completed.stderr


def test_only_the_given_path_and_selected_transforms(project: Project) -> None:
    completed = unleak_pr(
        project.work, "--base", "main", "--dry-run", "--select", "lost-cancel", token=None
    )
    assert completed.returncode == 0, completed.stderr
    assert "1 commit;" in completed.stdout
    assert title("lost-cancel") in completed.stdout
    assert title("close-producer-channel") not in completed.stdout


def test_config_of_the_base_commit_is_used(project: Project) -> None:
    project.commit_to_main({".unleak.toml": b'ignore = ["lost-cancel"]\n'}, "config")
    completed = unleak_pr(project.work, "--base", "main", "--dry-run", token=None)
    assert completed.returncode == 0, completed.stderr
    assert "1 commit;" in completed.stdout
    assert title("lost-cancel") not in completed.stdout


def test_the_token_never_reaches_argv_the_repository_or_output(
    project: Project, tmp_path: Path
) -> None:
    """A `git` shim logs every argv the bot runs; the repository is searched afterwards."""
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    log = tmp_path / "argv.log"
    real_git = git(project.work, "--exec-path")  # any real path will do to find git itself
    del real_git
    import shutil

    git_binary = shutil.which("git")
    assert git_binary is not None
    shim = shim_dir / "git"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{git_binary}" "$@"\n')
    shim.chmod(0o755)
    env = {"PATH": f"{shim_dir}{os.pathsep}{os.environ['PATH']}", "GIT_TRACE": "1"}
    with serving(FakeGitHub(TOKEN, "acme/widgets")) as fake:
        completed = unleak_pr(
            project.work,
            "--base",
            "main",
            "--forge",
            "github",
            "--repo",
            "acme/widgets",
            "--api-url",
            fake.url,
            env=env,
        )
    assert completed.returncode == 0, completed.stderr
    argv = log.read_text()
    assert "push" in argv and "ls-remote" in argv, "the shim saw the bot's git commands"
    assert_no_secret(argv, completed.stdout, completed.stderr)
    for path in [*project.work.joinpath(".git").rglob("*"), *project.remote.rglob("*")]:
        if path.is_file():
            assert_no_secret(path.read_bytes())
