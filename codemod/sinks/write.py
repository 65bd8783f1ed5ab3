"""Write sink: atomic in-place rewrites that refuse files changed since they were read."""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from codemod.model import FileResult, FileStatus


class ChangedUnderneath(Exception):
    pass


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
    file's permission bits are kept.
    """
    real = path.resolve()  # write through a symlink the user named, not over the link
    if created:
        if real.exists():
            raise ChangedUnderneath(f"{path}: created by someone else meanwhile; not written")
        mode = 0o644
    else:
        current, mode = read_regular_file(real)
        if current != expected_current:
            raise ChangedUnderneath(f"{path}: changed on disk since it was read; not written")
    descriptor, temp_name = tempfile.mkstemp(
        prefix=f".{real.name}.", suffix=".unleak", dir=real.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(new_content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
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

    def accept(self, result: FileResult) -> None:
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
