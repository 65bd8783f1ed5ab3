""".pre-commit-hooks.yaml: each hook run the way pre-commit runs it (entry + file names)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli_support import LEAKY, make_module, unleak
from tests.conftest import ROOT

CLEAN = b"package p\n\nfunc Add(a, b int) int {\n\treturn a + b\n}\n"


def hooks() -> dict[str, dict[str, Any]]:
    entries = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return {hook["id"]: hook for hook in entries}


def run_hook(hook: dict[str, Any], files: list[str], cwd: Path) -> tuple[int, str]:
    """pre-commit filters by `types` and `exclude`, then calls `entry` with the file names."""
    command = shlex.split(hook["entry"])
    assert command[0] == "unleak"  # the console script the python hook environment installs
    chosen = [
        name
        for name in files
        if name.endswith(".go") and not re.search(hook.get("exclude", "^$"), name)
    ]
    result = unleak(*command[1:], *chosen, cwd=cwd)
    return result.returncode, result.stdout + result.stderr


def test_manifest_declares_both_hooks_as_pre_commit_requires() -> None:
    found = hooks()
    assert set(found) == {"unleak-scan", "unleak-fix"}
    for hook in found.values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python" and hook["types"] == ["go"]


@pytest.fixture
def module(tmp_path: Path) -> Path:
    return make_module(
        tmp_path,
        {"leaky.go": LEAKY, "clean.go": CLEAN, "vendor/v/leaky.go": LEAKY, "README.md": b"x"},
    )


FILES = ["leaky.go", "clean.go", "vendor/v/leaky.go", "README.md"]


def test_scan_hook_fails_on_leaks_and_passes_on_clean_files(module: Path) -> None:
    hook = hooks()["unleak-scan"]
    status, output = run_hook(hook, FILES, module)
    assert status == 1 and "leaky.go:5:2: close-producer-channel" in output
    assert "vendor/" not in output
    assert run_hook(hook, ["clean.go"], module)[0] == 0


def test_fix_hook_rewrites_then_passes(module: Path) -> None:
    hook = hooks()["unleak-fix"]
    # No finding remains: exit 0; pre-commit itself fails a hook that modified files (the
    # real run below shows it).
    assert run_hook(hook, FILES, module)[0] == 0
    assert b"defer close(out)" in (module / "leaky.go").read_bytes()
    assert (module / "vendor" / "v" / "leaky.go").read_bytes() == LEAKY
    assert run_hook(hook, FILES, module)[0] == 0  # the re-staged result passes


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_the_real_pre_commit_installs_and_runs_both_hooks(tmp_path: Path) -> None:
    """pre-commit itself: clones this repository, pip-installs it, filters files, runs."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    repository = make_module(tmp_path / "project", {"leaky.go": LEAKY, "clean.go": CLEAN})
    git("init", "-q", cwd=repository)
    git("add", ".", cwd=repository)
    environment = {
        **os.environ,
        # The hook environment (a venv with unleak installed) is reused across test runs.
        "PRE_COMMIT_HOME": str(Path.home() / ".cache" / "unleak-tests" / "pre-commit"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }

    def try_repo(hook: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--all-files"]
        return subprocess.run(
            command, cwd=repository, env=environment, capture_output=True, text=True, timeout=900
        )

    scanned = try_repo("unleak-scan")
    assert scanned.returncode == 1, scanned.stdout + scanned.stderr
    assert "unleak scan" in scanned.stdout and "Failed" in scanned.stdout
    assert "leaky.go:5:2: close-producer-channel" in scanned.stdout
    fixed = try_repo("unleak-fix")
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr  # files were modified
    assert b"defer close(out)" in (repository / "leaky.go").read_bytes()
    assert (repository / "clean.go").read_bytes() == CLEAN
    again = try_repo("unleak-scan")
    assert again.returncode == 0 and "Passed" in again.stdout, again.stdout + again.stderr
