"""Draw the precision sample of docs/validation.md: findings to judge by reading the code.

    python3 benchmarks/precision_sample.py --transform ctx-done-arm [--safety safe] [--seed 7]
    python3 benchmarks/precision_sample.py --report scan.json --transform detached-context

Scans the corpus folder (the module cache the other benchmark scripts fill) with
`unleak scan --format json` unless --report names a saved scan, counts one finding per
(module without version, file, line text, message) so that a module present in several
versions is judged once (its newest version), shuffles with --seed and takes at most --cap per
module. It prints a markdown table with the columns to fill in by hand: the finding's verdict
(TP/FP), the fix's verdict (correct / harmless / wrong / n.a.) and a one-line reason. Judging
stays a human (or reviewer) task; the draw is what this script makes repeatable.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shlex
import subprocess
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_scan import DEFAULT_CORPUS

_MODULE_PATH = re.compile(r"(?P<module>.*?)@(?P<version>[^/]+)/(?P<file>.*)")


def scan(folder: Path, unleak: Sequence[str], go_version: str | None) -> list[dict[str, Any]]:
    command = [*unleak, "scan", "--format", "json", "--no-cache", "--quiet", str(folder)]
    if go_version:
        command[2:2] = ["--go-version", go_version]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode not in (0, 1):
        raise SystemExit(f"precision_sample: unleak exit {completed.returncode}")
    findings: list[dict[str, Any]] = json.loads(completed.stdout)["findings"]
    return findings


def _version_key(version: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", version)[:3]]


def _line_text(path: Path, line: int) -> str:
    try:
        return path.read_text(encoding="utf-8").splitlines()[line - 1].strip()
    except (OSError, IndexError, UnicodeDecodeError):
        return ""


def draw(
    findings: Sequence[dict[str, Any]], root: Path, count: int, cap: int, seed: int
) -> tuple[list[tuple[dict[str, Any], str, int]], int]:
    """The sample (finding, module@version/file, copies) and how many distinct findings."""
    groups: dict[tuple[str, ...], list[tuple[dict[str, Any], str, str]]] = defaultdict(list)
    for finding in findings:
        path = Path(finding["file"])
        relative = path.resolve().relative_to(root.resolve()).as_posix()
        match = _MODULE_PATH.match(relative)
        if match is None:
            continue
        module = re.sub(r"/v\d+$", "", match["module"])
        text = _line_text(path, finding["line"])
        key = (module, match["file"], text, finding["message"])
        groups[key].append((finding, relative, match["version"]))
    distinct = []
    for key in sorted(groups):
        copies = sorted(groups[key], key=lambda c: _version_key(c[2]), reverse=True)
        newest, relative, _ = copies[0]
        distinct.append((key[0], newest, relative, len(copies)))
    random.Random(seed).shuffle(distinct)
    per_module: dict[str, int] = defaultdict(int)
    sample = []
    for module, finding, relative, copies in distinct:
        if per_module[module] >= cap:
            continue
        per_module[module] += 1
        sample.append((finding, relative, copies))
        if len(sample) == count:
            break
    return sample, len(distinct)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--transform", required=True)
    parser.add_argument("--safety", help="only findings of this safety (safe, review, ...)")
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--cap", type=int, default=4, help="at most this many per module")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--go-version", help="as unleak's --go-version (timer transforms)")
    parser.add_argument("--report", type=Path, help="a saved `unleak scan --format json`")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS / "gomodcache")
    parser.add_argument("--unleak", default=f"{shlex.quote(sys.executable)} -m codemod.cli")
    args = parser.parse_args(argv)
    if args.report is not None:
        findings = json.loads(args.report.read_text())["findings"]
    else:
        findings = scan(args.corpus, shlex.split(args.unleak), args.go_version)
    chosen = [
        f
        for f in findings
        if f["id"] == args.transform and (args.safety is None or f["safety"] == args.safety)
    ]
    sample, distinct = draw(chosen, args.corpus, args.count, args.cap, args.seed)
    print(
        f"{args.transform}: {len(chosen)} findings, {distinct} distinct, "
        f"{len(sample)} drawn (seed {args.seed}, at most {args.cap} per module)\n"
    )
    print("| # | location | fix | finding | fix verdict | reason |")
    print("| --- | --- | --- | --- | --- | --- |")
    for number, (finding, relative, _) in enumerate(sample, start=1):
        fix = finding["safety"] if finding.get("fix") else "none"
        print(f"| {number} | {relative}:{finding['line']} | {fix} | ? | ? | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
