"""Render: git-style unified diffs that `git apply` accepts, checked with unidiff."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from unidiff import PatchSet  # type: ignore[attr-defined]

NO_NEWLINE = "\\ No newline at end of file\n"


def display_path(path: Path, base: Path | None = None) -> str:
    """The path as a/ b/ names it: relative to the base (default: current directory)."""
    relative = os.path.relpath(path.resolve(), (base or Path.cwd()).resolve())
    return Path(relative).as_posix()


# git's C-style escapes (quote.c); any other control byte is written in octal.
_C_ESCAPES = {7: b"\\a", 8: b"\\b", 9: b"\\t", 10: b"\\n", 11: b"\\v", 12: b"\\f", 13: b"\\r"}
_C_ESCAPES.update({ord('"'): b'\\"', ord("\\"): b"\\\\"})


def quote_path(name: str) -> str:
    """name as git writes it in a patch header: in double quotes with C escapes when it holds
    a control character (a tab or newline would cut the header), a quote or a backslash, or
    bytes that are not UTF-8; as it is otherwise."""
    raw = os.fsencode(name)
    try:
        raw.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    escapes = [_escape(byte, utf8) for byte in raw]
    if not any(escapes):
        return name
    quoted = b"".join(escape or bytes([byte]) for escape, byte in zip(escapes, raw, strict=True))
    return '"' + quoted.decode("utf-8") + '"'


def _escape(byte: int, utf8: bool) -> bytes | None:
    if byte in _C_ESCAPES:
        return _C_ESCAPES[byte]
    if byte < 0x20 or byte == 0x7F or (byte > 0x7F and not utf8):
        return b"\\%03o" % byte
    return None


def unified_diff(
    path: Path, before: bytes, after: bytes, context: int = 3, created: bool = False
) -> str:
    """A git-style diff of one file (a new one when `created`); empty when nothing changed."""
    if before == after:
        return ""
    name = display_path(path)
    old = before.decode("utf-8").splitlines(keepends=True)
    new = after.decode("utf-8").splitlines(keepends=True)
    body = []
    a_name, b_name = quote_path(f"a/{name}"), quote_path(f"b/{name}")
    header = f"diff --git {a_name} {b_name}\n"
    if created:
        header += "new file mode 100644\n"
    old_name = "/dev/null" if created else a_name
    for line in difflib.unified_diff(old, new, old_name, b_name, n=context):
        if line.startswith(("---", "+++")):
            line = line.rstrip("\n") + "\n"  # difflib appends "\n" to file header lines
        body.append(line if line.endswith("\n") else line + "\n" + NO_NEWLINE)
    text = header + "".join(body)
    validate_patch(text, expected_files=1)
    return text


def validate_patch(text: str, expected_files: int) -> PatchSet:
    """Parse our own output back: a patch that unidiff cannot read would not apply either."""
    patch = PatchSet(text)
    if len(patch) != expected_files:
        raise ValueError(f"rendered patch has {len(patch)} files, expected {expected_files}")
    return patch
