"""Render: git-style unified diffs that `git apply` accepts, checked with unidiff."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from unidiff import PatchSet  # type: ignore[attr-defined]

NO_NEWLINE = "\\ No newline at end of file\n"


def display_path(path: Path, base: Path | None = None) -> str:
    """The path as messages and a/ b/ name it: relative to the base (default: the current
    directory) when inside it, else as the user gave it (as go vet and ruff print it)."""
    relative = os.path.relpath(path.resolve(), (base or Path.cwd()).resolve())
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return path.as_posix()
    return Path(relative).as_posix()


def unified_diff(
    path: Path, before: bytes, after: bytes, context: int = 3, created: bool = False
) -> str:
    """A git-style diff of one file (a new one when `created`); empty when nothing changed."""
    if before == after:
        return ""
    name = display_path(path)
    old = before.decode("utf-8").splitlines(keepends=True)
    new = after.decode("utf-8").splitlines(keepends=True)
    body = []
    header = f"diff --git a/{name} b/{name}\n"
    if created:
        header += "new file mode 100644\n"
    old_name = "/dev/null" if created else f"a/{name}"
    for line in difflib.unified_diff(old, new, old_name, f"b/{name}", n=context):
        if line.startswith(("---", "+++")):
            line = line.rstrip("\n") + "\n"  # difflib appends "\n" to file header lines
        body.append(line if line.endswith("\n") else line + "\n" + NO_NEWLINE)
    text = header + "".join(body)
    validate_patch(text, expected_files=1)
    return text


def validate_patch(text: str, expected_files: int) -> PatchSet:
    """Parse our own output back: a patch that unidiff cannot read would not apply either."""
    patch = PatchSet(text)
    if len(patch) != expected_files:
        raise ValueError(f"rendered patch has {len(patch)} files, expected {expected_files}")
    return patch
