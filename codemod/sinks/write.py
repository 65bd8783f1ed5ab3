"""Write sink: atomic in-place rewrites that refuse files changed since they were read."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from codemod.model import FileResult, FileStatus


class ChangedUnderneath(Exception):
    pass


def write_atomically(
    path: Path, expected_current: bytes, new_content: bytes, created: bool = False
) -> None:
    """Replace path's content with new_content, only if it still holds expected_current.

    The temp file lives in the same directory so the final rename is atomic on POSIX; the
    file's permission bits are kept. Readers see the old file or the new one, never a mix.
    """
    real = path.resolve()  # write through a symlink the user named, not over the link
    if created:
        if real.exists():
            raise ChangedUnderneath(f"{path}: created by someone else meanwhile; not written")
        mode = 0o644
    else:
        if real.read_bytes() != expected_current:
            raise ChangedUnderneath(f"{path}: changed on disk since it was read; not written")
        mode = stat.S_IMODE(real.stat().st_mode)
    descriptor, temp_name = tempfile.mkstemp(
        prefix=f".{real.name}.", suffix=".unleak", dir=real.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(new_content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, real)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
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
