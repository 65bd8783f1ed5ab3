"""Frames -> source files of the module being triaged.

A stack names each frame's file as the build saw it: an absolute path on the build machine
(which need not be this checkout), or with -trimpath `example.com/mod/pkg/file.go` for the
main module and `pkg@version/file.go` / `sync/mutex.go` for the rest. The function name is
more reliable than the path: `example.com/mod/pkg.(*T).F` says which package, and so which
directory of the module, holds the file. Only `package main` is anonymous in function names
(`main.main`), so its files are found by path: trimpath, this checkout, or the longest
tail of the build path that exists here.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from codemod.gomod import find_gomod, parse_gomod
from codemod.triage.model import Frame

_PACKAGE_MAIN = re.compile(rb"^package main\b", re.M)


class ModuleError(ValueError):
    """PATH is not inside a Go module."""


class Origin(enum.Enum):
    MODULE = "module"
    STANDARD_LIBRARY = "standard library"
    DEPENDENCY = "dependency"


@dataclass(frozen=True)
class Module:
    """The module triage maps frames into: its root directory and its module path."""

    root: Path
    path: str


def find_module(start: Path) -> Module:
    """The module holding start (a directory or a file): the nearest go.mod at or above it."""
    directory = start.resolve()
    if not directory.is_dir():
        directory = directory.parent
    gomod = find_gomod(directory)
    if gomod is None:
        raise ModuleError(f"{start}: no go.mod at or above it; name the module's directory")
    facts = parse_gomod(gomod.read_text(encoding="utf-8", errors="replace"), gomod)
    if facts.module_path is None:
        raise ModuleError(f"{gomod}: no `module` line")
    return Module(gomod.parent, facts.module_path)


def origin(frame: Frame, module: Module) -> Origin:
    package = frame.package
    if _in_module(package, module.path) or package in ("main", "main_test"):
        return Origin.MODULE
    first = package.split("/", 1)[0]
    # Standard library import paths have no dot in their first element (runtime, net/http).
    return Origin.DEPENDENCY if "." in first else Origin.STANDARD_LIBRARY


def _in_module(package: str, module_path: str) -> bool:
    return package == module_path or package.startswith(module_path + "/")


def local_file(frame: Frame, module: Module) -> Path | None:
    """The file of this checkout that holds the frame's code, or None (outside the module)."""
    if not frame.file.endswith(".go") or origin(frame, module) is not Origin.MODULE:
        return None
    return _local_file(frame.package, frame.file, module)


@lru_cache(maxsize=4096)
def _local_file(package: str, file: str, module: Module) -> Path | None:
    found = _candidate_file(package, file, module)
    if found is None:
        return None
    # A crafted frame (`/b/../outside/x.go`, a package path with `..`) or a symbolic link
    # must not lead a fix out of the module.
    return found if found.resolve().is_relative_to(module.root) else None


def _candidate_file(package: str, file: str, module: Module) -> Path | None:
    name = PurePosixPath(file.replace("\\", "/"))
    if package in ("main", "main_test"):
        return _by_path(name, module, main_package=True)
    relative = package[len(module.path) :].lstrip("/").removesuffix("_test")
    candidate = module.root / relative / name.name
    if candidate.is_file():
        return candidate
    # A package's files sit in its directory; anything else (generated, moved) by path.
    return _by_path(name, module, main_package=False)


def _by_path(name: PurePosixPath, module: Module, main_package: bool) -> Path | None:
    text = name.as_posix()
    if text.startswith(module.path + "/"):  # -trimpath
        candidate = module.root / text[len(module.path) + 1 :]
        return candidate if candidate.is_file() else None
    if name.is_absolute():
        here = Path(text)
        try:
            if here.is_file() and here.resolve().is_relative_to(module.root):
                return here.resolve()
        except OSError:
            pass
    # Built elsewhere (CI, a container): the longest tail of the path this checkout has.
    parts = name.parts[1:] if name.is_absolute() else name.parts
    for start in range(len(parts)):
        if ".." in parts[start:]:
            continue  # no build writes `..` into a frame's path
        candidate = module.root.joinpath(*parts[start:])
        if candidate.is_file() and (not main_package or _declares_main(candidate)):
            return candidate
    return None


def _declares_main(path: Path) -> bool:
    try:
        head = path.read_bytes()[:4096]
    except OSError:
        return False
    return _PACKAGE_MAIN.search(head) is not None
