"""Which findings a run may report for one file: per-path ignores and changed lines only.

Plain data, so it crosses process boundaries inside RunOptions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from codemod.pathglob import matches


@dataclass(frozen=True)
class FileScope:
    root: str | None = None  # where per-path globs are anchored (the config file's directory)
    per_path_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    # Resolved path -> 1-based lines changed since --diff-base; None: every line counts.
    changed_lines: dict[str, frozenset[int]] | None = field(default=None, hash=False)

    def ignored_ids(self, path: Path) -> frozenset[str]:
        if not self.per_path_ignores or self.root is None:
            return frozenset()
        relative = relative_to_root(path, Path(self.root))
        if relative is None:
            return frozenset()
        ignored: set[str] = set()
        for pattern, ids in self.per_path_ignores:
            if matches(pattern, relative):
                ignored |= ids
        return frozenset(ignored)

    def lines(self, path: Path) -> frozenset[int] | None:
        if self.changed_lines is None:
            return None
        return self.changed_lines.get(str(path.resolve()), frozenset())


def relative_to_root(path: Path, root: Path) -> str | None:
    """path relative to root with /, or None when it lies outside root."""
    relative = os.path.relpath(path.resolve(), root.resolve())
    if relative == ".." or relative.startswith("../"):
        return None
    return Path(relative).as_posix()
