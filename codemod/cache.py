"""A content-addressed cache of scan results, so unchanged files are not parsed again.

An entry is keyed on everything that decides a file's findings: the file's bytes and name,
unleak's own code (version and a digest of its sources), the transforms that apply to the file,
the module's path and Go version, and --report-unused-ignores. It holds the findings and the
count of declarations left alone for parse errors, as JSON. Entries are written to a temporary
file and renamed into place, so concurrent runs never see half an entry; an entry that cannot
be read back is treated as absent and rewritten. Only `scan` uses the cache (fixes bypass it).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from codemod import __version__
from codemod.gomod import ModuleFacts
from codemod.model import Edit, Finding, Fix, Position, Safety

# Bumped when the entry layout changes; old entries are then simply never looked up.
ENTRY_FORMAT = 1


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


def load(directory: Path, key: str, path: Path, size: int) -> tuple[list[Finding], int] | None:
    """The cached findings and skipped-declaration count, or None when absent or unreadable.

    size: the file's length; an entry whose edits reach past it was tampered with.
    """
    try:
        data = json.loads(_entry_path(directory, key).read_bytes())
        if data["key"] != key:
            return None
        findings = [_finding(item, path) for item in data["findings"]]
        if any(e.end > size for f in findings if f.fix for e in f.fix.edits):
            return None
        skipped = data["declarations_skipped"]
        if not isinstance(skipped, int):
            return None
        return findings, skipped
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None  # missing, truncated or tampered with: analyse again and rewrite it


def store(directory: Path, key: str, findings: Sequence[Finding], skipped: int) -> None:
    """Write an entry atomically; a cache that cannot be written only costs speed."""
    target = _entry_path(directory, key)
    data = {
        "key": key,
        "findings": [_finding_data(f) for f in findings],
        "declarations_skipped": skipped,
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
