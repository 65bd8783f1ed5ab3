"""Write sink: atomic in-place rewrites that refuse files changed since they were read.

A replacement is written to a temporary file beside its target and renamed over it. The
temporary's name carries the writer's pid (`.name.go.<pid>-<random>.unleak`): a run killed
with -9 cannot remove it, so the next run that writes in that folder sweeps it once that pid
is gone (or the file is an hour old).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from codemod.interrupt import process_alive
from codemod.model import FileResult, FileStatus

TEMPORARY_SUFFIX = ".unleak"
# `.<name>.<pid>-<8 random>.unleak`; before pids were recorded, `.<name>.<8 random>.unleak`.
_TEMPORARY_NAME = re.compile(r"^\..+\.(?:(?P<pid>[0-9]{1,10})-)?[a-z0-9_]{8}\.unleak$")
# A temporary lives for one write (milliseconds); one this old is debris even if its pid lives
# (reused by another process, or the file predates pids in names).
STALE_TEMPORARY_SECONDS = 3600


class ChangedUnderneath(Exception):
    pass


def temporary_beside(target: Path) -> tuple[int, str]:
    """mkstemp in target's folder, under a name sweep_stale_temporaries recognises."""
    return tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}-", suffix=TEMPORARY_SUFFIX, dir=target.parent
    )


def sweep_stale_temporaries(directory: Path, now: float | None = None) -> int:
    """Delete unleak's own temporaries left in directory by killed runs; returns how many."""
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        match = _TEMPORARY_NAME.match(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                continue
            pid = match.group("pid")
            dead = pid is not None and not process_alive(int(pid))
            if dead or now - info.st_mtime > STALE_TEMPORARY_SECONDS:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue  # gone already, or not ours to delete
    return removed


class NotARegularFile(ChangedUnderneath):
    """A FIFO, device or directory where a file was expected: never read nor replaced."""


def read_regular_file(path: Path) -> tuple[bytes, int]:
    """The bytes and permission bits of a regular file; NotARegularFile for anything else.

    Opened without blocking and checked before reading, so a FIFO cannot hang the read.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise NotARegularFile(f"{path}: not a regular file (a FIFO, device or directory)")
        return handle.read(), stat.S_IMODE(status.st_mode)


@dataclass(frozen=True)
class StagedWrite:
    """New content in a temp file beside its target, ready to be renamed over it."""

    target: Path
    temp: Path

    def commit(self) -> None:
        os.replace(self.temp, self.target)

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)


def stage_write(
    path: Path, expected_current: bytes, new_content: bytes, created: bool = False
) -> StagedWrite:
    """Write new_content to a temp file beside path, if path still holds expected_current.

    The temp file lives in the same directory so the final rename is atomic on POSIX; the
    file's owner, group and permission bits are kept.
    """
    real = path.resolve()  # write through a symlink the user named, not over the link
    owner: tuple[int, int] | None = None
    if created:
        if real.exists():
            raise ChangedUnderneath(f"{path}: created by someone else meanwhile; not written")
        mode = 0o644
    else:
        current, mode = read_regular_file(real)
        if current != expected_current:
            raise ChangedUnderneath(f"{path}: changed on disk since it was read; not written")
        info = real.stat()
        owner = (info.st_uid, info.st_gid)
    descriptor, temp_name = temporary_beside(real)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(new_content)
            handle.flush()
            os.fsync(handle.fileno())
        if owner is not None:
            _keep_owner(temp_name, owner)
        os.chmod(temp_name, mode)  # after chown, which clears set-id bits
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return StagedWrite(real, Path(temp_name))


def write_atomically(
    path: Path, expected_current: bytes, new_content: bytes, created: bool = False
) -> None:
    """Replace path's content with new_content, only if it still holds expected_current.

    Readers see the old file or the new one, never a mix.
    """
    staged = stage_write(path, expected_current, new_content, created)
    try:
        staged.commit()
    except BaseException:
        staged.discard()
        raise


def _keep_owner(temp_name: str, owner: tuple[int, int]) -> None:
    """Give the replacement the replaced file's owner and group (root writing a user's file)."""
    info = os.stat(temp_name)
    if (info.st_uid, info.st_gid) == owner or not hasattr(os, "chown"):
        return
    try:
        os.chown(temp_name, *owner)
    except OSError:
        # Not root: keep at least the group, which a member may set; the owner becomes us,
        # as with any editor that saves by rename (or the file system has no owners).
        with contextlib.suppress(OSError):
            os.chown(temp_name, -1, owner[1])


def write_or_explain(
    path: Path, original: bytes, content: bytes, created: bool = False
) -> str | None:
    """write_atomically, or the one-line reason the file was left as it is."""
    try:
        write_atomically(path, original, content, created)
    except ChangedUnderneath as error:
        return str(error)
    except OSError as error:
        return f"{path}: cannot write: {error.strerror or error}"
    return None


class WriteSink:
    def __init__(self) -> None:
        self.written: list[Path] = []
        self.errors: list[str] = []
        self.swept: set[Path] = set()

    def accept(self, result: FileResult) -> None:
        # Every folder the run reaches, changed or not: a killed run's debris is swept even
        # where this run has nothing left to write.
        folder = result.path.parent
        if folder not in self.swept:
            self.swept.add(folder)
            sweep_stale_temporaries(folder)
        if result.status is not FileStatus.CHANGED:
            return
        assert result.original is not None and result.rewritten is not None
        error = write_or_explain(result.path, result.original, result.rewritten, result.created)
        if error is None:
            self.written.append(result.path)
        else:
            self.errors.append(error)

    def close(self) -> None:
        pass
