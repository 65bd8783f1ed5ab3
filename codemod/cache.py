"""A content-addressed cache of scan results, so unchanged files are not parsed again.

An entry is keyed on everything that decides a file's findings: the file's bytes and name,
unleak's own code (version and a digest of its sources), the transforms that apply to the file,
the module's path and Go version, and --report-unused-ignores. It holds the findings and the
count of declarations left alone for parse errors, as JSON. When a transform looked at the rest
of the file's package (codemod.package), the entry also holds a digest of those files, and it
answers only while they are unchanged: most files never ask, and never pay for reading them.
Entries are written to a temporary file and renamed into place, so concurrent runs never see
half an entry; an entry that cannot be read back is treated as absent and rewritten. Only
`scan` uses the cache (fixes bypass it).

Eviction follows Go's build cache: an entry's mtime records its last use (refreshed at most
hourly, so a warm run does not rewrite metadata for every file), and at most once a day the
entries unused for five days are deleted, so old unleak versions and old revisions of files do
not pile up. `unleak cache clean` empties it; `unleak cache info` says where it is and its size.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from codemod import __version__
from codemod.gomod import ModuleFacts
from codemod.model import Edit, Finding, Fix, Position, Safety

# Bumped when the entry layout changes; old entries are never looked up, and trim deletes them.
ENTRY_FORMAT = 2
USE_REFRESH_SECONDS = 3600  # a hit older than this gets its mtime set to now
TRIM_INTERVAL_SECONDS = 24 * 3600  # how often trim() looks at the whole cache
TRIM_AGE_SECONDS = 5 * 24 * 3600  # entries unused this long are deleted
TEMPORARY_AGE_SECONDS = 3600  # a .tmp- file this old is left over from an interrupted write
TRIM_MARKER = "trim.txt"


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/unleak, else ~/.cache/unleak."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "unleak"


@lru_cache(maxsize=1)
def code_digest() -> str:
    """unleak's version and a digest of its Python sources: a code change invalidates entries."""
    digest = hashlib.blake2b(f"{ENTRY_FORMAT}:{__version__}".encode(), digest_size=16)
    root = Path(__file__).resolve().parent.parent
    for package in ("codemod", "transforms"):
        for source in sorted((root / package).rglob("*.py")):
            digest.update(source.relative_to(root).as_posix().encode())
            try:
                digest.update(source.read_bytes())
            except OSError:
                digest.update(b"?")
    return digest.hexdigest()


def entry_key(
    path: Path,
    source: bytes,
    module: ModuleFacts,
    transform_ids: Sequence[str],
    report_unused_ignores: bool,
) -> str:
    """The key of a file's scan result; anything that can change the findings is in it."""
    digest = hashlib.blake2b(digest_size=20)
    header = json.dumps(
        [
            code_digest(),
            path.name,  # transforms may look at the name (_test.go); findings get the path back
            sorted(transform_ids),
            module.module_path,
            list(module.go_version),
            report_unused_ignores,
        ]
    )
    digest.update(header.encode())
    digest.update(b"\0")
    digest.update(source)
    return digest.hexdigest()


def _entry_path(directory: Path, key: str) -> Path:
    return directory / f"v{ENTRY_FORMAT}" / key[:2] / key[2:]


def load(
    directory: Path, key: str, path: Path, size: int, package_digest: Callable[[str], str]
) -> tuple[list[Finding], int] | None:
    """The cached findings and skipped-declaration count, or None when absent or unreadable.

    size: the file's length; an entry whose edits reach past it was tampered with.
    package_digest: the digest of the file's package siblings now, of the same files as the
    one the entry recorded (Siblings.digest_like), asked only when the entry depends on them.
    """
    try:
        with _entry_path(directory, key).open("rb") as stream:
            data = json.loads(stream.read())
            _mark_used(stream.fileno())
        if data["key"] != key:
            return None
        package = data["package"]
        if package is not None and package != package_digest(package):
            return None  # another file of the package changed
        findings = [_finding(item, path) for item in data["findings"]]
        if any(e.end > size for f in findings if f.fix for e in f.fix.edits):
            return None
        skipped = data["declarations_skipped"]
        if not isinstance(skipped, int):
            return None
        return findings, skipped
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, OverflowError):
        # Missing, truncated or tampered with (Infinity or 1e400 as a line: OverflowError in
        # int()): analyse again and rewrite it.
        return None


def _mark_used(descriptor: int) -> None:
    try:
        if time.time() - os.fstat(descriptor).st_mtime > USE_REFRESH_SECONDS:
            os.utime(descriptor)
    except OSError:
        pass  # a read-only cache still answers; it only ages faster


