#!/usr/bin/env python3
"""Benchmark how `unleak fix --dry-run` and `unleak scan` grow with the findings in one file.

    python3 benchmarks/bench_fix_scaling.py                        # lost-cancel, best of 1
    python3 benchmarks/bench_fix_scaling.py --fixture close-producer-channel/generator-returned
    python3 benchmarks/bench_fix_scaling.py --sizes 128,256,512,1024,2048 --runs 3

A fixture's before.go (package clause and imports once) is repeated with its top-level names
renamed (`Down` -> `Down0`, `Down1`, ...) until the file reaches each size in KiB; every copy
holds the fixture's finding. Each size is written to a temporary module and measured in fresh
processes (`unleak scan --no-cache FILE` and `unleak fix --dry-run FILE`, best wall time of N
runs). It prints the findings, both times, fix/scan, and how each time grew against the size
before it: doubling the size should about double the time (linear), not quadruple it.

This is a script, not a test: pytest does not collect it and nothing in CI runs it
(tests/test_fix_scaling.py counts the operations instead, which a loaded machine cannot skew).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURE = "lost-cancel/discarded-cancel"
FINDINGS = re.compile(r"(\d+) findings?")
IMPORTS = re.compile(r"^import (?:\([^)]*\)|\"[^\"]*\")\n", re.MULTILINE)
TOP_LEVEL_NAME = re.compile(r"^(?:func|type) (\w+)", re.MULTILINE)


def leaky_file(fixture: str, size: int) -> bytes:
    """The fixture's declarations repeated, renamed, until the file holds `size` bytes."""
    before = (REPO / "fixtures" / fixture / "before.go").read_text()
    before = re.sub(r' // want "[^"]*"', "", before)
    imports = IMPORTS.search(before)
    head_end = imports.end() if imports else before.index("\n") + 1
    head, body = before[:head_end], before[head_end:]
    names = TOP_LEVEL_NAME.findall(body)
    parts = [head]
    total = len(head)
    copy = 0
    while total < size:
        renamed = body
        for name in names:
            renamed = re.sub(rf"\b{name}\b", f"{name}{copy}", renamed)
        parts.append(renamed)
        total += len(renamed)
        copy += 1
    return "".join(parts).encode()


def best_time(command: list[str], cwd: Path, runs: int) -> tuple[float, str]:
    best = float("inf")
    stderr = ""
    for _ in range(runs):
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - started)
        if completed.returncode not in (0, 1):
            sys.exit(f"{' '.join(command)} failed: {completed.stderr.strip()}")
        stderr = completed.stderr
    return best, stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixture", default=DEFAULT_FIXTURE, help="fixtures/<id>/<case>")
    parser.add_argument("--sizes", default="128,256,512,1024", help="file sizes in KiB")
    parser.add_argument("--runs", type=int, default=1, help="best of N runs per measurement")
    arguments = parser.parse_args()
    unleak = [sys.executable, "-m", "codemod.cli"]
    print(f"fixture {arguments.fixture}, best of {arguments.runs}")
    print(f"{'size':>8} {'findings':>9} {'scan s':>8} {'fix s':>8} {'fix/scan':>9} {'growth':>14}")
    previous: tuple[float, float] | None = None
    with tempfile.TemporaryDirectory(prefix="unleak-bench-") as directory:
        module = Path(directory)
        (module / "go.mod").write_text("module example.com/bench\n\ngo 1.22\n")
        for kib in (int(size) for size in arguments.sizes.split(",")):
            (module / "big.go").write_bytes(leaky_file(arguments.fixture, kib * 1024))
            scan, scanned = best_time(
                [*unleak, "scan", "--no-cache", "big.go"], module, arguments.runs
            )
            fix, _ = best_time([*unleak, "fix", "--dry-run", "big.go"], module, arguments.runs)
            found = FINDINGS.search(scanned)
            growth = f"{scan / previous[0]:.1f}x/{fix / previous[1]:.1f}x" if previous else "-"
            print(
                f"{kib:>5} KB {found.group(1) if found else '?':>9} {scan:>8.2f} {fix:>8.2f}"
                f" {fix / scan:>9.2f} {growth:>14}",
                flush=True,
            )
            previous = (scan, fix)
    print("growth: scan/fix time against the size before (2x size: linear is 2x)")


if __name__ == "__main__":
    main()
