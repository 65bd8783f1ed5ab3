#!/usr/bin/env python3
"""Compare unleak's findings and fixes at REV with the work tree's, on the same Go files.

    python3 benchmarks/compare_findings.py HEAD~3                      # fixtures, examples, corpora
    python3 benchmarks/compare_findings.py main fixtures/ctx-done-arm  # only these paths

REV is checked out in a temporary `git worktree`; its code runs with PYTHONPATH pointing at that
checkout, the work tree's with PYTHONPATH pointing here, both from this directory and on this
directory's files (so a changed fixture is read by both). For each path group (fixtures/,
examples/, each corpus) both run `scan --format json --no-cache` and
`fix --dry-run --unsafe --format json`, and every finding is compared by file, position and id:
its safety, message and fix (the diff of that finding alone), and for `fix` whether it was
applied. Without paths the groups are fixtures/, examples/ and the modules of docs/validation.md
present under benchmarks/.corpus/gomodcache (download them with bench_scan.py or
validate_corpus.py).

A pure refactor prints zero differences; a deliberate change prints exactly its own. Exit status:
0 when nothing differs, 1 when something does, 2 when a run fails.

This is a script, not a test: pytest does not collect it and nothing in CI runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scan import DEFAULT_CORPUS, REPO
from validate_corpus import DEFAULT_MODULES

# -P: the current directory (this checkout) must not come before PYTHONPATH on sys.path.
# The fields of a finding that make its place; the rest is what a refactor must keep.
PLACE = ("file", "line", "column", "end_line", "end_column", "id")
COMPARED = ("safety", "message", "fix", "applied")
COMMANDS = {
    "scan": ["scan", "--format", "json", "--no-cache", "--color", "never"],
    "fix": ["fix", "--dry-run", "--unsafe", "--format", "json", "--color", "never"],
}


@dataclass(frozen=True)
class Difference:
    command: str
    place: tuple[Any, ...]
    before: dict[str, Any] | None  # None: the finding is new
    after: dict[str, Any] | None  # None: the finding is gone

    def describe(self) -> Iterator[str]:
        file, line, column, _, _, finding_id = self.place
        where = f"{self.command}: {file}:{line}:{column}: {finding_id}"
        if self.before is None:
            yield f"+ {where} [{(self.after or {}).get('safety')}] (new)"
            return
        if self.after is None:
            yield f"- {where} [{self.before.get('safety')}] (gone)"
            return
        for name in COMPARED:
            old, new = self.before.get(name), self.after.get(name)
            if old != new:
                yield f"~ {where}: {name} {_short(old)} -> {_short(new)}"


def _short(value: object) -> str:
    shown = json.dumps(value)
    return shown if len(shown) <= 200 else shown[:197] + "..."


def default_groups(corpus_dir: Path) -> list[Path]:
    groups = [REPO / "fixtures", REPO / "examples"]
    cache = corpus_dir / "gomodcache"
    for module in DEFAULT_MODULES:
        path, _, version = module.partition("@")
        # The module cache escapes upper-case letters as !lower (github.com/!i!b!m/sarama).
        escaped = "".join(f"!{c.lower()}" if c.isupper() else c for c in path)
        directory = cache / f"{escaped}@{version}"
        if directory.is_dir():
            groups.append(directory)
    return groups


def checkout(rev: str, into: Path) -> None:
    completed = subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(into), rev],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"compare_findings: cannot check out {rev}: {completed.stderr.strip()}")


def remove_checkout(path: Path) -> None:
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
        capture_output=True,
        check=False,
    )


def environment(code: Path, corpus_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(code)  # this checkout's codemod/ and transforms/, nothing else
    # Corpora live in a git-ignored folder: without a ceiling, discovery would skip them.
    ceilings = [str(corpus_dir.resolve())]
    if env.get("GIT_CEILING_DIRECTORIES"):
        ceilings.append(env["GIT_CEILING_DIRECTORIES"])
    env["GIT_CEILING_DIRECTORIES"] = os.pathsep.join(ceilings)
    return env


def check_imports(code: Path, corpus_dir: Path) -> None:
    """An installed unleak must not shadow the checkout's code (an editable install would)."""
    probe = "import codemod, transforms; print(codemod.__file__); print(transforms.__file__)"
    completed = subprocess.run(
        [sys.executable, "-P", "-c", probe],
        cwd=REPO,
        env=environment(code, corpus_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    for line in completed.stdout.splitlines() or [completed.stderr.strip()]:
        if not Path(line).resolve().is_relative_to(code.resolve()):
            raise SystemExit(f"compare_findings: {line} is not from {code}; unset PYTHONPATH")


def run(
    command: str,
    group: Path,
    code: Path,
    corpus_dir: Path,
    jobs: int | None,
    select: Sequence[str] = (),
) -> list[dict[str, Any]]:
    arguments = [sys.executable, "-P", "-m", "codemod.cli", *COMMANDS[command]]
    if jobs:
        arguments += ["--jobs", str(jobs)]
    for finding_id in select:
        arguments += ["--select", finding_id]
    target = os.path.relpath(group, REPO)
    completed = subprocess.run(
        [*arguments, target],
        cwd=REPO,
        env=environment(code, corpus_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        tail = completed.stderr.strip().splitlines()[-5:]
        raise SystemExit(
            f"compare_findings: `{command}` with {code} on {target} failed "
            f"(exit {completed.returncode}): " + " | ".join(tail)
        ) from None
    findings: list[dict[str, Any]] = report["findings"]
    return findings


def compare(
    command: str, before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]
) -> list[Difference]:
    """Findings paired by place (in order, for several at one place), then field by field."""
    by_place_before: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    by_place_after: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for findings, into in ((before, by_place_before), (after, by_place_after)):
        for finding in findings:
            into.setdefault(tuple(finding.get(k) for k in PLACE), []).append(finding)
    differences: list[Difference] = []
    for place in sorted(by_place_before.keys() | by_place_after.keys(), key=repr):
        old, new = by_place_before.get(place, []), by_place_after.get(place, [])
        for index in range(max(len(old), len(new))):
            first = old[index] if index < len(old) else None
            second = new[index] if index < len(new) else None
            if first is None or second is None or _kept(first) != _kept(second):
                differences.append(Difference(command, place, first, second))
    return differences


def _kept(finding: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(finding.get(k) for k in COMPARED)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", help="the revision to compare the work tree with")
    parser.add_argument("paths", nargs="*", type=Path, help="path groups (default: see above)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="download folder")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes per run")
    parser.add_argument(
        "--select", action="append", default=[], help="only this transform id (repeatable)"
    )
    args = parser.parse_intermixed_args(argv)
    groups = [p.resolve() for p in args.paths] or default_groups(args.corpus)
    total: Counter[str] = Counter()
    differences: list[Difference] = []
    with tempfile.TemporaryDirectory(prefix="unleak-compare-") as scratch:
        old_code = Path(scratch) / "rev"
        checkout(args.rev, old_code)
        try:
            check_imports(old_code, args.corpus)
            check_imports(REPO, args.corpus)
            for group in groups:
                counts: list[str] = []
                for command in COMMANDS:
                    before = run(command, group, old_code, args.corpus, args.jobs, args.select)
                    after = run(command, group, REPO, args.corpus, args.jobs, args.select)
                    found = compare(command, before, after)
                    differences += found
                    total[command] += len(after)
                    counts.append(f"{command} {len(before)}/{len(after)}, {len(found)} differ")
                label = os.path.relpath(group, REPO)
                print(f"{label}: " + "; ".join(counts), flush=True)
        finally:
            remove_checkout(old_code)
    for difference in differences:
        for line in difference.describe():
            print(line)
    print(
        f"{len(differences)} differences between {args.rev} and the work tree over "
        f"{len(groups)} path groups (scan {total['scan']}, fix {total['fix']} findings)"
    )
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
