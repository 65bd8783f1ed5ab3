"""`fix --patch-file` writes the reviewed patch; `unleak apply` applies it, all or nothing."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from codemod.cli import main
from tests.cli_support import LEAKY, TWO_LEAKS, make_module, snapshot, unleak


@pytest.fixture
def module(tmp_path: Path) -> Path:
    return make_module(tmp_path / "m", {"a.go": LEAKY, "pkg/b.go": TWO_LEAKS})


def test_patch_file_holds_the_dry_run_patch_and_nothing_else_changes(module: Path) -> None:
    before = snapshot(module)
    result = unleak("fix", "--patch-file", "../out.patch", ".", cwd=module)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert snapshot(module) == before
    dry_run = unleak("fix", "--dry-run", "--color", "never", ".", cwd=module).stdout
    assert (module.parent / "out.patch").read_text() == dry_run


def test_apply_writes_what_fix_write_would(module: Path, tmp_path: Path) -> None:
    unleak("fix", "--patch-file", "../out.patch", ".", cwd=module)
    applied = unleak("apply", "../out.patch", cwd=module)
    assert applied.returncode == 0, applied.stderr
    assert "2 files changed" in applied.stderr
    written = snapshot(module)
    twin = make_module(tmp_path / "twin", {"a.go": LEAKY, "pkg/b.go": TWO_LEAKS})
    unleak("fix", "--write", ".", cwd=twin)
    assert written == snapshot(twin)
    assert not list(module.rglob("*.unleak"))  # atomic writes leave no temporary files


def test_apply_refuses_when_a_file_changed_and_writes_nothing(module: Path) -> None:
    unleak("fix", "--patch-file", "../out.patch", ".", cwd=module)
    edited = TWO_LEAKS.replace(b"out := make(chan rune)", b"out := make(chan rune) // edited")
    (module / "pkg" / "b.go").write_bytes(edited)
    before = snapshot(module)
    result = unleak("apply", "../out.patch", cwd=module)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("unleak: pkg/b.go: changed since the patch was made")
    assert "nothing was written" in result.stderr
    assert snapshot(module) == before  # a.go, which still matched, is untouched too


def test_apply_agrees_with_git_apply_check(module: Path) -> None:
    """Our check is `git apply --check` without fuzz: both accept, then both refuse."""
    unleak("fix", "--patch-file", "../out.patch", ".", cwd=module)
    patch = str(module.parent / "out.patch")
    subprocess.run(["git", "init", "-q"], cwd=module, check=True)
    assert subprocess.run(["git", "apply", "--check", patch], cwd=module).returncode == 0
    assert unleak("apply", patch, cwd=module).returncode == 0
    assert subprocess.run(["git", "apply", "--check", patch], cwd=module).returncode != 0
    second = unleak("apply", patch, cwd=module)
    assert second.returncode == 2 and "changed since the patch was made" in second.stderr


def test_apply_handles_a_file_without_final_newline(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY.rstrip(b"\n")})
    unleak("fix", "--patch-file", "out.patch", "a.go", cwd=module)
    assert unleak("apply", "out.patch", cwd=module).returncode == 0
    assert (module / "a.go").read_bytes().endswith(b"\treturn total\n}")
    assert b"defer close(out)" in (module / "a.go").read_bytes()


def test_apply_rejects_garbage_and_missing_files(module: Path) -> None:
    (module / "junk.patch").write_text("this is not a patch\n")
    result = unleak("apply", "junk.patch", cwd=module)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    missing = unleak("apply", "nope.patch", cwd=module)
    assert missing.returncode == 2 and "nope.patch: cannot read" in missing.stderr


def test_patch_file_cannot_be_combined_with_write(module: Path) -> None:
    result = unleak("fix", "--write", "--patch-file", "x.patch", ".", cwd=module)
    assert result.returncode == 2 and not (module / "x.patch").exists()


def test_patch_file_in_a_missing_folder_is_one_line_and_exit_2(module: Path) -> None:
    result = unleak("fix", "--patch-file", "nowhere/fix.patch", ".", cwd=module)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "unleak: nowhere/fix.patch: cannot write the patch: No such file or directory" in (
        result.stderr.splitlines()
    )


def test_patch_file_on_a_full_disk_is_one_line_and_leaves_nothing(
    module: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(source: str, target: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a full folder cannot grow

    before = snapshot(module)
    monkeypatch.chdir(module)
    monkeypatch.setattr("codemod.sinks.patchfile.os.replace", no_space)
    result = CliRunner().invoke(main, ["fix", "--patch-file", "fix.patch", "."])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "unleak: fix.patch: cannot write the patch: No space left on device" in (
        result.stderr.splitlines()
    )
    assert snapshot(module) == before  # no patch, no temporary file


def test_patch_file_that_is_not_a_regular_file_is_written_into(module: Path) -> None:
    result = unleak("fix", "--patch-file", "/dev/stdout", ".", cwd=module)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("diff --git a/a.go b/a.go\n")
