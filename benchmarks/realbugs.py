#!/usr/bin/env python3
"""Recall on real fixes: does unleak find the goroutine leaks maintainers fixed by hand?

    python3 benchmarks/realbugs.py /work/shared/realbugs/dev.tsv /work/.mirror
    python3 benchmarks/realbugs.py dev.tsv MIRRORS --json out.json --keep benchmarks/.realbugs

Each row of the TSV (columns repo, sha, category, subject, files, go, note) names a commit that
fixed a leak. The repository is read from MIRRORS, either `<owner>+<name>/repo` (the fetch
layout) or `<owner>/<name>`, bare or not, with plain git plumbing (nothing is checked out).
For the fix's first parent and for the fix itself it extracts the non-test `.go` files of every
directory whose non-test `.go` files the fix changed, plus a `go.mod` holding only the module
path and `go` line of the go.mod governing that directory at that commit (the TSV's go version
and `github.com/<repo>` when there was none). It then runs `unleak scan --format json` and
`unleak fix --dry-run --unsafe --format json` (scan with `--no-cache`; fix keeps no cache) on
each side and reports, per bug:

* detected: a finding on the parent starts within 3 lines of a line the fix changed (parent
  side; a pure insertion counts the lines either side of it);
* which rule(s), with what safety, and whether `fix --unsafe` offers a fix for it;
* gone: no finding of the same rule in the same file on the fixed side at the line the
  parent's line maps to (within 3 lines) or with the same message.

It prints one line per bug, recall per category and overall; `--json FILE` saves everything for
a later comparison. Extractions go to a temporary directory, or to `--keep DIR` (git-ignored
benchmarks/.realbugs/ is meant for that) to read them afterwards. Whether a detection is the
same leak the humans fixed, and whether the offered fix is right, is judged by reading
(docs/validation.md, "Recall on real fixes"). This is a script: nothing in CI runs it.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PROXIMITY = 3
# Directories unleak's discovery never enters, so a change there can never be detected.
_UNSCANNED_DIRS = frozenset({"vendor", "testdata", "node_modules"})
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_MODULE_LINE = re.compile(r"^\s*module\s+(\"?)([^\s\"]+)\1", re.MULTILINE)
_GO_LINE = re.compile(r"^\s*go\s+(\d+\.\d+(?:\.\d+)?)\b", re.MULTILINE)


@dataclass(frozen=True)
class Bug:
    repo: str
    sha: str
    category: str
    subject: str
    go: str
    note: str

    @property
    def short(self) -> str:
        return self.sha[:8]


@dataclass(frozen=True)
class Hunk:
    """One `git diff -U0` hunk: old lines [old_start, old_start+old_count), same for new."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int


@dataclass
class Near:
    """A parent-side finding that starts within PROXIMITY lines of a changed line."""

    file: str
    line: int
    rule: str
    safety: str
    message: str
    fix_offered: bool
    gone: bool


@dataclass
class Outcome:
    repo: str
    sha: str
    category: str
    detected: bool = False
    near: list[Near] = field(default_factory=list)
    parent_findings: int = 0
    fixed_findings: int = 0
    changed_files: list[str] = field(default_factory=list)
    # Parent findings in the changed files but away from the changed lines ("id@file:line").
    elsewhere: list[str] = field(default_factory=list)
    error: str | None = None


# ---- pure parts: diff parsing and proximity ----


def parse_unified_zero(diff_text: str) -> dict[str, list[Hunk]]:
    """Hunks per file of a `git diff -U0 --no-renames` (keyed by the old path, else the new)."""
    hunks: dict[str, list[Hunk]] = {}
    old_path: str | None = None
    current: list[Hunk] | None = None
    for line in diff_text.splitlines():
        if line.startswith("--- "):
            old_path = _diff_path(line[4:])
        elif line.startswith("+++ "):
            path = old_path or _diff_path(line[4:])
            current = hunks.setdefault(path, []) if path else None
        elif line.startswith("@@") and current is not None:
            match = _HUNK.match(line)
            if match:
                old_start, old_count, new_start, new_count = match.groups()
                current.append(
                    Hunk(
                        int(old_start),
                        1 if old_count is None else int(old_count),
                        int(new_start),
                        1 if new_count is None else int(new_count),
                    )
                )
    return hunks


