"""Changed lines since a git revision (`--diff-base REV`), so CI can gate new code only."""

from __future__ import annotations

import subprocess
from pathlib import Path

from unidiff import PatchSet  # type: ignore[attr-defined]

from codemod.patch import line_opcodes, split_lines, unquote_path


class DiffBaseError(Exception):
    """git cannot tell what changed (not a repository, unknown revision): a usage error."""


def _git(args: list[str], cwd: Path) -> str:
    try:
        completed = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, check=False, timeout=120
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise DiffBaseError(f"cannot run git: {error}") from error
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DiffBaseError(message[0] if message else f"git {args[0]} failed")
    return completed.stdout.decode("utf-8", "surrogateescape")


def changed_lines(
    revision: str, cwd: Path, exact: bool = False, whole_files: bool = False
) -> dict[str, frozenset[int]]:
    """Resolved path -> lines added or modified since `git merge-base revision HEAD` (work
    tree against it), or since `revision` itself when `exact`.

    The merge base leaves out what only moved on `revision` (main went on since the branch was
    cut), as golangci-lint's --new-from-merge-base. `whole_files`: every line of a changed file.
    Files git does not track yet are new code: every line of them counts.
    """
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd)
    except DiffBaseError as error:
        raise DiffBaseError(
            f"no commit named {revision!r} in {top} (try a branch, tag or sha)"
        ) from error
    base = revision if exact else merge_base(revision, top)
    diff = _git(
        ["diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames", base, "--", "."], top
    )
    changed: dict[str, frozenset[int]] = {}
    for patched in PatchSet(diff):
        if patched.is_removed_file:
            continue
        lines = frozenset(
            line.target_line_no
            for hunk in patched
            for line in hunk
            if line.is_added and line.target_line_no is not None
        )
        # git C-quotes a name holding a tab, newline or quote; unidiff keeps the quotes
        name = unquote_path(patched.target_file)
        name = name[2:] if name.startswith("b/") else name
        path = top / name
        if whole_files:
            lines = _every_line(path) or lines
        changed[str(path.resolve())] = lines
    untracked = _git(["ls-files", "-z", "--others", "--exclude-standard", "--", "."], top)
    for name in filter(None, untracked.split("\0")):
        path = top / name
        every = _every_line(path)
        if every:
            changed[str(path.resolve())] = every
    return changed


def merge_base(revision: str, top: Path) -> str:
    """The commit `revision` and HEAD last shared; a DiffBaseError when they share none."""
    try:
        return _git(["merge-base", revision, "HEAD"], top).strip()
    except DiffBaseError as error:
        raise DiffBaseError(
            f"{revision!r} and HEAD share no commit in {top} "
            "(fetch more history, or compare with the revision itself: --diff-base-exact)"
        ) from error


def _every_line(path: Path) -> frozenset[int]:
    """Lines 1..n of a file; empty when it cannot be read."""
    try:
        count = path.read_bytes().count(b"\n") + 1
    except OSError:
        return frozenset()
    return frozenset(range(1, count + 1))


def carry_lines(before: bytes, after: bytes, lines: frozenset[int]) -> frozenset[int]:
    """Map line numbers of `before` onto `after`; lines a rewrite touched are dropped."""
    old = split_lines(before)
    new = split_lines(after)
    carried: set[int] = set()
    for tag, old_start, old_end, new_start, _ in line_opcodes(old, new):
        if tag != "equal":
            continue
        for offset in range(old_end - old_start):
            if old_start + offset + 1 in lines:
                carried.add(new_start + offset + 1)
    return frozenset(carried)
