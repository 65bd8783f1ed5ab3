"""The progress bar (rich, on stderr) and per-transform closing lines: only on a terminal."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pexpect
import pytest

from codemod.progress import PROGRESS_MIN_FILES
from tests.cli_support import LEAKY, env, make_module, unleak

MANY = PROGRESS_MIN_FILES + 5


@pytest.fixture
def many(tmp_path: Path) -> Path:
    return make_module(tmp_path, {f"f{index:02}.go": LEAKY for index in range(MANY)})


def run_in_terminal(module: Path, *args: str) -> tuple[int | None, str]:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "codemod.cli", *args],
        cwd=str(module),
        env={**env(), "TERM": "xterm"},
        encoding="utf-8",
        timeout=120,
        dimensions=(40, 120),
    )
    child.expect(pexpect.EOF)
    output = child.before
    child.close()
    return child.exitstatus, output


def test_bar_and_per_transform_lines_on_a_terminal(many: Path) -> None:
    status, output = run_in_terminal(many, "scan", "--format", "json", ".")
    assert status == 1
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    assert "unleak: scanning" in plain and f"/{MANY} files" in plain
    assert f"  close-producer-channel: {MANY} findings\r\n" in output


def test_fix_closing_lines_count_fixes(many: Path) -> None:
    status, output = run_in_terminal(many, "fix", "--format", "json", ".")
    assert status == 1
    assert f"  close-producer-channel: {MANY} findings, {MANY} fixed\r\n" in output


def test_quiet_turns_it_off(many: Path) -> None:
    status, output = run_in_terminal(many, "scan", "--quiet", "--format", "json", ".")
    assert status == 1 and "scanning" not in output and "close-producer-channel: " not in output


def test_short_runs_get_no_bar(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY})
    status, output = run_in_terminal(module, "scan", "--format", "json", ".")
    assert status == 1 and "scanning" not in output
    assert "unleak: 1 file, 1 finding (close-producer-channel: 1)" in output


def test_no_bar_when_stderr_is_not_a_terminal(many: Path) -> None:
    result = unleak("scan", ".", cwd=many)
    assert (
        result.stderr == f"unleak: {MANY} files, {MANY} findings (close-producer-channel: {MANY})\n"
    )