def _diff_path(text: str) -> str | None:
    text = text.split("\t", 1)[0]
    if text == "/dev/null":
        return None
    return text[2:] if text.startswith(("a/", "b/")) else text


def changed_parent_lines(hunks: Iterable[Hunk]) -> set[int]:
    """Parent-side lines a fix changed; a pure insertion after line n marks n and n+1."""
    lines: set[int] = set()
    for hunk in hunks:
        if hunk.old_count:
            lines.update(range(hunk.old_start, hunk.old_start + hunk.old_count))
        else:
            lines.update(n for n in (hunk.old_start, hunk.old_start + 1) if n >= 1)
    return lines


def is_near(line: int, changed: Iterable[int], distance: int = PROXIMITY) -> bool:
    return any(abs(line - n) <= distance for n in changed)


def map_parent_line(line: int, hunks: Sequence[Hunk]) -> int:
    """Where a parent line sits in the fixed file (the start of its hunk if it was changed)."""
    shift = 0
    for hunk in sorted(hunks, key=lambda h: h.old_start):
        old_end = hunk.old_start + hunk.old_count  # one past the hunk's last old line
        if hunk.old_count and hunk.old_start <= line < old_end:
            return hunk.new_start
        # A pure insertion after line old_start moves the lines after it, not old_start itself.
        if (line >= old_end) if hunk.old_count else (line > hunk.old_start):
            shift += hunk.new_count - hunk.old_count
    return line + shift


def is_same_finding(
    parent: Mapping[str, Any], mapped_line: int, fixed: Mapping[str, Any], distance: int = PROXIMITY
) -> bool:
    """Same rule in the same file, at the mapped line or saying the same thing."""
    if fixed["file"] != parent["file"] or fixed["id"] != parent["id"]:
        return False
    return (
        abs(int(fixed["line"]) - mapped_line) <= distance or fixed["message"] == parent["message"]
    )


def is_scanned_go_source(path: str) -> bool:
    parts = PurePosixPath(path).parts
    name = parts[-1] if parts else ""
    return (
        name.endswith(".go")
        and not name.endswith("_test.go")
        and not name.startswith((".", "_"))
        and not any(p in _UNSCANNED_DIRS or p.startswith((".", "_")) for p in parts[:-1])
    )


# ---- git and unleak ----


def read_bugs(tsv: Path) -> list[Bug]:
    with tsv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        Bug(r["repo"], r["sha"], r["category"], r.get("subject", ""), r.get("go", ""), r["note"])
        for r in rows
    ]


def git_dir_for(mirrors: Path, repo: str) -> Path:
    owner, name = repo.split("/", 1)
    for candidate in (mirrors / f"{owner}+{name}" / "repo", mirrors / owner / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"{repo}: no mirror under {mirrors} (fetch it first)")


def git(git_dir: Path, *args: str, data: bytes | None = None) -> bytes:
    completed = subprocess.run(
        ["git", "-C", str(git_dir), "-c", "core.quotePath=false", *args],
        input=data,
        capture_output=True,
        check=False,
    )
    if completed.returncode != 0:
        message = completed.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"git {' '.join(args[:2])}: {message}")
    return completed.stdout


def _blob(git_dir: Path, commit: str, path: str) -> str | None:
    completed = subprocess.run(
        ["git", "-C", str(git_dir), "show", f"{commit}:{path}"], capture_output=True, check=False
    )
    return completed.stdout.decode("utf-8", "replace") if completed.returncode == 0 else None


def gomod_for(git_dir: Path, commit: str, directory: str, bug: Bug) -> tuple[str, str]:
    """(directory of the governing go.mod, its module + go lines) as of commit."""
    current = PurePosixPath(directory)
    while True:
        prefix = "" if str(current) == "." else f"{current}/"
        text = _blob(git_dir, commit, f"{prefix}go.mod")
        if text is not None:
            module = _MODULE_LINE.search(text)
            go = _GO_LINE.search(text)
            lines = f"module {module.group(2) if module else 'github.com/' + bug.repo}\n"
            return str(current), lines + (f"\ngo {go.group(1)}\n" if go else "")
        if str(current) == ".":
            return ".", f"module github.com/{bug.repo}\n\ngo {bug.go or '1.21'}\n"
        current = current.parent


