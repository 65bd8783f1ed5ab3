"""Configuration: `[tool.unleak]` in pyproject.toml, or a `.unleak.toml` (keys at top level).

Found by walking up from the first path on the command line; the nearest directory holding
either file wins (`.unleak.toml` first), and the walk stops at the repository root. Command-line
flags win over the file, key by key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codemod.gomod import parse_go_version
from codemod.pathglob import matches
from codemod.scope import relative_to_root

KEYS = (
    "select",
    "ignore",
    "unsafe",
    "exclude",
    "per-path-ignores",
    "go-version",
    "require-ignore-reason",
)


class ConfigError(Exception):
    """A config file unleak cannot use; the message is one line naming the file and the key."""


@dataclass(frozen=True)
class Config:
    path: Path | None = None  # the file it was read from; None: no config file
    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    unsafe: bool = False
    exclude: tuple[str, ...] = ()
    per_path_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    go_version: tuple[int, int] | None = None
    require_ignore_reason: bool = False
    keys_set: frozenset[str] = field(default_factory=frozenset)

    @property
    def root(self) -> Path | None:
        return self.path.parent if self.path is not None else None

    def excludes(self, path: Path) -> bool:
        if not self.exclude or self.root is None:
            return False
        relative = relative_to_root(path, self.root)
        return relative is not None and any(matches(p, relative) for p in self.exclude)


def find_config(start: Path) -> Path | None:
    """The nearest .unleak.toml, or pyproject.toml with a [tool.unleak] table, at or above start."""
    directory = start.resolve()
    if not directory.is_dir():
        directory = directory.parent
    for candidate in (directory, *directory.parents):
        dotfile = candidate / ".unleak.toml"
        if dotfile.is_file():
            return dotfile
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and _has_unleak_table(pyproject):
            return pyproject
        if (candidate / ".git").exists():
            return None  # the repository root: settings above it belong to something else
    return None


def _has_unleak_table(pyproject: Path) -> bool:
    try:
        text = pyproject.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return "[tool.unleak" in text  # let load_config name the syntax error
    tool = data.get("tool")
    return isinstance(tool, dict) and "unleak" in tool


def load_config(path: Path, known_ids: Sequence[str]) -> Config:
    """Read and check one config file; raises ConfigError with a one-line message."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from error
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    table: object = data
    where = ""
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        table = tool.get("unleak", {}) if isinstance(tool, dict) else {}
        where = " in [tool.unleak]"
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.unleak] must be a table")
    unknown = [key for key in table if key not in KEYS]
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}{where} (known: {', '.join(KEYS)})")
    reader = _Reader(path, frozenset(known_ids))
    per_path = table.get("per-path-ignores", {})
    if not isinstance(per_path, dict):
        raise ConfigError(f"{path}: per-path-ignores must be a table of glob = [ids]")
    go_version = None
    if "go-version" in table:
        raw = table["go-version"]
        try:
            go_version = parse_go_version(str(raw))
        except ValueError as error:
            raise ConfigError(f"{path}: go-version: {error}") from error
    unsafe = table.get("unsafe", False)
    if not isinstance(unsafe, bool):
        raise ConfigError(f"{path}: unsafe must be true or false")
    require_ignore_reason = table.get("require-ignore-reason", False)
    if not isinstance(require_ignore_reason, bool):
        raise ConfigError(f"{path}: require-ignore-reason must be true or false")
    return Config(
        path=path,
        select=reader.ids(table, "select") if "select" in table else None,
        ignore=reader.ids(table, "ignore") if "ignore" in table else frozenset(),
        unsafe=unsafe,
        exclude=tuple(reader.strings(table, "exclude")),
        per_path_ignores=tuple(
            (glob, reader.ids(per_path, glob, f"per-path-ignores.{glob!r}")) for glob in per_path
        ),
        go_version=go_version,
        require_ignore_reason=require_ignore_reason,
        keys_set=frozenset(table),
    )


@dataclass(frozen=True)
class _Reader:
    path: Path
    known_ids: frozenset[str]

    def strings(self, table: dict[str, object], key: str, name: str | None = None) -> list[str]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self.path}: {name or key} must be a list of strings")
        return [str(v) for v in value]

    def ids(self, table: dict[str, object], key: str, name: str | None = None) -> frozenset[str]:
        ids = frozenset(self.strings(table, key, name))
        unknown = sorted(ids - self.known_ids)
        if unknown:
            raise ConfigError(
                f"{self.path}: {name or key}: unknown transform id {unknown[0]!r} "
                f"(known: {', '.join(sorted(self.known_ids))})"
            )
        return ids
