"""`--diff-base REV`: only findings on lines changed since a git revision (CI gates new code)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from codemod.changed import carry_lines
from tests.cli_support import LEAKY, TWO_LEAKS, make_module, unleak


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
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