def extract(git_dir: Path, commit: str, directories: Iterable[str], into: Path, bug: Bug) -> None:
    """Write the non-test .go files of `directories` at commit, and their go.mod, into `into`."""
    entries: list[tuple[str, str]] = []
    gomods: dict[str, str] = {}
    for directory in sorted(set(directories)):
        pathspec = "." if directory == "." else directory
        listing = git(git_dir, "ls-tree", "-z", commit, "--", f"{pathspec}/")
        for record in listing.decode("utf-8", "surrogateescape").split("\0"):
            if not record:
                continue
            meta, path = record.split("\t", 1)
            kind, blob = meta.split()[1:3]
            if kind == "blob" and is_scanned_go_source(path):
                entries.append((blob, path))
        gomod_dir, gomod_text = gomod_for(git_dir, commit, directory, bug)
        gomods[gomod_dir] = gomod_text
    if entries:
        batch = git(
            git_dir, "cat-file", "--batch", data="".join(f"{b}\n" for b, _ in entries).encode()
        )
        offset = 0
        for _, path in entries:
            header_end = batch.index(b"\n", offset)
            size = int(batch[offset:header_end].split()[2])
            content = batch[header_end + 1 : header_end + 1 + size]
            offset = header_end + 1 + size + 1
            target = into / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    for gomod_dir, text in gomods.items():
        target = into / gomod_dir / "go.mod"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def run_unleak(unleak: Sequence[str], root: Path, *args: str) -> list[dict[str, Any]]:
    # fix has no cache to skip; scan must not answer from one another run filled.
    cache = ["--no-cache"] if args[0] == "scan" else []
    command = [*unleak, *args, *cache, "--format", "json", "--quiet", "--jobs", "1", "."]
    completed = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if completed.returncode not in (0, 1):
        raise RuntimeError(
            f"unleak {args[0]} exit {completed.returncode}: {completed.stderr.strip()}"
        )
    findings: list[dict[str, Any]] = json.loads(completed.stdout)["findings"]
    return findings


def _key(finding: Mapping[str, Any]) -> tuple[str, int, int, str]:
    return (finding["file"], int(finding["line"]), int(finding["column"]), finding["id"])


def evaluate(bug: Bug, mirrors: Path, unleak: Sequence[str], work: Path) -> Outcome:
    outcome = Outcome(bug.repo, bug.sha, bug.category)
    try:
        git_dir = git_dir_for(mirrors, bug.repo)
        parent = git(git_dir, "rev-parse", f"{bug.sha}^1").decode().strip()
        diff = git(git_dir, "diff", "-U0", "--no-renames", "--no-color", parent, bug.sha)
        hunks = {
            path: file_hunks
            for path, file_hunks in parse_unified_zero(diff.decode("utf-8", "replace")).items()
            if is_scanned_go_source(path)
        }
        outcome.changed_files = sorted(hunks)
        if not hunks:
            outcome.error = "the fix changes no scanned non-test .go file"
            return outcome
        directories = {str(PurePosixPath(path).parent) for path in hunks}
        # Files the fix adds live in directories only the fixed side has; that is fine.
        sides = {"parent": parent, "fixed": bug.sha}
        found: dict[str, list[dict[str, Any]]] = {}
        fixes: dict[str, dict[tuple[str, int, int, str], dict[str, Any]]] = {}
        for side, commit in sides.items():
            root = work / f"{bug.repo.replace('/', '+')}-{bug.short}" / side
            if root.exists():
                shutil.rmtree(root)
            root.mkdir(parents=True)
            extract(git_dir, commit, directories, root, bug)
            found[side] = run_unleak(unleak, root, "scan")
            offered = run_unleak(unleak, root, "fix", "--dry-run", "--unsafe")
            fixes[side] = {_key(f): f for f in offered}
        outcome.parent_findings = len(found["parent"])
        outcome.fixed_findings = len(found["fixed"])
        for finding in found["parent"]:
            file_hunks = hunks.get(finding["file"])
            if not file_hunks:
                continue
            if not is_near(finding["line"], changed_parent_lines(file_hunks)):
                outcome.elsewhere.append(f"{finding['id']}@{finding['file']}:{finding['line']}")
                continue
            mapped = map_parent_line(int(finding["line"]), file_hunks)
            with_fix = fixes["parent"].get(_key(finding), {})
            outcome.near.append(
                Near(
                    file=finding["file"],
                    line=int(finding["line"]),
                    rule=finding["id"],
                    safety=finding["safety"],
                    message=finding["message"],
                    fix_offered=bool(with_fix.get("fix") or finding.get("fix")),
                    gone=not any(is_same_finding(finding, mapped, f) for f in found["fixed"]),
                )
            )
        outcome.detected = bool(outcome.near)
    except (RuntimeError, FileNotFoundError, ValueError, json.JSONDecodeError) as error:
        outcome.error = str(error)
    return outcome