def store(
    directory: Path,
    key: str,
    findings: Sequence[Finding],
    skipped: int,
    package_digest: str | None = None,
) -> None:
    """Write an entry atomically; a cache that cannot be written only costs speed.

    package_digest: Siblings.recorded_digest() when the findings depend on the package's other
    files.
    """
    target = _entry_path(directory, key)
    data = {
        "key": key,
        "findings": [_finding_data(f) for f in findings],
        "declarations_skipped": skipped,
        "package": package_digest,
    }
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(json.dumps(data, separators=(",", ":")).encode())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def _finding_data(finding: Finding) -> dict[str, Any]:
    fix = finding.fix
    return {
        "id": finding.transform_id,
        "start": [finding.start.line, finding.start.column],
        "end": [finding.end.line, finding.end.column],
        "message": finding.message,
        "safety": int(finding.safety),
        "fix": None
        if fix is None
        else {
            "edits": [[e.start, e.end, e.text] for e in fix.edits],
            "description": fix.description,
            "imports": list(fix.imports),
            "maybe_unused": list(fix.imports_maybe_unused),
            "requires": [list(r) for r in fix.requires],
        },
    }


def _finding(item: dict[str, Any], path: Path) -> Finding:
    fix_data = item["fix"]
    fix = None
    if fix_data is not None:
        fix = Fix(
            edits=tuple(Edit(int(s), int(e), _text(t)) for s, e, t in fix_data["edits"]),
            description=_text(fix_data["description"]),
            imports=tuple(_text(i) for i in fix_data["imports"]),
            imports_maybe_unused=tuple(_text(i) for i in fix_data["maybe_unused"]),
            requires=tuple((_text(m), _text(v)) for m, v in fix_data["requires"]),
        )
    start_line, start_column = item["start"]
    end_line, end_column = item["end"]
    return Finding(
        transform_id=_text(item["id"]),
        path=path,
        start=Position(int(start_line), int(start_column)),
        end=Position(int(end_line), int(end_column)),
        message=_text(item["message"]),
        safety=Safety(item["safety"]),
        fix=fix,
    )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Usage:
    entries: int
    bytes: int


def usage(directory: Path) -> Usage:
    """How many entries the cache holds and their size on disk."""
    entries = total = 0
    for path in _files(directory):
        try:
            total += path.stat().st_size
        except OSError:
            continue
        entries += path.name != TRIM_MARKER
    return Usage(entries, total)


def trim(directory: Path, now: float | None = None) -> int:
    """Delete what no run will read again; returns the number of files deleted.

    Runs at most once per TRIM_INTERVAL_SECONDS (recorded in trim.txt), so a scan pays for
    looking at the whole cache once a day, not on every run.
    """
    now = time.time() if now is None else now
    marker = directory / TRIM_MARKER
    try:
        # abs(): a marker a little ahead (another run's clock, rounding) is recent too; one a
        # day or more away either side is stale or from a broken clock: trim and rewrite it.
        if abs(now - float(marker.read_text().strip())) < TRIM_INTERVAL_SECONDS:
            return 0
    except (OSError, ValueError):
        pass  # never trimmed, or an unreadable marker: trim now
    if not directory.is_dir():
        return 0
    current = directory / f"v{ENTRY_FORMAT}"
    removed = 0
    for path in _files(directory):
        if path == marker:
            continue
        try:
            age = now - path.stat().st_mtime
            temporary = path.name.startswith(".tmp-")
            if (
                current not in path.parents  # an old entry format: never looked up again
                or (temporary and age > TEMPORARY_AGE_SECONDS)
                or (not temporary and age > TRIM_AGE_SECONDS)
            ):
                path.unlink()
                removed += 1
        except OSError:
            continue  # another run deleted or replaced it: nothing to do
    with contextlib.suppress(OSError):  # a concurrent run may delete folders under us
        for folder in sorted((p for p in directory.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only empty ones go
    _write_marker(marker, now)
    return removed


def clean(directory: Path) -> int:
    """Delete the whole cache; returns the number of entries it held."""
    held = usage(directory).entries
    shutil.rmtree(directory, ignore_errors=True)
    return held


def _files(directory: Path) -> list[Path]:
    try:
        return [p for p in directory.rglob("*") if p.is_file()]
    except OSError:
        return []


def _write_marker(marker: Path, now: float) -> None:
    try:
        handle, temporary = tempfile.mkstemp(dir=marker.parent, prefix=".tmp-")
        with os.fdopen(handle, "w") as stream:
            stream.write(f"{now:.3f}\n")
        os.replace(temporary, marker)
    except OSError:
        pass
