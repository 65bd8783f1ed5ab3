"""Patch-file sink (`fix --patch-file out.patch`): the dry-run patch, written to a file.

The file is written once, when the run closes, through a temporary file and a rename, so a
reader never sees half a patch; `unleak apply out.patch` applies it after review.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from codemod.model import FileResult, FileStatus
from codemod.patch import unified_diff


class PatchFileSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.parts: list[str] = []
        self.files_changed = 0

    def accept(self, result: FileResult) -> None:
        if result.status is not FileStatus.CHANGED:
            return
        assert result.original is not None and result.rewritten is not None
        self.parts.append(
            unified_diff(result.path, result.original, result.rewritten, created=result.created)
        )
        self.files_changed += 1

    def close(self) -> None:
        target = self.path.resolve()
        descriptor, temp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".unleak", dir=target.parent
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
                handle.write("".join(self.parts))
            os.chmod(temp_name, 0o644)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