# ---- report ----


def _row(outcome: Outcome) -> str:
    if outcome.error:
        return f"{outcome.repo:28} {outcome.sha[:8]} {outcome.category:18} error: {outcome.error}"
    if not outcome.detected:
        return f"{outcome.repo:28} {outcome.sha[:8]} {outcome.category:18} -"
    parts = [
        f"{n.rule}[{n.safety}]@{n.file}:{n.line} fix={'yes' if n.fix_offered else 'no'}"
        f" gone={'yes' if n.gone else 'no'}"
        for n in outcome.near
    ]
    return f"{outcome.repo:28} {outcome.sha[:8]} {outcome.category:18} " + "; ".join(parts)


def recall_table(outcomes: Sequence[Outcome]) -> list[tuple[str, int, int, int]]:
    """(category, detected, with a fix offered, total) per category, then 'all'."""
    by_category: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_category[outcome.category].append(outcome)
    rows = []
    for category, group in sorted(by_category.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        rows.append((category, *_counts(group)))
    rows.append(("all", *_counts(outcomes)))
    return rows


def _counts(group: Sequence[Outcome]) -> tuple[int, int, int]:
    detected = sum(o.detected for o in group)
    fixed = sum(any(n.fix_offered for n in o.near) for o in group)
    return detected, fixed, len(group)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "tsv", type=Path, help="rows: repo, sha, category, subject, files, go, note"
    )
    parser.add_argument("mirrors", type=Path, help="<owner>+<name>/repo or <owner>/<name> git dirs")
    parser.add_argument("--json", type=Path, help="write every outcome to this file")
    parser.add_argument("--keep", type=Path, help="extract here and keep it (else a temp dir)")
    parser.add_argument("--parallel", type=int, default=1, help="bugs at once (2 cores are shared)")
    parser.add_argument(
        "--only", default="", help="only rows whose sha starts with one of these (a,b,...)"
    )
    parser.add_argument(
        "--unleak", default=str(REPO / ".venv" / "bin" / "unleak"), help="the unleak command"
    )
    args = parser.parse_args(argv)
    try:
        bugs = read_bugs(args.tsv)
    except (OSError, KeyError) as error:
        print(f"realbugs: {args.tsv}: cannot read the TSV ({error})", file=sys.stderr)
        return 2
    prefixes = [p for p in args.only.split(",") if p]
    if prefixes:
        bugs = [b for b in bugs if any(b.sha.startswith(p) for p in prefixes)]
    unleak = [args.unleak]
    work = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="realbugs-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        with ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
            outcomes = []
            for outcome in pool.map(lambda b: evaluate(b, args.mirrors, unleak, work), bugs):
                print(_row(outcome), flush=True)
                outcomes.append(outcome)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"{'category':18} {'found':>5} {'fixed':>5} {'total':>5} {'recall':>7}")
    for category, detected, fixed, total in recall_table(outcomes):
        print(f"{category:18} {detected:5} {fixed:5} {total:5} {detected / total:7.0%}")
    if args.json:
        args.json.write_text(
            json.dumps([asdict(o) for o in outcomes], indent=1) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
