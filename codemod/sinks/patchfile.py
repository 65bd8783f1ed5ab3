"""Patch-file sink (`fix --patch-file out.patch`): the dry-run patch, written to a file.

The file is written once, when the run closes, through a temporary file and a rename, so a
reader never sees half a patch; `unleak apply out.patch` applies it after review. A target
that exists and is not a regular file (/dev/stdout, a FIFO) is written to as it is, never
replaced by a rename.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from codemod.model import FileResult, FileStatus
from codemod.patch import unified_diff
from codemod.sinks.write import sweep_stale_temporaries, temporary_beside


class PatchFileSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.parts: list[str] = []
        self.files_changed = 0
        self.errors: list[str] = []  # the one-line reason the patch was not written

    def accept(self, result: FileResult) -> None:
        if result.status is not FileStatus.CHANGED:
            return
        assert result.original is not None and result.rewritten is not None
        self.parts.append(
            unified_diff(result.path, result.original, result.rewritten, created=result.created)
        )
        self.files_changed += 1

    def close(self) -> None:
        data = "".join(self.parts).encode("utf-8")
        try:
            if _is_special(self.path):
                with self.path.open("wb") as stream:
                    stream.write(data)
            else:
                _replace(self.path.resolve(), data)
        except OSError as error:
            self.errors.append(f"{self.path}: cannot write the patch: {error.strerror or error}")


def _is_special(path: Path) -> bool:
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False  # absent (or unreachable: _replace names the reason)


def _replace(target: Path, data: bytes) -> None:
    sweep_stale_temporaries(target.parent)
    descriptor, temp_name = temporary_beside(target)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
