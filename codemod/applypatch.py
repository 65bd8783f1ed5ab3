"""`unleak apply PATCH`: apply a reviewed patch, all or nothing.

Like `git apply --check` without fuzz: every hunk's context and removed lines must still be
exactly where the patch says. Like git, it writes only regular files inside the tree it runs
in (after following symbolic links), never under `.git/`. Every file is checked and its new
content staged beside it before any is renamed into place; if anything fails on the way,
nothing is written.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from unidiff import PatchSet  # type: ignore[attr-defined]
from unidiff.errors import UnidiffParseError

from codemod.patch import split_lines, unquote_path
from codemod.sinks.write import (
    ChangedUnderneath,
    NotARegularFile,
    StagedWrite,
    read_regular_file,
    stage_write,
    write_atomically,
)


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
    planned: dict[Path, str] = {}  # resolved target -> the name the patch gave it
    for patched in patch:
        # /dev/null names a new or removed file (unidiff also guesses so from empty sides).
        added = patched.source_file == "/dev/null"
        target = _strip_prefix(unquote_path(patched.target_file), "b/")
        source = target if added else _strip_prefix(unquote_path(patched.source_file), "a/")
        if patched.target_file == "/dev/null" or source != target:
            raise PatchRefused(
                f"{target}: only changes to existing files or new files can be applied "
                "(no removed or renamed files)"
            )
        path = _inside_tree(target, base)
        if path in planned:
            also = "" if planned[path] == target else f" (also as {planned[path]})"
            raise PatchRefused(
                f"{target}: changed twice in the patch{also}; make it one change; "
                "nothing was written"
            )
        planned[path] = target
        if added:
            if (base / target).exists() or (base / target).is_symlink():
                raise PatchRefused(f"{target}: already exists; nothing was written")
            if not path.parent.is_dir():
                raise PatchRefused(
                    f"{target}: its directory does not exist; create it first; nothing was written"
                )
            writes.append(PlannedWrite(path, b"", _apply_file(target, b"", patched), True))
            continue
        current = _read_target(source, path)
        writes.append(PlannedWrite(path, current, _apply_file(source, current, patched)))
    return writes


def _inside_tree(name: str, base: Path) -> Path:
    """Where `name` really lives under base, symbolic links followed; PatchRefused if that is
    outside base or under .git, as `git apply` refuses."""
    nothing = "nothing was written"
    relative = PurePosixPath(name)
    if not name or name.endswith("/"):
        raise PatchRefused(f"{name or '(empty)'}: not a file name; {nothing}")
    if relative.is_absolute():
        raise PatchRefused(
            f"{name}: an absolute path; apply only writes inside the tree; {nothing}"
        )
    if ".." in relative.parts:
        raise PatchRefused(f"{name}: `..` leads out of the tree; {nothing}")
    if _under_git(relative.parts):
        raise PatchRefused(f"{name}: inside .git; apply does not write git's own files; {nothing}")
    root = base.resolve()
    real = (root / relative).resolve()  # follows every symbolic link on the way
    if not real.is_relative_to(root):
        raise PatchRefused(f"{name}: a symbolic link leads out of the tree (to {real}); {nothing}")
    if _under_git(real.relative_to(root).parts):
        raise PatchRefused(f"{name}: a symbolic link leads into .git; {nothing}")
    return real


def _under_git(parts: tuple[str, ...]) -> bool:
    # Case-insensitive, as git's verify_path: .GIT is .git on macOS and Windows file systems.
    return any(part.lower() == ".git" for part in parts)


def _read_target(name: str, path: Path) -> bytes:
    try:
        # stat before opening: a FIFO would block the read, a directory cannot be replaced
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise NotARegularFile(name)
        current, _ = read_regular_file(path)
    except NotARegularFile as error:
        raise PatchRefused(
            f"{name}: not a regular file (a FIFO, device or directory); nothing was written"
        ) from error
    except OSError as error:
        raise PatchRefused(f"{name}: cannot read: {error.strerror or error}") from error
    return current


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
    staged: list[StagedWrite] = []
    try:
        for write in writes:  # every new content on disk before the first rename
            staged.append(stage_write(write.path, write.current, write.new, write.created))
    except BaseException:
        for done in staged:
            done.discard()
        raise
    renamed: list[PlannedWrite] = []
    try:
        for write, ready in zip(writes, staged, strict=True):
            ready.commit()
            renamed.append(write)
    except BaseException:
        for ready in staged[len(renamed) :]:
            ready.discard()
        _restore(renamed)
        raise
    return [write.path for write in writes]


def _restore(renamed: list[PlannedWrite]) -> None:
    """Best effort after a failed rename: put back what was renamed before it."""
    for write in reversed(renamed):
        try:
            if write.created:
                write.path.unlink()
            else:
                write_atomically(write.path, write.new, write.current)
        except (OSError, ChangedUnderneath):
            continue
