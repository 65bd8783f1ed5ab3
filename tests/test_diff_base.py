"""`--diff-base REV`: only findings on lines changed since a git revision (CI gates new code)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from codemod.changed import carry_lines
from tests.cli_support import LEAKY, TWO_LEAKS, make_module, unleak

GIT_AS_TESTER = ("git", "-c", "user.name=t", "-c", "user.email=t@example.com")


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        [*GIT_AS_TESTER, *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    module = make_module(tmp_path, {"old.go": LEAKY, "pkg/untouched.go": LEAKY})
    git("init", "-q", cwd=module)
    git("add", ".", cwd=module)
    git("commit", "-q", "-m", "base", cwd=module)
    return module


def test_only_changed_lines_are_reported(repo: Path) -> None:
    (repo / "old.go").write_bytes(TWO_LEAKS)  # Letters is new; Numbers was already there
    full = unleak("scan", ".", cwd=repo)
    assert len(full.stdout.splitlines()) == 3
    result = unleak("scan", "--diff-base", "HEAD", ".", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        line for line in full.stdout.splitlines() if line.startswith("old.go:23:2:")
    ]


def test_committed_changes_since_an_older_revision_count(repo: Path) -> None:
    (repo / "old.go").write_bytes(TWO_LEAKS)
    git("commit", "-q", "-am", "more", cwd=repo)
    assert unleak("scan", "--diff-base", "HEAD", ".", cwd=repo).returncode == 0
    since_base = unleak("scan", "--diff-base", "HEAD~1", ".", cwd=repo)
    assert [line.split(": ")[0] for line in since_base.stdout.splitlines()] == ["old.go:23:2"]


def test_fix_only_touches_changed_code(repo: Path) -> None:
    (repo / "old.go").write_bytes(TWO_LEAKS)
    unleak("fix", "--write", "--diff-base", "HEAD", ".", cwd=repo)
    fixed = (repo / "old.go").read_bytes()
    assert fixed.count(b"defer close(out)") == 1
    assert fixed.index(b"defer close(out)") > fixed.index(b"func Letters")


def test_untracked_files_are_new_code(repo: Path) -> None:
    (repo / "new.go").write_bytes(LEAKY)
    result = unleak("scan", "--diff-base", "HEAD", ".", cwd=repo)
    assert [line.split(": ")[0] for line in result.stdout.splitlines()] == ["new.go:5:2"]


def test_unknown_revision_is_a_usage_error(repo: Path) -> None:
    result = unleak("scan", "--diff-base", "no-such-rev", ".", cwd=repo)
    assert result.returncode == 2
    assert result.stderr.startswith("unleak: --diff-base no-such-rev:")
    assert "Traceback" not in result.stderr


def test_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    module = make_module(tmp_path / "plain", {"a.go": LEAKY})
    result = unleak("scan", "--diff-base", "HEAD", ".", cwd=module)
    assert result.returncode == 2 and "--diff-base HEAD" in result.stderr


def test_carry_lines_follows_unchanged_lines_only() -> None:
    before = b"a\nb\nc\nd\n"
    after = b"a\nNEW\nb\nc\nX\n"
    # b and c move down a line; d was replaced, so its line is gone.
    assert carry_lines(before, after, frozenset({2, 3, 4})) == frozenset({3, 4})


@pytest.mark.parametrize("name", ["tab\there.go", 'quote"d.go'])
def test_a_tracked_file_with_a_quoted_name_keeps_its_changed_lines(
    tmp_path: Path, name: str
) -> None:
    module = make_module(tmp_path, {name: LEAKY})
    git("init", "-q", cwd=module)
    git("add", ".", cwd=module)
    git("commit", "-q", "-m", "base", cwd=module)
    (module / name).write_bytes(TWO_LEAKS)
    result = unleak("scan", "--diff-base", "HEAD", "--format", "json", ".", cwd=module)
    assert result.returncode == 1, result.stderr
    assert '"line": 23' in result.stdout


@pytest.fixture
def branched(repo: Path) -> Path:
    """A `feature` branch off `main` adds a leak in new.go; meanwhile `main` edits the line
    old.go's leak starts on, so against main's tip the branch seems to bring that line back."""
    git("branch", "-M", "main", cwd=repo)
    git("checkout", "-q", "-b", "feature", cwd=repo)
    (repo / "new.go").write_bytes(LEAKY.replace(b"Numbers", b"Fresh").replace(b"Sum", b"Total"))
    git("add", "new.go", cwd=repo)
    git("commit", "-q", "-m", "feature work", cwd=repo)
    git("checkout", "-q", "main", cwd=repo)
    moved = LEAKY.replace(b"\tgo func() {", b"\tgo func() { // the producer")
    (repo / "old.go").write_bytes(moved)
    git("commit", "-q", "-am", "main moves on", cwd=repo)
    git("checkout", "-q", "feature", cwd=repo)
    return repo


def _locations(stdout: str) -> list[str]:
    return sorted(line.split(": ")[0] for line in stdout.splitlines())


def test_diff_base_compares_with_the_merge_base(branched: Path) -> None:
    result = unleak("scan", "--diff-base", "main", ".", cwd=branched)
    assert result.returncode == 1, result.stderr
    assert _locations(result.stdout) == ["new.go:5:2"]


def test_diff_base_exact_compares_with_the_revision_itself(branched: Path) -> None:
    result = unleak("scan", "--diff-base", "main", "--diff-base-exact", ".", cwd=branched)
    assert result.returncode == 1, result.stderr
    assert _locations(result.stdout) == ["new.go:5:2", "old.go:5:2"]


def test_fix_with_the_merge_base_leaves_mains_lines_alone(branched: Path) -> None:
    unleak("fix", "--write", "--diff-base", "main", ".", cwd=branched)
    assert b"defer close(out)" in (branched / "new.go").read_bytes()
    assert (branched / "old.go").read_bytes() == LEAKY


def test_whole_files_takes_every_line_of_a_changed_file(branched: Path) -> None:
    (branched / "old.go").write_bytes(LEAKY + b"\n// a note at the end\n")
    changed_only = unleak("scan", "--diff-base", "main", ".", cwd=branched)
    assert _locations(changed_only.stdout) == ["new.go:5:2"]
    whole = unleak("scan", "--diff-base", "main", "--whole-files", ".", cwd=branched)
    assert whole.returncode == 1, whole.stderr
    # pkg/untouched.go leaks too, but the branch did not change it
    assert _locations(whole.stdout) == ["new.go:5:2", "old.go:5:2"]


def test_unrelated_histories_are_a_usage_error(repo: Path) -> None:
    # a commit with HEAD's tree and no parent: a history that shares nothing with HEAD
    unrelated = subprocess.run(
        [*GIT_AS_TESTER, "commit-tree", "HEAD^{tree}", "-m", "unrelated"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    git("branch", "other", unrelated, cwd=repo)
    result = unleak("scan", "--diff-base", "other", ".", cwd=repo)
    assert result.returncode == 2, result.stderr
    assert "share no commit" in result.stderr and "--diff-base-exact" in result.stderr
    assert "Traceback" not in result.stderr
    exact = unleak("scan", "--diff-base", "other", "--diff-base-exact", ".", cwd=repo)
    assert exact.returncode == 0, exact.stderr


@pytest.mark.parametrize("flag", ["--diff-base-exact", "--whole-files"])
def test_diff_base_modifiers_need_diff_base(repo: Path, flag: str) -> None:
    result = unleak("scan", flag, ".", cwd=repo)
    assert result.returncode == 2 and f"{flag} needs --diff-base" in result.stderr
