"""Module facts read from the nearest go.mod: module path and the `go` language version."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# The language version Go assumes for a go.mod without a `go` line (cmd/go: "go 1.16").
DEFAULT_GO_VERSION = (1, 16)
# What we assume for a file outside any module: the oldest version still supported upstream,
# so version-gated transforms err towards fixing rather than silently skipping.
NO_MODULE_GO_VERSION = (1, 21)

_MODULE_LINE = re.compile(r"^\s*module\s+(\"?)([^\s\"]+)\1", re.MULTILINE)
_GO_LINE = re.compile(r"^\s*go\s+(\d+)\.(\d+)(?:\.\d+|rc\d+)?\s*(?://.*)?$", re.MULTILINE)


@dataclass(frozen=True)
class ModuleFacts:
    """What a transform may need to know about the module a file belongs to."""

    module_path: str | None
    go_version: tuple[int, int]
    gomod_path: Path | None

    def go_at_least(self, major: int, minor: int) -> bool:
        return self.go_version >= (major, minor)

    @property
    def go_version_text(self) -> str:
        return f"{self.go_version[0]}.{self.go_version[1]}"


def parse_gomod(text: str, gomod_path: Path | None = None) -> ModuleFacts:
    module = _MODULE_LINE.search(text)
    go = _GO_LINE.search(text)
    version = (int(go.group(1)), int(go.group(2))) if go else DEFAULT_GO_VERSION
    return ModuleFacts(module.group(2) if module else None, version, gomod_path)


def parse_go_version(text: str) -> tuple[int, int]:
    """'1.22' or '1.22.3' or 'go1.22' -> (1, 22); ValueError otherwise."""
    match = re.fullmatch(r"(?:go)?(\d+)\.(\d+)(?:\.\d+)?", text.strip())
    if not match:
        raise ValueError(f"not a Go version: {text!r} (expected e.g. 1.22)")
    return int(match.group(1)), int(match.group(2))


@lru_cache(maxsize=4096)
def find_gomod(directory: Path) -> Path | None:
    """The go.mod governing files in `directory`: the nearest one at or above it."""
    candidate = directory / "go.mod"
    if candidate.is_file():
        return candidate
    parent = directory.parent
    return None if parent == directory else find_gomod(parent)


@lru_cache(maxsize=1024)
def _facts_for_gomod(gomod: Path | None) -> ModuleFacts:
    if gomod is None:
        return ModuleFacts(None, NO_MODULE_GO_VERSION, None)
    try:
        return parse_gomod(gomod.read_text(encoding="utf-8", errors="replace"), gomod)
    except OSError:
        return ModuleFacts(None, NO_MODULE_GO_VERSION, gomod)


def module_facts_for(go_file: Path) -> ModuleFacts:
    # Absolute (not resolved) so that a change of directory cannot reuse a relative entry.
    return _facts_for_directory(Path(os.path.abspath(go_file.parent)))


@lru_cache(maxsize=4096)
def _facts_for_directory(directory: Path) -> ModuleFacts:
    # One realpath per directory, not per file: resolving is most of a warm scan's time.
    return _facts_for_gomod(find_gomod(directory.resolve()))


_REQUIRE_LINE = re.compile(r"^\s*require\s+([^\s(]+)\s+(\S+)", re.MULTILINE)
_REQUIRE_BLOCK = re.compile(r"^require\s*\(\s*\n(.*?)^\)", re.MULTILINE | re.DOTALL)


def required_modules(text: str) -> dict[str, str]:
    """Module path -> version for every `require` directive, single-line or block."""
    required = {m.group(1): m.group(2) for m in _REQUIRE_LINE.finditer(text)}
    for block in _REQUIRE_BLOCK.finditer(text):
        for line in block.group(1).splitlines():
            fields = line.split("//", 1)[0].split()
            if len(fields) == 2:
                required[fields[0]] = fields[1]
    return required


def add_requirement(text: str, module: str, version: str) -> str:
    """go.mod text with `module version` required (unchanged when it already is)."""
    if module in required_modules(text):
        return text
    block = _REQUIRE_BLOCK.search(text)
    if block is not None and "// indirect" not in block.group(1):
        lines = block.group(1).splitlines(keepends=True)
        new_line = f"\t{module} {version}\n"
        position = next(
            (i for i, line in enumerate(lines) if line.strip() and line.split()[0] > module),
            len(lines),
        )
        lines.insert(position, new_line)
        return text[: block.start(1)] + "".join(lines) + text[block.end(1) :]
    separator = "" if text.endswith("\n") else "\n"
    return f"{text}{separator}\nrequire {module} {version}\n"
