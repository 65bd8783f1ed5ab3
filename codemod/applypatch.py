"""`unleak apply PATCH`: apply a reviewed patch, all or nothing.

Like `git apply --check` without fuzz: every hunk's context and removed lines must still be
exactly where the patch says. If any hunk of any file does not match, nothing is written;
otherwise each file is replaced atomically (and refused if it changes while we work).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from unidiff import PatchSet  # type: ignore[attr-defined]
from unidiff.errors import UnidiffParseError

from codemod.patch import split_lines
from codemod.sinks.write import write_atomically


class PatchRefused(Exception):
    """The patch cannot be applied as it stands; the message names the file and what differs."""


@dataclass(frozen=True)
class PlannedWrite:
    path: Path
    current: bytes
    new: bytes
    created: bool = False  # a new file (go.sum): it must still not exist


def _strip_prefix(name: str, prefix: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name


def plan(patch_text: str, base: Path) -> list[PlannedWrite]:
    """Check every hunk against the files under `base`; raises PatchRefused on any mismatch."""
    try:
        patch = PatchSet(patch_text)
    except UnidiffParseError as error:
        raise PatchRefused(f"not a unified diff: {error}") from error
    if len(patch) == 0:
        raise PatchRefused("the patch holds no file changes")
    writes = []
    for patched in patch:
        # /dev/null names a new or removed file (unidiff also guesses so from empty sides).
        added = patched.source_file == "/dev/null"
        target = _strip_prefix(patched.target_file, "b/")
        source = target if added else _strip_prefix(patched.source_file, "a/")
        if patched.target_file == "/dev/null" or source != target:
            raise PatchRefused(
                f"{target}: only changes to existing files or new files can be applied "
                "(no removed or renamed files)"
            )
        path = base / target
        if added:
            if path.exists() or path.is_symlink():
                raise PatchRefused(f"{target}: already exists; nothing was written")
            writes.append(PlannedWrite(path, b"", _apply_file(target, b"", patched), True))
            continue
        try:
            current = path.read_bytes()
        except OSError as error:
            raise PatchRefused(f"{source}: cannot read: {error.strerror or error}") from error
        writes.append(PlannedWrite(path, current, _apply_file(source, current, patched)))
    return writes


def _apply_file(name: str, current: bytes, patched: object) -> bytes:
    lines = split_lines(current.decode("utf-8", "surrogateescape"))
    result: list[str] = []
    cursor = 0  # index into `lines` of the first line not yet copied
    for hunk in patched:  # type: ignore[attr-defined]
        old, new = _sides(hunk)
        start = hunk.source_start - 1 if old else hunk.source_start
        if start < cursor or lines[start : start + len(old)] != old:
            raise PatchRefused(
                f"{name}: changed since the patch was made (hunk at line {hunk.source_start} "
                "does not match); nothing was written"
            )
        result.extend(lines[cursor:start])
        result.extend(new)
        cursor = start + len(old)
    result.extend(lines[cursor:])
    return "".join(result).encode("utf-8", "surrogateescape")


def _sides(hunk: object) -> tuple[list[str], list[str]]:
    old: list[str] = []
    new: list[str] = []
    previous = ""
    for line in hunk:  # type: ignore[attr-defined]
        kind = line.line_type
        if kind == "\\":  # "\ No newline at end of file" applies to the line before it
            if previous in (" ", "-") and old:
                old[-1] = old[-1].removesuffix("\n")
            if previous in (" ", "+") and new:
                new[-1] = new[-1].removesuffix("\n")
            continue
        if kind in (" ", "-"):
            old.append(line.value)
        if kind in (" ", "+"):
            new.append(line.value)
        previous = kind
    return old, new


def apply_patch(patch_text: str, base: Path) -> list[Path]:
    """Apply the whole patch or nothing; returns the files written."""
    writes = plan(patch_text, base)
    for write in writes:
        write_atomically(write.path, write.current, write.new, write.created)
    return [write.path for write in writes]
