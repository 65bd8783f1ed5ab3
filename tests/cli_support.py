"""Helpers for the end-to-end CLI tests: a real Go module on disk and unleak in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LEAKY = b"""package p

func Numbers(n int) <-chan int {
\tout := make(chan int)
\tgo func() {
\t\tfor i := 0; i < n; i++ {
\t\t\tout <- i
\t\t}
\t}()
\treturn out
}

func Sum(n int) int {
\ttotal := 0
\tfor v := range Numbers(n) {
\t\ttotal += v
\t}
\treturn total
}
"""

# Two independent leaks in one file: two hunks for the interactive tests.
TWO_LEAKS = (
    LEAKY
    + b"""
func Letters(s string) <-chan rune {
\tout := make(chan rune)
\tgo func() {
\t\tfor _, r := range s {
\t\t\tout <- r
\t\t}
\t}()
\treturn out
}

func Count(s string) int {
\tn := 0
\tfor range Letters(s) {
\t\tn++
\t}
\treturn n
}
"""
)

NUMBERS_FIXED = b"\tgo func() {\n\t\tdefer close(out)\n\t\tfor i := 0; i < n; i++ {"
LETTERS_FIXED = b"\tgo func() {\n\t\tdefer close(out)\n\t\tfor _, r := range s {"


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "", "TERM": "dumb"}


def unleak(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codemod.cli", *args],
        cwd=cwd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env(),
        timeout=120,
        check=False,
    )


def make_module(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


def gofmt_accepts(source: bytes) -> bool:
    completed = subprocess.run(["gofmt"], input=source, capture_output=True, check=False)
    return completed.returncode == 0
