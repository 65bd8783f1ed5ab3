"""Discover: turn command-line paths (files, directories, `./...`) into the Go files to process."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# Directories the go command itself ignores, plus vendored code that is not ours to rewrite.
SKIPPED_DIR_NAMES = frozenset({"vendor", "testdata", "node_modules"})


class DiscoveryError(Exception):
    """A path the user named cannot be used at all (exit 2)."""


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _is_skipped_dir(name: str) -> bool:
    return name in SKIPPED_DIR_NAMES or name.startswith((".", "_"))


def _git_visible_files(root: Path) -> set[Path] | None:
    """Files under root that git does not ignore, or None when root is not in a git work tree."""
    if shutil.which("git") is None:
        return None
    try:
        completed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
            cwd=root,
            capture_output=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if completed.returncode != 0:
        return None
    # A directory the user names explicitly is scanned even when git ignores it.
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "."], cwd=root, capture_output=True, check=False, timeout=60
    )
    if ignored.returncode == 0:
        return None
    names = completed.stdout.decode("utf-8", "surrogateescape").split("\0")
    return {(root / name).resolve() for name in names if name.endswith(".go")}


def _walk(root: Path, discovery: Discovery, respect_gitignore: bool) -> None:
    visible = _git_visible_files(root) if respect_gitignore else None

    def on_error(error: OSError) -> None:
        discovery.skipped.append((Path(error.filename or root), f"cannot read: {error.strerror}"))

    # followlinks=False: a symlinked directory is never entered, so symlink loops cannot trap us.
    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not _is_skipped_dir(d))
        for name in sorted(filenames):
            if not name.endswith(".go") or name.startswith((".", "_")):
                continue
            path = Path(dirpath) / name
            if path.is_symlink():
                discovery.skipped.append((path, "symbolic link (name the target to process it)"))
                continue
            if visible is not None and path.resolve() not in visible:
                continue
            discovery.files.append(path)


def discover(paths: list[str], respect_gitignore: bool = True) -> Discovery:
    """Expand paths in a stable order; a path that does not exist raises DiscoveryError."""
    discovery = Discovery()
    for raw in paths:
        recursive_suffix = raw.endswith("/...") or raw == "..."
        text = raw[: -len("...")].rstrip("/") or "." if recursive_suffix else raw
        path = Path(text)
        if not path.exists():
            if path.is_symlink():
                raise DiscoveryError(f"{raw}: broken symbolic link")
            raise DiscoveryError(f"{raw}: no such file or directory")
        if path.is_dir():
            _walk(path, discovery, respect_gitignore)
        elif path.suffix == ".go":
            discovery.files.append(path)
        else:
            raise DiscoveryError(f"{raw}: not a Go file or directory")
    if len(paths) == 1:  # one walk never yields a file twice; resolving each one is costly
        discovery.files.sort(key=str)
        return discovery
    seen: set[Path] = set()
    unique = []
    for file in discovery.files:
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(file)
    discovery.files = sorted(unique, key=str)
    return discovery
