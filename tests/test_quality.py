"""The code itself: ruff (lint and format) and mypy --strict are clean, as the style guide asks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

CHECKS = {
    "ruff check": [sys.executable, "-m", "ruff", "check", "codemod", "transforms", "tests"],
    "ruff format": [
        sys.executable,
        "-m",
        "ruff",
        "format",
        "--check",
        "codemod",
        "transforms",
        "tests",
    ],
    "mypy --strict": [sys.executable, "-m", "mypy"],
}


@pytest.mark.parametrize("command", CHECKS.values(), ids=CHECKS.keys())
def test_tool_is_clean(command: list[str]) -> None:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
